"""cartrover-bot: Slack chat-ops for CartRover (Extensiv Integration Manager)."""

__version__ = "0.1.0"
