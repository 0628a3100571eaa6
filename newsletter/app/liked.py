"""A reader's liked papers as they read them: each by its title where a source or the arXiv
API brought the paper (else as they gave it), and how many of them are recognised.

The lines are what the preferences form shows in its "Papers you liked" box, and they read
back as the same papers (``library_files`` knows the "Title (arXiv:2403.03950)" form).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from newsletter import library_files
from newsletter.app.promises import recognised
from newsletter.models import Paper, Subscriber
from newsletter.store.library_papers import resolve


@dataclass(frozen=True)
class Liked:
    """The library as lines for the form, and how many liked papers are known."""

    lines: tuple[str, ...]
    found: int
    total: int

    def sentence(self) -> str:
        """``3 of 5 liked papers recognised``; "" when the reader liked none."""
        return recognised(self.found, self.total) if self.total else ""


def liked_papers(engine: Engine, sub: Subscriber) -> Liked:
    """``sub``'s liked papers (``papers`` and ``library``) looked up among the stored ones."""
    entries = [*(f"arxiv:{p}" for p in sub.papers), *sub.library]
    with engine.connect() as conn:
        known = resolve(conn, library_files.expand(entries))
    found = {e: _paper(e, known) for e in entries}
    lines = tuple(line(key, found[key]) for key in sub.library)
    return Liked(lines, sum(1 for p in found.values() if p is not None), len(entries))


def _paper(entry: str, known: dict[str, Paper]) -> Paper | None:
    return next((known[k] for k in library_files.alternatives(entry) if k in known), None)


def line(key: str, paper: Paper | None) -> str:
    """One liked paper as the form shows it: "Title (arXiv:id)", the title, or the id."""
    keys = dict(k.split(":", 1) for k in library_files.alternatives(key))
    arxiv_id = paper.arxiv_id if paper is not None and paper.arxiv_id else keys.get("arxiv", "")
    title = " ".join(paper.title.split()) if paper is not None else keys.get("title", "")
    if title and arxiv_id:
        return f"{title} (arXiv:{arxiv_id})"
    if arxiv_id:
        return f"arXiv:{arxiv_id}"
    return title if len(title.split()) >= 3 else f"title:{title}"
