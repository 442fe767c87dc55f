"""Every form of the product, submitted empty and half-filled, as every persona: never a 500;
a form that comes back (not a redirect) shows its errors and keeps what was typed (issue 21.1).

The pages are found by walking the URL conf: each argument-free route outside the API, the
admin and the machine endpoints is fetched with GET as each persona, and every
<form method="post"> on the page (parsed from the HTML) is submitted to its action, once with
only its hidden fields and once with the first half of its visible fields filled. Pages with an
id in the route are visited for one case (the demo's first) so the case page's forms are walked
too. New pages join the walk without touching this file.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.support.cases import report

pytestmark = pytest.mark.django_db

SKIP_PREFIXES = ("api/", "admin/", "i18n/", "open311/", "healthz", "readyz", "metrics", "static/")
# Forms whose submission ends the session (the walk would go on logged out).
SKIP_ACTIONS = ("/logout/",)
WALK_PERSONAS = ("resident", "grid", "community", "township", "property", "auditor")
TYPED = "测试填写"


@dataclass
class Form:
    page: str
    action: str
    enctype: str = ""
    hidden: dict = field(default_factory=dict)
    visible: list = field(default_factory=list)  # (name, kind, options)


class FormParser(HTMLParser):
    """<form method=post> elements with their fields (inputs, selects with options, textareas)."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: tuple[str, list] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if (a.get("method") or "get").lower() == "post":
                action = urljoin(self.page, a.get("action") or self.page)
                self.current = Form(self.page, action, a.get("enctype") or "")
            return
        if self.current is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind == "hidden":
                self.current.hidden[name] = a.get("value") or ""
            elif kind not in ("submit", "button", "reset", "image"):
                self.current.visible.append((name, kind, [a.get("value") or "1"]))
        elif tag == "textarea" and name:
            self.current.visible.append((name, "textarea", []))
        elif tag == "select" and name:
            self.select = (name, [])
        elif tag == "option" and self.select is not None and a.get("value"):
            self.select[1].append(a["value"])

    def handle_endtag(self, tag):
        if tag == "select" and self.select is not None and self.current is not None:
            self.current.visible.append((self.select[0], "select", self.select[1]))
            self.select = None
        elif tag == "form":
            if self.current is not None:
                self.forms.append(self.current)
            self.current = None


def _routes(resolver=None, prefix="") -> list[str]:
    """Argument-free paths of the URL conf ('<int:pk>' routes are filled in by the caller)."""
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIP_PREFIXES) or route.startswith("^"):
            continue
        if isinstance(entry, URLResolver):
            found += _routes(entry, route)
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


def _pages(case_pk: int) -> list[str]:
    pages = []
    for route in _routes():
        if "<" in route:
            if re.fullmatch(r"cases/<int:pk>/", route):
                pages.append(f"/cases/{case_pk}/")
            continue
        pages.append("/" + route)
    return sorted(set(pages))


def _half_filled(form: Form) -> tuple[dict, list[str]]:
    data = dict(form.hidden)
    typed = []
    for index, (name, kind, options) in enumerate(form.visible):
        if index >= max(1, len(form.visible) // 2 + len(form.visible) % 2):
            break
        if kind in ("checkbox", "radio"):
            data[name] = options[0]
        elif kind == "select":
            if options:
                data[name] = options[0]
        elif kind == "file":
            continue
        elif kind in ("number", "range"):
            data[name] = "1"
        elif kind == "date":
            data[name] = "2026-12-01"
        elif kind in ("datetime-local",):
            data[name] = "2026-12-01T09:30"
        elif kind == "email":
            data[name] = "walk@example.com"
        elif kind == "tel":
            data[name] = "13800000000"
        else:
            data[name] = TYPED
            typed.append(name)
    return data, typed


def _client(client_as, username: str) -> Client:
    client = client_as(username)
    client.raise_request_exception = False  # a 500 is a status here, reported with the rest
    return client


def _walk(client: Client, case_pk: int) -> tuple[list[Form], list[str]]:
    forms: list[Form] = []
    problems: list[str] = []
    for page in _pages(case_pk):
        response = client.get(page)
        if response.status_code >= 500:
            problems.append(f"GET {page} → {response.status_code}")
            continue
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = FormParser(page)
        parser.feed(response.content.decode())
        forms += [
            f
            for f in parser.forms
            if urlsplit(f.action).path.startswith("/")
            and not urlsplit(f.action).path.startswith(SKIP_ACTIONS)
        ]
    return forms, problems


def _submit(client: Client, form: Form, data: dict):
    path = urlsplit(form.action).path
    query = urlsplit(form.action).query
    return client.post(path + (f"?{query}" if query else ""), data)


@pytest.mark.parametrize("username", WALK_PERSONAS)
def test_every_form_survives_empty_and_half_filled_input(
    username,
    client_as,
    persona,
    world,
    categories,
):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    client = _client(client_as, username)
    forms, problems = _walk(client, case.pk)
    assert forms or username == "auditor", "the walk found no forms"
    seen = set()
    rerendered = 0
    for form in forms:
        key = (urlsplit(form.action).path, tuple(sorted(n for n, _k, _o in form.visible)))
        if key in seen:
            continue
        seen.add(key)
        for label, (data, typed) in (
            ("empty", (dict(form.hidden), [])),
            ("half", _half_filled(form)),
        ):
            response = _submit(client, form, data)
            where = f"{label} POST {form.action} (form on {form.page})"
            if response.status_code >= 500:
                problems.append(f"{where} → {response.status_code}")
                continue
            if response.status_code in (200, 400) and "html" in response.get("Content-Type", ""):
                html = response.content.decode()
                rerendered += response.status_code == 400
                if response.status_code == 400 and not re.search(
                    r'class="[^"]*(errorlist|alert--error|field-error)', html
                ):
                    problems.append(f"{where} → 400 without a visible error")
                for name in typed:
                    if TYPED not in html:
                        problems.append(f"{where} → typed value of {name!r} lost")
                        break
    assert client.get("/notifications/").status_code == 200, "the walk logged itself out"
    if username in ("resident", "community"):
        assert "/cases/report/" in {urlsplit(f.action).path for f in forms}
    assert not problems, "\n".join(problems)
    print(username, len(seen), "forms,", rerendered, "re-rendered with errors")
