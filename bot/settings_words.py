"""What a malformed configuration value is told: the variable, and what it should be, in the
bot's words rather than the validation library's. The value itself is never repeated: a secret
pasted into the wrong variable must not be shown."""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["describe"]

# Numbers and flags: what a value must be, in words, instead of pydantic's own text.
_EXPECTED = {
    "hold_request_ttl_hours": "a number of hours above 0 and at most 8760 (a year), e.g. 24 or 0.5",
    "stale_after_hours": "a number of hours above 0 and at most 8760 (a year), e.g. 24 or 0.5",
    "port": "a port number from 1 to 65535, e.g. 3000",
    "health_port": "a port number from 1 to 65535, e.g. 8080",
    "allow_self_approval": "true or false",
    "shadow_mode": "true or false",
}
_NUMBER_ERRORS = ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float")
_RANGE_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def describe(exc: ValidationError) -> str:
    """One line naming every malformed variable and what it should be."""
    lines = []
    # The value is never repeated: a secret pasted into the wrong variable must not be shown.
    for error in exc.errors(include_url=False, include_input=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        name = field.upper() or "configuration"
        expected = _EXPECTED.get(field)
        if expected and error["type"] in (*_NUMBER_ERRORS, "bool_parsing", "bool_type"):
            message = f"not {expected}"
        elif expected and error["type"] in _RANGE_ERRORS:
            message = f"out of range: expected {expected}"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}: {message}")
    return "invalid configuration: " + "; ".join(lines)
