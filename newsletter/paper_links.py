"""Links shown to readers, made safe once: only http(s) and mailto URLs, and a search link for
a paper that a source listed without any link. Emails and web pages both use these."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

SAFE_PREFIXES = ("https://", "http://", "mailto:")
SEARCH = "https://huggingface.co/papers?q="
_UNSAFE = re.compile(r"[\x00-\x20\x7f\"<>]")  # a URL never holds spaces, controls or quotes
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def safe_url(value: object) -> str:
    """``value`` when it is an http(s) or mailto URL, else ``""`` (no ``javascript:`` links)."""
    url = str(value or "").strip()
    if not url.lower().startswith(SAFE_PREFIXES) or _UNSAFE.search(url):
        return ""
    return url


def search_url(title: str) -> str:
    """A search for the title, for papers a source listed without any link."""
    words = " ".join(_CONTROL.sub(" ", title).split())
    return f"{SEARCH}{quote_plus(words)}" if words else ""
