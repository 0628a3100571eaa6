"""Pure text helpers: abstract trimming, author lists, header-safe lines, preheader, wrapping."""

from __future__ import annotations

from datetime import date

from newsletter.render.text import (
    authors_label,
    date_label,
    long_date_label,
    one_line,
    preheader,
    trim_abstract,
    wrap,
)
from newsletter.wording import ELLIPSIS


def test_short_abstract_is_kept_whole_with_spaces_collapsed() -> None:
    assert trim_abstract("One line.\n  Two   lines.", 400) == "One line. Two lines."


def test_long_abstract_is_cut_at_the_last_sentence_within_the_limit() -> None:
    text = "First sentence is here. " * 10 + "A final sentence that goes past the limit."
    cut = trim_abstract(text, 100)
    assert len(cut) <= 100
    assert cut.endswith("here.")


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    text = "We use models, e.g. transformers by A. Smith et al. and more. " + "x" * 300
    cut = trim_abstract(text, 80)
    assert cut == "We use models, e.g. transformers by A. Smith et al. and more."


def test_cut_never_lands_inside_inline_tex() -> None:
    text = "Intro sentence goes here and is long enough. We bound $x. y$ well. " + "z " * 200
    cut = trim_abstract(text, 60)
    assert cut.count("$") % 2 == 0


def test_without_a_sentence_end_the_cut_is_at_a_word_with_an_ellipsis() -> None:
    text = "word " * 200
    cut = trim_abstract(text, 50)
    assert cut.endswith(ELLIPSIS) and len(cut) <= 50 and "wor" + ELLIPSIS not in cut


def test_authors_label() -> None:
    assert authors_label(("A", "B"), None) == "A, B"
    assert authors_label(("A", "B", "C", "D"), None) == "A, B, C et al."
    assert authors_label(("A",), 7) == "A et al."
    assert authors_label((), 5) == "5 authors"
    assert authors_label((), None) == ""


def test_dates_do_not_depend_on_locale() -> None:
    assert date_label(date(2026, 3, 1)) == "Mar 1, 2026"
    assert long_date_label(date(2026, 11, 23)) == "Monday, Nov 23, 2026"
    assert date_label(None) == ""


def test_one_line_removes_line_breaks_and_control_characters() -> None:
    dirty = "Hello\r\nBcc: x@y\x00\x1b[31m\u2028\u2029\x85 world\t!"
    clean = one_line(dirty)
    assert clean == "Hello Bcc: x@y [31m world !"
    assert not any(ord(c) < 32 or c in "\x7f\x85\u2028\u2029" for c in clean)


def test_one_line_is_bounded() -> None:
    assert len(one_line("word " * 100, 50)) <= 50


def test_preheader_names_count_and_titles_within_about_90_characters() -> None:
    line = preheader(["A first title", "Another one", "A third " * 10], ["x"])
    assert line.startswith("3 papers for you: A first title; Another one")
    assert len(line) <= 90
    assert preheader([], ["brain", "planets"]).startswith("No new papers matched your topics")


def test_wrap_keeps_long_urls_whole() -> None:
    url = "https://example.org/" + "a" * 100
    lines = wrap(f"Read it at {url} today", 40).splitlines()
    assert url in lines and all(len(line) <= 40 for line in lines if line != url)
