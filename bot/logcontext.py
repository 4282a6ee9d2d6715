"""The context of a log line: which hold request, orders, Slack user and channel, CartRover call
and kind of event the work that wrote it belongs to.

Code that knows the context opens :func:`log_context` around the work; every line logged inside,
by the bot or by a library, carries it (``LOG_FORMAT=json`` writes each as a top-level key, see
:mod:`bot.log`), and so does the work it hands to the bot's pools (:mod:`bot.workers` runs each job
in a copy of the submitter's context). A line can add its own with ``extra={...}``; a key given
there wins over the context's. The keys:

================  =========================================================================
``request``       the hold request's number
``orders``        the order references (``cust_ref``) concerned, a list
``slack_user``    the Slack user id who acted (``U…``/``W…``)
``slack_channel`` the Slack channel id it happened in (``C…``/``G…``/``D…``)
``process_id``    CartRover's ``X-CartRover-Process-ID`` of the call a line reports
``event``         what set the work going: the Slack payload's kind (``command``,
                  ``block_actions``, ``view_submission``, ``shortcut``, ``message_action``,
                  or the event's type, e.g. ``app_home_opened``) or a scheduled job
                  (``job:maintenance``, ``job:digest:C…``)
================  =========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from types import MappingProxyType
from typing import ParamSpec, TypeVar

__all__ = ["CONTEXT_KEYS", "bind", "carried", "current_context", "log_context"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

CONTEXT_KEYS = ("request", "orders", "slack_user", "slack_channel", "process_id", "event")

_EMPTY: Mapping[str, object] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, object]] = ContextVar("cartrover_bot_log_context", default=_EMPTY)


@contextmanager
def log_context(
    *,
    request: int | None = None,
    orders: Sequence[str] | None = None,
    slack_user: str | None = None,
    slack_channel: str | None = None,
    process_id: str | None = None,
    event: str | None = None,
) -> Iterator[None]:
    """Add the given keys (those not None or empty) to every line logged inside, on top of the
    context already open."""
    token = _CONTEXT.set(_with(request, orders, slack_user, slack_channel, process_id, event=event))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind(
    *,
    slack_user: str | None = None,
    slack_channel: str | None = None,
    event: str | None = None,
) -> None:
    """Add the given keys for the rest of the current ``contextvars`` context: for code that
    cannot wrap the work it starts, such as a bolt middleware (bolt runs the listener after the
    middleware has returned). The caller runs inside a context of its own (``App.dispatch`` of
    :mod:`bot.runners.app` does), so nothing outlives the request."""
    _CONTEXT.set(_with(None, None, slack_user, slack_channel, None, event=event))


def _with(
    request: int | None,
    orders: Sequence[str] | None,
    slack_user: str | None,
    slack_channel: str | None,
    process_id: str | None,
    *,
    event: str | None,
) -> Mapping[str, object]:
    given = {
        "request": request,
        "orders": list(orders) if orders is not None else None,
        "slack_user": slack_user,
        "slack_channel": slack_channel,
        "process_id": process_id,
        "event": event,
    }
    added = {key: value for key, value in given.items() if value not in (None, "", [])}
    return MappingProxyType({**_CONTEXT.get(), **added})


def current_context() -> Mapping[str, object]:
    """The context open here (read-only)."""
    return _CONTEXT.get()


def carried(function: Callable[_P, _T]) -> Callable[_P, _T]:
    """``function``, to hand to a thread pool: each call runs in its own copy of the context open
    here, so what it logs carries that context."""
    context = copy_context()

    def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        return context.copy().run(function, *args, **kwargs)

    return run
