"""Shequ settings: one module, read from the environment, loud on bad values.

Environment (all optional outside production):
  SHEQU_ENV            demo (default) | development | test | production
  DATABASE_URL         sqlite:///var/shequ.sqlite3 (default) or postgres://user:pass@host:5432/db
  SECRET_KEY           required in production; generated into var/ otherwise
  SHEQU_DATA_KEY       PII encryption key ring "id:base64key[,id:base64key…]"; the first key
                       encrypts, all decrypt. Required in production; generated into var/ otherwise
  ALLOWED_HOSTS        comma-separated host names
  TIME_ZONE            default Asia/Shanghai
  SHEQU_DEBUG          1/0 (default 1 only when SHEQU_ENV=development)
  SHEQU_MAP_TILE_URL   optional tile URL template(s) for the map's base layer (offline without
                       it), e.g. 天地图 with its key inside the URL; SHEQU_MAP_TILE_ATTRIBUTION
                       the text the provider requires (see docs/operations.md)
  SHEQU_VAR_DIR        where the SQLite file, media and generated keys live (default ./var)
  SHEQU_CACHE_URL      redis://host:6379/1 for the shared cache (rate limits); default in-process
  SHEQU_REQUIRE_TOTP   1/0: second factor for superusers and city operators (default 1 in
                       production)
  SHEQU_LOG_FORMAT     json | plain (default json in production)
  SHEQU_METRICS_TOKEN  bearer token for /metrics (without it, production answers loopback only)
  SHEQU_PROXY_COUNT    trusted reverse proxies in front (reads X-Forwarded-For; default 0)
  SHEQU_REPLICA_URL    postgres://… of a read replica for the cockpit (optional)
  SHEQU_WORKING_HOURS  working periods of a working day (default 08:30-12:00,13:30-17:30)
  SHEQU_SMS_BACKEND, SHEQU_WECHAT_BACKEND
                       notification channel backends (default: log a masked line, send nothing)
"""

import base64
import os
import re
import secrets
import sys
import tempfile
import zoneinfo
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(
        f"环境变量 {name} 的值无效：{raw!r}（应为 1/0、true/false）。"
        f" Invalid {name}={raw!r}: expected 1/0 or true/false."
    )


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int = 10**9) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"环境变量 {name} 应为整数，实际为 {raw!r}。 {name} must be an integer, got {raw!r}."
        ) from None
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(
            f"环境变量 {name} 应在 {minimum}–{maximum} 之间，实际为 {value}。"
            f" {name} must be between {minimum} and {maximum}."
        )
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


TILE_PLACEHOLDERS = {"x", "y", "z", "s", "r", "-y"}


def map_tile_layers(raw: str, *, require_https: bool) -> list[str]:
    """SHEQU_MAP_TILE_URL: one or more XYZ/WMTS tile URL templates separated by spaces (a base
    layer, then overlays such as 天地图's label layer), each with {z}, {x} and {y}; {s} may
    stand in the first label of the host (subdomains from SHEQU_MAP_TILE_SUBDOMAINS)."""
    layers = raw.split()
    for url in layers:
        parts = urlsplit(url)
        names = set(re.findall(r"\{ *([\w -]+?) *\}", url))
        problem = None
        if parts.scheme not in ("https", "http") or not parts.hostname:
            problem = "应以 https:// 或 http:// 开头 / must start with https:// or http://"
        elif require_https and parts.scheme != "https":
            problem = "生产环境须用 https / must use https in production"
        elif not {"x", "z"} <= names or not names & {"y", "-y"}:
            problem = "缺少 {z}、{x} 或 {y} / lacks {z}, {x} or {y}"
        elif names - TILE_PLACEHOLDERS:
            unknown = ", ".join(sorted(names - TILE_PLACEHOLDERS))
            problem = (
                f"未知占位符 {unknown}（密钥请直接写入网址）"
                f" / unknown placeholder {unknown} (write keys into the URL)"
            )
        elif "{" in parts.netloc.split(".", 1)[-1]:
            problem = "{s} 只能用于主机名的第一段 / {s} only in the host's first label"
        if problem:
            raise ImproperlyConfigured(
                f"SHEQU_MAP_TILE_URL 无效：{problem}：{url!r}。 Invalid SHEQU_MAP_TILE_URL."
            )
    return layers


