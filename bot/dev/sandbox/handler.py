"""The sandbox's HTTP request handler: routing on the raw path, the four calls the bot makes
(listing, single order, order status, cancel sending), CartRover's envelope, the bucket header
and the fault switches. Each call answers with its own public view of the order record
(:mod:`bot.dev.sandbox.shapes`)."""

from __future__ import annotations

import json
import logging
import re
import secrets
import socket
import struct
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, unquote

from bot.dev.sandbox.control import RecordedRequest
from bot.dev.sandbox.orders import STATUS_FILTERS, UnknownOrder
from bot.dev.sandbox.shapes import list_view, order_view, status_view

if TYPE_CHECKING:
    from bot.dev.sandbox.server import SandboxServer

__all__ = [
    "EMPTY_PAGES",
    "ODD_CANCEL_REPLIES",
    "ORDER_ROUTES",
    "SandboxHandler",
    "match_route",
    "parse_query_date",
]

log = logging.getLogger(__name__)

# Route names: M1 listing, M2 single order, M3 order status, C4 cancel sending.
_ROUTES = (
    ("M1", re.compile(r"/v1/merchant/orders/list/([^/]+)")),
    ("M2", re.compile(r"/v1/merchant/orders/([^/]+)")),
    ("M3", re.compile(r"/v1/merchant/orders/status/([^/]+)")),
    ("C4", re.compile(r"/v1/cart/orders/wms_cancel/([^/]+)")),
)
ORDER_ROUTES = frozenset({"M2", "M3", "C4"})
_ISO_WITH_OFFSET = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})"
)
_SECRET_QUERY = re.compile(r"((?:^|[?&])api_(?:user|key)=)[^&]*", re.IGNORECASE)
_SAFE_HEADERS = ("user-agent", "accept", "content-type", "host")
_HTML_503 = (
    b"<html><head><title>503 Service Unavailable</title></head>"
    b"<body><h1>Service Unavailable</h1></body></html>"
)
_RATE_LIMIT_MESSAGE = "API rate limit exceeded: too many requests, slow down"


def match_route(path: str) -> tuple[str, str] | None:
    """``(route, percent-decoded argument)`` when the raw ``path`` matches exactly one route.
    Dot segments (raw or percent-encoded) never match."""
    matches = [(name, m.group(1)) for name, rx in _ROUTES if (m := rx.fullmatch(path))]
    if len(matches) != 1:
        return None
    name, raw = matches[0]
    value = unquote(raw)
    if raw in (".", "..") or value in (".", ".."):
        return None
    return name, value


