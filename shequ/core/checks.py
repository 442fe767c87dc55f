"""Deployment checks of our own (shown by `manage.py check --deploy`, i.e. `make prod-check`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, "shequ", deploy=True)
def shared_cache_check(app_configs, **kwargs):
    backend = settings.CACHES["default"]["BACKEND"]
    if settings.PRODUCTION and backend.endswith("LocMemCache"):
        return [
            Warning(
                "The cache is per process: rate limits are not shared by the web processes.",
                hint="Set SHEQU_CACHE_URL=redis://host:6379/1 (docs/operations.md).",
                id="shequ.W001",
            )
        ]
    return []


@register(Tags.security, "shequ")
def rate_limit_cache_check(app_configs, **kwargs):
    """Rate-limit counters must live outside the database: a database cache writes them inside
    the request's transaction, and a rolled-back request (a failed Idempotency-Key request)
    would take its hits with it (issue 12.1)."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith("DatabaseCache"):
        return [
            Warning(
                "The cache is a database table: rolled-back requests undo their rate-limit hits.",
                hint="Use Redis (SHEQU_CACHE_URL) or the local-memory cache.",
                id="shequ.W003",
            )
        ]
    return []


@register("shequ", deploy=True)
def production_database_check(app_configs, **kwargs):
    engine = settings.DATABASES["default"]["ENGINE"]
    if settings.PRODUCTION and engine.endswith("sqlite3"):
        return [
            Warning(
                "Production runs on SQLite: fine for one machine, but not for several web or "
                "worker machines, and there is no read replica.",
                hint="Set DATABASE_URL=postgres://… for a county-wide deployment.",
                id="shequ.W002",
            )
        ]
    return []
