"""Logging with secrets redacted and the HTTP libraries kept quiet (reliability R15, R16)."""

from __future__ import annotations

import logging

import pytest

from bot.log import RedactingFilter, redact, setup_logging
from bot.settings import Settings

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
