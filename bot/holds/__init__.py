"""Hold requests: who may ask and decide, the two-person decision, running an approved request
(re-read, cancel once, verify), its Slack messages and the one module that posts them."""
