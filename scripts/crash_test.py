#!/usr/bin/env python3
"""Crash-safety test: creations under load, SIGKILL of every server process, restart, checks.

    .venv/bin/python scripts/crash_test.py                      # cases, 2,000 requests, both DBs
    .venv/bin/python scripts/crash_test.py --target tokens --requests 100 --db sqlite

For each database (a fresh SQLite file; a fresh PostgreSQL database on the server named by
DATABASE_URL or 127.0.0.1:5432), the script migrates and seeds the demo data, starts the
production stack (`manage.py serve`: gunicorn with several processes + the queue worker, under
SHEQU_ENV=production) and then:

1. sends N creating requests at concurrency C, each with its own Idempotency-Key;
2. after K responses, SIGKILLs the whole process group (gunicorn master and workers and the
   queue worker) while requests are in flight;
3. restarts the stack and re-sends every request that did not get a 2xx, with the same key and
   body (a client's retry, repeated with backoff on no answer or 503 busy), plus a sample of
   those that did (they must replay, not re-create);
4. checks, in the database: every key that got a 2xx exists exactly once, every retried key
   exists exactly once, nothing else was created; the target's invariants (for cases: no case
   without its first timeline row); `verify_ledger` when that command exists.

Targets are pluggable (see TARGETS): `cases` (POST /api/v1/cases, the real one once the cases
app is installed) and `tokens` (POST /api/v1/auth/token, a creating endpoint that exists today;
each request hashes a password, so use a few hundred requests). It prints its figures and
exits non-zero when a check fails. Rate limits are switched off for the run (they would
otherwise refuse a load test from one address). Traffic goes to 127.0.0.1 only.
"""

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PASSWORD = "crash-test-password"
RETRIES = 6


# --- targets -------------------------------------------------------------------------------


@dataclass
class Target:
    """What to create and how to check it. `check_code` runs inside `manage.py shell` with
    KEYS (the request keys that must exist once) and ALL (every key sent) defined, and prints a
    JSON object {"per_key": {key: count}, "extra": n, "problems": [...]}."""

    name: str
    path: str
    needs_app: str  # the Django app that must be installed
    default_requests: int
    check_code: str
    context: dict = field(default_factory=dict)

    def prepare(self, base_url: str) -> None:
        """Read what the request bodies need from the running server."""

    def body(self, key: str) -> dict:
        raise NotImplementedError

    def headers(self) -> dict:
        return {}


class TokenTarget(Target):
    def prepare(self, base_url):
        pass

    def body(self, key):
        return {"username": "grid", "password": PASSWORD, "name": key}


TOKEN_CHECK = """
import json
from collections import Counter
from shequ.accounts.models import ApiToken
names = Counter(ApiToken.objects.filter(name__startswith=PREFIX).values_list("name", flat=True))
print(json.dumps({
    "per_key": {key: names.get(key, 0) for key in ALL},
    "extra": sum(n for name, n in names.items() if name not in set(ALL)),
    "problems": [],
}))
"""


class CaseTarget(Target):
    """POST /api/v1/cases as the demo resident; the key is written into the description."""

    def prepare(self, base_url):
        token = http_json(
            base_url,
            "POST",
            "/api/v1/auth/token",
            {"username": "resident", "password": PASSWORD, "name": "crash-test"},
        )["token"]
        self.context["auth"] = f"Bearer {token}"
        groups = http_json(base_url, "GET", "/api/v1/categories", headers=self.headers())
        self.context["category"] = next(
            child["code"]
            for group in groups
            for child in group["children"]
            if not child.get("photo_required")
        )
        me = http_json(base_url, "GET", "/api/v1/auth/me", headers=self.headers())
        grid = next(a["scope_code"] for a in me["assignments"] if a["role"] == "resident")
        grids = http_json(base_url, "GET", "/api/v1/geo/grids.geojson", headers=self.headers())
        feature = next(f for f in grids["features"] if f["properties"]["code"] == grid)
        point = shape(feature["geometry"]).representative_point()
        self.context["lat"], self.context["lng"] = point.y, point.x

    def headers(self):
        return {"Authorization": self.context["auth"]}

    def body(self, key):
        return {
            "category": self.context["category"],
            "description": f"[{key}] 崩溃测试：楼道灯不亮",
            "lat": self.context["lat"],
            "lng": self.context["lng"],
        }


CASE_CHECK = """
import json
from collections import Counter
from shequ.cases.models import Case
rows = Case.objects.filter(description__startswith="[" + PREFIX)
counts = Counter(d[1:].split("]", 1)[0] for d in rows.values_list("description", flat=True))
no_timeline = rows.filter(events__isnull=True).count()
problems = [f"{no_timeline} case(s) without a timeline row"] if no_timeline else []
print(json.dumps({
    "per_key": {key: counts.get(key, 0) for key in ALL},
    "extra": sum(n for name, n in counts.items() if name not in set(ALL)),
    "problems": problems,
}))
"""

TARGETS = {
    "cases": CaseTarget("cases", "/api/v1/cases", "shequ.cases", 2000, CASE_CHECK),
    "tokens": TokenTarget("tokens", "/api/v1/auth/token", "shequ.accounts", 200, TOKEN_CHECK),
}


