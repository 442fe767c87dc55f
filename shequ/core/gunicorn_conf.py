"""gunicorn hooks (passed as `--config python:shequ.core.gunicorn_conf` by
shequ/demo/processes.py): tell prometheus-client when a web worker has exited."""

from prometheus_client import multiprocess


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
