"""What each CartRover reply looks like, key for key, as public examples show it.

The sandbox keeps one full record per order and shows each call only its own view of it:

- the single-order call (``orders/{cust_ref}``) carries about 150 order fields, the Y/N flags,
  ``items[]`` and ``shipments[]``, but **no** ``order_status`` and none of the list-only counts;
- the status call (``orders/status/{cust_ref}``) carries only the reference, the PO number,
  ``delivered_to_wms_date``, ``order_status`` and ``shipments[]`` (no flags);
- a listing record carries the status *and* the flags, ``updated_date_time``, ``po_number``,
  ``inventory_warehouse_pk`` and ``num_failed_sends``, and none of the cart-level listing's counts
  (``total_qty``, ``num_to_ship``, ``num_shipped``): it is the *merchant*-level record;
- the cancel call answers ``{"success": …, "message": …}`` under ``response``.

The single-order, status and cancel key sets come from a public client library's fixtures, which
look copied from the vendor's own samples; the listing record's from a public batch client's typed
model of a merchant-level listing (see ``docs/cartrover.md``). A test compares every sandbox reply
with an independent copy of these sets, so the sandbox cannot drift towards what the bot's code
happens to expect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "LIST_ITEM_KEYS",
    "LIST_KEYS",
    "LIST_SHIPMENT_ITEM_KEYS",
    "LIST_SHIPMENT_KEYS",
    "ORDER_ITEM_KEYS",
    "ORDER_KEYS",
    "RECORD_KEYS",
    "SHIPMENT_ITEM_KEYS",
    "SHIPMENT_KEYS",
    "STATUS_KEYS",
    "complete",
    "list_view",
    "order_view",
    "status_view",
]

ORDER_KEYS = (
    "accepted_by_region", "action_dt", "ani_phone", "balance", "black_list", "call_queue",
    "cancel_date", "carrier", "cass_code_cust", "cass_code_ship", "cass_date", "cass_error_cust",
    "cass_error_ship", "cc_last_four", "changed_by", "changed_by_user", "changed_from_server",
    "check_account_no", "check_bank_id", "check_cust_bank", "check_cust_id_dd", "check_cust_id_mm",
    "check_cust_id_num", "check_cust_id_state", "check_cust_id_type", "check_cust_id_yy",
    "check_no", "check_type", "clerk_disp_dt", "clerk_disposition", "created_date_time",
    "credit_card_no", "credit_error_code", "credit_score", "currency_code", "cust_address_1",
    "cust_address_2", "cust_address_3", "cust_city", "cust_company", "cust_country", "cust_e_mail",
    "cust_first_name", "cust_last_name", "cust_phone", "cust_po_no", "cust_ref", "cust_state",
    "cust_title", "cust_zip", "custom_field_1", "custom_field_2", "custom_field_3",
    "custom_field_4", "custom_field_5", "customer_id", "cvv", "delete_date",
    "delivered_to_wms_date", "duplicate_sw", "error_code", "error_msg", "error_reason",
    "expected_delivery_date", "expiration_date", "extra_system_date_sent", "fail_action",
    "filename", "first_attempt", "format", "fraud_score", "gift_card_sw", "gift_message",
    "gift_wrap", "grand_total", "ifraud_error_code", "installment_program",
    "inventory_warehouse_pk", "items", "latest_ship_date", "load_override_sw", "location",
    "mark_in_progress_date", "media_week", "ncoa_code_cust", "ncoa_code_ship", "ncoa_date",
    "on_hold", "order_date", "order_discount", "order_source", "org_file_no", "pay_type",
    "po_number", "pre_auth_amt", "pre_auth_code", "pre_auth_id", "promo_code", "record_no",
    "regional_attempts", "regional_center", "regional_error", "regional_order_no",
    "regional_retry_sw", "regional_ship_date", "rep_disp_dt", "rep_disposition",
    "requested_ship_date", "resubmit_date", "routing_sw", "sales_tax", "sending_canceled",
    "sent_to_region", "ship_account_no", "ship_account_zip", "ship_address_1", "ship_address_2",
    "ship_address_3", "ship_address_type", "ship_city", "ship_code", "ship_code_description",
    "ship_company", "ship_country", "ship_e_mail", "ship_first_name", "ship_last_name",
    "ship_phone", "ship_state", "ship_title", "ship_zip", "shipment_pk", "shipments",
    "shipping_handling", "shipping_instructions", "shipping_pickup_canceled", "special_services",
    "sub_total", "tax_exempt_sw", "token_sw", "updated_date_time", "vendor_phone", "version",
    "weight", "working_ship_code", "xfraud_error_code",
)  # fmt: skip
# A merchant-level listing record has these on top of the order's keys, and lacks _ORDER_ONLY.
_LIST_ONLY = (
    "log_documents_in", "log_documents_out", "mark_in_progress_log", "num_failed_sends",
    "order_status", "orig_carrier", "orig_ship_code",
)  # fmt: skip
_ORDER_ONLY = frozenset({"changed_by", "changed_by_user", "changed_from_server", "shipment_pk"})
LIST_KEYS = tuple(sorted({*ORDER_KEYS, *_LIST_ONLY} - _ORDER_ONLY))
RECORD_KEYS = tuple(sorted({*ORDER_KEYS, *_LIST_ONLY}))  # what the sandbox keeps per order
STATUS_KEYS = ("cust_po_no", "cust_ref", "delivered_to_wms_date", "order_status", "shipments")

ORDER_ITEM_KEYS = (
    "Description", "addl_discount", "alt_sku", "discount", "extended_amount", "filtered_sku",
    "item", "line_comment", "line_item_id", "line_location", "line_no", "lot_number", "price",
    "quantity", "shipping_surcharge", "tax",
)  # fmt: skip
LIST_ITEM_KEYS = ORDER_ITEM_KEYS
SHIPMENT_KEYS = (
    "bill_of_lading", "box_height_in", "box_length_in", "box_width_in", "carrier", "custom_1",
    "date", "delivery_surcharge_type", "dim_weight_lbs", "items", "method", "package_weight_lbs",
    "sscc_barcode", "total_cost", "tracking_no", "tracking_no_secondary", "whs_location", "zone",
)  # fmt: skip
SHIPMENT_ITEM_KEYS = (
    "box_height_in", "box_length_in", "box_width_in", "carton_code", "carton_num", "item",
    "package_weight_lbs", "quantity",
)  # fmt: skip
# A listing's shipments: the status call's keys and three more; ``date`` is inferred (the public
# model of a listing has it commented out). Their items add ``lot_code``. Being supersets of the
# other views' keys, they are also what the sandbox keeps per shipment.
LIST_SHIPMENT_KEYS = tuple(sorted({*SHIPMENT_KEYS, "custom_2", "custom_3", "tracking_url"}))
LIST_SHIPMENT_ITEM_KEYS = tuple(sorted({*SHIPMENT_ITEM_KEYS, "custom_1", "lot_code"}))

# Values the public examples show where a field is not simply null.
_DEFAULTS: Mapping[str, Any] = {
    "routing_sw": "N",
    "regional_retry_sw": "N",
    "regional_attempts": "0",
    "sending_canceled": "N",
    "shipping_pickup_canceled": "N",
    "on_hold": "N",
    "items": [],
    "shipments": [],
    "num_failed_sends": "0",
}
_ITEM_DEFAULTS: Mapping[str, Any] = {"filtered_sku": "N", "line_location": ""}


def _pick(record: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {key: record.get(key) for key in keys}


def _shipment(
    shipment: Mapping[str, Any],
    keys: Sequence[str] = SHIPMENT_KEYS,
    item_keys: Sequence[str] = SHIPMENT_ITEM_KEYS,
) -> dict[str, Any]:
    view = _pick(shipment, keys)
    view["items"] = [_pick(item, item_keys) for item in shipment.get("items") or []]
    return view


def complete(record: Mapping[str, Any]) -> dict[str, Any]:
    """A full sandbox record: every key of every view, with the examples' defaults for the
    ones ``record`` does not set. Keys outside :data:`RECORD_KEYS` are refused."""
    unknown = set(record) - set(RECORD_KEYS)
    if unknown:
        raise ValueError(f"not a CartRover order field: {', '.join(sorted(unknown))}")
    full = {key: record.get(key, _DEFAULTS.get(key)) for key in RECORD_KEYS}
    full["items"] = [
        {key: item.get(key, _ITEM_DEFAULTS.get(key)) for key in ORDER_ITEM_KEYS}
        for item in full["items"] or []
    ]
    full["shipments"] = [
        _shipment(shipment, LIST_SHIPMENT_KEYS, LIST_SHIPMENT_ITEM_KEYS)
        for shipment in full["shipments"] or []
    ]
    return full


def order_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The single-order reply: no ``order_status``, no list-only counts."""
    view = _pick(record, ORDER_KEYS)
    view["items"] = [_pick(item, ORDER_ITEM_KEYS) for item in record.get("items") or []]
    view["shipments"] = [_shipment(shipment) for shipment in record.get("shipments") or []]
    return view


def list_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """One record of a merchant-level listing: the status, the flags, ``updated_date_time``."""
    view = _pick(record, LIST_KEYS)
    view["items"] = [_pick(item, LIST_ITEM_KEYS) for item in record.get("items") or []]
    view["shipments"] = [
        _shipment(shipment, LIST_SHIPMENT_KEYS, LIST_SHIPMENT_ITEM_KEYS)
        for shipment in record.get("shipments") or []
    ]
    return view


def status_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The status reply: reference, PO number, status, delivery date and shipments; no flags."""
    view = _pick(record, STATUS_KEYS)
    view["shipments"] = [_shipment(shipment) for shipment in record.get("shipments") or []]
    return view
