"""Pure Block Kit builders: data in, ``Message`` out. No I/O and no clock: time is passed in.

Every builder keeps to Slack's limits (50 blocks, 3000 characters a section, 75 a button label)
and escapes every user- or CartRover-supplied text.
"""

from bot.slack.blocks.message import Message

__all__ = ["Message"]
