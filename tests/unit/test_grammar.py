"""`/cartrover` text → a typed command or a usage error (the README's Slash commands)."""

from __future__ import annotations

import re

import pytest

from bot import grammar
from bot.grammar import Command, Syntax, UsageError
from handlers import SUBCOMMANDS


def subcommands() -> list[Syntax]:
    return [sub.syntax for sub in SUBCOMMANDS]


def parse(text: str) -> Command:
    return grammar.parse(text, subcommands())


# The subcommand column of the operator contract (the README's Slash commands), copied verbatim
# so that a drift of either side is caught.
INTERFACE_TABLE = """
| `help` (also empty text, unknown subcommand) | usage of every subcommand | ephemeral |
| `status <order> [<order> ...]` (up to 20) | one summary per order | ephemeral |
| `hold <order>[,<order>...] [reason words]` | validates each order | request message |
| `pending` | open hold requests | ephemeral |
| `history <order>` | the audit trail the bot holds for that order | ephemeral |
| `stale [hours]` | stale New test orders right now | ephemeral |
| `digest` | this channel's digest subscription, or "none" | ephemeral |
| `digest subscribe [HH:MM] [Area/City]` | daily digest in this channel | ephemeral confirmation |
| `digest unsubscribe` | stop this channel's digest | ephemeral confirmation |
| `digest now` | post the digest to this channel now | digest message in channel |
"""
SPEC_SUBCOMMANDS = list(dict.fromkeys(re.findall(r"^\| `(\w+)", INTERFACE_TABLE, re.M)))


def test_the_registry_holds_every_subcommand_of_the_readme_exactly_once() -> None:
    """subcommands() lists each subcommand of the README once and nothing else."""
    names = [sub.name for sub in subcommands()]
    assert sorted(names) == sorted(SPEC_SUBCOMMANDS)
    assert len(names) == len(set(names))


def test_every_registered_usage_starts_with_its_name() -> None:
    """Each registry entry's usage line begins with the subcommand it documents."""
    for sub in subcommands():
        assert sub.usage.split()[0] == sub.name
        assert sub.summary


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", " help "])
def test_empty_text_and_help_give_the_help_command(text: str) -> None:
    """Empty text and `help` (any case) parse to the help command."""
    assert parse(text).name == "help"


@pytest.mark.parametrize("text", ["frobnicate", "statuses A", "delete A-1"])
def test_an_unknown_subcommand_is_a_usage_error_without_a_usage_line(text: str) -> None:
    """An unknown subcommand raises UsageError naming it, with no usage so help is shown."""
    with pytest.raises(UsageError) as refused:
        parse(text)
    assert text.split(maxsplit=1)[0] in str(refused.value)
    assert refused.value.usage is None


def test_status_with_one_order() -> None:
    """`status A-1` asks for one order."""
    assert parse("status A-1") == Command("status", refs=("A-1",))


def test_status_with_twenty_orders_in_mixed_separators() -> None:
    """`status` takes up to 20 orders separated by spaces and commas."""
    refs = [f"T-{i}" for i in range(20)]
    text = "status " + " ".join(refs[:10]) + "," + ",".join(refs[10:])
    assert parse(text).refs == tuple(refs)


def test_status_with_twenty_one_orders_is_refused() -> None:
    """21 orders are refused with the status usage line."""
    with pytest.raises(UsageError, match="at most 20") as refused:
        parse("status " + " ".join(f"T-{i}" for i in range(21)))
    assert refused.value.usage is not None
    assert refused.value.usage.startswith("status")


def test_status_without_an_order_is_refused_with_an_example() -> None:
    """`status` alone says that an order is needed."""
    with pytest.raises(UsageError, match="TS-1001"):
        parse("status")


@pytest.mark.parametrize("bad", ["../x", "a/b", ".a", "%2e%2e", "x?y", "a#b"])
def test_status_with_a_bad_reference_is_refused(bad: str) -> None:
    """An order reference outside the grammar makes `status` a usage error."""
    with pytest.raises(UsageError, match="not an order reference"):
        parse(f"status A-1 {bad}")


def test_status_of_an_order_named_payload_parses() -> None:
    """`status payload-7` is an ordinary status command (R38)."""
    assert parse("status payload-7") == Command("status", refs=("payload-7",))


def test_hold_takes_a_comma_list_and_reason_words() -> None:
    """`hold A,B test order` holds A and B with reason "test order"; the reason's first word
    is kept as one CartRover might know."""
    command = parse("hold A,B test order please")
    assert command == Command(
        "hold", refs=("A", "B"), reason="test order please", maybe_order="test"
    )


def test_hold_without_a_reason_has_an_empty_reason() -> None:
    """`hold A` holds A with no reason."""
    assert parse("hold A") == Command("hold", refs=("A",), reason="")


def test_hold_keeps_untrusted_reason_text_as_given() -> None:
    """The reason is kept raw (escaping happens when rendering)."""
    assert parse("hold A <!channel> & co").reason == "<!channel> & co"


def test_hold_without_orders_is_refused_with_an_example() -> None:
    """`hold` alone names an example of what to type."""
    with pytest.raises(UsageError, match="hold TS-1001"):
        parse("hold")


