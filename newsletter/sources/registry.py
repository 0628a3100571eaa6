"""The registry of source kinds, and how a configured or ad-hoc location finds its kind."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from newsletter.config import SourceKindName, SourceSettings
from newsletter.errors import SourceError
from newsletter.sources import feed, hf_api, hf_page, text
from newsletter.sources.base import SourceKind

KINDS: dict[str, SourceKind] = {
    k.name: k for k in (text.KIND, hf_api.KIND, hf_page.KIND, feed.KIND)
}


def get_kind(name: str, source: str) -> SourceKind:
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(sorted(KINDS))
        raise SourceError(source, f"unknown kind {name!r} (known: {known})") from None


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def settings_for(location: str) -> SourceSettings:
    """Settings for a location given on the command line: a URL or a local file."""
    if is_url(location):
        return SourceSettings(name=location, kind=kind_for_url(location), url=location)
    return SourceSettings(name=location, path=str(Path(location).resolve()))


def kind_for_url(url: str) -> SourceKindName:
    """Guess a URL's kind: the HF daily papers API, an HF papers page, a text snapshot
    (``.txt``), else a feed (RSS, Atom, JSON Feed: feedparser tells them apart)."""
    if "/api/daily_papers" in url:
        return "hf-api"
    if "huggingface.co/papers" in url or url.rstrip("/").endswith("/papers"):
        return "hf-page"
    if PurePosixPath(urlsplit(url).path).suffix.lower() in text.KIND.suffixes:
        return "text"
    return "feed"


def detect_kind(path: Path, body: bytes) -> str:
    """A local file's kind: by suffix first, then by sniffing the first bytes."""
    for kind in KINDS.values():
        if path.suffix.lower() in kind.suffixes:
            return kind.name
    for kind in KINDS.values():
        if kind.sniff(body):
            return kind.name
    raise SourceError(str(path), "cannot tell what kind of source this file is; set kind")
