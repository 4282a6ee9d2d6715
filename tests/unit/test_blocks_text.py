"""Block Kit → readable text for the terminal demo and `digest --dry-run`."""

from __future__ import annotations

from bot.slack.blocks.text import for_terminal, readable, render, render_blocks, render_plain

BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "Daily digest"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*2 orders* from <@U123> in <#C9|ops> &amp; more"},
        "fields": [{"type": "mrkdwn", "text": "Source: Test &lt;Store&gt;"}],
        "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Open"}},
    },
    {"type": "divider"},
    {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": "Created before <!date^1700000000^{date}|2023-11-14>"},
            {"type": "mrkdwn", "text": "<https://example.com/x|the docs>"},
        ],
    },
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "approve_hold",
                "value": "7",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Approve"},
                "confirm": {"text": {"type": "plain_text", "text": "Sure?"}},
            },
            {
                "type": "button",
                "action_id": "reject_hold",
                "value": "7",
                "text": {"type": "plain_text", "text": "Reject"},
            },
        ],
    },
]


def test_blocks_render_as_readable_lines() -> None:
    """Header underlined, section text and fields, a rule, context joined with dots."""
    lines = render(BLOCKS).splitlines()
    assert lines[:2] == ["Daily digest", "════════════"]
    assert lines[2] == "*2 orders* from @U123 in #ops & more"
    assert lines[3] == "  • Source: Test <Store>"
    assert lines[5] == "─" * 40
    assert lines[6] == "  Created before 2023-11-14 · the docs (https://example.com/x)"


def test_buttons_are_numbered_in_order_with_what_a_click_sends() -> None:
    """Accessory and actions buttons get [1], [2], [3]; each keeps its action id and value."""
    rendered = render_blocks(BLOCKS)
    assert "  [1] Open" in rendered.text.splitlines()
    assert rendered.text.splitlines()[-1] == "[2] Approve  [3] Reject"
    approve = rendered.buttons[1]
    assert (approve.number, approve.action_id, approve.value) == (2, "approve_hold", "7")
    assert approve.style == "primary" and approve.confirm == "Sure?"


def test_numbering_can_continue_across_messages() -> None:
    """A terminal transcript can keep numbering buttons from where the last message stopped."""
    assert [b.number for b in render_blocks(BLOCKS, first_button=10).buttons] == [10, 11, 12]


def test_broadcasts_and_groups_are_shown_not_triggered() -> None:
    """Special mentions become readable words; text without blocks falls back to `text`."""
    assert readable("<!channel> and <!subteam^S1|@ops>") == "@channel and @ops"
    assert render([], fallback="plain &amp; simple") == "plain & simple"


def test_a_terminal_gets_no_emoji_codes_and_no_emphasis_markers() -> None:
    """`digest --dry-run` prints ⚠️ and ✅, not `:warning:`, and bold, italic and strike lose
    their markers; inline code keeps its backticks and its content as it is."""
    text = ":warning: *9 stale* are _not_ ~old~ :white_check_mark: `**PII Removed**` snake_case"
    assert for_terminal(text) == "⚠️ 9 stale are not old ✅ `**PII Removed**` snake_case"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*History of `TS-1`*"}}]
    assert render_plain(blocks) == "History of `TS-1`"


def test_a_terminal_may_style_bold_and_code() -> None:
    """The demo colours bold and code: emphasis may run across a code span."""
    styled = for_terminal(
        "*History of `TS-1`* (newest)", bold=lambda s: f"[{s}]", code=lambda s: f"<{s}>"
    )
    assert styled == "[History of <TS-1>] (newest)"
