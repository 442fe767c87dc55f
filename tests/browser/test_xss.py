"""Stored and reflected XSS: text containing `<script>alert(1)</script>` and
`"><img src=x onerror=alert(1)>` typed into every free-text field renders inert on every page
that shows it. Any JavaScript dialog fails the test.

To cover a new free-text field, add an `XssField` to FIELDS: how an operator edits it in the
admin (search URL, link, input), and the (persona, path, action) views that show it. Apps that
edit text through their own pages can add a field with their own `write` function.
"""

import pytest

from tests.support.browser import View, XssField, admin_write, login, new_page

PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')
FLAGSHIP = "321181001001"
GRID_A = FLAGSHIP + "001"


def hover_every_shape(page):
    """Leaflet shows grid names in tooltips on hover: open them all."""
    # Attached, not visible: shapes outside the map's view are in the page but not drawn.
    page.wait_for_selector("path.leaflet-interactive", state="attached")
    page.eval_on_selector_all(
        "path.leaflet-interactive",
        "els => els.forEach(e => { for (const t of ['mouseover', 'mousemove'])"
        " e.dispatchEvent(new MouseEvent(t, {bubbles: true, clientX: 400, clientY: 300})) })",
    )
    page.wait_for_timeout(300)


FIELDS = [
    XssField(
        "user.full_name (grid worker)",
        "/admin/accounts/user/?q=grid",
        "grid",
        "#id_full_name",
        [
            View("grid", "/"),
            View("resident", "/"),
            View("community", f"/regions/{GRID_A}/"),
            View("admin", "/admin/accounts/user/?q=grid"),
        ],
    ),
    XssField(
        "region.name (grid)",
        f"/admin/geo/region/?q={GRID_A}",
        GRID_A,
        "#id_name",
        [
            View("grid", "/"),
            View("resident", "/"),
            View("community", f"/regions/{FLAGSHIP}/"),
            View("community", "/map/", hover_every_shape, shows_text=False),
            View("resident", "/cases/report/", hover_every_shape, shows_text=False),
            View("community", "/cases/hotline/", hover_every_shape, shows_text=False),
            View("township", f"/analytics/?region={FLAGSHIP}", hover_every_shape, shows_text=False),
        ],
    ),
    XssField(
        "estate.name",
        # The estate the demo `property` account serves (others may be created by other tests).
        f"/admin/geo/estate/?q={GRID_A}&property_company__isnull=False",
        None,
        "#id_name",
        [View("property", "/"), View("admin", "/admin/geo/estate/")],
    ),
]


def assert_inert(page, payload: str, where: str, *, shows_text: bool = True):
    assert page.dialogs == [], f"{where}: a dialog opened: {page.dialogs}"
    assert page.locator('img[src="x"]').count() == 0, f"{where}: the <img> payload became markup"
    live_script = page.evaluate(
        "[...document.scripts].some(s => s.textContent.includes('alert(1)'))"
    )
    assert not live_script, f"{where}: the <script> payload became markup"
    if shows_text:
        assert payload in page.inner_text("body"), f"{where}: the text is not shown at all"


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror"])
@pytest.mark.parametrize("xss_field", FIELDS, ids=[f.name for f in FIELDS])
def test_stored_text_renders_inert(browser, live_url, xss_field, payload):
    admin = new_page(browser, live_url)
    login(admin, "admin")
    original = admin_write(admin, xss_field, f"X{payload}")
    try:
        for view in xss_field.views:
            page = admin if view.persona == "admin" else new_page(browser, live_url)
            if view.persona not in (None, "admin"):
                login(page, view.persona)
            page.goto(view.path)
            page.wait_for_load_state("networkidle")
            if view.action:
                view.action(page)
            assert_inert(
                page,
                payload,
                f"{xss_field.name} on {view.path} as {view.persona}",
                shows_text=view.shows_text,
            )
            if page is not admin:
                page.context.close()
    finally:
        admin_write(admin, xss_field, original)
        admin.context.close()


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror"])
def test_reflected_login_name_renders_inert(page, payload):
    page.goto("/login/")
    page.fill("#id_username", payload)
    page.fill("#id_password", "wrong-password")
    page.click("#login-submit")
    page.wait_for_load_state()
    assert page.input_value("#id_username") == payload
    assert_inert(page, payload, "login form", shows_text=False)
    page.goto("/regions/" + payload.replace("/", "%2F"))
    assert_inert(page, payload, "404 page", shows_text=False)
