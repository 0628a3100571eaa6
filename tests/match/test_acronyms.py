"""Acronyms learnt from the papers' own definitions, and topics spelt out with them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from newsletter.match.acronyms import definitions, expand

TEXTS = [
    "We train spiking neural networks (SNNs) with surrogate gradients.",
    "A spiking neural network (SNN) on neuromorphic chips.",
    "Sparse neural networks (SNN) are pruned.",
    "Deep reinforcement learning (RL) agents; we use RL throughout.",
    "Large Language Models (LLMs) and brain-computer interfaces (BCI).",
    "Not an acronym (Fig) nor a lone letter (A), nor a number (2024).",
]


def test_definitions_take_the_most_frequent_long_form() -> None:
    known = definitions(TEXTS)
    assert known["SNN"] == "spiking neural network"
    assert known["RL"] == "reinforcement learning"
    assert known["LLM"] == "large language model"
    assert known["BCI"] == "brain-computer interface"
    assert not {"Fig", "A", "2024"} & known.keys()


def test_expand_spells_out_known_acronyms_inside_a_phrase() -> None:
    known = definitions(TEXTS)
    assert expand("SNNs", known) == "spiking neural network"
    assert expand("value-based deep RL", known) == "value-based deep reinforcement learning"
    assert expand("spiking neural networks", known) is None
    assert expand("rl", known) is None  # case matters: "rl" is not "RL"


def test_a_parenthesis_whose_letters_do_not_fit_teaches_nothing() -> None:
    assert definitions(["we propose a new method (XYZ) for vision"]) == {}


@given(st.lists(st.text(max_size=300), max_size=20))
def test_any_text_is_read_without_error(texts: list[str]) -> None:
    known = definitions(texts)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in known.items())
    for phrase in texts[:3]:
        expand(phrase, known)