def map_tile_sources(layers: list[str]) -> list[str]:
    """CSP img-src entries for the tile hosts ("t{s}.tianditu.gov.cn" → "*.tianditu.gov.cn")."""
    sources = []
    for url in layers:
        parts = urlsplit(url)
        labels = parts.netloc.split(".")
        if "{" in labels[0]:
            labels[0] = "*"
        source = f"{parts.scheme}://{'.'.join(labels)}"
        if source not in sources:
            sources.append(source)
    return sources


# Under pytest the default is "test" (fixed keys, fast hashing); pytest-django loads these
# settings before any conftest can set the variable.
SHEQU_ENV = (
    (os.environ.get("SHEQU_ENV") or ("test" if "pytest" in sys.modules else "demo")).strip().lower()
)
ENVIRONMENTS = ("demo", "development", "test", "production")
if SHEQU_ENV not in ENVIRONMENTS:
    raise ImproperlyConfigured(
        f"SHEQU_ENV 的值无效：{SHEQU_ENV!r}，应为 {' / '.join(ENVIRONMENTS)} 之一。"
        f" Invalid SHEQU_ENV={SHEQU_ENV!r}; expected one of {', '.join(ENVIRONMENTS)}."
    )
PRODUCTION = SHEQU_ENV == "production"
TESTING = SHEQU_ENV == "test"
DEMO_MODE = SHEQU_ENV in ("demo", "development")

VAR_DIR = Path(os.environ.get("SHEQU_VAR_DIR", BASE_DIR / "var")).resolve()
if not PRODUCTION:
    VAR_DIR.mkdir(parents=True, exist_ok=True)


def generated_secret(filename: str, make) -> str:
    """Read a secret kept in var/ (demo and development only), creating it on first use."""
    path = VAR_DIR / filename
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


DEBUG = env_bool("SHEQU_DEBUG", SHEQU_ENV == "development")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured(
        "生产环境不得开启 SHEQU_DEBUG。 SHEQU_DEBUG must be off in production."
    )

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "生产环境必须设置 SECRET_KEY。 SECRET_KEY is required when SHEQU_ENV=production."
        )
    if TESTING:
        SECRET_KEY = "test-only-secret-key-not-for-production-0123456789abcdef"
    else:
        SECRET_KEY = generated_secret("secret_key", lambda: secrets.token_urlsafe(50))
elif len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "SECRET_KEY 太短（至少 32 个字符）。 SECRET_KEY must be ≥ 32 characters."
    )


def parse_data_keys(raw: str) -> list[tuple[str, bytes]]:
    """Parse "id:base64key,id:base64key" into [(id, 32-byte key)], first = active."""
    keys: list[tuple[str, bytes]] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        key_id, sep, encoded = part.partition(":")
        if not sep or not key_id.isalnum() or len(key_id) > 16:
            raise ImproperlyConfigured(
                "SHEQU_DATA_KEY 格式应为 “密钥编号:base64密钥”，多个用逗号分隔；密钥编号为 1–16 位字母数字。"
                " SHEQU_DATA_KEY must be 'id:base64key[,id:base64key…]' with alphanumeric ids."
            )
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ImproperlyConfigured(
                f"SHEQU_DATA_KEY 中密钥 {key_id} 应为 32 字节（base64 编码）。"
                f" Key {key_id} in SHEQU_DATA_KEY must be 32 bytes, base64-encoded."
            )
        if any(existing == key_id for existing, _ in keys):
            raise ImproperlyConfigured(
                f"SHEQU_DATA_KEY 中密钥编号 {key_id} 重复。 Duplicate key id."
            )
        keys.append((key_id, key))
    if not keys:
        raise ImproperlyConfigured("SHEQU_DATA_KEY 为空。 SHEQU_DATA_KEY is empty.")
    return keys


def new_data_key(key_id: str = "k1") -> str:
    return f"{key_id}:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


