"""Read a bounded ``multipart/form-data`` body (a form with a file) with the standard library.

Only what the subscriber forms need: text fields, and files as (file name, bytes). The body
has already been read up to the form size limit; a body that is not multipart, or that holds
more than ``max_fields`` parts, is refused in one line.
"""

from __future__ import annotations

import email.policy
from email.parser import BytesParser

Fields = dict[str, str]
Files = dict[str, tuple[str, bytes]]


class NotMultipart(ValueError):
    """A body that says it is multipart/form-data but cannot be read as such."""


def parse(body: bytes, content_type: str, max_fields: int) -> tuple[Fields, Files]:
    """The text fields and the files of a multipart body (last value wins for a name)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise NotMultipart("the form is not readable multipart data")
    parts = list(message.iter_parts())
    if len(parts) > max_fields:
        raise NotMultipart(f"the form has more than {max_fields} fields")
    fields: Fields = {}
    files: Files = {}
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        payload = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode("utf-8", errors="replace")
    return fields, files
