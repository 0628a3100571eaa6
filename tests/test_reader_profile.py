"""A profile a reader gives: checked by the profile's rules, every problem in the reader's words
and in the form's order, and kept as data until the sign-up is confirmed."""

from __future__ import annotations

import json

import pytest

from newsletter.profile import ON_WEB
from newsletter.reader_profile import FormErrors, stored_profile, validate

GOOD = {"email": "ada@example.org", "topics": ["spiking neural networks"]}


def test_every_problem_is_in_reader_words_and_in_the_form_order() -> None:
    bad = GOOD | {"max_papers": 0, "min_upvotes": -1, "timezone": "Mars/Base", "topics": [],
                  "email": "ada@example"}
    with pytest.raises(FormErrors) as caught:
        validate(bad)
    errors = caught.value.errors
    on_web = [f.name for f in ON_WEB]
    assert list(errors) == ["email", "topics", "timezone", "max_papers", "min_upvotes"]
    assert [n for n in errors if n in on_web] == sorted(
        (n for n in errors if n in on_web), key=on_web.index)
    assert errors["timezone"] == "Choose a time zone from the list, like Europe/Paris."
    assert all("field '" not in text for text in errors.values())


def test_what_the_form_refused_wins_and_is_shown_even_when_the_rules_pass() -> None:
    with pytest.raises(FormErrors) as caught:
        validate(GOOD | {"topics": []}, {"topics": "Give at most 30 lines here (you gave 31)."})
    assert caught.value.errors == {"topics": "Give at most 30 lines here (you gave 31)."}
    with pytest.raises(FormErrors, match=r"^library: We could not read"):
        validate(GOOD, {"library": "We could not read this list."})


def test_a_stored_sign_up_reads_back_as_the_same_profile() -> None:
    sub = validate(GOOD | {"frequency": "weekly", "weekday": "friday", "send_at": "06:15",
                           "library": ["2401.00001"]})
    kept = json.loads(json.dumps(stored_profile(sub)))
    assert "active" not in kept
    assert validate(kept) == sub
