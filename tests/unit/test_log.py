"""Logging with secrets redacted and the HTTP libraries kept quiet (reliability R15, R16)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot.log import RedactingFilter, configure_logging, redact, setup_logging
from bot.logcontext import log_context
from bot.settings import Settings
from bot.workers import Workers

BOT_TOKEN = "xoxb-1111-2222-SeCrEtBoTtOkEn"
APP_TOKEN = "xapp-1-A0123-3333-SeCrEtApPtOkEn"
CARTROVER_KEY = "cr-KeY-9f8e7d6c5b"
SIGNING_SECRET = "SiGnInG-5ecret-77"
BASIC = "ZGVtbzpjci1LZVktOWY4ZTdkNmM1Yg=="  # base64 of "demo:<the key>"
SECRET_PIECES = ("SeCrEt", "KeY-9f8e", "5ecret", BASIC)


def configured() -> Settings:
    return Settings.load(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "CARTROVER_API_USER": "demo",
            "CARTROVER_API_KEY": CARTROVER_KEY,
            "LOG_LEVEL": "DEBUG",
        }
    )


def assert_clean(output: str) -> None:
    for piece in SECRET_PIECES:
        assert piece not in output


@pytest.mark.usefixtures("logging_state")
def test_no_secret_survives_in_debug_output(capsys: pytest.CaptureFixture[str]) -> None:
    """Tokens, the CartRover key, the signing secret and a Basic header are redacted at DEBUG."""
    settings = configured()
    setup_logging(settings.log_level, settings.secrets())
    log = logging.getLogger("bot.test_log")
    log.debug("bot token %s", BOT_TOKEN)
    log.debug("app token %s and key %s", APP_TOKEN, CARTROVER_KEY)
    log.debug("signing secret=%s", SIGNING_SECRET)
    log.debug("headers: Authorization: Basic %s", BASIC)
    log.debug("headers %s", {"Authorization": f"Basic {BASIC}", "Accept": "application/json"})
    log.debug("url https://api.cartrover.com/v1/x?key=%s", CARTROVER_KEY)
    log.debug(f"pre-formatted {BOT_TOKEN} {CARTROVER_KEY}")  # noqa: G004
    output = capsys.readouterr().err
    assert output.count("[redacted]") >= 9
    assert "bot token [redacted]" in output
    assert "Authorization: Basic [redacted]" in output
    assert "application/json" in output
    assert_clean(output)


@pytest.mark.usefixtures("logging_state")
def test_unknown_token_shapes_are_redacted_without_configuration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Slack token shapes and Authorization values are redacted even when not configured."""
    setup_logging("DEBUG")
    log = logging.getLogger("bot.test_log")
    log.debug("user token xoxp-99-88-SeCrEtUsEr, refresh xoxe.xoxp-1-SeCrEtReFrEsH")
    log.debug("Authorization: Bearer xoxb-5-SeCrEtBeArEr")
    log.debug("authorization=basic %s", BASIC)
    assert_clean(capsys.readouterr().err)


@pytest.mark.usefixtures("logging_state")
def test_exception_tracebacks_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    """A logged exception whose message carries a secret shows the traceback without it."""
    settings = configured()
    setup_logging("DEBUG", settings.secrets())
    try:
        raise RuntimeError(f"CartRover refused key {CARTROVER_KEY} for token {BOT_TOKEN}")
    except RuntimeError:
        logging.getLogger("bot.test_log").exception("call failed")
    output = capsys.readouterr().err
    assert "Traceback" in output
    assert "RuntimeError: CartRover refused key [redacted] for token [redacted]" in output
    assert_clean(output)


@pytest.mark.usefixtures("logging_state")
def test_records_from_any_logger_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    """Library loggers propagating to the root handler are redacted too."""
    setup_logging("DEBUG", configured().secrets())
    logging.getLogger("slack_bolt.App").debug("token=%s", BOT_TOKEN)
    logging.getLogger("apscheduler").warning("key %s", CARTROVER_KEY)
    output = capsys.readouterr().err
    assert output.count("[redacted]") == 2
    assert_clean(output)


