"""What the bot counts, for ``GET /metrics`` in Prometheus text format (prometheus-client).

One registry per process (:data:`REGISTRY`), with the process collector (memory, CPU, open files)
beside the bot's own series:

=============================================================  ===================================
``cartrover_bot_commands_total{subcommand}``                   ``/cartrover`` commands received
``cartrover_bot_clicks_total{action, outcome}``                button clicks: ``decided``,
                                                                ``opened`` or why nothing changed
``cartrover_bot_hold_requests_total{state}``                   hold requests reaching a final state
``cartrover_bot_cancels_total{outcome}``                       per-order outcomes of approved holds
``cartrover_bot_cartrover_calls_total{endpoint, result}``      CartRover calls: ``ok``, the error
                                                                kind, or ``no_answer``
``cartrover_bot_cartrover_call_seconds{endpoint}``             CartRover call latency (histogram)
``cartrover_bot_cartrover_remaining_hits``                     the last remaining-hits header seen
                                                                (absent until CartRover answered)
``cartrover_bot_work_queue_depth{lane}``                       jobs waiting on each worker lane
``cartrover_bot_work_running{lane}``                           jobs running on each worker lane
``cartrover_bot_digests_posted_total{kind}``                   digests posted: ``scheduled``/``now``
``cartrover_bot_listing_reads_total{result}``                  orders looked for in a listing over
                                                                their creation times: hit or miss
``cartrover_bot_listing_reads_switched_off_total``             times a run switched to single reads
                                                                after listing misses
``cartrover_bot_build_info{version, python}``                  always 1; the labels say what runs
``cartrover_bot_database_up``                                  1 when the scrape's reads worked
``cartrover_bot_scheduler_last_run_timestamp_seconds``         the scheduler's last maintenance
                                                                run, in any process (database)
``cartrover_bot_leases_held{process}``                         live leases on approved holds:
                                                                ``this`` process's, ``others``'
``cartrover_bot_hold_requests_unleased``                       approved holds no live runner holds
=============================================================  ===================================

Counters only ever count what this process did; with several processes, sum them. Every label
value a counter can take is declared with :func:`start_at_zero` by the module that counts it, so a
fresh process shows each series at 0 and ``increase()`` sees the first one. The last four series
are read from the database when Prometheus scrapes (:data:`DATABASE`), so they say the same in
every process.
"""

from __future__ import annotations

import logging
import platform
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot import __version__

__all__ = [
    "CANCELS",
    "CARTROVER_CALLS",
    "CARTROVER_SECONDS",
    "CLICKS",
    "COMMANDS",
    "CONTENT_TYPE",
    "DATABASE",
    "DIGESTS",
    "HOLD_REQUESTS",
    "LISTING_READS",
    "LISTING_READS_OFF",
    "REGISTRY",
    "REMAINING_HITS",
    "WORK",
    "DatabaseReading",
    "WorkLoad",
    "exposition",
    "start_at_zero",
]

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
CONTENT_TYPE = CONTENT_TYPE_LATEST

