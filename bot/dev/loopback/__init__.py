"""The loopback kit: a local Slack Web API, Slack-signed request bodies, and a whole bot world on
loopback, shared by the demo, the tests and the benchmarks."""
