"""Reading a reader's library: BibTeX, RIS, CSL-JSON and plain id lists, hostile ones too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.errors import SubscriberError
from newsletter.library_files import MAX_ENTRIES, alternatives, expand, read
from newsletter.profile import from_dict
from newsletter.subscriber_files import load_file

DATA = Path(__file__).resolve().parent / "data" / "library"
DELAYS = "arxiv:2306.17670"


def keys(name: str) -> tuple[str, ...]:
    return read((DATA / name).read_bytes(), name).keys


DELAYS_TITLE = (
    "title:learning delays in spiking neural networks using dilated convolutions with"
    " learnable spacings"
)


def test_bibtex_entries_are_known_by_their_arxiv_id_and_by_their_title() -> None:
    """An id (from eprint, an arXiv DOI or a note) and the title, in one key: a source that
    stored the paper without its id (a text snapshot) still finds it by title."""
    found = read((DATA / "zotero.bib").read_bytes(), "zotero.bib")
    assert found.keys == (
        f"{DELAYS}|{DELAYS_TITLE}",
        "title:hebbian learning based orthogonal projection for continual learning of spiking"
        " neural networks",
        "arxiv:1706.03762|title:an old style paper",
    )
    assert found.unreadable == 0
    assert alternatives(found.keys[0]) == (DELAYS, DELAYS_TITLE)
    assert expand(found.keys)[:3] == [DELAYS, DELAYS_TITLE, found.keys[1]]


def test_ris_and_csl_json_and_plain_ids() -> None:
    assert keys("zotero.ris") == (
        "arxiv:2308.10873|title:unleashing the potential of spiking neural networks by dynamic"
        " confidence",
        "title:a title only entry",
    )
    assert read((DATA / "zotero.ris").read_bytes(), "zotero.ris").unreadable == 1
    assert keys("zotero.json") == (
        f"{DELAYS}|title:learning delays in spiking neural networks",
        "title:some journal paper",
        "arxiv:2401.01234",
    )
    assert keys("ids.txt") == (
        DELAYS, "arxiv:2308.10873", "arxiv:2401.01234", "arxiv:2312.00001", "title:a paper title"
    )
    assert read((DATA / "ids.txt").read_bytes(), "ids.txt").unreadable == 1  # "junk"


def test_keys_as_the_preferences_page_shows_them_read_back_the_same() -> None:
    shown = "\n".join(keys("zotero.bib")).encode()
    assert read(shown, "library").keys == keys("zotero.bib")


def test_the_format_is_recognised_without_a_suffix() -> None:
    for name in ("zotero.bib", "zotero.ris", "zotero.json", "ids.txt"):
        assert read((DATA / name).read_bytes(), "library").keys == keys(name)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"\xff\xfe@article{x, title={Caf\xe9 society}}", "title:cafe society"),  # cp1252
        ("\ufeff@misc{w, title={Windows export}}".encode("utf-16"), "title:windows export"),
        (b"", None),
    ],
)
def test_hostile_bodies_that_still_hold_an_entry(body: bytes, expected: str | None) -> None:
    assert read(body, "library.bib").keys == ((expected,) if expected else ())


def test_invalid_utf8_falls_back_to_windows_1252_for_the_whole_file() -> None:
    body = "@misc{u, title={\u00fcber \ud800 lone surrogate}}".encode("utf-8", "surrogatepass")
    (key,) = read(body, "library.bib").keys
    assert key.startswith("title:") and key.endswith("lone surrogate")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"@article{x, title = }", "no entry with an arXiv id or a title"),
        (b"just some notes\n", "no entry with an arXiv id or a title"),
        (b"TY  - JOUR\nTI  - \nER  -\n", "no entry with an arXiv id or a title"),
        (b"\x00\x01\x02 binary", "not a text file"),
        (bytes(range(256)) * 8, "not a text file"),
        (b"%PDF-1.4\n1 0 obj\nendobj\n", "a PDF, not a library export"),
    ],
)
def test_a_file_with_no_paper_in_it_is_refused_in_one_line(body: bytes, problem: str) -> None:
    """Not silently an empty library (which would replace a reader's good one)."""
    with pytest.raises(SubscriberError) as caught:
        read(body, "library.bib")
    assert str(caught.value) == f"library.bib: {problem}"


def test_broken_csl_json_is_one_line_naming_the_file() -> None:
    with pytest.raises(SubscriberError, match=r"^lib\.json: not valid CSL-JSON \(line 1"):
        read(b"[{", "lib.json")


def test_ten_thousand_entries_are_read_and_twenty_thousand_one_refused() -> None:
    bib = "".join(f"@article{{k{i}, title={{Paper number {i}}}}}\n" for i in range(10_000))
    assert len(read(bib.encode(), "big.bib").keys) == 10_000
    items = [{"title": f"t{i}"} for i in range(MAX_ENTRIES + 1)]
    with pytest.raises(SubscriberError, match=r"^big\.json: more than 20000 entries"):
        read(json.dumps(items).encode(), "big.json")


@settings(max_examples=200)
@given(st.binary(max_size=2000), st.sampled_from(["a.bib", "a.ris", "a.json", "a.txt", "a"]))
def test_any_bytes_in_any_format(body: bytes, name: str) -> None:
    try:
        found = read(body, name)
    except SubscriberError as exc:
        assert str(exc).startswith(f"{name}: ")
    else:
        assert found.unreadable >= 0


def test_a_subscriber_file_names_its_library_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "mine.bib").write_bytes((DATA / "zotero.bib").read_bytes())
    profile = tmp_path / "ada.toml"
    profile.write_text('email = "ada@example.org"\nlibrary = "libs/mine.bib"\n')
    sub = load_file(profile)
    assert sub.topics == () and f"{DELAYS}|{DELAYS_TITLE}" in sub.library
    again = from_dict({"email": "ada@example.org", "library": list(sub.library)}, "stored")
    assert again.library == sub.library


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"missing.bib"', r"field 'library': .*missing\.bib: no such file"),
        ('"."', r"field 'library': .*: a folder, not a library file"),
        ('"lib.pdf"', r"field 'library': lib\.pdf: a PDF, not a library export"),
        ('"lib.bib"', r"field 'library': lib\.bib: not a text file"),
        ('["doi:10.1/x"]', r"field 'library': not an arXiv id or a title key"),
        ("3", r"field 'library': must be a file name or a list of arXiv ids"),
    ],
)
def test_library_errors_are_one_line(tmp_path: Path, value: str, problem: str) -> None:
    (tmp_path / "lib.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\nendobj\n")
    (tmp_path / "lib.bib").write_bytes(bytes(range(256)) * 4)
    profile = tmp_path / "ada.toml"
    profile.write_text(f'email = "ada@example.org"\nlibrary = {value}\n')
    with pytest.raises(SubscriberError, match=rf"^{tmp_path / 'ada.toml'}: {problem}") as info:
        load_file(profile)
    assert "\n" not in str(info.value)


