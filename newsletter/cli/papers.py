"""``newsletter papers``: list stored papers, as a table or as JSON."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import click

from newsletter.app.papers import stored_papers
from newsletter.cli.common import App, pass_app, print_table
from newsletter.models import Paper
from newsletter.wording import count


@click.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First seen on or after (date).")
@click.option("--search", default="", help="Words that must appear in the title or abstract.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N papers.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_app
def papers(app: App, since: datetime | None, search: str, limit: int | None, as_json: bool) -> None:
    """List stored papers, newest first (by publication date, then by when first seen)."""
    found = stored_papers(app.engine, since, search, limit)
    if as_json:
        click.echo(json.dumps([paper_json(p) for p in found], indent=2, ensure_ascii=False))
        return
    rows = [(p.arxiv_id or p.key, p.title, _authors(p), _date(p.published), _num(p.upvotes))
            for p in found]
    print_table(app.console, ("id", "title", "authors", "date", "upvotes"), rows, ("title",))
    app.console.print(count(len(found), "paper"))


def paper_json(p: Paper) -> dict[str, Any]:
    return {
        "key": p.key,
        "arxiv_id": p.arxiv_id,
        "title": p.title,
        "url": p.link,
        "abstract": p.abstract,
        "authors": list(p.authors),
        "author_count": p.author_count,
        "published": _date(p.published) or None,
        "upvotes": p.upvotes,
        "ai_summary": p.ai_summary,
        "ai_keywords": list(p.ai_keywords),
        "categories": list(p.categories),  # arXiv's, primary first ([] when none are known)
    }


def _authors(p: Paper) -> str:
    if p.authors:
        return p.authors[0] + (" et al." if len(p.authors) > 1 else "")
    return count(p.author_count, "author") if p.author_count else ""


def _date(d: date | None) -> str:
    return d.isoformat() if d else ""


def _num(n: int | None) -> str:
    return "" if n is None else str(n)


commands = [papers]
