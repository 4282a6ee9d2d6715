"""HTTP mode's parts: the guarded waitress server (``server``), the Slack WSGI application that
verifies each request before bolt sees it (``wsgi``) and the health endpoints (``health``)."""
