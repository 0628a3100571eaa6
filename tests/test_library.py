"""Reading a reader's library: BibTeX, RIS, CSL-JSON and plain id lists, hostile ones too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.errors import SubscriberError
from newsletter.library import MAX_ENTRIES, read
from newsletter.profile import from_dict
from newsletter.subscribers import load_file

DATA = Path(__file__).resolve().parent / "data" / "library"
DELAYS = "arxiv:2306.17670"


def keys(name: str) -> tuple[str, ...]:
    return read((DATA / name).read_bytes(), name).keys


def test_bibtex_ids_from_eprint_doi_and_note_else_the_title() -> None:
    found = read((DATA / "zotero.bib").read_bytes(), "zotero.bib")
    assert found.keys == (
        DELAYS,
        "title:hebbian learning based orthogonal projection for continual learning of spiking"
        " neural networks",
        "arxiv:1706.03762",
    )
    assert found.unreadable == 0


def test_ris_and_csl_json_and_plain_ids() -> None:
    assert keys("zotero.ris") == ("arxiv:2308.10873", "title:a title only entry")
    assert read((DATA / "zotero.ris").read_bytes(), "zotero.ris").unreadable == 1
    assert keys("zotero.json") == (DELAYS, "title:some journal paper", "arxiv:2401.01234")
    assert keys("ids.txt") == (
        DELAYS, "arxiv:2308.10873", "arxiv:2401.01234", "arxiv:2312.00001", "title:a paper title"
    )
    assert read((DATA / "ids.txt").read_bytes(), "ids.txt").unreadable == 1  # "junk"


def test_the_format_is_recognised_without_a_suffix() -> None:
    for name in ("zotero.bib", "zotero.ris", "zotero.json", "ids.txt"):
        assert read((DATA / name).read_bytes(), "library").keys == keys(name)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe@article{x, title={Caf\xe9 society}}",  # not UTF-8: read as Windows-1252
        b"@article{unclosed, title = {no end",
        b"@article{x, title = }",
        b"@@@{{{}}}",
        b"TY  - JOUR\nTI  - \nER  -\n",
        b"\x00\x01\x02 binary",
        b"",
        "@misc{u, title={\u00fcber \ud800 lone surrogate}}".encode("utf-8", "surrogatepass"),
    ],
)
def test_hostile_bodies_give_keys_or_nothing_never_a_crash(body: bytes) -> None:
    found = read(body, "library.bib")
    assert all(k.startswith(("arxiv:", "title:")) for k in found.keys)


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
    assert sub.topics == () and DELAYS in sub.library
    again = from_dict({"email": "ada@example.org", "library": list(sub.library)}, "stored")
    assert again.library == sub.library


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"missing.bib"', r"field 'library': .*missing\.bib: no such file"),
        ('"."', r"field 'library': .*: no such file"),
        ('["doi:10.1/x"]', r"field 'library': not an arXiv id or a title key"),
        ("3", r"field 'library': must be a file name or a list of arXiv ids"),
    ],
)
def test_library_errors_are_one_line(tmp_path: Path, value: str, problem: str) -> None:
    profile = tmp_path / "ada.toml"
    profile.write_text(f'email = "ada@example.org"\nlibrary = {value}\n')
    with pytest.raises(SubscriberError, match=rf"^{tmp_path / 'ada.toml'}: {problem}") as info:
        load_file(profile)
    assert "\n" not in str(info.value)
