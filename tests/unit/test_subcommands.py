"""The one subcommand table: every syntax of the grammar is bound to what answers it, once."""

from __future__ import annotations

from bot import grammar
from bot.grammar import Syntax
from handlers import SUBCOMMANDS, commands, digest


def test_every_syntax_of_the_grammar_is_in_the_table_exactly_once() -> None:
    """Each Syntax the grammar defines appears in the table once, and nothing else does."""
    defined = [value for value in vars(grammar).values() if isinstance(value, Syntax)]
    in_table = [sub.syntax for sub in SUBCOMMANDS]
    assert sorted(s.name for s in in_table) == sorted(s.name for s in defined)
    assert len({id(s) for s in in_table}) == len(in_table) == len(defined)


def test_only_help_is_answered_in_the_ack() -> None:
    """Every subcommand but help has a runner; help has none (the ack carries it)."""
    without = [sub.syntax.name for sub in SUBCOMMANDS if sub.run is None]
    assert without == ["help"]


def test_each_runner_answers_its_own_subcommand() -> None:
    """The table binds each subcommand to the handler function named after it."""
    runners = {sub.syntax.name: sub.run for sub in SUBCOMMANDS if sub.run is not None}
    assert runners == {
        "status": commands.run_status,
        "hold": commands.run_hold,
        "pending": commands.run_pending,
        "history": commands.run_history,
        "stale": digest.run_stale,
        "digest": digest.run_digest,
    }