def test_a_very_long_title_is_cut_and_its_id_kept() -> None:
    """Every key part fits what a profile stores (300 characters), so the entry is neither
    dropped when read from a file nor refused when read back from the stored profile."""
    title = " ".join(["word"] * 200)
    (key,) = read(f"@article{{a, eprint={{2306.17670}}, title={{{title}}}}}".encode(), "l.bib").keys
    assert key.startswith(f"{DELAYS}|title:word word") and len(alternatives(key)[1]) <= 300
    again = from_dict({"email": "ada@example.org", "library": [key]}, "stored")
    assert again.library == (key,)


def test_one_paper_given_twice_is_kept_once_with_its_title() -> None:
    body = b"2306.17670\n@article{a, eprint={2306.17670}, title={Learning Delays}}\n"
    assert read(body, "mixed.bib").keys == (f"{DELAYS}|title:learning delays",)
    body = b"https://arxiv.org/abs/2306.17670\n2306.17670v2\n"
    assert read(body, "ids.txt").keys == (DELAYS,)


@pytest.mark.parametrize("body", [b"[]", b"@comment{jabref-meta: databaseType:bibtex;}\n"])
def test_an_empty_export_is_an_empty_library(body: bytes) -> None:
    """A new, empty Zotero collection is not an error (the reader has liked nothing yet)."""
    name = "lib.json" if body == b"[]" else "lib.bib"
    assert read(body, name).keys == ()


def test_a_short_list_with_a_stray_control_character_is_still_text() -> None:
    """Word's soft line break and a DOS end-of-file mark are not binary."""
    assert read(b"2306.17670\x0b\n\x1a", "ids.txt").keys == (DELAYS,)
