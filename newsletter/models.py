"""The small immutable models that flow between the stages of the pipeline."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

ARXIV_ID = re.compile(r"^\d{4}\.\d{4,5}$")
# The most characters a paper's key, arXiv id and folded title may hold: sources fit their
# papers to these, and the store's columns are declared with them.
KEY_CHARS = 300
ARXIV_ID_CHARS = 32
TITLE_KEY_CHARS = 300


def normalize_title(title: str) -> str:
    """Fold case, accents, punctuation and spacing so one paper's title compares equal."""
    text = unicodedata.normalize("NFKD", title).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def paper_key(arxiv_id: str | None, title: str) -> str:
    """The identity of a paper: its arXiv id when known, else its normalized title."""
    if arxiv_id:
        return f"arxiv:{arxiv_id}"
    return f"title:{normalize_title(title)}"


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper as a source saw it; ``key`` is its identity across sources and days."""

    title: str
    abstract: str
    arxiv_id: str | None = None
    url: str = ""
    authors: tuple[str, ...] = ()
    author_count: int | None = None
    published: date | None = None
    upvotes: int | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    code_url: str = ""  # the paper's code repository (https), when a source names one
    categories: tuple[str, ...] = ()  # arXiv categories ("cs.CL"), the primary one first
    # What a language model wrote about it (kept apart in the store, joined when read):
    labels: tuple[str, ...] = ()  # field labels, broad to narrow
    summary: str = ""  # one sentence

    @property
    def key(self) -> str:
        return paper_key(self.arxiv_id, self.title)

    @property
    def link(self) -> str:
        """The best public link: the given URL, else the Hugging Face page of the arXiv id."""
        if self.url:
            return self.url
        if self.arxiv_id:
            return f"https://huggingface.co/papers/{self.arxiv_id}"
        return ""


def merge_papers(old: Paper, new: Paper) -> Paper:
    """One paper seen twice: keep what is known, fill what is missing, keep the longer
    abstract and author list, and the highest upvote count ever seen.

    Sources disagree on upvotes (one page says 12, another 3): the highest count is kept so a
    paper seen again on both is not rewritten on every fetch.
    """

    def pick(a: Any, b: Any) -> Any:
        return a if a not in (None, "", ()) else b

    return Paper(
        title=pick(old.title, new.title),
        abstract=old.abstract if len(old.abstract) >= len(new.abstract) else new.abstract,
        arxiv_id=pick(old.arxiv_id, new.arxiv_id),
        url=pick(old.url, new.url),
        authors=old.authors if len(old.authors) >= len(new.authors) else new.authors,
        author_count=pick(old.author_count, new.author_count),
        published=pick(old.published, new.published),
        upvotes=_most(old.upvotes, new.upvotes),
        ai_summary=pick(new.ai_summary, old.ai_summary),
        ai_keywords=pick(new.ai_keywords, old.ai_keywords),
        code_url=pick(new.code_url, old.code_url),
        categories=pick(new.categories, old.categories),
    )


def _most(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(frozen=True, slots=True)
class Validators:
    """What a previous HTTP response said about its version, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


Frequency = Literal["daily", "weekly"]


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A reader and their interest profile."""

    email: str
    topics: tuple[str, ...]
    name: str = ""
    exclude: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    papers: tuple[str, ...] = ()
    library: tuple[str, ...] = ()  # liked papers from the reader's library: arxiv:/title: keys
    max_papers: int = 10
    min_upvotes: int = 0
    timezone: str = "UTC"
    send_at: time = time(7, 0)
    frequency: Frequency = "daily"
    weekday: int = 0  # Monday; used when frequency is weekly
    active: bool = True
    abstracts: Literal["short", "full", "none"] = "short"  # how much of each abstract is shown
    sections: bool = True  # several topics: papers grouped under the topic each matched best
    members: tuple[str, ...] = ()  # a team's profile: the subscribers (addresses) it is for
    dropped_phrases: tuple[str, ...] = ()  # a language model's phrases the reader dropped
    origin: str = ""  # the file it came from, or "web"


@dataclass(frozen=True, slots=True)
class Expansion:
    """More phrases a language model looks for on a reader's behalf (and phrases for what they
    do not want), kept per profile; matching counts them at a discount."""

    phrases: tuple[str, ...] = ()
    exclude_phrases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pick:
    """A paper chosen for a subscriber, with its score and the human-readable reasons."""

    paper: Paper
    score: float
    reasons: tuple[str, ...]
    tags: tuple[str, ...] = ()
    # What brought it in: "topic" (``topic`` names the reader's topic it matched best),
    # "liked" (similar to a paper the reader liked), "author" (a followed author), "" unknown.
    via: str = ""
    topic: str = ""
    members: tuple[str, ...] = ()  # a team's issue: the names of the members it is for


@dataclass(frozen=True, slots=True)
class Issue:
    """One subscriber's email for one date."""

    subscriber: Subscriber
    issue_date: date
    picks: tuple[Pick, ...]

    @property
    def issue_id(self) -> str:
        return self.issue_date.isoformat()


@dataclass(frozen=True, slots=True)
class IssueLinks:
    """The signed links an issue carries; built by the caller, so rendering stays pure."""

    unsubscribe: str
    preferences: str
    more_like: Mapping[str, str] = field(default_factory=dict)  # paper key -> URL
    less_like: Mapping[str, str] = field(default_factory=dict)  # paper key -> URL
    archive: str = ""  # the reader's past issues (read-only)
    web_copy: str = ""  # this issue in a browser, as sent (read-only; also Archived-At)
    in_browser: bool = False  # rendered as the web copy itself: no "View in browser" link


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A fully composed message ready for a mailer."""

    message_id: str
    sender: str
    to: str
    subject: str
    text: str
    html: str
    headers: tuple[tuple[str, str], ...] = ()
    raw: bytes | None = field(default=None, repr=False)  # the signed MIME bytes, when built
    # A team channel's issue: the JSON request bodies to post, in order (no MIME message).
    parts: tuple[str, ...] = field(default=(), repr=False)


# deferred: the relay (not this message or its recipient) failed; try later, no attempt used
SendStatus = Literal["sent", "transient", "permanent", "deferred"]


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a mailer made of one message."""

    message_id: str
    status: SendStatus
    detail: str = ""
    provider_id: str | None = None
    at: datetime | None = None
    bounce: bool = False  # a hard bounce: the address does not exist, so suppress it
