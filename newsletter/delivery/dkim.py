"""DKIM signing with dkimpy; the signed headers include List-Unsubscribe and its One-Click POST."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dkim

from newsletter.errors import ConfigError, DeliveryError

SIGNED_HEADERS = (
    "from", "to", "subject", "date", "message-id", "reply-to", "mime-version", "content-type",
    "list-id", "list-unsubscribe", "list-unsubscribe-post",
)
_PROBE = b"From: probe@example.org\r\nSubject: probe\r\n\r\nprobe\r\n"


def dkim_signer(key_file: Path, selector: str, domain: str) -> Callable[[bytes], bytes]:
    """A function that prepends a DKIM-Signature to raw message bytes; checks the key now."""
    try:
        key = key_file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"delivery.dkim_key_file {key_file}: {exc.strerror}") from None
    if not selector or not domain:
        raise ConfigError("delivery.dkim_selector and delivery.dkim_domain are needed with a key")

    def sign(raw: bytes) -> bytes:
        try:
            header = dkim.sign(
                raw, selector.encode("ascii"), domain.encode("ascii"), key,
                include_headers=[h.encode("ascii") for h in SIGNED_HEADERS],
            )
        except dkim.DKIMException as exc:
            raise DeliveryError(f"DKIM signing with {key_file} failed: {exc}") from None
        return bytes(header) + raw

    try:
        sign(_PROBE)
    except DeliveryError as exc:
        raise ConfigError(f"delivery.dkim_key_file {key_file}: not a usable private key") from exc
    return sign
