"""The daily digest of stale New test orders: the rules and the scan, the once-per-local-day
schedule, its messages and the one module that posts them."""
