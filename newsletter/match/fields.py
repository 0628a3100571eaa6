"""Fields a reader names and the words their papers use: "astronomy" -> exoplanet, galaxy, ...

A reader who writes one word for a field ("geology", "robotics", "NLP") means the papers of
that field, and those papers name their objects and methods, rarely the field. The packaged
vocabulary (``fields.json``, written from general knowledge, without looking at any
evaluation data) lists, for each field, the names readers give it and the terms its papers
use; a topic that is a field's name is also scored by those terms, at a discount.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from newsletter.match.tokens import phrase_words


def key(phrase: str) -> str:
    """A name folded for lookup: case, accents, plurals, hyphens and stopwords."""
    return " ".join(phrase_words(phrase))


@cache
def vocabulary() -> dict[str, tuple[str, ...]]:
    """Folded field name -> the field's terms, from the packaged ``fields.json``."""
    text = resources.files("newsletter.match").joinpath("fields.json").read_text("utf-8")
    out: dict[str, tuple[str, ...]] = {}
    for field in json.loads(text)["fields"]:
        terms = tuple(dict.fromkeys(field["terms"]))
        for name in field["names"]:
            out.setdefault(key(name), terms)
    return out


def terms(phrase: str) -> tuple[str, ...]:
    """The terms of the field ``phrase`` names, or () when it names none."""
    return vocabulary().get(key(phrase), ())
