"""Health endpoints: /healthz (process up, database reachable) and /readyz (ready for traffic)."""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except DatabaseError:
        return False


@never_cache
def healthz(request):
    ok = _database_ok()
    return JsonResponse(
        {"status": "ok" if ok else "error", "database": ok}, status=200 if ok else 503
    )


@never_cache
def readyz(request):
    checks = {"database": _database_ok()}
    if checks["database"]:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        checks["migrations"] = not plan
    else:
        checks["migrations"] = False
    checks["static"] = bool(settings.PRODUCTION or finders.find("vendor/htmx.min.js"))
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status=200 if ready else 503,
    )