@pytest.mark.usefixtures("logging_state")
def test_http_loggers_stay_at_warning_whatever_the_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With LOG_LEVEL=DEBUG the httpx and httpcore loggers are at WARNING and drop debug records."""
    setup_logging(Settings.load({"LOG_LEVEL": "debug"}).log_level)
    assert logging.getLogger().level == logging.DEBUG
    for name in ("httpx", "httpcore"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
        logging.getLogger(name).info("HTTP Request: GET https://api.cartrover.com/v1/x")
        logging.getLogger(f"{name}.connection").debug("send_request_headers.started")
    logging.getLogger("httpx").warning("visible warning")
    output = capsys.readouterr().err
    assert "HTTP Request" not in output
    assert "send_request_headers" not in output
    assert "visible warning" in output


@pytest.mark.usefixtures("logging_state")
def test_the_level_comes_from_the_argument(capsys: pytest.CaptureFixture[str]) -> None:
    """setup_logging('WARNING') drops INFO records and keeps warnings."""
    setup_logging("WARNING")
    log = logging.getLogger("bot.test_log")
    log.info("quiet info")
    log.warning("loud warning")
    output = capsys.readouterr().err
    assert "quiet info" not in output
    assert "loud warning" in output


@pytest.mark.usefixtures("logging_state")
def test_setup_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    """Calling setup_logging again replaces its handler instead of printing every line twice."""
    setup_logging("INFO")
    setup_logging("INFO")
    logging.getLogger("bot.test_log").info("once only")
    assert capsys.readouterr().err.count("once only") == 1


def test_redact_replaces_known_secrets_and_token_shapes() -> None:
    """redact() hides configured secrets and every Slack token shape."""
    text = f"a {CARTROVER_KEY} b {BOT_TOKEN} c {APP_TOKEN} d"
    assert redact(text, [CARTROVER_KEY]) == "a [redacted] b [redacted] c [redacted] d"


def test_redact_ignores_tiny_secrets() -> None:
    """A secret shorter than 4 characters is not used, so ordinary text is not mangled."""
    assert redact("a bc", ["a", "bc"]) == "a bc"


def test_a_broken_format_string_does_not_kill_logging() -> None:
    """A record whose arguments do not fit its format still passes the filter, redacted."""
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s " + BOT_TOKEN, ("one",), None)
    assert RedactingFilter().filter(record)
    assert BOT_TOKEN not in record.getMessage()


@pytest.mark.parametrize(
    "rendering",
    [
        f"Authorization: Basic {BASIC}",
        f"authorization=Basic {BASIC}",
        f"{{'Authorization': 'Basic {BASIC}'}}",
        f'{{"authorization": "Basic {BASIC}"}}',
        f"[(b'Authorization', b'Basic {BASIC}')]",
        f"[('authorization', 'Bearer {BASIC}')]",
    ],
)
def test_every_common_rendering_of_an_authorization_header_is_redacted(rendering: str) -> None:
    """Header lines, dict reprs and raw (bytes) header tuples all lose the credential."""
    assert BASIC not in redact(rendering)


# -- context and extra fields in LOG_FORMAT=json -----------------------------------------------


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("logging_state")
def test_json_lines_carry_extra_fields_and_the_open_context_as_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Fields given with extra= and the context open where a line is logged become top-level
    keys, typed as given; an extra field wins over the context's value of the same key."""
    setup_logging("INFO", log_format="json")
    log = logging.getLogger("bot.test_log")
    with log_context(slack_user="UREQUEST1", slack_channel="C0HOLDS01", event="block_actions"):
        with log_context(request=12, orders=["TS-1001", "TS-1002"]):
            log.info("hold #12 asked", extra={"process_id": "7f3c", "orders": ["TS-1001"]})
        log.warning("after the request")
    log.info("outside any context")
    first, second, third = json_lines(capsys.readouterr().err)
    assert first == {
        "time": first["time"],
        "level": "INFO",
        "logger": "bot.test_log",
        "message": "hold #12 asked",
        "process_id": "7f3c",
        "orders": ["TS-1001"],
        "slack_user": "UREQUEST1",
        "slack_channel": "C0HOLDS01",
        "event": "block_actions",
        "request": 12,
    }
    assert second["slack_user"] == "UREQUEST1" and "request" not in second
    assert not set(third) & {"request", "orders", "slack_user", "slack_channel", "event"}


