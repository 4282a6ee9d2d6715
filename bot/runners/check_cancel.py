"""The rows of ``cartrover-bot check`` about canceling: whether the cancel keys work, proved
without touching any order, and which mode the bot runs in (live, or shadow).

The probe is the cancel call itself (``wms_cancel``, a Cart API call) for a reference no order can
have (:data:`bot.cartrover.protocol.PROBE_REF`), sent through the bot's own CartRover client with
the cancel keys: CartRover answering about the order (for example "not found") means it took the
keys; a 401/403, or words about the API user, key or permission, means it refused them. What the
answer means is read in one place, :func:`bot.cartrover.replies.decode_key_probe`.
"""

from __future__ import annotations

from bot.cartrover.client import CartRoverClient
from bot.cartrover.errors import CartRoverError
from bot.cartrover.models import KeyVerdict
from bot.cartrover.protocol import PROBE_REF
from bot.runners.check_table import Row, Status
from bot.settings import Settings

__all__ = ["CART_KEYS", "cancel_rows", "mode_row"]

CART_KEYS = (
    "set CARTROVER_CANCEL_API_USER and CARTROVER_CANCEL_API_KEY to Cart API keys, not the "
    "Merchant API keys: in CartRover, Carts → your API cart → API Access"
)
_WHAT = "CartRover cancel"


def cancel_rows(settings: Settings, client: CartRoverClient) -> list[Row]:
    """Whether the cancel keys are set and CartRover accepts them (one probe call)."""
    if not client.can_cancel:
        missing = "CARTROVER_CANCEL_API_USER/KEY are not (both) set"
        if settings.shadow_mode:
            detail = f"{missing}; shadow mode cancels nothing, but leaving it needs them"
            return [Row(_WHAT, Status.WARN, detail, CART_KEYS)]
        detail = (
            f"{missing}: approved holds cannot cancel sending (the merchant keys are never "
            "used in their place)"
        )
        return [Row(_WHAT, Status.FAIL, detail, CART_KEYS + "; or set SHADOW_MODE=true")]
    try:
        probe = client.probe_cancel_keys()
    except CartRoverError as exc:
        detail = f"could not try the cancel keys ({exc})"
        return [Row(_WHAT, Status.FAIL, detail, "check the network, then run check again")]
    answer = f"CartRover answered {probe.said!r}" + (
        f" (Process-ID {probe.process_id})" if probe.process_id else ""
    )
    tried = f"a cancel of {PROBE_REF}, an order that cannot exist: {answer}; no order touched"
    if probe.verdict is KeyVerdict.ACCEPTED:
        return [Row(_WHAT, Status.OK, f"the cancel keys are accepted ({tried})")]
    if probe.verdict is KeyVerdict.REFUSED:
        return [Row(_WHAT, Status.FAIL, f"CartRover refused the cancel keys ({tried})", CART_KEYS)]
    detail = f"could not tell whether CartRover accepts the cancel keys ({tried})"
    return [Row(_WHAT, Status.FAIL, detail, "try again in a minute; if it persists, " + CART_KEYS)]


def mode_row(settings: Settings) -> Row:
    """Live or shadow mode (SHADOW_MODE)."""
    if settings.shadow_mode:
        return Row(
            "mode",
            Status.WARN,
            "shadow mode (SHADOW_MODE=true): holds run in full — requests, approvals, re-reads, "
            "cards, notices, audit — but nothing is canceled",
            "set SHADOW_MODE=false when the team is ready for approved holds to cancel sending",
        )
    return Row("mode", Status.OK, "live: an approved hold cancels sending to the WMS")
