"""Numbers in free text (issue 12.6): masked in Open311 and other public outputs, masked at rest
in case descriptions (the original encrypted, revealed to staff with a reason, audited), never
in any server's access log; responses that reveal a full number are `Cache-Control: no-store`.
"""

import functools
import io
import logging
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse

from shequ.cases import services
from shequ.cases.models import Case
from shequ.core.crypto import SEPARATOR
from shequ.core.masking import mask_free_text
from shequ.core.models import AuditEvent
from shequ.core.observability import RedactFilter, redact_query, redact_query_string
from tests.support.cases import point_in, report
from tests.support.factories import make_person
from tests.support.open311 import BASE, make_key, post
from tests.support.processes import demo_env, running_server

ROOT = Path(__file__).resolve().parent.parent

# What residents type, and what must never be shown or stored in the clear.
TYPED = {
    "13812345678": "138****5678",
    "+86 139 8765 4321": "+86 139****4321",
    "+8613512345678": "+86 135****5678",
    "８６１３６１２３４５６７８": "+86 136****5678",  # full-width, with the country code
    "＋８６　１３７１２３４５６７８": "+86 137****5678",  # full-width plus and space
    "１５９１２３４５６７８": "159****5678",
    "158-1234-5678": "158****5678",
    "0086 18812345678": "+86 188****5678",
    "321181199001010012": "3211**********0012",
    "3211 8119 9001 0100 12": "3211**********0012",
    "321181-19900101-001X": "3211**********001X",
    "３２１１８１１９９００１０１００１２": "3211**********0012",
    "321181900101001": "3211*******1001",  # the old 15-digit number
    "0511-86543210": "0511-****3210",
    "0511 86543210": "0511-****3210",
    "051186543210": "0511-****3210",
    "(0511)86543210": "0511-****3210",
    "（0511）86543210": "0511-****3210",
    "025-12345678": "025-****5678",
    "0511-8654321": "0511-***4321",
    "+86 511 86543210": "+86 0511-****3210",
    "+86-0511-86543210": "+86 0511-****3210",
}
PLAIN_DIGITS = {
    "13812345678",
    "13987654321",
    "13512345678",
    "13612345678",
    "13712345678",
    "15912345678",
    "15812345678",
    "18812345678",
    "321181199001010012",
    "32118119900101001X",
    "321181900101001",
    "86543210",
    "8654321",
    "12345678",
}


@pytest.mark.parametrize(("typed", "masked"), TYPED.items())
def test_mask_free_text(typed, masked):
    assert mask_free_text(f"请联系{typed}，谢谢") == f"请联系{masked}，谢谢"


