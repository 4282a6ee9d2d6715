"""The CartRover (Extensiv Integration Manager) API: models, errors, sans-I/O protocol, client."""

from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    ConnectionFailed,
    InvalidRequest,
    OrderNotFound,
    RateLimited,
    Refused,
    Unavailable,
    UnexpectedReply,
)
from bot.cartrover.models import CancelReply, Item, Order, Shipment

__all__ = [
    "AuthenticationFailed",
    "CancelReply",
    "CartRoverError",
    "ConnectionFailed",
    "InvalidRequest",
    "Item",
    "Order",
    "OrderNotFound",
    "RateLimited",
    "Refused",
    "Shipment",
    "Unavailable",
    "UnexpectedReply",
]
