"""Rendering Open311 responses in JSON and XML, and the spec's error lists.

XML element names follow the GeoReport v2 spec: `services/service`, `service_definition`,
`service_requests/request`, `service_request_updates/request_update`, `errors/error`,
`discovery`. Lists inside an element use the singular of the list's name (`attributes/attribute`,
`values/value`, `endpoints/endpoint`, `formats/format`). None is an empty element. Text is
escaped by ElementTree, so whatever a client submitted comes back as text, never as markup.
"""

import json
import re
from xml.etree import ElementTree as ET

from django.http import HttpResponse

FORMATS = ("json", "xml")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
CHILD_NAMES = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


class Open311Error(Exception):
    """One or more errors of the spec's shape, with the HTTP status of the response."""

    def __init__(self, status: int, *descriptions: str, headers: dict | None = None):
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = [str(d) for d in descriptions] or [""]
        self.headers = headers or {}

    def errors(self) -> list[dict]:
        return [{"code": self.status, "description": d} for d in self.descriptions]


# Characters XML 1.0 cannot carry (control characters, surrogates, U+FFFE/U+FFFF): dropped, so
# a description with a stray control character still gives a document clients can parse.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return NOT_XML.sub("", str(value))


def _append(parent: ET.Element, name: str, value) -> None:
    element = ET.SubElement(parent, name)
    if value is None:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, list):
        child = CHILD_NAMES.get(name, "item")
        for item in value:
            _append(element, child, item)
    else:
        element.text = _text(value)


def to_xml(root: str, item: str | None, data) -> bytes:
    """A list under <root><item>…</item></root>, or one dict as <root>…</root> (item None)."""
    element = ET.Element(root)
    if item is None:
        for key, value in data.items():
            _append(element, key, value)
    else:
        for row in data:
            _append(element, item, row)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8")


def render(fmt: str, data, *, root: str, item: str | None, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        return HttpResponse(to_xml(root, item, data), status=status, content_type=XML_TYPE)
    body = json.dumps(data, ensure_ascii=False)
    return HttpResponse(body.encode(), status=status, content_type=JSON_TYPE)


def error_response(fmt: str, error: Open311Error) -> HttpResponse:
    response = render(
        fmt if fmt in FORMATS else "json",
        error.errors(),
        root="errors",
        item="error",
        status=error.status,
    )
    for name, value in error.headers.items():
        response[name] = value
    return response


def format_of_path(path: str) -> str:
    return "xml" if path.rstrip("/").endswith(".xml") else "json"
