"""arXiv category codes -> the words they add to a paper's field text."""

from __future__ import annotations

from newsletter.arxiv_taxonomy import ALSO, CLASSES, names, valid


def test_names_give_each_class_then_each_archive_once() -> None:
    assert names(("cs.CL", "cs.LG", "stat.ML")) == (
        "Computation and Language", "Natural Language Processing", "Machine Learning",
        "Computer Science", "Statistics",
    )


def test_a_vague_class_name_carries_its_archive() -> None:
    assert names(("stat.ME",)) == ("Statistics: Methodology", "Statistics")


def test_an_unlisted_class_of_a_known_archive_gives_its_archive_only() -> None:
    assert valid("cs.XX") and names(("cs.XX",)) == ("Computer Science",)
    assert names(()) == ()


def test_only_codes_of_arxiv_archives_are_categories() -> None:
    assert all(valid(code) for code in CLASSES)
    for tag in ("machine-learning", "news", "cs.<b>", "CS.LG", "cs.", "cs.LG2", "x" * 40):
        assert not valid(tag), tag


def test_every_alias_belongs_to_a_listed_class() -> None:
    assert set(ALSO) <= set(CLASSES)
