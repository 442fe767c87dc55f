"""gunicorn settings and hooks (passed as `--config python:shequ.core.gunicorn_conf` by
shequ/demo/processes.py, so every server mode uses them): tell prometheus-client when a web
worker has exited, and keep searched ID and phone numbers out of the access log
(`RedactingLogger`: query values and referrers are redacted, numbers in paths masked)."""

from typing import cast

from gunicorn.glogging import Logger
from prometheus_client import multiprocess

from shequ.core.observability import redact, redact_query, redact_query_string

# Request line and referrer without query values; no %(q)s.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
logger_class = "shequ.core.gunicorn_conf.RedactingLogger"

_QUERY_ATOMS = frozenset({"q", "{query_string}e"})


class RedactingLogger(Logger):
    """gunicorn's access logger with every atom redacted (request line, referrer, headers and
    environ variables: query values replaced, ID and phone numbers masked), whatever the format."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # Beside the fixed atoms that the stubs' TypedDict lists, gunicorn adds one key per
        # header and environ variable ("{name}i", "{name}o", "{name}e"): all of them.
        every = cast(dict[str, object], atoms)
        for name, value in every.items():
            if not isinstance(value, str):
                continue
            if name in _QUERY_ATOMS:
                every[name] = redact_query_string(value)
            else:
                every[name] = redact(redact_query(value))
        return atoms


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