COMMANDS = Counter(
    "cartrover_bot_commands",
    "/cartrover commands received, by subcommand ('invalid': did not parse)",
    ["subcommand"],
    registry=REGISTRY,
)
CLICKS = Counter(
    "cartrover_bot_clicks",
    "Button clicks by action and outcome ('decided', 'opened', or why nothing changed)",
    ["action", "outcome"],
    registry=REGISTRY,
)
HOLD_REQUESTS = Counter(
    "cartrover_bot_hold_requests",
    "Hold requests that reached a final state here, by that state",
    ["state"],
    registry=REGISTRY,
)
CANCELS = Counter(
    "cartrover_bot_cancels",
    "Orders of approved holds finished here, by outcome",
    ["outcome"],
    registry=REGISTRY,
)
CARTROVER_CALLS = Counter(
    "cartrover_bot_cartrover_calls",
    "CartRover calls by endpoint and result ('ok', the error kind, or 'no_answer')",
    ["endpoint", "result"],
    registry=REGISTRY,
)
CARTROVER_SECONDS = Histogram(
    "cartrover_bot_cartrover_call_seconds",
    "CartRover call latency, from sending to the last byte of the answer",
    ["endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
DIGESTS = Counter(
    "cartrover_bot_digests_posted",
    "Digests posted, by kind ('scheduled' once a day per channel, or 'now' on demand)",
    ["kind"],
    registry=REGISTRY,
)
LISTING_READS = Counter(
    "cartrover_bot_listing_reads",
    "Orders looked for in a CartRover listing over their creation times: 'hit' (listed) or "
    "'miss' (a New order the listing did not return)",
    ["result"],
    registry=REGISTRY,
)
LISTING_READS_OFF = Counter(
    "cartrover_bot_listing_reads_switched_off",
    "Times a run switched to reading orders one by one after listings missed New orders",
    registry=REGISTRY,
)
Info(
    "cartrover_bot_build", "The running cartrover-bot: its version and Python's", registry=REGISTRY
).info({"version": __version__, "python": platform.python_version()})


def start_at_zero(metric: Counter | Histogram, label_values: Iterable[tuple[str, ...]]) -> None:
    """Export ``metric`` at 0 for each tuple of label values, before anything is counted: a
    series that appears only with its first increment hides that increment from ``increase()``
    and from an alert on it."""
    for values in label_values:
        metric.labels(*values)


class LastSeen(Collector):
    """A gauge that is absent until it is first set: no value is better than a made-up 0."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name, self.documentation = name, documentation
        self._value: float | None = None

    def set(self, value: float) -> None:
        self._value = float(value)

    def collect(self) -> Iterator[Metric]:
        value = self._value
        if value is not None:
            yield GaugeMetricFamily(self.name, self.documentation, value=value)


REMAINING_HITS = LastSeen(
    "cartrover_bot_cartrover_remaining_hits",
    "Calls left in CartRover's rate-limit bucket, from the last reply that said",
)
REGISTRY.register(REMAINING_HITS)


class _Lanes(Protocol):
    def load(self) -> Mapping[Any, Any]: ...  # lane → an object with .queued and .running


class WorkLoad(Collector):
    """The worker lanes' queue depth and running jobs, read when Prometheus scrapes, summed
    over the worker pools this process :meth:`watch`es (one, except in tests)."""

    def __init__(self) -> None:
        self._pools: weakref.WeakSet[Any] = weakref.WeakSet()

    def watch(self, workers: _Lanes) -> None:
        self._pools.add(workers)

    def collect(self) -> Iterator[Metric]:
        queued = GaugeMetricFamily(
            "cartrover_bot_work_queue_depth", "Jobs waiting on each worker lane", labels=["lane"]
        )
        running = GaugeMetricFamily(
            "cartrover_bot_work_running", "Jobs running on each worker lane", labels=["lane"]
        )
        totals: dict[str, list[int]] = {}
        for workers in list(self._pools):
            for lane, load in workers.load().items():
                name = str(getattr(lane, "value", lane))
                total = totals.setdefault(name, [0, 0])
                total[0] += load.queued
                total[1] += load.running
        for name, (waiting, busy) in sorted(totals.items()):
            queued.add_metric([name], waiting)
            running.add_metric([name], busy)
        yield queued
        yield running


WORK = WorkLoad()
REGISTRY.register(WORK)


@dataclass(frozen=True)
class DatabaseReading:
    """What the database says at a scrape: when the scheduler last ran (its maintenance
    heartbeat, written by whichever process runs it), live leases on approved holds held by this
    process and by others, and approved holds that no live runner holds."""

    scheduler_ran_at: datetime | None
    leases_here: int
    leases_elsewhere: int
    unleased: int


class DatabaseVitals(Collector):
    """The series read from the database when Prometheus scrapes, through the reader this
    process :meth:`watch`es (the latest one: one per process, except in tests). A failed read
    exports ``cartrover_bot_database_up 0`` and nothing else, never a stale figure."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read: Callable[[], DatabaseReading] | None = None

    def watch(self, read: Callable[[], DatabaseReading]) -> None:
        with self._lock:
            self._read = read

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            read = self._read
        if read is None:
            return
        try:
            reading = read()
        except Exception as exc:  # a scrape must not fail because the database did
            log.debug("metrics: the database could not be read: %s", exc)
            yield GaugeMetricFamily("cartrover_bot_database_up", _UP, value=0)
            return
        yield GaugeMetricFamily("cartrover_bot_database_up", _UP, value=1)
        if reading.scheduler_ran_at is not None:
            yield GaugeMetricFamily(
                "cartrover_bot_scheduler_last_run_timestamp_seconds",
                "When the scheduler's maintenance job last ran, in any process (Unix time)",
                value=reading.scheduler_ran_at.timestamp(),
            )
        held = GaugeMetricFamily(
            "cartrover_bot_leases_held",
            "Live leases on approved hold requests: held by this process, or by others",
            labels=["process"],
        )
        held.add_metric(["this"], reading.leases_here)
        held.add_metric(["others"], reading.leases_elsewhere)
        yield held
        yield GaugeMetricFamily(
            "cartrover_bot_hold_requests_unleased",
            "Approved hold requests that no live runner holds (taken over within minutes)",
            value=reading.unleased,
        )


_UP = "1 when this scrape could read the database, else 0"
DATABASE = DatabaseVitals()
REGISTRY.register(DATABASE)


def exposition() -> bytes:
    """Every series of this process in Prometheus text format."""
    return generate_latest(REGISTRY)
