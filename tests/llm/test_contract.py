"""The contract's additions for the client and the fake: reply token caps, the reader digest
rerank scores are kept by, and reading a rerank request back."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from newsletter.llm.contract import (
    BadReply,
    Reader,
    paper_request,
    reader_digest,
    rerank_parts,
    rerank_reader,
    rerank_request,
)
from newsletter.models import Paper


def test_a_rerank_request_reads_back_into_its_reader_and_titles(papers: list[Paper]) -> None:
    reader = Reader(("graph neural networks", "GNN"), ("medical imaging",), (papers[0].title,))
    tricky = replace(papers[2], title="On [1] Brackets: A Study", abstract="[3] starts like one")
    candidates = [papers[1], tricky, replace(papers[3], abstract=""), papers[4]]
    described, titles = rerank_parts(rerank_request(reader, candidates).user)
    assert described == reader.describe()
    assert titles == [p.title for p in candidates]


def test_a_reader_with_no_words_reads_back_too(papers: list[Paper]) -> None:
    assert rerank_parts(rerank_request(Reader(), papers[:2]).user) == (
        "", [papers[0].title, papers[1].title]
    )


def test_other_requests_are_not_read_as_rerank_requests(papers: list[Paper]) -> None:
    with pytest.raises(BadReply):
        rerank_parts(paper_request(papers[0]).user)


def test_the_reader_digest_is_the_first_16_hex_digits_of_the_sha256_of_the_description() -> None:
    reader = Reader(("exoplanets",), (), ("A liked title",))
    expected = hashlib.sha256(reader.describe().encode("utf-8")).hexdigest()[:16]
    assert reader.key == reader_digest(reader.describe()) == expected


def test_each_request_carries_its_reply_token_cap(papers: list[Paper]) -> None:
    request = paper_request(papers[0])
    assert request.body("m", request.reply_tokens)["max_tokens"] == 400


def test_a_rerank_reader_wants_its_number_of_scores() -> None:
    assert rerank_reader(3)('{"scores": [1, 2, 3]}') == (1, 2, 3)
    with pytest.raises(BadReply, match="3 integers"):
        rerank_reader(3)('{"scores": [1, 2]}')
