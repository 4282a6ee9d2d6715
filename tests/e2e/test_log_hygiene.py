"""Logs cannot be flooded or forged from outside: refused bodies are never logged, outside text
cannot start a line of its own, response_urls never appear at any level from any logger, and
LOG_FORMAT=json writes one JSON object per line with the same protections."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from bot.dev.sandbox import STALE_TEST_REF
from bot.log import configure_logging, escape_controls, setup_logging
from bot.runners.http.wsgi import bolt_request
from bot.settings import Settings
from bot.slack import ids
from bot.store.records import RequestState
from tests.e2e.conftest import MakeHarness
from tests.harness import APPROVER

BOT_TOKEN = "xoxb-1111-2222-SeCrEtBoTtOkEn"
HOOK = "https://hooks.slack.com/commands/T0TEST/1234/SeCrEtHoOk"
FORGED = "2026-03-02T12:00:00 CRITICAL bot.holds.announce: approved by the boss"
LIBRARIES = ("httpx", "httpcore", "urllib3", "slack_sdk", "slack_bolt", "waitress", "bot")


def _everything_at_debug() -> None:
    """Every logger that exists, and the libraries' own, to DEBUG: nothing is quieted."""
    names = [
        n for n, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)
    ]
    for name in {*names, *LIBRARIES}:
        logging.getLogger(name).setLevel(logging.DEBUG)


def _record_lines(output: str) -> list[str]:
    """The lines that start a record (a traceback's lines are indented)."""
    return [line for line in output.splitlines() if line and not line[0].isspace()]


# -- escaping, centrally ----------------------------------------------------------------------


@pytest.mark.usefixtures("logging_state")
@pytest.mark.parametrize("logger", ["bot.cartrover", "slack_bolt.App", "waitress", "anything"])
def test_outside_text_cannot_start_a_log_line_of_its_own(
    capsys: pytest.CaptureFixture[str], logger: str
) -> None:
    """Newlines, carriage returns, ANSI escapes and bidi overrides in logged values are escaped
    by the handler's filter, whichever logger wrote the record."""
    setup_logging("DEBUG")
    hostile = f"TEST-1\n{FORGED}\r\x1b[2K\u202etxt.exe\u2066"
    logging.getLogger(logger).warning("CartRover said: %s (ref %s)", hostile, "A\u2028B")
    output = capsys.readouterr().err
    assert len(_record_lines(output)) == 1
    assert output.count("\n") == 1
    assert "\\n2026-03-02T12:00:00 CRITICAL" in output
    assert "\\r\\x1b[2K\\u202etxt.exe\\u2066" in output and "A\\u2028B" in output


@pytest.mark.usefixtures("logging_state")
def test_a_traceback_stays_under_its_record(capsys: pytest.CaptureFixture[str]) -> None:
    """A traceback keeps its lines, indented; an exception message cannot forge a record."""
    setup_logging("DEBUG")
    try:
        raise ValueError(f"bad reply\n{FORGED}\x1b[31m")
    except ValueError:
        logging.getLogger("bot.test").exception("call failed")
    output = capsys.readouterr().err
    assert len(_record_lines(output)) == 1
    assert "    Traceback (most recent call last):" in output
    assert f"    {FORGED}\\x1b[31m" in output


def test_escaping_leaves_ordinary_text_alone() -> None:
    """Printable text, accents and emoji pass unchanged; only invisible characters are escaped."""
    text = "Hold #4 — café TEST-1 ✅ 100% done"
    assert escape_controls(text) == text
    assert escape_controls("a\tb\x00c\u200bd\ufeff") == "a\\tb\\x00c\\u200bd\\ufeff"


# -- response_urls ----------------------------------------------------------------------------


@pytest.mark.usefixtures("logging_state")
@pytest.mark.parametrize(
    "shown",
    [
        HOOK,
        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0TEST%2F1234%2FSeCrEtHoOk",
        json.dumps({"response_url": HOOK}).replace("/", "\\/"),
        f"{{'response_url': '{HOOK}'}}",
    ],
)
def test_a_response_url_is_cut_to_its_host_however_it_is_written(
    capsys: pytest.CaptureFixture[str], shown: str
) -> None:
    """Plain, percent-encoded (a form body) or JSON-escaped (a Socket Mode frame): the path,
    which is the credential, never reaches the log."""
    setup_logging("DEBUG")
    logging.getLogger("slack_sdk.socket_mode.builtin.client").debug("on_message: %s", shown)
    output = capsys.readouterr().err
    assert "SeCrEtHoOk" not in output and "1234" not in output
    assert "hooks.slack.com/[redacted]" in output


