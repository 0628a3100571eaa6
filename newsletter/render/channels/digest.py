"""What a channel message says, whatever its platform: a heading and one entry per paper
(title, link, authors, why it was picked and for whom, its summary; the first of each section
with the section's heading), and the helpers every platform's
renderer shares to split an issue into ordered parts within the platform's limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from newsletter.models import Issue
from newsletter.render.context import ABSTRACT_CHARS, for_whom, paper_view, reason
from newsletter.render.sections import sectioned
from newsletter.render.text import date_label, squash
from newsletter.wording import count

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One paper as a channel shows it."""

    title: str
    url: str
    authors: str
    why: str  # the reasons it was picked, joined
    summary: str  # cut as the reader's ``abstracts`` and [email] abstract_chars say
    code: str  # the code repository, or ""
    section: str = ""  # the first paper of a section: its heading and count, "robotics (2)"


@dataclass(frozen=True)
class Digest:
    """One channel issue: ``heading`` names it, ``intro`` counts it."""

    name: str
    heading: str
    intro: str
    entries: tuple[Entry, ...]

    def part_heading(self, number: int, parts: int) -> str:
        """The heading of part ``number`` of ``parts`` ("... (2/3)" past the first)."""
        return self.heading if parts == 1 else f"{self.heading} ({number}/{parts})"


def digest(issue: Issue, abstract_chars: int) -> Digest:
    """The channel digest of ``issue``; ``abstract_chars`` as ``[email] abstract_chars``."""
    sub = issue.subscriber
    chars = ABSTRACT_CHARS.get(sub.abstracts, abstract_chars)
    groups = sectioned(sub, issue.picks) or [("", list(issue.picks))]
    entries = []
    for title, picks in groups:
        for i, pick in enumerate(picks):
            view, whom = paper_view(pick.paper, chars), for_whom(pick)
            entries.append(Entry(view.title, view.url, view.authors,
                                 "; ".join(filter(None, [whom and f"For {whom}", reason(pick)])),
                                 view.gist or view.summary, view.code,
                                 f"{squash(title)} ({len(picks)})" if title and not i else ""))
    name = squash(sub.name) or sub.email.partition("@")[0]
    heading = f"Papers for {name} \u2014 {date_label(issue.issue_date)}"
    intro = (f"{count(len(entries), 'paper')} picked for "
             f"{', '.join(squash(t) for t in sub.topics[:5]) or 'this channel'}")
    return Digest(name, heading, intro, tuple(entries))


def pieces(text: str, limit: int) -> list[str]:
    """``text`` in order, in pieces of at most ``limit`` characters, cut at spaces where it
    can be (nothing is dropped: a long summary becomes several blocks, not a shorter one)."""
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit + 1)
        cut = cut if cut > 0 else limit
        out.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*out, text] if text or not out else out


@dataclass(frozen=True)
class Unit(Generic[T]):
    """One indivisible piece of a message (a block, an embed) and its plain-text reading."""

    item: T
    plain: str


def pack(units: Sequence[Unit[T]], fits: Callable[[list[T]], bool]) -> list[list[Unit[T]]]:
    """``units`` in order, grouped into as few parts as ``fits`` allows (a unit that fits no
    part on its own still gets one: the renderers make every unit fit)."""
    parts: list[list[Unit[T]]] = []
    current: list[Unit[T]] = []
    for unit in units:
        if current and not fits([u.item for u in [*current, unit]]):
            parts.append(current)
            current = []
        current.append(unit)
    return [*parts, current] if current else parts


def readable(headings: Sequence[str], parts: Sequence[Sequence[Unit[T]]]) -> str:
    """The parts as plain text, each under its heading, for ``preview``."""
    blocks = []
    for heading, units in zip(headings, parts, strict=True):
        blocks.append("\n\n".join([f"== {heading} ==", *(u.plain for u in units)]))
    return "\n\n".join(blocks) + "\n"


def plain_entry(entry: Entry) -> str:
    lines = [f"## {entry.section}" if entry.section else "", entry.title, entry.url,
             entry.authors, f"Why: {entry.why}" if entry.why else "",
             entry.summary, f"Code: {entry.code}" if entry.code else ""]
    return "\n".join(line for line in lines if line)