# --- HTTP ----------------------------------------------------------------------------------

BASE_HEADERS = {"Content-Type": "application/json", "X-Forwarded-Proto": "https"}


def http(base_url, method, path, body=None, headers=None, timeout=60):
    """(status, parsed body or None); status 0 when the connection failed."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - base_url is our own http://127.0.0.1
        base_url + path, data=data, method=method, headers={**BASE_HEADERS, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None), dict(response.headers)
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw[:200].decode(errors="replace")
        return error.code, parsed, dict(error.headers)
    except (OSError, ValueError) as error:  # refused, reset, timed out, truncated
        return 0, str(error), {}


def http_json(base_url, method, path, body=None, headers=None):
    status, parsed, _headers = http(base_url, method, path, body, headers)
    if not 200 <= status < 300:
        raise RuntimeError(f"{method} {path} → {status}: {parsed}")
    return parsed


# --- the stack -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    def __init__(self, db: str, workdir: Path, *, web_workers: int):
        self.db, self.workdir, self.web_workers = db, workdir, web_workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.drop: Callable[[], object] | None = None
        self.url = self._database()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SHEQU_")}
        self.env.update(
            SHEQU_ENV="production",
            SECRET_KEY="crash-test-" + uuid.uuid4().hex + uuid.uuid4().hex,
            SHEQU_DATA_KEY="k1:" + "Q" * 43,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DATABASE_URL=self.url,
            SHEQU_VAR_DIR=str(workdir),
            SHEQU_RATE_LIMIT_ENABLED="0",
            SHEQU_REQUIRE_TOTP="0",
            SHEQU_DEMO_PASSWORD=PASSWORD,
            SHEQU_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )

    def _database(self) -> str:
        if self.db == "sqlite":
            return f"sqlite:///{self.workdir}/crash.sqlite3"
        outer = os.environ.get("DATABASE_URL", "")
        if not outer.startswith(("postgres://", "postgresql://")):
            outer = "postgres://postgres@127.0.0.1:5432/postgres"
        parts = urlsplit(outer)
        name = f"shequ_crash_{os.getpid()}"
        admin = urlunsplit(parts._replace(path="/postgres"))

        def run(sql):
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql)

        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        run(f'CREATE DATABASE "{name}"')
        self.drop = lambda: run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return urlunsplit(parts._replace(path=f"/{name}"))

    def manage(self, *args, stdin=None) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def setup(self):
        self.manage("migrate", "--no-input", "-v0")
        self.manage("seed_demo", "--allow-production")
        self.manage("collectstatic", "--no-input", "-v0")

    def start(self):
        log = open(self.workdir / "server.log", "a")  # noqa: SIM115 - kept for the child
        self.process = subprocess.Popen(
            [
                PYTHON,
                "manage.py",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--web-workers",
                str(self.web_workers),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: one SIGKILL reaches them all
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, _body, _headers = http(self.base_url, "GET", "/healthz", timeout=2)
            if status == 200:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("server did not start:\n" + (self.workdir / "server.log").read_text())

    def kill(self):
        """SIGKILL the whole process group: no graceful shutdown, no flush, like a crash."""
        assert self.process is not None, "start() first"
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        time.sleep(0.5)  # let orphaned gunicorn workers (same group) be reaped

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def close(self):
        self.stop()
        if self.drop:
            self.drop()


# --- one run -------------------------------------------------------------------------------


def run(
    target: Target, db: str, *, requests: int, concurrency: int, kill_at: float, web_workers, keep
):
    figures = {"db": db, "target": target.name, "requests": requests, "concurrency": concurrency}
    with tempfile.TemporaryDirectory(prefix=f"shequ-crash-{db}-", delete=not keep) as tmp:
        if keep:
            print(f"   work directory (kept): {tmp}", flush=True)
        stack = Stack(db, Path(tmp), web_workers=web_workers)
        try:
            started = time.monotonic()
            stack.setup()
            figures["setup_s"] = round(time.monotonic() - started, 1)
            stack.start()
            installed = stack.manage(
                "shell",
                "-c",
                "from django.apps import apps; print([a.name for a in apps.get_app_configs()])",
            )
            if target.needs_app not in installed:
                raise SystemExit(f"target {target.name} needs {target.needs_app}, not installed")
            target.prepare(stack.base_url)
            prefix = f"crash-{uuid.uuid4().hex[:6]}-"
            keys = [f"{prefix}{n:05d}" for n in range(requests)]
            outcome: dict[str, tuple[int, object]] = {}
            lock = threading.Lock()
            kill_after = max(1, int(requests * kill_at))
            killed = threading.Event()

            def send(key):
                status, body, _headers = http(
                    stack.base_url,
                    "POST",
                    target.path,
                    target.body(key),
                    {**target.headers(), "Idempotency-Key": key},
                )
                with lock:
                    outcome[key] = (status, body)
                    done = sum(1 for s, _b in outcome.values() if s)
                if done >= kill_after and not killed.is_set():
                    killed.set()
                    stack.kill()

            phase1 = time.monotonic()
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(send, keys))
            figures["phase1_s"] = round(time.monotonic() - phase1, 1)
            ok_before = {k for k, (s, _b) in outcome.items() if 200 <= s < 300}
            figures["ok_before_kill"] = len(ok_before)
            figures["errors_at_kill"] = sum(1 for s, _b in outcome.values() if s == 0)
            figures["other_status_before"] = {
                str(s): n
                for s, n in _count(s for s, _b in outcome.values() if s and not 200 <= s < 300)
            }
            if not killed.is_set():
                stack.kill()

            stack.start()  # restart after the crash
            retry = [k for k in keys if k not in ok_before]
            sample = random.Random(1).sample(sorted(ok_before), min(50, len(ok_before)))
            second: dict[str, tuple[int, object, dict]] = {}
            busy = [0]

            def resend(key):
                # A client's retry: again on "no answer" and on 503 (busy), with backoff.
                for attempt in range(RETRIES):
                    status, body, headers = http(
                        stack.base_url,
                        "POST",
                        target.path,
                        target.body(key),
                        {**target.headers(), "Idempotency-Key": key},
                    )
                    if status not in (0, 502, 503):
                        break
                    with lock:
                        busy[0] += 1
                    time.sleep(min(8, 2**attempt))
                with lock:
                    second[key] = (status, body, headers)

            phase2 = time.monotonic()
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(resend, retry + sample))
            figures["phase2_s"] = round(time.monotonic() - phase2, 1)
            figures["retried"] = len(retry)
            figures["retried_ok"] = sum(1 for k in retry if 200 <= second[k][0] < 300)
            figures["busy_503_or_no_answer_then_retried"] = busy[0]
            figures["retried_replayed"] = sum(
                1 for k in retry if second[k][2].get("Idempotent-Replayed") == "true"
            )
            figures["sample_replayed_identical"] = sum(
                1
                for k in sample
                if second[k][2].get("Idempotent-Replayed") == "true"
                and second[k][1] == outcome[k][1]
            )
            figures["sample"] = len(sample)

            code = f"PREFIX = {prefix!r}\nALL = {keys!r}\n" + target.check_code
            result = json.loads(stack.manage("shell", stdin=code).strip().splitlines()[-1])
            per_key = result["per_key"]
            problems = list(result["problems"])
            must_exist = ok_before | {k for k in retry if 200 <= second[k][0] < 300}
            missing = sorted(k for k in must_exist if per_key.get(k, 0) == 0)
            duplicated = sorted(k for k, n in per_key.items() if n > 1)
            figures["rows_created"] = sum(per_key.values())
            figures["acknowledged"] = len(must_exist)
            figures["missing"] = len(missing)
            figures["duplicated"] = len(duplicated)
            figures["unexpected_rows"] = result["extra"]
            if missing:
                problems.append(
                    f"{len(missing)} acknowledged request(s) missing, e.g. {missing[:3]}"
                )
            if duplicated:
                problems.append(f"{len(duplicated)} key(s) created twice, e.g. {duplicated[:3]}")
            if result["extra"]:
                problems.append(f"{result['extra']} row(s) for keys never sent")
            if figures["retried_ok"] != len(retry):
                bad = [
                    (k, second[k][0], second[k][1]) for k in retry if not 200 <= second[k][0] < 300
                ]
                problems.append(
                    f"{len(bad)} retried request(s) failed after restart, e.g. {bad[:2]}"
                )
            if figures["sample_replayed_identical"] != len(sample):
                problems.append("a retry of an acknowledged request was not an identical replay")
            ledger = stack.manage(
                "shell",
                "-c",
                "from django.core.management import get_commands; print('verify_ledger' in get_commands())",
            ).strip()
            if ledger == "True":
                try:
                    stack.manage("verify_ledger")
                    figures["verify_ledger"] = "clean"
                except RuntimeError as error:
                    problems.append(f"verify_ledger: {error}")
                    figures["verify_ledger"] = "FAILED"
            else:
                figures["verify_ledger"] = "not installed"
            figures["problems"] = problems
        finally:
            stack.close()
    return figures


def _count(values):
    counts: dict = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return sorted(counts.items())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="cases")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--kill-at", type=float, default=0.4, help="fraction answered before SIGKILL"
    )
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    target = TARGETS[args.target]
    requests = args.requests or target.default_requests
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    all_figures, failed = [], False
    for db in dbs:
        print(
            f"== {target.name} on {db}: {requests} requests, concurrency {args.concurrency}",
            flush=True,
        )
        figures = run(
            target,
            db,
            requests=requests,
            concurrency=args.concurrency,
            kill_at=args.kill_at,
            web_workers=args.web_workers,
            keep=args.keep,
        )
        all_figures.append(figures)
        for key, value in figures.items():
            if key != "problems":
                print(f"   {key}: {value}")
        if figures["problems"]:
            failed = True
            for problem in figures["problems"]:
                print(f"   PROBLEM: {problem}")
        else:
            print("   OK: every acknowledged request exists exactly once; retries replayed")
    if args.json:
        args.json.write_text(json.dumps(all_figures, indent=2, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
