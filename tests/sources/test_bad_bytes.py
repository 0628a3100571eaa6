"""A page keeps its good papers (issue 24, item 3): a NUL or a byte that is not UTF-8 in a
text snapshot or a feed costs one character, is reported by offset in one warning line naming
the source, and binary data is still refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from newsletter.app.ingest import ingest
from newsletter.config import Config, SourceSettings
from newsletter.sources import feed, text
from newsletter.sources.bad_bytes import SHOWN, XML_CONTROLS, mend
from newsletter.sources.base import ParseContext, ParseError
from newsletter.sources.http import Fetcher
from newsletter.store.papers import list_papers

HOSTILE = Path(__file__).resolve().parents[1] / "data" / "hostile"
CTX = ParseContext("test", date(2026, 1, 13))
NOW = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)


def test_mend_names_each_bad_byte_by_its_offset_in_the_body() -> None:
    body = "é".encode() + b"a\xffb\x00c" + "ü".encode() + b"\xe9"
    mended, repairs = mend(body)
    assert mended == "éa\ufffdbc\u00fc\ufffd"
    assert (repairs.bad, repairs.bad_at) == (2, (3, 9))
    assert (repairs.dropped, repairs.dropped_at) == (1, (5,))
    assert repairs.lines() == (
        "2 bytes that are not UTF-8 replaced by U+FFFD (at offsets 3, 9); "
        "1 control byte dropped (at offset 5)",
    )
    assert mend(b"clean text") == ("clean text", mend(b"")[1])


def test_mend_keeps_other_encodings_byte_for_byte_and_shows_a_few_offsets() -> None:
    body = b"caf\xe9 \x01\x02" + b"\x00" * 50
    mended, repairs = mend(body, drop=XML_CONTROLS, utf8=False)
    assert mended.encode("utf-8", "surrogateescape") == b"caf\xe9 "
    assert repairs.dropped == 52 and len(repairs.dropped_at) == SHOWN
    assert repairs.lines()[0].endswith("(at offsets 5, 6, 7, 8, 9 and 47 more)")


def test_a_snapshot_with_a_nul_and_a_bad_byte_keeps_every_paper() -> None:
    """It was refused whole: "not UTF-8 text (bad byte at offset 230)"."""
    page = text.parse((HOSTILE / "text_nul_and_bad_byte.txt").read_bytes(), CTX)
    assert [p.title for p in page.papers] == [
        "A Snapshot Title With a NUL Inside",
        "Second Snapshot Paper, Bad Byte in Its Abstract",
        "Third Snapshot Paper Kept Whole",
    ]
    assert "one Latin-1 byte \ufffd where" in page.papers[1].abstract
    assert page.repaired == ("1 byte that is not UTF-8 replaced by U+FFFD (at offset 230); "
                             "1 control byte dropped (at offset 49)",)


@pytest.mark.parametrize("body", [b"\x00\x01 not text", bytes(range(256)) * 8,
                                  "Daily Papers\n".encode("utf-16")])
def test_binary_data_is_still_not_a_snapshot(body: bytes) -> None:
    with pytest.raises(ParseError, match="binary data, not a text snapshot"):
        text.parse(body, CTX)


def test_a_feed_with_a_raw_nul_keeps_its_good_entries() -> None:
    """It was "malformed or truncated XML" for the whole feed."""
    page = feed.parse((HOSTILE / "feed_raw_nul.xml").read_bytes(), CTX)
    assert [p.arxiv_id for p in page.papers] == ["2601.90061", "2601.90062", "2601.90063"]
    assert page.papers[1].title == "Raw NUL in a Feed Title"
    assert page.repaired[0].endswith("1 control byte dropped (at offset 237)")


def test_a_windows_1252_feed_keeps_its_accents_and_loses_only_its_control_byte() -> None:
    body = ('<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel>'
            "<title>t</title><item><title>Caf\xe9\x01 Society</title><description>d"
            "</description></item></channel></rss>").encode("cp1252")
    page = feed.parse(body, CTX)
    assert page.papers[0].title == "Caf\u00e9 Society"
    assert page.repaired == ("1 control byte dropped (at offset 106)",)


def test_run_warns_once_naming_the_source_and_offsets(
    tmp_path: Path, open_db: Callable[..., Engine], make_config: Callable[..., Config],
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "snap.txt").write_bytes((HOSTILE / "text_nul_and_bad_byte.txt").read_bytes())
    engine, config = open_db(), make_config()
    with Fetcher(config.fetch) as fetcher, caplog.at_level("WARNING", "newsletter.app.ingest"):
        (report,) = ingest(engine, config, [SourceSettings(path="snap.txt")], fetcher, NOW)
    assert report.status == "ok" and report.counts.new == 3
    assert [r.getMessage() for r in caplog.records] == [
        "snap.txt: 1 byte that is not UTF-8 replaced by U+FFFD (at offset 230); "
        "1 control byte dropped (at offset 49)"
    ]
    with engine.connect() as conn:
        assert len(list_papers(conn)) == 3
