"""The three requests the project sends a language model, and how their replies are read.

One contract for every server that speaks the OpenAI Chat Completions API: a system and a user
message, temperature 0, and a ``json_schema`` response format named after the use
(``paper_fields``, ``reader_profile``, ``reader_rerank``). The prompts are versioned
(``PROMPT_VERSION``): every kept answer names the version it was asked with, and a new version
asks again. Building a request and reading a reply are pure; sending is ``client``'s job.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from newsletter.models import Paper
from newsletter.wording import clip

PROMPT_VERSION = "1"
Use = Literal["paper_fields", "reader_profile", "reader_rerank"]
RERANK_ABSTRACT_CHARS = 600  # the start of each candidate's abstract the reranker reads
MAX_LABEL = 80  # characters of one label or phrase kept
MAX_SUMMARY = 300  # characters of a summary kept
# The most tokens a reply may take (``max_tokens``): each schema's answer needs about half
REPLY_TOKENS: dict[str, int] = {"paper_fields": 400, "reader_profile": 400, "reader_rerank": 400}


@dataclass(frozen=True)
class Thinking:
    """What a request tells a model that reasons before it answers (``[llm] reasoning``)."""

    tokens: int  # allowed beyond the reply's own cap
    effort: str = ""  # "minimal" ... "high", or "" for the server's default


_STRINGS = {"type": "array", "items": {"type": "string"}}
SCHEMAS: dict[str, dict[str, Any]] = {
    "paper_fields": {
        "type": "object",
        "properties": {"fields": _STRINGS, "summary": {"type": "string"}},
        "required": ["fields", "summary"],
        "additionalProperties": False,
    },
    "reader_profile": {
        "type": "object",
        "properties": {"phrases": _STRINGS, "exclude_phrases": _STRINGS},
        "required": ["phrases", "exclude_phrases"],
        "additionalProperties": False,
    },
    "reader_rerank": {
        "type": "object",
        "properties": {"scores": {"type": "array", "items": {"type": "integer"}}},
        "required": ["scores"],
        "additionalProperties": False,
    },
}

_ANSWER = "Answer with one JSON object that fits the given schema, and nothing else."
_SYSTEM: dict[str, str] = {
    "paper_fields": "You label research papers so that readers can filter a daily digest of "
    f"new papers by field. {_ANSWER}",
    "reader_profile": "You help a research-paper digest find the papers each reader wants. "
    f"{_ANSWER}",
    "reader_rerank": f"You judge how relevant new research papers are to one reader. {_ANSWER}",
}
_PAPER_ASK = """Reply with:
- "fields": 4 to 8 field labels for this paper, from broad to narrow: the discipline, its \
subfield, then the specific area, task or method. Use the names researchers search for, and \
give a common acronym in parentheses after its label, like "large language models (LLMs)".
- "summary": one plain sentence of at most 30 words that tells a researcher in five seconds \
what the paper does or finds."""
_PROFILE_ASK = """Reply with:
- "phrases": 8 to 15 short phrases (1 to 6 words each) that the titles and abstracts of papers \
this reader wants are likely to use: subfields, methods, models, objects of study, and \
acronyms with their expansion. Do not repeat the reader's own words.
- "exclude_phrases": 0 to 8 short phrases for papers this reader does not want (none when \
they named nothing they are not interested in)."""
_RERANK_ASK = """Score every candidate from 0 to 10 for this reader: 10 = a must-read they \
would be annoyed to miss, 7 = clearly relevant, 4 = loosely related, 0 = not relevant or \
about something they are not interested in. Reply with "scores": one integer per candidate, \
in the order given ({n} scores)."""


@dataclass(frozen=True)
class Reader:
    """What a request says about a reader: their own words, verbatim."""

    topics: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    liked: tuple[str, ...] = ()  # titles of papers they liked

    def describe(self) -> str:
        """Each topic, exclude and liked title on its own line, under its heading."""
        parts = []
        for heading, items in (("Topics", self.topics), ("Not interested in", self.exclude),
                               ("Papers they liked", self.liked)):
            if items:
                parts.append(f"{heading}:\n" + "\n".join(f"- {item}" for item in items))
        return "\n".join(parts)

    @property
    def key(self) -> str:
        """What a reader's rerank scores are kept by: a digest of their described words."""
        return reader_digest(self.describe())


