"""A bad configuration value stops start-up with a clear message."""

from pathlib import Path

import pytest

from tests.support.processes import run_check

GOOD_KEY = "k2:" + "A" * 43


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHEQU_ENV": "staging"}, "SHEQU_ENV"),
        ({"SHEQU_DEBUG": "maybe"}, "SHEQU_DEBUG"),
        ({"DATABASE_URL": "mysql://localhost/x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://localhost:99999/x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://localhost/"}, "DATABASE_URL"),
        ({"SHEQU_DATA_KEY": "nocolon"}, "SHEQU_DATA_KEY"),
        ({"SHEQU_DATA_KEY": "k1:c2hvcnQ"}, "32 字节"),
        ({"SHEQU_DATA_KEY": f"{GOOD_KEY},{GOOD_KEY}"}, "重复"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SHEQU_ENV": "production"}, "SECRET_KEY"),
        ({"SHEQU_ENV": "production", "SECRET_KEY": "x" * 50}, "SHEQU_DATA_KEY"),
        (
            {"SHEQU_ENV": "production", "SECRET_KEY": "x" * 50, "SHEQU_DATA_KEY": GOOD_KEY},
            "ALLOWED_HOSTS",
        ),
        (
            {
                "SHEQU_ENV": "production",
                "SECRET_KEY": "x" * 50,
                "SHEQU_DATA_KEY": GOOD_KEY,
                "ALLOWED_HOSTS": "shequ.example.cn",
                "SHEQU_DEBUG": "1",
            },
            "SHEQU_DEBUG",
        ),
        ({"SHEQU_DB_CONN_MAX_AGE": "soon", "DATABASE_URL": "postgres://h/db"}, "整数"),
    ],
)
def test_bad_values_stop_startup(tmp_path, env, message):
    result = run_check(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_good_production_config_starts(tmp_path):
    result = run_check(
        tmp_path,
        SHEQU_ENV="production",
        SECRET_KEY="x" * 50,
        SHEQU_DATA_KEY=GOOD_KEY,
        ALLOWED_HOSTS="shequ.example.cn",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
    )
    assert result.returncode == 0, result.stderr


def test_demo_mode_generates_keys_into_var(tmp_path):
    assert run_check(tmp_path).returncode == 0
    assert (tmp_path / "secret_key").exists() and (tmp_path / "data_key").exists()
    first = (tmp_path / "data_key").read_text()
    assert run_check(tmp_path).returncode == 0
    assert (tmp_path / "data_key").read_text() == first  # stable across restarts


def test_database_url_parsing():
    from shequ.settings import database_from_url

    sqlite = database_from_url("sqlite:///var/x.sqlite3")
    assert sqlite["NAME"].endswith("var/x.sqlite3") and Path(sqlite["NAME"]).is_absolute()
    assert "journal_mode=WAL" in sqlite["OPTIONS"]["init_command"]
    assert database_from_url("sqlite:////tmp/abs.db")["NAME"] == "/tmp/abs.db"
    pg = database_from_url("postgres://u:p%40ss@db.local:5433/shequ?sslmode=require")
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "u",
        "p@ss",
        "db.local",
        "5433",
        "shequ",
    )
    assert pg["OPTIONS"] == {"sslmode": "require"}
    assert pg["CONN_HEALTH_CHECKS"] is True