def parse_query_date(value: str) -> datetime:
    """An ISO 8601 timestamp with an offset (``Z`` allowed). A ``+`` sent unencoded arrives as a
    space and is refused here, which is how a client that forgets ``%2B`` gets caught."""
    if not _ISO_WITH_OFFSET.fullmatch(value):
        raise ValueError(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class _Abort(Exception):
    """Close the connection without (finishing) an answer."""


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CartRoverSandbox/1.0"
    sys_version = ""
    timeout = 30

    process_id = ""
    remaining = 0

    @property
    def sandbox(self) -> SandboxServer:
        return cast("SandboxServer", self.server.sandbox)  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        self.sandbox.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.sandbox.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are in ``sandbox.requests``; the default stderr access log is silenced."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- the request ------------------------------------------------------------------------

    def _handle(self) -> None:
        try:
            self._process()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            if not isinstance(exc, _Abort):
                log.exception("sandbox: unexpected error on %s", self.command)
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def _process(self) -> None:
        sandbox = self.sandbox
        faults = sandbox.faults
        self.process_id = "SBX-" + secrets.token_hex(6)
        path, _, query_string = self.path.partition("?")
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        matched = match_route(path)
        route, arg = matched if matched is not None else (None, None)
        auth_ok, credential = sandbox.check_auth(self.headers.get("Authorization"), route)
        sandbox.record(
            RecordedRequest(
                method=self.command,
                raw_path=_SECRET_QUERY.sub(r"\1***", self.path),
                path=path,
                query={
                    k: "***" if k.lower() in ("api_user", "api_key") else v
                    for k, v in query.items()
                },
                route=route,
                cust_ref=arg if route in ORDER_ROUTES else None,
                auth_ok=auth_ok,
                credential=credential,
                process_id=self.process_id,
                at=sandbox.monotonic(),
                headers={k: v for k in _SAFE_HEADERS if (v := self.headers.get(k)) is not None},
            )
        )
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(min(length, 1 << 20))
        log.debug("sandbox %s %s (route %s) %s", self.command, path, route, self.process_id)

        if faults.latency > 0 and sandbox.stopping.wait(faults.latency):
            raise _Abort
        self.remaining = sandbox.bucket.remaining()
        if faults.take("fail_5xx"):
            self._send(503, _HTML_503, content_type="text/html; charset=utf-8")
            return
        if faults.take("rate_limit_next") or (route == "C4" and faults.take("rate_limit_cancel")):
            self._rate_limited()
            return
        allowed, self.remaining = sandbox.bucket.take()
        if not allowed:
            self._rate_limited()
            return
        self._answer(route, arg, path, auth_ok, query)

    def _answer(
        self, route: str | None, arg: str | None, path: str, auth_ok: bool, query: dict[str, str]
    ) -> None:
        faults = self.sandbox.faults
        if route is None or arg is None:
            self._error(404, "Invalid", f"Unknown endpoint: {self.command} {path}")
        elif self.command != "GET":
            self._error(405, "Invalid", f"Method {self.command} not allowed on {path}")
        elif not auth_ok:
            if faults.auth_failure_status == 401:
                headers = {"WWW-Authenticate": 'Basic realm="CartRover"'}
                self._error(401, "Invalid", "Invalid API User or Key", headers)
            else:
                self._error(faults.auth_failure_status, "Invalid", "Invalid API User or Key")
        elif route == "M1":
            self._list(arg, query)
        elif route == "M2":
            self._order(arg, order_view)
        elif route == "M3":
            self._order(arg, status_view)
        else:
            self._cancel(arg)

    # -- the calls --------------------------------------------------------------------------

    def _order(self, cust_ref: str, view: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        record = self.sandbox.book.get(cust_ref)
        if record is None:
            self._not_found(cust_ref)
        else:
            self._json(200, {"success_code": True, "response": view(record)})

    def _not_found(self, cust_ref: str) -> None:
        # How CartRover says "no such order" is undocumented: HTTP 404 or 200, switchable.
        self._error(self.sandbox.faults.not_found_status, "Invalid", f"Order not found: {cust_ref}")

    def _list(self, status: str, query: dict[str, str]) -> None:
        if status not in STATUS_FILTERS:
            self._error(200, "Invalid", f"Invalid order status: {status}")
            return
        dates: dict[str, datetime | None] = {}
        for name in ("from_date", "to_date"):
            raw = query.get(name)
            try:
                dates[name] = parse_query_date(raw) if raw else None
            except ValueError:
                self._error(
                    200, "Invalid", f"Invalid {name}: {raw!r} (ISO 8601 with offset, '+' as %2B)"
                )
                return
        limit = _positive(query.get("limit"), 20)
        page = _positive(query.get("page"), 1)
        if limit is None or limit > 100:
            self._error(200, "Invalid", "Invalid limit: must be a whole number from 1 to 100")
            return
        if page is None:
            self._error(200, "Invalid", "Invalid page: must be a whole number from 1")
            return
        records, total = self.sandbox.book.page(
            status,
            dates["from_date"],
            dates["to_date"],
            query.get("order_source") or None,
            limit=limit,
            page=page,
            by_order_date=self.sandbox.faults.list_dates == "order_date",
        )
        headers = {"total-records": str(total)}
        if not records and self.sandbox.faults.empty_page != "list":
            self._empty_page(headers)
            return
        body = {"success_code": True, "response": [list_view(record) for record in records]}
        self._json(200, body, headers)

    def _empty_page(self, headers: dict[str, str]) -> None:
        """A page without orders, in the shape the switch says (CartRover's is undocumented)."""
        shape = self.sandbox.faults.empty_page
        if shape == "no_orders":
            self._error(200, "Invalid", "No orders found", headers)
            return
        body: dict[str, object] = {"success_code": True}
        if shape != "absent":
            body["response"] = _EMPTY_RESPONSES[shape]
        self._json(200, body, headers)

    def _cancel(self, cust_ref: str) -> None:
        sandbox, faults = self.sandbox, self.sandbox.faults
        if faults.refuse_cancel:
            self._error(200, "Failure", faults.refuse_message)
            return
        hang = faults.take("hang_cancel")
        reset = not hang and faults.take("reset_cancel")
        try:
            if faults.take("send_before_cancel"):
                sandbox.book.send_to_wms(cust_ref)
            result = sandbox.book.wms_cancel(
                cust_ref, apply=not faults.cancel_noop, moved_on=faults.moved_on
            )
        except UnknownOrder:
            self._error(faults.not_found_status, "Failure", f"Order not found: {cust_ref}")
            return
        else:
            body = _envelope(True, response={"success": result.ok, "message": result.message})
        content_type = "application/json"
        if faults.cancel_reply is not None:
            body, content_type = _ODD_CANCEL_REPLIES[faults.cancel_reply]
        if reset:
            raise _Abort
        if hang:
            release = faults.hold()
            try:
                while not release.wait(0.02):
                    if sandbox.stopping.is_set():
                        raise _Abort
            finally:
                faults.unhold()
        self._send(200, body, content_type=content_type)

    # -- answers ----------------------------------------------------------------------------

    def _rate_limited(self) -> None:
        self.sandbox.count_rate_limited()
        self.remaining = 0
        if self.sandbox.faults.rate_limit_http_429:
            self._error(429, "RateLimit", _RATE_LIMIT_MESSAGE, {"Retry-After": "1"})
        else:
            self._error(200, "RateLimit", _RATE_LIMIT_MESSAGE)

    def _error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self._json(status, {"success_code": False, "error_code": code, "message": message}, headers)

    def _json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self._send(status, body, content_type="application/json", headers=headers)

    def _send(
        self, status: int, body: bytes, *, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        faults = self.sandbox.faults
        drip, interval = faults.drip, faults.drip_interval
        if drip:
            self.close_connection = True
        lines = [
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            f"X-CartRover-Process-ID: {self.process_id}",
            f"X-CartRover-Api-Minute-Hits-Remaining: {self.remaining}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        if not drip:
            self.wfile.write(data)
            return
        for index in range(len(data)):
            self.wfile.write(data[index : index + 1])
            self.wfile.flush()
            if index + 1 < len(data) and self.sandbox.stopping.wait(interval):
                raise _Abort


def _envelope(success: bool, **fields: object) -> bytes:
    return json.dumps({"success_code": success, **fields}).encode()


# 2xx cancel replies the public examples do not show, for tests of the bot's caution: CartRover may
# or may not have acted on them (the switch decides whether the book changes, with cancel_noop).
_ODD_CANCEL_REPLIES: dict[str, tuple[bytes, str]] = {
    "bare": (b'{"success_code": true}', "application/json"),
    "empty": (b'{"success_code": true, "response": {}}', "application/json"),
    "html": (b"<html><body><h1>Order updated</h1></body></html>", "text/html; charset=utf-8"),
    "truncated": (b'{"success_code": true, "response": {"succ', "application/json"),
}
ODD_CANCEL_REPLIES = frozenset(_ODD_CANCEL_REPLIES)

# How a page without orders is answered besides ``[]`` (the switch Faults.empty_page): no public
# example shows one; the vendor's PHP client reads any empty ``response`` as "nothing".
_EMPTY_RESPONSES: dict[str, object] = {"null": None, "object": {}}
EMPTY_PAGES = frozenset({"list", "absent", "null", "object", "no_orders"})


def _positive(raw: str | None, default: int) -> int | None:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        return None
    return int(raw)
