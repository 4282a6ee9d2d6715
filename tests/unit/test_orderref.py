"""The `<order>` grammar of the README's Slash commands and the refusals of reliability R4."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.orderref import MAX_ORDERS_PER_COMMAND, OrderRefError, split_refs, validate_ref

# The grammar exactly as the README states it, written independently of the module.
GRAMMAR = re.compile(r"(?!\.)[A-Za-z0-9_.\-]{1,64}\Z")


@pytest.mark.parametrize(
    "ref",
    [
        "A",
        "7",
        "TEST-1001",
        "shop_48213",
        "SHOP.48213",
        "a.",
        "a..b",
        "-leading-dash",
        "_x",
        "X" * 64,
        "payload-7",
    ],
)
def test_references_in_the_grammar_are_accepted_unchanged(ref: str) -> None:
    """1 to 64 letters, digits, '-', '_' and '.', not starting with '.', is returned as is."""
    assert validate_ref(ref) == ref


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (".", "starts with a dot"),
        ("..", "starts with a dot"),
        (".a", "starts with a dot"),
        ("a/b", "characters other than"),
        ("x?y", "characters other than"),
        ("a#b", "characters other than"),
        ("%2e%2e", "characters other than"),
        ("a b", "characters other than"),
        (" a", "characters other than"),
        ("a\n", "characters other than"),
        ("a\tb", "characters other than"),
        ("é1", "characters other than"),
        ("１２３", "characters other than"),
        ("", "empty"),
        ("A" * 65, "65 characters long (at most 64)"),
    ],
)
def test_references_outside_the_grammar_are_refused_with_the_reason(text: str, why: str) -> None:
    """Each R4 input is refused with a message that says what is wrong with it."""
    with pytest.raises(OrderRefError) as refused:
        validate_ref(text)
    assert why in str(refused.value)
    assert "cust_ref" in str(refused.value)


def test_a_long_refused_reference_is_clipped_in_the_message() -> None:
    """The message quotes at most the first 40 characters of a very long input."""
    with pytest.raises(OrderRefError) as refused:
        validate_ref("B" * 5000)
    assert "B" * 41 not in str(refused.value)
    assert len(str(refused.value)) < 300


ALPHABET = st.sampled_from(
    [*"aZ09-_.", "/", "?", "#", "%", " ", "\t", "\n", "\u00a0", "é", "<", "&", "\x00"]
)


@given(st.text(ALPHABET, max_size=70) | st.text(max_size=70))
def test_every_accepted_reference_is_path_safe(text: str) -> None:
    """Whatever is accepted fits the grammar and holds no '/', '?', '#', '%' or whitespace."""
    try:
        ref = validate_ref(text)
    except OrderRefError:
        assert not GRAMMAR.match(text)
        return
    assert GRAMMAR.match(ref)
    assert not set(ref) & set("/?#%")
    assert not any(ch.isspace() for ch in ref)
    assert ref not in (".", "..")


@given(st.from_regex(GRAMMAR, fullmatch=True))
def test_every_reference_of_the_grammar_is_accepted(ref: str) -> None:
    """No reference the grammar allows is refused."""
    assert validate_ref(ref) == ref


def test_split_refs_splits_on_commas_and_whitespace() -> None:
    """Commas, spaces, tabs and runs of them all separate references."""
    assert split_refs(" A-1,B-2  C-3,\tD-4 ,, E-5 ") == ["A-1", "B-2", "C-3", "D-4", "E-5"]


def test_split_refs_drops_duplicates_keeping_the_first_order() -> None:
    """A reference given twice appears once, in the position it was first given."""
    assert split_refs("B,A,B A") == ["B", "A"]


def test_split_refs_accepts_the_limit() -> None:
    """Exactly MAX_ORDERS_PER_COMMAND (20) references are accepted."""
    refs = [f"T-{i}" for i in range(20)]
    assert MAX_ORDERS_PER_COMMAND == 20
    assert split_refs(",".join(refs)) == refs


def test_split_refs_refuses_more_than_the_limit() -> None:
    """21 references are refused with a message naming the limit."""
    with pytest.raises(OrderRefError, match="21 orders given; at most 20"):
        split_refs(" ".join(f"T-{i}" for i in range(21)))


def test_split_refs_honours_a_custom_limit() -> None:
    """The limit argument replaces the default."""
    with pytest.raises(OrderRefError, match="at most 2"):
        split_refs("A B C", limit=2)


@pytest.mark.parametrize("text", ["", "   ", ",", " , ,\t"])
def test_split_refs_refuses_no_reference(text: str) -> None:
    """Text without any reference is refused with an example."""
    with pytest.raises(OrderRefError, match="No order reference given"):
        split_refs(text)


def test_split_refs_refuses_the_whole_list_for_one_bad_reference() -> None:
    """One reference outside the grammar refuses the list and names that reference."""
    with pytest.raises(OrderRefError, match="'a/b' is not an order reference"):
        split_refs("A-1, a/b, C-3")
