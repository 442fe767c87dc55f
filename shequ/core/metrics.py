"""/metrics in the Prometheus text format, with prometheus-client in multiprocess mode.

    from shequ.core import metrics
    metrics.register_gauge("shequ_cases_overdue", "Overdue cases by township.",
                           overdue_counts, labels=("township",))

A gauge's function returns [((label values…), number), …] and runs at scrape time (keep it to
one indexed query). Request latency is a histogram by method, route pattern and status,
observed by `shequ.core.observability.RequestMiddleware`.

Every web process writes its samples to memory-mapped files in SHEQU_METRICS_DIR (settings
set PROMETHEUS_MULTIPROC_DIR to it before prometheus-client is imported); any gunicorn worker
answers the scrape by adding up all files (prometheus-client's MultiProcessCollector). A
recycled worker whose pid comes again continues its file instead of overwriting it, and the
process set clears the folder when it starts (`clear_process_files`, called by `serve` and
`run_demo`), so files of earlier runs do not pile up; gunicorn's child_exit hook
(shequ/core/gunicorn_conf.py) tells the library when a worker has gone.
"""

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shequ.core.http import is_loopback

logger = logging.getLogger("shequ.metrics")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUEST_SECONDS = Histogram(
    "shequ_http_request_duration_seconds",
    "Time to answer HTTP requests.",
    ("method", "route", "status"),
    buckets=BUCKETS,
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)


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


class ScrapeTimeGauges(Collector):
    """The registered gauges, computed when Prometheus scrapes (not per process)."""

    def collect(self):
        for gauge in gauges():
            family = GaugeMetricFamily(gauge.name, gauge.help, labels=gauge.labels)
            try:
                samples = list(gauge.collect())
            except Exception:  # one broken gauge must not hide the others
                logger.exception("metrics gauge %s failed", gauge.name)
                samples = []
            for values, number in samples:
                family.add_metric([str(v) for v in values], float(number))
            yield family


def metrics_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def clear_process_files() -> None:
    """Remove the samples of earlier runs (called once when the process set starts)."""
    directory = metrics_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        path.unlink(missing_ok=True)


def render() -> bytes:
    registry = CollectorRegistry()
    if metrics_dir() is not None:
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(ScrapeTimeGauges())
    return generate_latest(registry)


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