_raw_data_key = os.environ.get("SHEQU_DATA_KEY", "")
if not _raw_data_key:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "生产环境必须设置 SHEQU_DATA_KEY（居民信息加密密钥）。"
            " SHEQU_DATA_KEY is required when SHEQU_ENV=production."
        )
    if TESTING:
        _raw_data_key = "t1:" + base64.urlsafe_b64encode(b"t" * 32).decode().rstrip("=")
    else:
        _raw_data_key = generated_secret("data_key", new_data_key)
SHEQU_DATA_KEYS = parse_data_keys(_raw_data_key)

# Rotation: the new key in SECRET_KEY, the old one here until sessions signed with it expire.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "生产环境必须设置 ALLOWED_HOSTS。 ALLOWED_HOSTS is required when SHEQU_ENV=production."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])


def database_from_url(url: str) -> dict:
    """Turn DATABASE_URL into a Django DATABASES entry (sqlite:/// or postgres://)."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    if parts.scheme == "sqlite":
        raw_path = unquote(parts.path)
        if raw_path in ("", "/"):
            raise ImproperlyConfigured(
                "DATABASE_URL 缺少 SQLite 文件路径。 DATABASE_URL needs a file: sqlite:///var/x.sqlite3"
            )
        path = Path(raw_path[1:])  # sqlite:///rel/path → rel/path; sqlite:////abs → /abs
        if raw_path == "/:memory:":
            name = ":memory:"
        else:
            name = str(path if path.is_absolute() else (BASE_DIR / path).resolve())
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                    " PRAGMA busy_timeout=20000; PRAGMA foreign_keys=ON;"
                ),
            },
        }
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured(
                "DATABASE_URL 缺少数据库名。 DATABASE_URL needs a database name: postgres://…/shequ"
            )
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"DATABASE_URL 端口无效：{url!r}。 Bad port.") from None
        config = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": env_int("SHEQU_DB_CONN_MAX_AGE", 60 if PRODUCTION else 0),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
        return config
    raise ImproperlyConfigured(
        f"DATABASE_URL 不支持的协议：{parts.scheme!r}（支持 sqlite、postgres）。"
        f" Unsupported DATABASE_URL scheme {parts.scheme!r}; use sqlite:/// or postgres://."
    )


DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///var/shequ.sqlite3")
DATABASES = {"default": database_from_url(DATABASE_URL)}
if os.environ.get("SHEQU_REPLICA_URL"):  # read-only replica for the cockpit (core/replica.py)
    DATABASES["replica"] = database_from_url(os.environ["SHEQU_REPLICA_URL"])
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "axes",
    "shequ.core",
    "shequ.accounts",
    "shequ.geo",
    "shequ.property",
    "shequ.people",
    "shequ.points",
    "shequ.notifications",
    "shequ.cases",
    "shequ.open311",
    "shequ.analytics",
    "shequ.web",
    "shequ.demo",
    "shequ.queue",
]

MIDDLEWARE = [
    # Outermost: security state (login failures, code guesses) undone by a rollback of the
    # request is written again at the end (shequ/core/durable.py).
    "shequ.core.durable.DurableWritesMiddleware",
    "shequ.core.observability.RequestMiddleware",
    "shequ.open311.middleware.Open311ErrorMiddleware",  # spec-shaped errors under /open311/v2/
    "shequ.core.uploads.RequestSizeMiddleware",
    "shequ.core.sanitize.JsonBodyMiddleware",  # too-deep JSON → 400; empty API body → {}
    "shequ.core.sanitize.NulByteMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shequ.accounts.middleware.TotpRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "shequ.core.idempotency.IdempotencyMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "shequ.urls"
WSGI_APPLICATION = "shequ.wsgi.application"
ASGI_APPLICATION = "shequ.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "shequ.web.context_processors.shell",
            ],
        },
    }
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # login lockout; must come first
    "shequ.accounts.backends.UsernameOrMobileBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing cost is irrelevant to what the tests check; keep the suite fast.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "zh-hans"
LOCALE_PATHS = [BASE_DIR / "shequ" / "locale"]  # the project package's own strings
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE 无效：{TIME_ZONE!r}。 Unknown TIME_ZONE {TIME_ZONE!r}."
    ) from None

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
if not PRODUCTION:
    STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"  # never served directly: media goes through permission-checked views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 20
SHEQU_MAX_REQUEST_BYTES = env_int(
    "SHEQU_MAX_REQUEST_BYTES", 25 * 1024 * 1024, minimum=1024 * 1024, maximum=1024**3
)
SHEQU_UPLOAD_MAX_BYTES = env_int(
    "SHEQU_UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1024, maximum=1024**3
)

# Security headers. HSTS and secure cookies only when served over HTTPS (production).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The map's base layer (offline without it): tile URL template(s) and the attribution text the
# tile provider requires; the CSP allows the tile host only when a URL is set.
SHEQU_MAP_TILE_URL = os.environ.get("SHEQU_MAP_TILE_URL", "").strip()
SHEQU_MAP_TILE_ATTRIBUTION = os.environ.get("SHEQU_MAP_TILE_ATTRIBUTION", "").strip()
SHEQU_MAP_TILE_SUBDOMAINS = os.environ.get("SHEQU_MAP_TILE_SUBDOMAINS", "").strip() or "abc"
SHEQU_MAP_TILES = map_tile_layers(SHEQU_MAP_TILE_URL, require_https=PRODUCTION)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:", *map_tile_sources(SHEQU_MAP_TILES)],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SHEQU_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SHEQU_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"


def redis_url(name: str) -> str:
    url = os.environ.get(name, "").strip()
    if url and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ImproperlyConfigured(
            f"{name} 应为 redis://…（或 rediss://）地址，实际为 {url!r}。"
            f" {name} must be a redis:// URL."
        )
    return url


SHEQU_CACHE_URL = redis_url("SHEQU_CACHE_URL")
if SHEQU_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": SHEQU_CACHE_URL,
            "KEY_PREFIX": "shequ",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "shequ",
        }
    }

# Background tasks (django.tasks). Tests run tasks at once; otherwise the persistent queue in
# the database (PostgreSQL at scale: many workers claim with FOR UPDATE SKIP LOCKED). Task rows
# commit with the change that caused them, so none is lost. `manage.py worker` runs them.
# The cockpit keeps the closed-loop selector's results this many seconds (0: recompute every
# time; tests recompute so each sees its own rows).
SHEQU_COCKPIT_CACHE_SECONDS = env_int(
    "SHEQU_COCKPIT_CACHE_SECONDS", 0 if TESTING else 60, minimum=0, maximum=3600
)
# Cockpit rankings: a unit with fewer cases than this in the period is listed as 样本不足, not
# ranked. Configuration, not an official rule (default 10).
SHEQU_RANKING_MIN_CASES = env_int("SHEQU_RANKING_MIN_CASES", 10, minimum=1, maximum=10_000)

# Points: a confirmed check-in/check-out credits the time actually served, rounded down to
# this unit, at least the minimum, at most the task's hours. Configuration, not an official
# rule (defaults 30 and 30 minutes: 0.5 h units, 0.5 h minimum); whole tenths of an hour.
SHEQU_POINTS_HOURS_UNIT_MINUTES = env_int(
    "SHEQU_POINTS_HOURS_UNIT_MINUTES", 30, minimum=6, maximum=240
)
SHEQU_POINTS_HOURS_MINIMUM_MINUTES = env_int(
    "SHEQU_POINTS_HOURS_MINIMUM_MINUTES", 30, minimum=0, maximum=480
)
if SHEQU_POINTS_HOURS_UNIT_MINUTES % 6 or SHEQU_POINTS_HOURS_MINIMUM_MINUTES % 6:
    raise ImproperlyConfigured(
        "SHEQU_POINTS_HOURS_UNIT_MINUTES 和 SHEQU_POINTS_HOURS_MINIMUM_MINUTES 应为6分钟的整数倍。"
        " They must be whole tenths of an hour (multiples of 6 minutes)."
    )
# Wrong guesses of one check-in code by one person before it is locked for them (core/checkin.py).
SHEQU_CHECKIN_MAX_CODE_FAILURES = env_int(
    "SHEQU_CHECKIN_MAX_CODE_FAILURES", 5, minimum=1, maximum=100
)
# Volunteer recognition (星级志愿者) by one's own cumulative hours — never a ranking of people
# (国办函〔2026〕12号). Thresholds after 《中国注册志愿者管理办法》 (一星 100 h … 五星 1500 h;
# verify against the local rule); configuration.
SHEQU_POINTS_STAR_HOURS = (100, 300, 600, 1000, 1500)

SHEQU_QUEUE_OPTIONS = {
    "MAX_ATTEMPTS": env_int("SHEQU_QUEUE_MAX_ATTEMPTS", 5, minimum=1, maximum=100),
    "BACKOFF_BASE": env_int("SHEQU_QUEUE_BACKOFF_BASE", 5, minimum=0, maximum=3600),
    "BACKOFF_MAX": env_int("SHEQU_QUEUE_BACKOFF_MAX", 3600, minimum=1, maximum=86400),
    "LEASE_SECONDS": env_int("SHEQU_QUEUE_LEASE_SECONDS", 300, minimum=1, maximum=86400),
    "POLL_SECONDS": env_int("SHEQU_QUEUE_POLL_SECONDS", 1, minimum=0, maximum=60),
}
if TESTING and not env_bool("SHEQU_TEST_REAL_QUEUE", False):
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {
        "default": {
            "BACKEND": "shequ.queue.backends.database.DatabaseBackend",
            "OPTIONS": SHEQU_QUEUE_OPTIONS,
        }
    }
SHEQU_QUEUE_KEEP_DAYS = 7
SHEQU_QUEUE_KEEP_FAILED_DAYS = 30

# Login lockout (django-axes): 5 failures for one account → locked for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 asks for the IP address in the lockout key. Locking per account is the rule here
# (等保: limit failed logins per account); attempts per IP are bounded separately by the
# "login" rate limit below, and an IP lockout would lock a whole community office behind NAT.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "shequ.accounts.lockout.lockout_response"
AXES_HANDLER = "shequ.accounts.lockout.SafeAxesDatabaseHandler"
AXES_USERNAME_CALLABLE = "shequ.accounts.lockout.lockout_username"
AXES_VERBOSE = False
# Trusted reverse proxies in front of the web processes (nginx: 1). One function reads the
# client's address for rate limits, audit, idempotency, metrics and axes: shequ/core/http.py.
SHEQU_PROXY_COUNT = env_int("SHEQU_PROXY_COUNT", 0, minimum=0, maximum=5)
AXES_CLIENT_IP_CALLABLE = "shequ.core.http.client_ip_or_none"

# Second factor (TOTP) for superusers and city operators.
SHEQU_REQUIRE_TOTP = env_bool("SHEQU_REQUIRE_TOTP", PRODUCTION)

# Rate limits (count/period) per client IP, on the shared cache. See shequ/core/ratelimit.py.
SHEQU_RATE_LIMIT_ENABLED = env_bool("SHEQU_RATE_LIMIT_ENABLED", not TESTING)
SHEQU_RATE_LIMITS = {
    "login": "20/m",  # login form and POST /api/v1/auth/token, per IP
    "totp": "10/m",  # second-factor codes, per pending login
    "report": "30/h",  # residents' reports (cases), per IP
    "open311_post": "60/h",  # Open311 POSTs without a valid api_key, per IP (keys: own limit)
}

# prometheus-client's multiprocess mode: each web process writes its samples here and the
# scrape adds them up (shequ/core/metrics.py). Tests: a folder per test process.
SHEQU_METRICS_DIR = os.environ.get("SHEQU_METRICS_DIR") or (
    tempfile.mkdtemp(prefix="shequ-metrics-") if TESTING else str(VAR_DIR / "metrics")
)
Path(SHEQU_METRICS_DIR).mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = SHEQU_METRICS_DIR  # read when the library is imported
SHEQU_METRICS_TOKEN = os.environ.get("SHEQU_METRICS_TOKEN", "")

LOG_FORMAT = os.environ.get("SHEQU_LOG_FORMAT", "json" if PRODUCTION else "plain")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(
        f"SHEQU_LOG_FORMAT 应为 json 或 plain，实际为 {LOG_FORMAT!r}。 Expected json or plain."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "shequ.core.observability.RequestIdFilter"},
        "redact": {"()": "shequ.core.observability.RedactFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "shequ.core.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("SHEQU_LOG_LEVEL", "INFO")},
    "loggers": {
        # runserver's request lines, through the redacting console handler (query values go).
        "django.server": {
            "handlers": ["console"],
            "level": "WARNING" if TESTING else "INFO",
            "propagate": False,
        },
        "shequ.request": {"level": "WARNING" if TESTING or not PRODUCTION else "INFO"},
        "axes": {"level": "WARNING"},
    },
}

# Shequ's own settings.
SHEQU_CITY_CODE = "321181"
SHEQU_DEMO_PASSWORD = os.environ.get("SHEQU_DEMO_PASSWORD", "shequ-demo")
SHEQU_DEMO_OPEN311_KEY = os.environ.get("SHEQU_DEMO_OPEN311_KEY", "demo-open311-key")

# Open311 (/open311/v2/): jurisdiction_id may be the city code or this domain; requests of these
# category groups (disputes, livelihood needs) are published with their status only.
SHEQU_OPEN311_JURISDICTION = os.environ.get("SHEQU_OPEN311_JURISDICTION", "danyang.gov.cn")
SHEQU_OPEN311_PRIVATE_GROUPS = ("07", "09")

SHEQU_API_TOKEN_DAYS = env_int("SHEQU_API_TOKEN_DAYS", 30, minimum=1, maximum=3650)
SHEQU_IDEMPOTENCY_HOURS = env_int("SHEQU_IDEMPOTENCY_HOURS", 48, minimum=1, maximum=24 * 90)


def parse_working_hours(raw: str) -> list[tuple[int, int]]:
    """Parse "08:30-12:00,13:30-17:30" into [(510, 720), (810, 1050)] (minutes of the day)."""
    periods: list[tuple[int, int]] = []
    try:
        for part in raw.split(","):
            start, end = (piece.strip() for piece in part.split("-"))
            minutes = []
            for clock in (start, end):
                hours, mins = clock.split(":")
                if not (hours.isdigit() and mins.isdigit() and len(mins) == 2):
                    raise ValueError(clock)
                value = int(hours) * 60 + int(mins)
                if not 0 <= value <= 24 * 60:
                    raise ValueError(clock)
                minutes.append(value)
            periods.append((minutes[0], minutes[1]))
    except ValueError:
        periods = []
    ordered = all(s < e for s, e in periods) and all(
        periods[i][1] <= periods[i + 1][0] for i in range(len(periods) - 1)
    )
    if not periods or not ordered:
        raise ImproperlyConfigured(
            f"SHEQU_WORKING_HOURS 的值无效：{raw!r}（示例：08:30-12:00,13:30-17:30，时段须按顺序且不重叠）。"
            f" Invalid SHEQU_WORKING_HOURS={raw!r}; expected e.g. 08:30-12:00,13:30-17:30."
        )
    return periods


# Working hours of the official working calendar (工作时), used by case deadlines.
SHEQU_WORKING_HOURS = parse_working_hours(
    os.environ.get("SHEQU_WORKING_HOURS", "08:30-12:00,13:30-17:30")
)
# Notification channels besides the in-app centre: dotted paths of backend classes.
SHEQU_SMS_BACKEND = os.environ.get(
    "SHEQU_SMS_BACKEND", "shequ.notifications.backends.LoggingBackend"
)
SHEQU_WECHAT_BACKEND = os.environ.get(
    "SHEQU_WECHAT_BACKEND", "shequ.notifications.backends.LoggingBackend"
)
# The channels residents hear about their cases on (closure, rating reminder) besides the app:
# a comma-separated subset of "sms,wechat"; empty for in-app only.
SHEQU_RESIDENT_CHANNELS = tuple(
    c.strip() for c in os.environ.get("SHEQU_RESIDENT_CHANNELS", "sms").split(",") if c.strip()
)
if set(SHEQU_RESIDENT_CHANNELS) - {"sms", "wechat"}:
    raise ImproperlyConfigured(
        f"SHEQU_RESIDENT_CHANNELS 只能包含 sms、wechat：{SHEQU_RESIDENT_CHANNELS!r}"
        f" (Invalid SHEQU_RESIDENT_CHANNELS; expected a subset of sms,wechat.)"
    )
