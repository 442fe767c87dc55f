"""What the tests share, in one place: factories (factories.py), the closed-loop helpers
(cases.py), the points fixtures (points.py), Open311 schemas and posting (open311.py), the
cockpit's reference computation (analytics.py), real threads (concurrency.py), real processes —
a scratch database, a demo site, a server on a free port (processes.py) — the queue tests'
tasks (queue_tasks.py) and the browser helpers (browser.py).

Test modules import from here, never from each other; the fixtures defined here are
registered for every test by `pytest_plugins` in tests/conftest.py.
"""
