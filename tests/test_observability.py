"""Observability: request ids, JSON logs without personal data, /metrics, safe error pages."""

import json
import logging
import subprocess
import sys

from django.test import Client, override_settings

from shequ.core import metrics, observability
from tests.support import queue_tasks


def scrape(client) -> str:
    return client.get("/metrics").content.decode()


def sample(text: str, series: str) -> float:
    """The value of one series line in a scrape (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


HEALTHZ_COUNT = (
    'shequ_http_request_duration_seconds_count{method="GET",route="healthz",status="200"}'
)


def test_request_id_is_generated_or_kept(client, db):
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    given = client.get("/healthz", headers={"X-Request-ID": "edge-1234abcd"})
    assert given["X-Request-ID"] == "edge-1234abcd"
    hostile = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert hostile["X-Request-ID"] != "<script>alert(1)</script>"


def test_json_log_lines_carry_the_request_id_and_no_personal_data():
    formatter = observability.JsonFormatter()
    record = logging.LogRecord(
        "shequ.test",
        logging.WARNING,
        __file__,
        1,
        "caller %s with id %s",
        ("13812345678", "321181199001011234"),
        None,
    )
    token = observability.request_id_var.set("req-42")
    try:
        observability.RequestIdFilter().filter(record)
        observability.RedactFilter().filter(record)
    finally:
        observability.request_id_var.reset(token)
    entry = json.loads(formatter.format(record))
    assert entry["request_id"] == "req-42"
    assert entry["level"] == "WARNING" and entry["logger"] == "shequ.test"
    assert "13812345678" not in entry["message"] and "138****5678" in entry["message"]
    assert "321181199001011234" not in entry["message"] and "3211**********1234" in entry["message"]


def test_exceptions_in_json_logs_are_redacted():
    formatter = observability.JsonFormatter()
    try:
        raise ValueError("bad phone 13900001111")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    entry = json.loads(formatter.format(record))
    assert entry["exc_type"] == "ValueError"
    assert "13900001111" not in entry["exc"]


def test_request_log_line(client, caplog, db):
    with caplog.at_level(logging.INFO, logger="shequ.request"):
        client.get("/healthz?phone=13812345678", headers={"X-Request-ID": "trace-00001"})
    record = next(r for r in caplog.records if r.name == "shequ.request")
    assert record.route == "healthz" and record.status == 200
    assert "13812345678" not in record.getMessage()  # no query strings in logs


def test_metrics_has_latency_and_gauges(client, client_as, db):
    before = sample(scrape(client), HEALTHZ_COUNT)
    client.get("/healthz")
    client.get("/login/")
    client_as("grid").get("/regions/")
    body = client.get("/metrics")
    assert body["Content-Type"].startswith("text/plain; version=")
    text = body.content.decode()
    assert "# TYPE shequ_http_request_duration_seconds histogram" in text
    assert sample(text, HEALTHZ_COUNT) == before + 1
    assert 'route="regions/",status="200"' in text
    assert 'le="+Inf"' in text
    assert "# TYPE shequ_queue_tasks gauge" in text


OTHER_PROCESS = """
import os, sys
from prometheus_client import values
values.ValueClass = values.MultiProcessValue(lambda: int(sys.argv[1]))  # a fixed 'pid'
from prometheus_client import Histogram
h = Histogram("shequ_http_request_duration_seconds", "x", ("method", "route", "status"),
              buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
h.labels("GET", "healthz", "200").observe(0.004)
"""


def other_process(pid: int) -> None:
    """Another web process (or a recycled worker that got the same pid) answering /healthz."""
    subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(pid)], check=True, timeout=60)


def test_metrics_add_up_every_process_and_survive_pid_reuse(client, db):
    client.get("/healthz")
    before = sample(scrape(client), HEALTHZ_COUNT)
    other_process(999_999)
    assert sample(scrape(client), HEALTHZ_COUNT) == before + 1
    other_process(999_999)  # the same pid again: its file is continued, not overwritten
    assert sample(scrape(client), HEALTHZ_COUNT) == before + 2


def test_a_new_process_set_starts_from_empty_files(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # not this process's folder
    other_process(999_998)
    assert list(metrics.metrics_dir().glob("*.db"))
    metrics.clear_process_files()
    assert not list(metrics.metrics_dir().glob("*.db"))


def test_registered_gauges_and_a_broken_one(client, db):
    metrics.register_gauge(
        "shequ_test_overdue",
        "Overdue test cases.",
        lambda: [(("云阳街道",), 3)],
        labels=("township",),
    )
    metrics.register_gauge("shequ_test_broken", "Broken.", lambda: 1 / 0)
    try:
        text = scrape(client)
    finally:
        metrics._gauges.pop("shequ_test_overdue")
        metrics._gauges.pop("shequ_test_broken")
    assert 'shequ_test_overdue{township="云阳街道"} 3.0' in text
    assert "# TYPE shequ_test_broken gauge" in text  # announced, no sample, others unaffected


@override_settings(TASKS={"default": {"BACKEND": "shequ.queue.backends.database.DatabaseBackend"}})
def test_queue_depth_gauge(client, db, tmp_path):
    from django.tasks import task_backends

    backend = task_backends["default"]
    for label in "ab":
        backend.enqueue(queue_tasks.record, [str(tmp_path / "x"), label], {})
    text = client.get("/metrics").content.decode()
    assert 'shequ_queue_tasks{queue="default",status="READY"} 2.0' in text


@override_settings(PRODUCTION=True, SHEQU_METRICS_TOKEN="")
def test_metrics_in_production_only_from_loopback(db):
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200


@override_settings(SHEQU_METRICS_TOKEN="s3cret-scrape-token")
def test_metrics_token(db):
    assert Client().get("/metrics").status_code == 403
    good = Client(headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert good.get("/metrics").status_code == 200


def test_server_errors_show_no_trace_or_personal_data(client_as, monkeypatch):
    from shequ.accounts import api as accounts_api
    from shequ.web import views

    def explode(*args, **kwargs):
        raise RuntimeError("居民 张三 13812345678 321181199001011234 failed")

    monkeypatch.setattr(accounts_api, "_me", explode)
    api = client_as("grid")
    api.raise_request_exception = False
    response = api.get("/api/v1/auth/me")
    assert response.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "message": "服务器内部错误，请稍后重试。",
        "details": None,
    }
    monkeypatch.setattr(views, "grid_summary", explode)
    page = client_as("grid")
    page.raise_request_exception = False
    html = page.get("/")
    assert html.status_code == 500
    text = html.content.decode()
    assert "服务器内部错误" in text
    for leak in ("Traceback", "RuntimeError", "13812345678", "张三", "321181199001011234"):
        assert leak not in text


def test_read_replica_alias(monkeypatch):
    from django.conf import settings

    from shequ.core.replica import read_db

    assert read_db() == "default"
    # Only the alias's presence matters here; no connection to it is opened.
    monkeypatch.setitem(settings.DATABASES, "replica", settings.DATABASES["default"])
    assert read_db() == "replica"