def reader_digest(described: str) -> str:
    """The first 16 hex digits of the sha256 of a reader's description (``Reader.describe``)."""
    return hashlib.sha256(described.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Request:
    """One chat request: which use, its two messages, and its key (what it is cached by)."""

    use: Use
    system: str
    user: str

    @property
    def reply_tokens(self) -> int:
        """The reply's token cap for this use (``REPLY_TOKENS``)."""
        return REPLY_TOKENS[self.use]

    @property
    def key(self) -> str:
        """A digest of the use, the prompt version and both messages."""
        blob = json.dumps([self.use, PROMPT_VERSION, self.system, self.user], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def body(self, model: str, max_tokens: int, thinking: Thinking | None = None) -> dict[str, Any]:
        """The JSON body of ``POST {base_url}/chat/completions``; for a model that reasons
        first (``thinking``), its own token cap and effort, and no temperature."""
        limits: dict[str, Any] = {"temperature": 0, "max_tokens": max_tokens}
        if thinking is not None:
            limits = {"max_completion_tokens": max_tokens + thinking.tokens}
            if thinking.effort:
                limits["reasoning_effort"] = thinking.effort
        return {
            "model": model,
            **limits,
            "messages": [
                {"role": "system", "content": self.system},
                {"role": "user", "content": self.user},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": self.use, "strict": True, "schema": SCHEMAS[self.use]},
            },
        }


def paper_request(paper: Paper) -> Request:
    """Field labels and a one-line summary for one paper, from its title and abstract."""
    user = f"Title: {paper.title}\n\nAbstract: {paper.abstract}\n\n{_PAPER_ASK}"
    return Request("paper_fields", _SYSTEM["paper_fields"], user)


def profile_request(reader: Reader) -> Request:
    """More phrases to look for (and to avoid) for one reader, from their own words."""
    user = f"A reader described what they want to read.\n\n{reader.describe()}\n\n{_PROFILE_ASK}"
    return Request("reader_profile", _SYSTEM["reader_profile"], user)


def rerank_request(reader: Reader, papers: Sequence[Paper]) -> Request:
    """A 0-10 score per candidate paper for one reader, in the order given."""
    listed = "\n\n".join(
        f"[{n}] {p.title}\n{clip(' '.join(p.abstract.split()), RERANK_ABSTRACT_CHARS)}"
        for n, p in enumerate(papers, 1)
    )
    user = (
        f"The reader's interests:\n\n{reader.describe()}\n\nCandidate papers:\n\n{listed}\n\n"
        + _RERANK_ASK.format(n=len(papers))
    )
    return Request("reader_rerank", _SYSTEM["reader_rerank"], user)


_RERANK_USER = re.compile(
    r"The reader's interests:\n\n(?P<reader>.*?)\n\nCandidate papers:\n\n(?P<listed>.*)"
    r"\n\nScore every candidate ", re.DOTALL
)


def rerank_parts(user: str) -> tuple[str, list[str]]:
    """The reader's description and the candidates' titles in a rerank request's user message
    (what a server standing in for the model reads); ``BadReply`` when it is not one."""
    found = _RERANK_USER.match(user)
    if found is None:
        raise BadReply("not a rerank request")
    entries = re.split(r"\n\n(?=\[\d+\] )", found["listed"])
    titles = []
    for n, entry in enumerate(entries, 1):
        number, _, rest = entry.partition(" ")
        if number != f"[{n}]":
            raise BadReply("the candidates are not numbered 1, 2, 3 ...")
        titles.append(rest.partition("\n")[0])
    return found["reader"], titles


class BadReply(ValueError):
    """A reply that does not fit the request's schema; says how, in one line."""


@dataclass(frozen=True)
class PaperFields:
    fields: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class ProfilePhrases:
    phrases: tuple[str, ...]
    exclude_phrases: tuple[str, ...]


def read_json(content: str) -> Mapping[str, Any]:
    """The JSON object of a reply's content (a fenced block is tolerated)."""
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise BadReply("the reply is not JSON") from None
    if not isinstance(value, dict):
        raise BadReply("the reply is not a JSON object")
    return value


def _labels(value: Any, name: str, most: int) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise BadReply(f"'{name}' is not a list of strings")
    folded: dict[str, str] = {}
    for item in value:
        text = " ".join(item.split())[:MAX_LABEL]
        if text:
            folded.setdefault(text.casefold(), text)
    return tuple(folded.values())[:most]


def read_paper_fields(content: str) -> PaperFields:
    data = read_json(content)
    found = _labels(data.get("fields"), "fields", 8)
    summary = data.get("summary")
    if not found or not isinstance(summary, str):
        raise BadReply("'fields' is empty or 'summary' is not a string")
    return PaperFields(found, clip(" ".join(summary.split()), MAX_SUMMARY))


def read_profile_phrases(content: str) -> ProfilePhrases:
    data = read_json(content)
    return ProfilePhrases(
        _labels(data.get("phrases"), "phrases", 15),
        _labels(data.get("exclude_phrases", []), "exclude_phrases", 8),
    )


def read_rerank_scores(content: str, expected: int) -> tuple[int, ...]:
    scores = read_json(content).get("scores")
    if not isinstance(scores, list) or len(scores) != expected:
        raise BadReply(f"'scores' is not a list of {expected} integers")
    if not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= 10 for s in scores):
        raise BadReply("'scores' holds a value that is not an integer from 0 to 10")
    return tuple(scores)


def rerank_reader(expected: int) -> Callable[[str], tuple[int, ...]]:
    """A reader of rerank replies that holds ``expected`` scores (one per candidate sent)."""

    def read(content: str) -> tuple[int, ...]:
        return read_rerank_scores(content, expected)

    return read
