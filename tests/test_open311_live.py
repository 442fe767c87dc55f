"""Open311 over real HTTP against a live server (pytest-django's live_server): the full flow a
client goes through, and the /open311/ page's curl examples run exactly as written."""

import html
import json
import re
import shutil
import subprocess
import urllib.request
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import pytest

from shequ.cases.models import Case
from shequ.cases.workflow import Status
from tests.support.cases import drive, point_in
from tests.support.open311 import KEY, check_official, make_key


@pytest.fixture
def server(request, reseed_after_flush, transactional_db):
    """The live server's URL. Requested dynamically so that pytest-django's helper does not set
    up transactional_db before reseed_after_flush (whose teardown must run after the flush)."""
    request.getfixturevalue("categories")
    live = request.getfixturevalue("live_server")
    live._live_server_modified_settings.enable()
    yield live.url
    live._live_server_modified_settings.disable()


def call(url: str, data: dict | None = None) -> tuple[int, str, bytes]:
    body = urlencode(data, doseq=True).encode() if data is not None else None
    request = urllib.request.Request(url, data=body)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_full_flow_over_http(server, world, persona):
    make_key()
    base = server + "/open311/v2/"
    status, content_type, body = call(base + "services.json")
    assert status == 200 and content_type == "application/json; charset=utf-8"
    services = json.loads(body)
    check_official("services", services)
    assert "0101" in {s["service_code"] for s in services}

    status, _type, body = call(base + "services/0101.json")
    definition = json.loads(body)
    check_official("service-definition", definition)
    (attribute,) = definition["attributes"]

    lat, lng = point_in(world["grid_a"])
    status, _type, body = call(
        base + "requests.json",
        {
            "api_key": KEY,
            "jurisdiction_id": "321181",
            "service_code": "0101",
            "lat": lat,
            "long": lng,
            "description": "小区北门垃圾成堆 <i>急</i>",
            f"attribute[{attribute['code']}]": attribute["values"][0]["key"],
        },
    )
    assert status == 201, body
    code = json.loads(body)[0]["service_request_id"]

    status, _type, body = call(base + f"requests/{code}.json")
    (row,) = json.loads(body)
    check_official("requests", [row])
    assert row["status"] == "open" and row["description"] == "小区北门垃圾成堆 <i>急</i>"

    # A staff transition through the closed loop's services: handled, then verified and closed.
    case = Case.objects.get(code=code)
    drive(case, Status.CLOSED, persona)

    status, _type, body = call(base + f"requests/{code}.xml")
    request = ET.fromstring(body).find("request")
    assert request.findtext("status") == "closed"
    assert request.findtext("status_notes") == "已清理完毕"
    status, _type, body = call(
        base + "servicerequestupdates.json?" + urlencode({"service_request_id": code})
    )
    updates = json.loads(body)
    assert [u["status"] for u in updates] == [
        "OPEN",
        "INVESTIGATING",
        "ACTION_SCHEDULED",
        "IN_PROGRESS",
        "IN_PROGRESS",
        "FIXED",
    ]
    status, _type, body = call(base + "requests.json?status=closed")
    assert code in {r["service_request_id"] for r in json.loads(body)}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_pages_curl_examples_work_as_written(server, world, settings):
    from shequ.open311.demo import ensure_demo_key

    settings.DEMO_MODE = True  # the page shows the demo key, as `make demo` serves it
    ensure_demo_key()
    lat, lng = point_in(world["grid_a"])
    status, _type, _body = call(
        server + "/open311/v2/requests.json",
        {
            "api_key": settings.SHEQU_DEMO_OPEN311_KEY,
            "service_code": "0102",
            "lat": lat,
            "long": lng,
            "description": "路面脏",
        },
    )
    assert status == 201
    status, _type, page = call(server + "/open311/")
    assert status == 200
    blocks = re.findall(
        r'<pre class="open311-curl"[^>]*><code>(.*?)</code></pre>', page.decode(), re.S
    )
    assert len(blocks) >= 10
    for block in blocks:
        command = html.unescape(block)
        command = re.sub(r"https?://[^/\s\"]+/open311/", server + "/open311/", command)
        assert command.startswith("curl "), command
        result = subprocess.run(
            ["bash", "-c", command], capture_output=True, timeout=60, check=False
        )
        assert result.returncode == 0, (command, result.stderr.decode(), result.stdout[:500])
        output = result.stdout.strip()
        if output.startswith(b"<?xml"):
            ET.fromstring(output)
        else:
            json.loads(output)
    assert Case.objects.filter(channel="open311").count() >= 3  # the two POST examples ran
