"""What a language model said, read back: a paper's kept labels and summary, a reader's kept
phrases (less the ones they dropped), and the words a request says of a reader. Reading asks
nothing; with ``[llm]`` unset it returns papers and readers as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from newsletter.config import Config
from newsletter.models import Expansion, Paper, Subscriber
from newsletter.store import llm_answers
from newsletter.store.history import reference_papers

if TYPE_CHECKING:
    from newsletter.llm.contract import Reader

LIKED_TITLES = 20  # liked papers a profile request names, at most


def reader_of(conn: Any, sub: Subscriber) -> Reader:
    """What a request says of a reader: their topics, excludes and liked papers' titles."""
    from newsletter.llm.contract import Reader

    liked = reference_papers(conn, sub, {})
    titles = tuple(dict.fromkeys(p.title for p in liked.values()))[:LIKED_TITLES]
    return Reader(sub.topics, sub.exclude, titles)


def rerank_key(reader: Reader) -> str:
    """The digest rerank scores of one reader are kept under (words and prompt version)."""
    import hashlib

    from newsletter.llm.contract import PROMPT_VERSION

    blob = f"{PROMPT_VERSION}\n{reader.describe()}"
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def labelled(config: Config, conn: Any, papers: Sequence[Paper]) -> list[Paper]:
    """``papers`` with their kept labels and summary (as they are, with ``[llm]`` unset)."""
    if not config.llm.enabled or not papers:
        return list(papers)
    from newsletter.llm.contract import paper_request, read_paper_fields

    keys = [paper_request(p).key for p in papers]
    kept = llm_answers.kept_replies(conn, keys)
    out = []
    for paper, key in zip(papers, keys, strict=True):
        if key in kept:
            found = read_paper_fields(json.dumps(kept[key]))
            paper = replace(paper, labels=found.fields, summary=found.summary)
        out.append(paper)
    return out


def expansions(
    config: Config, conn: Any, subs: Sequence[Subscriber], dropped: bool = False
) -> Mapping[str, Expansion]:
    """Each reader's kept phrases (none with ``[llm]`` unset or nothing kept), less the ones
    they dropped (unless ``dropped``: then all of them, for the preferences page)."""
    if not config.llm.enabled or not config.llm.expand_profiles:
        return {}
    from newsletter.llm.contract import profile_request, read_profile_phrases

    keys = {s.email: profile_request(reader_of(conn, s)).key for s in subs}
    kept = llm_answers.kept_replies(conn, list(keys.values()))
    out = {}
    for sub in subs:
        key = keys[sub.email]
        if key in kept:
            found = read_profile_phrases(json.dumps(kept[key]))
            gone = set() if dropped else {p.casefold() for p in sub.dropped_phrases}
            out[sub.email] = Expansion(
                tuple(p for p in found.phrases if p.casefold() not in gone),
                tuple(p for p in found.exclude_phrases if p.casefold() not in gone),
            )
    return out
