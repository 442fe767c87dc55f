"""Helpers for the Open311 tests: the official JSON Schemas (read from beside the repository,
never copied into it), XML parsing, a posting helper."""

import datetime as dt
import functools
import json
import os
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FOLDER = Path("shared") / "open311" / "georeport-v2-schema"
BASE = "/open311/v2/"
KEY = "test-open311-key-1"


def schema_dir() -> Path | None:
    configured = os.environ.get("SHEQU_OPEN311_SCHEMA_DIR")
    if configured:
        return Path(configured)
    for parent in ROOT.parents:
        if (parent / SCHEMA_FOLDER).is_dir():
            return parent / SCHEMA_FOLDER
    return None


def schemas_required() -> bool:
    """CI (SHEQU_REQUIRE_BROWSER=1, as for the browser tests, or CI set) must run these."""
    return os.environ.get("SHEQU_REQUIRE_BROWSER") == "1" or bool(os.environ.get("CI"))


@functools.cache
def _official():
    folder = schema_dir()
    if folder is None or not (folder / "services.json").exists():
        message = (
            "Open311 official schemas not found: set SHEQU_OPEN311_SCHEMA_DIR or put them in "
            f"{SCHEMA_FOLDER} beside the repository"
        )
        return message
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    contents = {p.name: json.loads(p.read_text()) for p in folder.glob("*.json")}
    registry = Registry().with_resources(
        (name, Resource.from_contents(body, default_specification=DRAFT4))
        for name, body in contents.items()
    )

    return {
        name.removesuffix(".json"): Draft4Validator(
            body, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER
        )
        for name, body in contents.items()
    }


def official(name: str):
    """The validator of an official schema ("services", "requests", …): Draft 4, $refs resolved.
    Skips the test when the schemas are absent — fails instead in CI."""
    validators = _official()
    if isinstance(validators, str):
        if schemas_required():
            pytest.fail(validators + " — required in CI (SHEQU_REQUIRE_BROWSER=1 / CI)")
        pytest.skip(validators)
    return validators[name]


def check_official(name: str, data) -> None:
    """Validate a JSON response body against an official schema (and datetimes' offsets)."""
    errors = sorted(official(name).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    rows = data if isinstance(data, list) else [data]
    for row in rows:
        for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
            if isinstance(row, dict) and row.get(field):
                parsed = dt.datetime.fromisoformat(row[field])
                assert parsed.utcoffset() is not None, (field, row[field])


def xml(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    return ET.fromstring(response.content)


def errors_of(response) -> list[dict]:
    """The spec's error list (JSON or XML) → [{code, description}]."""
    if response["Content-Type"].startswith("text/xml"):
        root = xml(response)
        assert root.tag == "errors"
        return [
            {"code": int(e.findtext("code")), "description": e.findtext("description")}
            for e in root.findall("error")
        ]
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert isinstance(body, list) and body
    for item in body:
        assert set(item) == {"code", "description"}
        assert item["code"] == response.status_code and item["description"]
    return body


def make_key(**kwargs):
    from shequ.open311.keys import api_key_create

    kwargs.setdefault("name", "tests")
    kwargs.setdefault("key", KEY)
    return api_key_create(**kwargs)[0]


def post(client, data: dict, path: str = "requests.json", **headers):
    """POST a urlencoded form (lists repeat the field), with the test key unless given."""
    data = {"api_key": KEY, **data}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(
        BASE + path,
        data=urlencode(data, doseq=True),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
