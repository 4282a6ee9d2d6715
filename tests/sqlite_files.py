"""Opening a test's SQLite file directly, as an operator with the sqlite3 shell would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def sqlite_file(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection to the file at ``path``: committed on leaving (rolled back on an error) and
    always closed. sqlite3's own ``with connection:`` only commits; the connection it leaves open
    is an unclosed database, a ResourceWarning since Python 3.13."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            yield conn
    finally:
        conn.close()
