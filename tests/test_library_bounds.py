"""Library parsing is linear and bounded: a long unbroken word, deep nesting, an entry that
never closes, too many entries; each refused in one line naming the file, never a traceback
or minutes of CPU. Times are compared as ratios between sizes measured in the same run."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newsletter.app.readers import sync_subscribers
from newsletter.config import Config
from newsletter.errors import SubscriberError
from newsletter.library_files import read
from newsletter.library_scan import MAX_DEPTH, MAX_ENTRY_CHARS
from newsletter.store import open_engine
from newsletter.subscriber_files import load_file, read_dir

SMALL, FACTOR = 16_000, 8
DEEP = f"not valid CSL-JSON (line 1: nested more than {MAX_DEPTH} deep)"
LINEAR_BOUND = FACTOR * 4  # a quadratic parser gives FACTOR**2 = 64; a linear one about 8


def cpu_seconds(body: bytes, name: str) -> float:
    """The least CPU time of three reads in this thread (a refusal counts: it is an answer
    too; other threads of the test process do not)."""
    best = float("inf")
    for _ in range(3):
        start = time.thread_time()
        with contextlib.suppress(SubscriberError):
            read(body, name)
        best = min(best, time.thread_time() - start)
    return max(best, 5e-4)  # below the clock's grain both sizes are "instant"


def growth(prefix: str, middle: str, suffix: str, name: str) -> float:
    """How much longer the parse of ``prefix + middle * k + suffix`` takes when k grows
    ``FACTOR`` times."""
    reps = max(1, SMALL // max(1, len(middle)))
    small = (prefix + middle * reps + suffix).encode()
    large = (prefix + middle * reps * FACTOR + suffix).encode()
    cpu_seconds(small, name)  # warm up
    return cpu_seconds(large, name) / cpu_seconds(small, name)


def test_a_long_unbroken_word_in_a_bibtex_field_reads_in_linear_time() -> None:
    """The old field expression backtracked over the word from every position: 40k chars
    took 16 s, and a 512 KB paste would hold the web server for about 40 minutes."""
    ratio = growth("@article{a, ", "a", "}\n@misc{b, title={Kept}}", "lib.bib")
    assert ratio < LINEAR_BOUND
    word = "w" * 20_000
    assert read(f"@article{{a, title={{x {word}}}}}".encode(), "l.bib").keys[0].startswith(
        "title:x www"
    )


def test_spaces_before_an_id_on_a_pasted_line_read_in_linear_time() -> None:
    assert growth("A title", " ", "(arXiv:2401.01234)\n", "ids.txt") < LINEAR_BOUND


FRAMES = {
    "lib.bib": ["@article{a, title={", "@article{a, title=", "@article{a, ", "@misc(",
                "@article{a, title=\"", ""],
    "lib.ris": ["TY  - JOUR\nTI  - ", "TY  - JOUR\n", ""],
    "lib.json": ['[{"title": "', "[", '{"items": [{"URL": ', ""],
    "ids.txt": ["Title ", "arXiv:", ""],
}
TEXT = st.text(alphabet=" \n\t{}[]()\"'@=,#\\:aZ0.-\u00e9TYER", max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(FRAMES)),
    frame=st.integers(min_value=0, max_value=5),
    middle=TEXT.filter(bool),
    suffix=TEXT,
)
@example(name="lib.bib", frame=2, middle="a", suffix="}")
@example(name="lib.bib", frame=0, middle="{a", suffix="")
@example(name="lib.json", frame=1, middle="[", suffix="")
@example(name="lib.json", frame=0, middle='\\"', suffix="")
@example(name="lib.ris", frame=1, middle="TI  - x\n", suffix="ER  -\n")
@example(name="ids.txt", frame=0, middle=" ", suffix="(arXiv:2401.01234)")
def test_parse_time_grows_linearly_with_the_input_in_every_format(
    name: str, frame: int, middle: str, suffix: str
) -> None:
    """Any repeated middle inside any format's opening: 8 times the input is at most about
    8 times the CPU (a generous 4x margin for a loaded machine)."""
    prefix = FRAMES[name][frame % len(FRAMES[name])]
    assert growth(prefix, middle, suffix, name) < LINEAR_BOUND


@pytest.mark.parametrize(
    ("body", "name", "problem"),
    [
        (b"[" * 5000, "lib.json", DEEP),
        (b'{"items": ' * 100 + b"[]" + b"}" * 100, "lib.json", DEEP),
        (b"@article{a, title={" + b"{" * 40 + b"x" + b"}" * 41 + b"}", "lib.bib",
         f"braces nested more than {MAX_DEPTH} deep in the entry at line 1 (@article{{a)"),
        (b"@article{a, title={One}\n\n@article{b, title={Two}}\n", "lib.bib",
         "unbalanced braces: the entry at line 1 (@article{a) is never closed"),
        (b"@misc{ok, title={Fine}}\n@article{unclosed, title = {no end", "lib.bib",
         "unbalanced braces: the entry at line 2 (@article{unclosed) is never closed"),
        (b"@article{a, abstract={" + b"x" * MAX_ENTRY_CHARS + b"}}", "lib.bib",
         f"the entry at line 1 (@article{{a) is longer than {MAX_ENTRY_CHARS} characters "
         "(or a brace in it is never closed)"),
        (b"TY  - JOUR\n" + b"N1  - " + b"y" * MAX_ENTRY_CHARS + b"\nER  -\n", "lib.ris",
         f"the entry at line 1 is longer than {MAX_ENTRY_CHARS} characters"),
        (b"@misc{k, title={t}}\n" * 20_001, "lib.bib", "more than 20000 entries"),
        (b"TY  - GEN\nTI  - t\nER  -\n" * 20_001, "lib.ris", "more than 20000 entries"),
    ],
)
def test_each_limit_is_one_line_naming_the_file(body: bytes, name: str, problem: str) -> None:
    """The one before the last swallowed the second entry into the first without a word."""
    with pytest.raises(SubscriberError) as caught:
        read(body, name)
    assert str(caught.value) == f"{name}: {problem}"


def test_bibtex_values_as_bibtex_writes_them() -> None:
    body = (
        b'@article{a, title = "Quoted {Braces} title", note = {arXiv:} # "2306.17670"}\n'
        b"@misc(b, title={Paren entry (with parentheses)})\n"
        b"@string{x = {ignored}}\n@comment{title={Not an entry}}\n"
        b"@article{c, year = 2020, title={{Nested {deep}} words}, title={second}}\n"
    )
    assert read(body, "lib.bib").keys == (
        "arxiv:2306.17670|title:quoted braces title",
        "title:paren entry with parentheses",
        "title:nested deep words",
    )


def sub_file(folder: Path, name: str, library: bytes, suffix: str) -> Path:
    (folder / f"{name}{suffix}").write_bytes(library)
    path = folder / f"{name}.toml"
    path.write_text(f'email = "{name}@example.org"\nlibrary = "{name}{suffix}"\n')
    return path


def test_a_bad_library_skips_its_reader_with_one_warning(
    tmp_path: Path, make_config, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    """Nested CSL-JSON was a RecursionError: a traceback from ``subscribers sync`` and a
    ``run`` that stopped for every reader. Now the file is skipped with one line."""
    folder = tmp_path / "subscribers"
    folder.mkdir()
    good = sub_file(folder, "good", b"2306.17670\n", ".txt")
    deep = sub_file(folder, "deep", b"[" * 5000, ".json")
    long = sub_file(folder, "long", b"@article{a, " + b"a" * 40_000 + b"}", ".bib")
    with pytest.raises(SubscriberError, match=r"nested more than 32 deep"):
        load_file(deep)
    subs, problems = read_dir(folder)
    assert [s.origin for s in subs] == [str(good)]
    assert sorted(problems) == [deep, long]
    assert all("\n" not in str(p) for p in problems.values())
    config: Config = make_config({"newsletter": {"subscribers_dir": str(folder)}})
    engine = open_engine(f"sqlite:///{tmp_path / 'nl.db'}")
    with caplog.at_level("WARNING", logger="newsletter.app.readers"):
        report = sync_subscribers(config, engine, datetime(2026, 12, 1, tzinfo=UTC))
    engine.dispose()
    assert report is not None
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and all("skipped until it is fixed" in w for w in warned)
    assert warned[0].startswith(f"{deep}: field 'library': deep.json: not valid CSL-JSON")


def test_a_deeply_nested_value_inside_an_item_is_refused_too() -> None:
    deep = '{"title": "x", "note": ' + "[" * 40 + "]" * 40 + "}"
    with pytest.raises(SubscriberError, match=r"^l\.json: not valid CSL-JSON \(line 1: nested"):
        read(f"[{deep}]".encode(), "l.json")
    assert read(json.dumps([{"title": "Shallow", "author": [{"family": "A"}]}]).encode(),
                "l.json").keys == ("title:shallow",)