def test_hold_of_twenty_one_orders_is_refused() -> None:
    """More than 20 orders in one hold are refused."""
    with pytest.raises(UsageError, match="at most 20"):
        parse("hold " + ",".join(f"T-{i}" for i in range(21)) + " too many")


def test_hold_with_a_very_long_reason_is_refused() -> None:
    """A reason over 500 characters is refused."""
    with pytest.raises(UsageError, match="too long"):
        parse("hold A " + "x" * 501)


def test_pending_parses_and_refuses_arguments() -> None:
    """`pending` takes no arguments."""
    assert parse("pending") == Command("pending")
    with pytest.raises(UsageError, match="takes no arguments"):
        parse("pending now")


def test_history_takes_exactly_one_order() -> None:
    """`history A-1` parses; zero or two orders are refused."""
    assert parse("history A-1") == Command("history", refs=("A-1",))
    for text in ("history", "history A B"):
        with pytest.raises(UsageError, match="exactly one order"):
            parse(text)


def test_history_refuses_a_bad_reference() -> None:
    """`history ../x` is refused before any lookup."""
    with pytest.raises(UsageError, match="not an order reference"):
        parse("history ../x")


def test_stale_without_hours_uses_the_default() -> None:
    """`stale` alone leaves hours to STALE_AFTER_HOURS."""
    assert parse("stale") == Command("stale", hours=None)


@pytest.mark.parametrize(("text", "hours"), [("48", 48.0), ("0.5", 0.5), ("8760", 8760.0)])
def test_stale_with_hours(text: str, hours: float) -> None:
    """`stale N` takes a positive number of hours, decimals allowed."""
    assert parse(f"stale {text}") == Command("stale", hours=hours)


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "nan", "inf", "1e9", "8761"])
def test_stale_with_bad_hours_is_refused_with_an_example(bad: str) -> None:
    """Hours that are not a positive number up to a year are refused with an example."""
    with pytest.raises(UsageError, match="stale 48"):
        parse(f"stale {bad}")


def test_stale_with_two_numbers_is_refused() -> None:
    """`stale 1 2` is refused."""
    with pytest.raises(UsageError, match="at most one"):
        parse("stale 1 2")


def test_digest_alone_shows_the_subscription() -> None:
    """`digest` asks for this channel's subscription."""
    assert parse("digest") == Command("digest", action="")


@pytest.mark.parametrize(
    ("text", "local_time", "zone"),
    [
        ("digest subscribe", None, None),
        ("digest subscribe 07:30", "07:30", None),
        ("digest subscribe 7:05", "07:05", None),
        ("digest subscribe Europe/Berlin", None, "Europe/Berlin"),
        ("digest subscribe 18:00 America/New_York", "18:00", "America/New_York"),
        ("digest subscribe America/New_York 18:00", "18:00", "America/New_York"),
        ("digest SUBSCRIBE 23:59 UTC", "23:59", "UTC"),
    ],
)
def test_digest_subscribe_with_time_and_or_zone(
    text: str, local_time: str | None, zone: str | None
) -> None:
    """`digest subscribe` takes an optional HH:MM and an optional IANA zone, in either order."""
    command = parse(text)
    assert command == Command("digest", action="subscribe", local_time=local_time, timezone=zone)


@pytest.mark.parametrize("action", ["unsubscribe", "now"])
def test_digest_unsubscribe_and_now(action: str) -> None:
    """`digest unsubscribe` and `digest now` parse and take nothing more."""
    assert parse(f"digest {action}") == Command("digest", action=action)
    with pytest.raises(UsageError, match="takes no arguments"):
        parse(f"digest {action} extra")


@pytest.mark.parametrize("bad", ["25:00", "9:60", "12:5", "noon:"])
def test_digest_subscribe_with_a_bad_time_names_an_example(bad: str) -> None:
    """A time that is not HH:MM is refused with the example 09:00."""
    with pytest.raises(UsageError, match="09:00") as refused:
        parse(f"digest subscribe {bad}")
    assert bad in str(refused.value)


@pytest.mark.parametrize("bad", ["Mars/Base", "Europe", "America", "../etc/passwd", "CEST"])
def test_digest_subscribe_with_an_unknown_zone_names_an_example(bad: str) -> None:
    """A zone that is not an IANA name is refused with the example Europe/Berlin."""
    with pytest.raises(UsageError, match="Europe/Berlin"):
        parse(f"digest subscribe 09:00 {bad}")


def test_digest_subscribe_with_too_many_words_is_refused() -> None:
    """A third word after time and zone is refused."""
    with pytest.raises(UsageError, match="Too many words"):
        parse("digest subscribe 09:00 UTC extra")


def test_an_unknown_digest_action_is_refused_with_the_digest_usage() -> None:
    """`digest weekly` names the bad action and shows the digest usage line."""
    with pytest.raises(UsageError, match="weekly") as refused:
        parse("digest weekly")
    assert refused.value.usage is not None
    assert refused.value.usage.startswith("digest")


def test_a_long_unknown_word_is_clipped_in_the_message() -> None:
    """An unknown subcommand is quoted at most 40 characters long."""
    with pytest.raises(UsageError) as refused:
        parse("x" * 5000)
    assert len(str(refused.value)) < 100
