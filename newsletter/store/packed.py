"""A JSON column stored zlib-compressed: for small, write-once documents kept by the million.

Databases compress only large values (PostgreSQL from about 2 KB on), so an outbox issue
snapshot of under a kilobyte was stored as it was; packed it takes well under half of that.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import sqlalchemy as sa


def pack(value: Any) -> bytes:
    """Compact JSON, compressed."""
    return zlib.compress(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def unpack(data: bytes) -> Any:
    return json.loads(zlib.decompress(data))


class PackedJSON(sa.types.TypeDecorator[Any]):
    """JSON in, JSON out; compressed bytes in the database."""

    impl = sa.LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> bytes | None:
        return None if value is None else pack(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return None if value is None else unpack(bytes(value))
