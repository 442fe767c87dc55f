"""/metrics in the Prometheus text format: request latency, plus gauges that apps register.

    from shequ.core import metrics
    metrics.register_gauge("shequ_cases_overdue", "Overdue cases by township.",
                           overdue_counts, labels=("township",))

A gauge's function returns [((label values…), number), …] and runs at scrape time (keep it to
one indexed query). Request latency is a histogram by method, route pattern and status. Each
web process keeps its own counts and writes them to SHEQU_METRICS_DIR every few seconds; the
scrape adds up every process's file (like prometheus_client's multiprocess mode), so any
gunicorn worker can answer. Counters of processes that have exited stay in the sum, as
counters should.
"""

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache

from shequ.core.http import is_loopback

logger = logging.getLogger("shequ.metrics")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FLUSH_SECONDS = 5.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str
    collect: Callable[[], Iterable[tuple[tuple[str, ...], float]]]
    labels: tuple[str, ...] = ()


_gauges: dict[str, Gauge] = {}


def register_gauge(name, help, collect, *, labels=()) -> Gauge:
    gauge = Gauge(name=name, help=help, collect=collect, labels=tuple(labels))
    _gauges[name] = gauge
    return gauge


def gauges() -> list[Gauge]:
    return sorted(_gauges.values(), key=lambda gauge: gauge.name)


class _Latency:
    """This process's request histogram: {(method, route, status): [bucket counts…, count, sum]}."""

    def __init__(self):
        self.lock = threading.Lock()
        self.series: dict[tuple[str, str, str], list[float]] = {}
        self.last_flush = 0.0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        with self.lock:
            row = self.series.get(key)
            if row is None:
                row = self.series[key] = [0.0] * (len(BUCKETS) + 2)
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[index] += 1
                    break
            row[-2] += 1
            row[-1] += seconds
        if time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    def snapshot(self) -> dict:
        with self.lock:
            return {"|".join(key): list(row) for key, row in self.series.items()}

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        directory = metrics_dir()
        if directory is None:
            return
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"latency-{os.getpid()}.json"
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.snapshot()))
            temporary.replace(path)
        except OSError:
            logger.warning("cannot write metrics to %s", directory)


latency = _Latency()


def metrics_dir() -> Path | None:
    value = getattr(settings, "SHEQU_METRICS_DIR", None)
    return Path(value) if value else None


def _merged_latency() -> dict[str, list[float]]:
    latency.flush()
    merged: dict[str, list[float]] = {}
    directory = metrics_dir()
    files = sorted(directory.glob("latency-*.json")) if directory and directory.exists() else []
    sources = []
    for path in files:
        try:
            sources.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    if not files:
        sources.append(latency.snapshot())
    for source in sources:
        for key, row in source.items():
            total = merged.setdefault(key, [0.0] * len(row))
            for index, value in enumerate(row):
                total[index] += value
    return merged


def _escape(value) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: Iterable[str], values: Iterable[str]) -> str:
    pairs = [f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)]
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render() -> str:
    lines = [
        "# HELP shequ_http_request_duration_seconds Time to answer HTTP requests.",
        "# TYPE shequ_http_request_duration_seconds histogram",
    ]
    names = ("method", "route", "status")
    for key, row in sorted(_merged_latency().items()):
        values = key.split("|")
        cumulative = 0.0
        for index, bound in enumerate(BUCKETS):
            cumulative += row[index]
            label = _labels((*names, "le"), (*values, repr(bound)))
            lines.append(f"shequ_http_request_duration_seconds_bucket{label} {_number(cumulative)}")
        label = _labels((*names, "le"), (*values, "+Inf"))
        lines.append(f"shequ_http_request_duration_seconds_bucket{label} {_number(row[-2])}")
        lines.append(
            f"shequ_http_request_duration_seconds_count{_labels(names, values)} {_number(row[-2])}"
        )
        lines.append(f"shequ_http_request_duration_seconds_sum{_labels(names, values)} {row[-1]!r}")
    for gauge in gauges():
        lines.append(f"# HELP {gauge.name} {gauge.help}")
        lines.append(f"# TYPE {gauge.name} gauge")
        try:
            samples = list(gauge.collect())
        except Exception:  # one broken gauge must not hide the others
            logger.exception("metrics gauge %s failed", gauge.name)
            continue
        for values, number in samples:
            lines.append(f"{gauge.name}{_labels(gauge.labels, values)} {_number(number)}")
    return "\n".join(lines) + "\n"


def _allowed(request) -> bool:
    token = getattr(settings, "SHEQU_METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return constant_time_compare(given, token)
    if not settings.PRODUCTION:
        return True
    return is_loopback(request)  # the client behind the trusted proxies, not nginx itself


@never_cache
def metrics_view(request):
    """Prometheus scrape endpoint. In production: loopback only, or SHEQU_METRICS_TOKEN."""
    if not _allowed(request):
        return HttpResponseForbidden("forbidden\n", content_type="text/plain")
    return HttpResponse(render(), content_type=CONTENT_TYPE)