@pytest.mark.usefixtures("logging_state")
def test_the_level_key_is_named_by_log_level_key(capsys: pytest.CaptureFixture[str]) -> None:
    """LOG_LEVEL_KEY=severity writes the level under severity (and no level key); a field that
    tries to take a fixed key is left out rather than replacing it."""
    settings = Settings.load({"LOG_FORMAT": "json", "LOG_LEVEL_KEY": "severity"})
    configure_logging(settings)
    logging.getLogger("bot.test_log").error(
        "boom", extra={"severity": "fake", "logger": "fake", "time": "fake"}
    )
    (line,) = json_lines(capsys.readouterr().err)
    assert line["severity"] == "ERROR" and "level" not in line
    assert line["logger"] == "bot.test_log" and line["time"] != "fake"


@pytest.mark.usefixtures("logging_state")
def test_a_secret_in_an_extra_field_or_the_context_is_redacted_and_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whatever a field holds (text, lists, mappings, other objects), a configured secret, a
    token shape, a response_url path or a line break never reaches the output through it."""
    settings = configured()
    setup_logging("DEBUG", settings.secrets(), log_format="json")
    hook = "https://hooks.slack.com/commands/T1/2/SeCrEtHoOk"
    with log_context(event=f'forged\n{{"level": "CRITICAL"}} {BOT_TOKEN}'):
        logging.getLogger("bot.test_log").info(
            "call",
            extra={
                "detail": f"key {CARTROVER_KEY}",
                "tokens": [APP_TOKEN, {"nested": SIGNING_SECRET}],
                "response_url": hook,
                "header": Exception(f"Authorization: Basic {BASIC}"),
            },
        )
    output = capsys.readouterr().err
    assert_clean(output)
    assert "SeCrEtHoOk" not in output
    (line,) = json_lines(output)
    assert line["detail"] == "key [redacted]"
    assert line["tokens"] == ["[redacted]", {"nested": "[redacted]"}]
    assert line["response_url"] == "https://hooks.slack.com/[redacted]"
    assert line["event"].startswith("forged\\n")  # one line, the break written as \n


@pytest.mark.usefixtures("logging_state")
def test_work_handed_to_the_pools_logs_with_its_submitter_s_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A job runs in a copy of the context it was submitted in: its lines, and the failure line
    with its correlation id, carry the Slack user and channel of the click that asked for it."""
    setup_logging("INFO", log_format="json")
    workers = Workers(2)
    try:
        with log_context(slack_user="UAPPROVE1", slack_channel="C0HOLDS01", event="command"):
            workers.submit(lambda: logging.getLogger("bot.job").info("working"), what="job")
            workers.submit(_fail, what="failing job")
        logging.getLogger("bot.test_log").info("back outside")
    finally:
        assert workers.shutdown(10)
    lines = {line["message"]: line for line in json_lines(capsys.readouterr().err)}
    assert lines["working"]["slack_user"] == "UAPPROVE1"
    failed = next(line for message, line in lines.items() if message.startswith("failing job"))
    assert failed["slack_channel"] == "C0HOLDS01" and len(failed["correlation_id"]) == 8
    assert "RuntimeError: nothing works" in failed["exception"]
    assert "slack_user" not in lines["back outside"]


def _fail() -> None:
    raise RuntimeError("nothing works")