@pytest.mark.usefixtures("logging_state")
def test_no_response_url_reaches_the_log_at_debug_from_any_logger(
    capsys: pytest.CaptureFixture[str], make_harness: MakeHarness
) -> None:
    """A status, a hold approved by click, a refused request and a bolt-refused dispatch, with
    every logger at DEBUG: no response_url (nor its path) appears anywhere in the output."""
    h = make_harness(LOG_LEVEL="DEBUG")
    configure_logging(h.settings)
    _everything_at_debug()
    h.command(f"status {STALE_TEST_REF}")
    h.wait_reply()
    request = h.open_hold(STALE_TEST_REF)
    h.click(ids.APPROVE_HOLD, request, APPROVER)
    h.wait_state(request.id, RequestState.DONE)
    h.post(h.command_body("pending"), signature="v0=" + "0" * 64)  # refused by serve
    headers: dict[str, Any] = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": str(int(time.time())),
        "x-slack-signature": "v0=" + "0" * 64,
    }
    h.bot.app.dispatch(bolt_request(h.command_body("pending"), headers))  # refused by bolt
    h.wait_until(lambda: h.bot.deps.workers.busy == 0 and h.slack.in_flight == 0)
    posted = [call.path for call in h.replies()]
    h.close()  # what shutting down logs is checked too
    output = capsys.readouterr().err
    assert len(posted) >= 2  # the response_urls were really used
    for path in posted:
        assert path not in output
    for written in ("/webhook/", "%2Fwebhook%2F", "\\/webhook\\/"):
        assert written not in output
    assert "/[redacted]" in output  # httpx's request line, with the URL cut to its host
    assert "DEBUG bot.bolt: Applying" in output  # bolt's own loggers were at DEBUG too
    (bolt_line,) = [line for line in output.splitlines() if "Invalid request signature" in line]
    assert "response_url=http%3A%2F%2F127.0.0.1%3A" in bolt_line and "[redacted]" in bolt_line


# -- refused requests --------------------------------------------------------------------------


@pytest.mark.usefixtures("logging_state")
def test_a_refused_request_is_logged_by_size_and_hash_and_a_flood_in_one_line(
    capsys: pytest.CaptureFixture[str], make_harness: MakeHarness
) -> None:
    """Thirty forged requests: one log line with the first one's size and SHA-256 prefix, none
    of their text, and none of the thirty reaches a listener."""
    h = make_harness()
    configure_logging(h.settings)
    body = h.command_body("hold TEST-1 MARKER-IN-A-FORGED-BODY")
    for _ in range(30):
        assert h.post(body, signature="v0=" + "1" * 64).status_code == 401
    h.close()  # what shutting down logs is checked too
    output = capsys.readouterr().err
    refused = [line for line in output.splitlines() if "refused a request" in line]
    assert len(refused) == 1
    assert f"({len(body)} bytes, sha256 " in refused[0]
    assert "MARKER" not in output and "TEST-1" not in output


# -- LOG_FORMAT=json ----------------------------------------------------------------------------


@pytest.mark.usefixtures("logging_state")
def test_json_format_writes_one_object_a_line_with_redaction_and_escaping(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """time, level, logger, message and the exception text; secrets, response_urls and control
    characters are handled as in text format."""
    settings = Settings.load({"SLACK_BOT_TOKEN": BOT_TOKEN, "LOG_FORMAT": "json"})
    configure_logging(settings)
    log = logging.getLogger("bot.test_json")
    log.info("posted with %s to %s\n%s", BOT_TOKEN, HOOK, FORGED)
    try:
        raise RuntimeError(f"token {BOT_TOKEN} refused")
    except RuntimeError:
        log.exception("call failed")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "INFO" and first["logger"] == "bot.test_json"
    assert first["time"].endswith("+00:00")
    assert first["message"] == (
        f"posted with [redacted] to https://hooks.slack.com/[redacted]\\n{FORGED}"
    )
    assert second["message"] == "call failed"
    assert "Traceback" in second["exception"]
    assert "RuntimeError: token [redacted] refused" in second["exception"]
    assert "SeCrEt" not in "".join(lines)


def test_log_format_is_text_by_default_and_refuses_other_values() -> None:
    """LOG_FORMAT defaults to text; a value other than text or json names the variable."""
    from bot.settings import ConfigError

    assert Settings.load({}).log_format == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT: expected text or json"):
        Settings.load({"LOG_FORMAT": "logfmt"})
