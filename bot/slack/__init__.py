"""The Slack plumbing: the Web API (``webapi``), escaping (``mrkdwn``), every Slack id the bot
registers (``ids``), the Block Kit builders (``blocks``) and Events API deliveries (``events``)."""