@pytest.mark.parametrize(
    "text",
    [
        "5 号楼 3 单元 1201 室门口有垃圾",
        "2026-12-01 至 2026-12-31 每天 20:00 后噪音",
        "金额 12345 元，订单 20261203",
        "路灯坏了 3 盏",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert mask_free_text(text) == text


def digits_only(text: str) -> str:
    table = str.maketrans("０１２３４５６７８９", "0123456789")
    return "".join(ch for ch in text.translate(table) if ch.isdigit() or ch in "Xx")


def assert_no_plain_number(text: str) -> None:
    flat = digits_only(text)
    for number in PLAIN_DIGITS:
        assert number not in flat, (number, text)


DESCRIPTION = (
    "楼道堆满杂物，请联系我 +86 139 8765 4321 或家里座机 0511-86543210，"
    "身份证 3211 8119 9001 0100 12，全角 １５９１２３４５６７８"
)


# --- Open311 and other public outputs ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("categories")
def test_open311_masks_every_kind_of_number(client, world):
    make_key(can_post_updates=True)
    lat, lng = point_in(world["grid_a"])
    response = post(
        client,
        {
            "service_code": "0101",
            "lat": lat,
            "long": lng,
            "description": DESCRIPTION,
            "attribute[amount]": "v2",
        },
    )
    assert response.status_code == 201, response.content
    code = response.json()[0]["service_request_id"]
    (row,) = client.get(BASE + f"requests/{code}.json").json()
    assert "+86 139****4321" in row["description"]
    assert "0511-****3210" in row["description"]
    assert "3211**********0012" in row["description"]
    assert "159****5678" in row["description"]
    for endpoint in ("requests.json", "requests.xml", f"requests/{code}.xml"):
        assert_no_plain_number(client.get(BASE + endpoint).content.decode())


@pytest.mark.django_db
@pytest.mark.usefixtures("categories")
def test_open311_masks_numbers_in_update_notes(persona):
    from shequ.open311 import representation

    case = report(persona("resident"))
    event = SimpleNamespace(
        case=case,
        note="已联系住户 ０５１１－８６５４３２１０ 与 +86 13812345678",
        action="open311_update",
        to_status=case.status,
        pk=1,
        at=case.reported_at,
        data={},
    )
    assert_no_plain_number(representation.update(event)["description"])


# --- at rest ------------------------------------------------------------------------------


@pytest.fixture
def typed_case(db, categories, persona):
    return report(persona("resident"), description=DESCRIPTION)


def raw_row(case: Case) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT description, description_original FROM cases_case WHERE id = %s", [case.pk]
        )
        return cursor.fetchone()


def test_description_is_stored_masked_with_the_original_encrypted(typed_case):
    description, original = raw_row(typed_case)
    assert_no_plain_number(description)
    assert_no_plain_number(original)
    assert "+86 139****4321" in description and "0511-****3210" in description
    assert SEPARATOR in original and "楼道" not in original  # ciphertext, not text
    case = Case.objects.get(pk=typed_case.pk)
    assert case.description_original == DESCRIPTION and case.description_is_masked


def test_a_description_without_numbers_has_no_vault_copy(db, categories, persona):
    case = report(persona("resident"), description="门口垃圾很多")
    assert raw_row(case) == ("门口垃圾很多", "")
    assert not case.description_is_masked


def test_api_and_pages_show_the_masked_description(typed_case, api_client_as, client_as):
    body = api_client_as("community").get(f"/api/v1/cases/{typed_case.pk}").json()
    assert "+86 139****4321" in body["description"]
    assert_no_plain_number(body["description"])
    page = client_as("community").get(reverse("case-detail", args=[typed_case.pk]))
    assert page.status_code == 200
    assert "+86 139****4321" in page.content.decode()
    assert_no_plain_number(page.content.decode())


def test_the_migration_masks_existing_rows(typed_case):
    """Rows written before the migration (plaintext description, empty vault)."""
    from importlib import import_module

    from django.apps import apps

    Case.objects.filter(pk=typed_case.pk).update(description=DESCRIPTION, description_original="")
    migration = import_module("shequ.cases.migrations.0004_case_description_masked_original")
    migration.mask_descriptions(apps, None)
    description, original = raw_row(typed_case)
    assert_no_plain_number(description)
    assert_no_plain_number(original)
    assert Case.objects.get(pk=typed_case.pk).description_original == DESCRIPTION
    migration.restore_descriptions(apps, None)
    assert raw_row(typed_case)[0] == DESCRIPTION


# --- reveal -------------------------------------------------------------------------------


def test_staff_reveal_the_original_for_a_reason_audited(typed_case, persona):
    community = persona("community")
    text = services.case_reveal_description(actor=community, case=typed_case, reason="回访住户")
    assert text == DESCRIPTION
    event = AuditEvent.objects.get(action="cases.reveal_description")
    assert event.actor == community and event.reason == "回访住户"
    assert event.object_id == str(typed_case.pk)
    assert_no_plain_number(str(event.details) + event.object_repr)


def test_reveal_needs_a_reason(typed_case, persona):
    from shequ.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        services.case_reveal_description(actor=persona("community"), case=typed_case, reason=" ")
    assert caught.value.code == "reason_required"
    assert not AuditEvent.objects.filter(action="cases.reveal_description").exists()


@pytest.mark.parametrize("who", ["resident", "auditor", "grid2"])
def test_reveal_is_refused_outside_staff_scope_and_audited(typed_case, persona, who):
    from shequ.core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        services.case_reveal_description(actor=persona(who), case=typed_case, reason="想看看")
    assert AuditEvent.objects.filter(
        action="cases.reveal_description_refused", actor=persona(who)
    ).exists()


def test_reveal_api_is_no_store_and_scoped(typed_case, api_client_as):
    url = f"/api/v1/cases/{typed_case.pk}/description/reveal"
    response = api_client_as("community").post(
        url, {"reason": "回访住户"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["description"] == DESCRIPTION
    assert "no-store" in response["Cache-Control"]
    refused = api_client_as("resident").post(
        url, {"reason": "看看"}, content_type="application/json"
    )
    assert refused.status_code == 403, refused.content
    assert DESCRIPTION not in refused.content.decode()
    missing = api_client_as("community").post(url, {"reason": ""}, content_type="application/json")
    assert missing.status_code == 400 and missing.json()["code"] == "reason_required"


def test_reveal_page_shows_the_original_no_store_audited(typed_case, client_as):
    client = client_as("community")
    detail = client.get(reverse("case-detail", args=[typed_case.pk])).content.decode()
    assert 'id="reveal-description-reason"' in detail
    url = reverse("case-description-reveal", args=[typed_case.pk])
    response = client.post(url, {"reason": "联系住户"})
    assert response.status_code == 200
    assert "139 8765 4321" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action="cases.reveal_description").count() == 1
    empty = client.post(url, {"reason": ""})
    assert empty.status_code == 302
    assert AuditEvent.objects.filter(action="cases.reveal_description").count() == 1


def test_reveal_page_refuses_a_resident(typed_case, client_as):
    client = client_as("resident")
    detail = client.get(reverse("case-detail", args=[typed_case.pk]))
    assert 'id="reveal-description-reason"' not in detail.content.decode()
    response = client.post(
        reverse("case-description-reveal", args=[typed_case.pk]), {"reason": "看看"}
    )
    assert response.status_code == 404
    assert "139 8765 4321" not in response.content.decode()


# --- Cache-Control on every reveal of a full number ----------------------------------------


@pytest.mark.django_db
def test_person_reveal_is_no_store(api_client_as, client_as, persona, world):
    person = make_person(grid_code=world["grid_a"], mobile="13812345678")
    response = api_client_as("community").post(
        f"/api/v1/people/{person.pk}/reveal",
        {"field": "mobile", "reason": "核实身份"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["value"] == "13812345678"
    assert "no-store" in response["Cache-Control"]
    page = client_as("community").post(
        reverse("person-reveal", args=[person.pk]), {"field": "mobile", "reason": "核实身份"}
    )
    assert page.status_code == 200 and "13812345678" in page.content.decode()
    assert "no-store" in page["Cache-Control"]


def test_case_contact_reveal_is_no_store(db, categories, persona, client_as):
    from shequ.cases.workflow import Channel

    case = report(
        persona("community"),
        channel=Channel.WALK_IN,
        contact_name="王小明",
        contact_phone="13812345678",
    )
    response = client_as("community").post(
        reverse("case-contact", args=[case.pk]), {"reason": "回访"}
    )
    assert response.status_code == 200
    assert "13812345678" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


# --- access logs in every server mode ------------------------------------------------------

SEARCH = "/people/?q=19912345&tag=elderly&page=2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'"GET {SEARCH} HTTP/1.1" 200 512', '"GET /people/?q=*&tag=*&page=* HTTP/1.1" 200 512'),
        ("GET /api/v1/people/?q=3211 8119", "GET /api/v1/people/?q=* 8119"),
        ("GET /healthz HTTP/1.1", "GET /healthz HTTP/1.1"),
        ("https://x.cn/people/?q=1381234#top", "https://x.cn/people/?q=*#top"),
        ("GET /p/?139123 HTTP/1.1", "GET /p/?* HTTP/1.1"),
    ],
)
def test_redact_query(text, expected):
    assert redact_query(text) == expected


def test_redact_query_string():
    assert redact_query_string("q=199&page=2") == "q=*&page=*"
    assert redact_query_string("") == ""
    assert redact_query_string("139") == "*"


def capture(logger_name: str, *args) -> str:
    """What the configured handlers write for one record of `logger_name`."""
    logger = logging.getLogger(logger_name)
    handlers = logger.handlers or logging.getLogger().handlers
    stream = io.StringIO()
    saved = [(h, h.setStream(stream)) for h in handlers if isinstance(h, logging.StreamHandler)]
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logger.warning(*args)
    finally:
        logger.setLevel(level)
        for handler, old in saved:
            handler.setStream(old)
    return stream.getvalue()


def test_runserver_request_lines_are_redacted():
    """`manage.py runserver` logs through `django.server`: it goes to the redacting console
    handler (not Python's unfiltered last-resort handler)."""
    logger = logging.getLogger("django.server")
    assert logger.handlers and not logger.propagate
    assert any(isinstance(f, RedactFilter) for h in logger.handlers for f in h.filters)
    line = capture("django.server", '"%s" %s %s', f"GET {SEARCH} HTTP/1.1", "404", "179")
    assert "/people/?q=*&tag=*&page=*" in line and "19912345" not in line


def test_any_log_line_with_a_url_is_redacted():
    line = capture("shequ.tests", "fetched https://x.cn/people/?q=%s", "32118119")
    assert "q=*" in line and "32118119" not in line


def test_gunicorn_logger_redacts_every_url_atom():
    from datetime import timedelta

    from gunicorn.config import Config

    from shequ.core.gunicorn_conf import RedactingLogger

    logger = RedactingLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": SEARCH,
        "PATH_INFO": "/people/13812345678/",
        "QUERY_STRING": "q=19912345&tag=elderly&page=2",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "https://x.cn/people/?q=19912345",
        "REMOTE_ADDR": "127.0.0.1",
    }
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    req = SimpleNamespace(headers=[("REFERER", "https://x.cn/people/?q=19912345")])
    atoms = logger.atoms(resp, req, environ, timedelta(milliseconds=5))
    assert atoms["r"] == "GET /people/?q=*&tag=*&page=* HTTP/1.1"
    assert atoms["q"] == "q=*&tag=*&page=*"
    assert atoms["f"] == "https://x.cn/people/?q=*"
    assert atoms["{referer}i"] == "https://x.cn/people/?q=*"
    assert atoms["U"] == "/people/138****5678/"
    assert "19912345" not in str(atoms)


def test_every_server_mode_uses_the_redacting_gunicorn_config():
    from gunicorn.app.base import Application

    from shequ.demo import processes

    for command in (
        processes.demo_commands("127.0.0.1", 8000)[0],  # make demo / run_demo
        processes.serve_commands("127.0.0.1", 8000, web_workers=2)[0],  # make serve / serve
    ):
        assert command[command.index("--config") + 1] == "python:shequ.core.gunicorn_conf"
    serve = processes.serve_commands("127.0.0.1", 8000, web_workers=2)[0]
    assert "--access-logfile" not in serve  # production: the JSON request log (routes only)

    class Probe(Application):
        def init(self, parser, opts, args):
            return None

        def load(self):
            return None

        def load_default_config(self):
            super().load_default_config()
            self.load_config_from_module_name_or_filename("python:shequ.core.gunicorn_conf")

    cfg = Probe.__new__(Probe)
    cfg.usage, cfg.prog, cfg.callable, cfg.cfg = None, None, None, None
    cfg.load_default_config()
    assert cfg.cfg.logger_class.__name__ == "RedactingLogger"
    assert "%(q)s" not in cfg.cfg.access_log_format


def test_request_log_line_names_the_route_not_the_query(client, db):
    from shequ.core.observability import access_logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    access_logger.addHandler(handler)
    level = access_logger.level
    access_logger.setLevel(logging.INFO)
    try:
        client.get(SEARCH)
    finally:
        access_logger.removeHandler(handler)
        access_logger.setLevel(level)
    assert "19912345" not in stream.getvalue() and "GET" in stream.getvalue()


def test_nginx_example_logs_no_query():
    conf = (ROOT / "docs" / "deploy" / "nginx.conf").read_text()
    log_format = conf[conf.index("log_format") : conf.index(";", conf.index("log_format"))]
    for leaky in (
        "$request ",
        '$request"',
        "$request_uri",
        "$args",
        "$query_string",
        "$http_referer",
    ):
        assert leaky not in log_format
    assert "$uri" in log_format
    servers = conf.count("server {")
    assert conf.count("access_log /var/log/nginx/shequ.access.log shequ_noquery;") == servers


@pytest.mark.slow
def test_gunicorn_access_log_has_no_searched_number(tmp_path):
    """The demo web server for real: gunicorn with its access log in its output."""
    from shequ.demo import processes

    env = demo_env(tmp_path, f"sqlite:///{tmp_path}/x.db")
    web = functools.partial(processes.web_command, "127.0.0.1", workers=1, threads=1)
    with running_server(web, env, tmp_path / "server.log") as server:
        urllib.request.urlopen(f"{server.url}/api/v1/openapi.json?q=19912345678&x=1", timeout=30)
    output = server.output()
    assert "/api/v1/openapi.json?q=*&x=*" in output, output[-2000:]
    assert "19912345678" not in output and "199****5678" not in output
