"""Tools for trying and testing the bot without Slack or CartRover: the CartRover sandbox, the
terminal demo and the loopback kit. Nothing in the bot itself imports them."""
