"""Demo that shows the city (issue 21.8): points and people in every township, store items with
pictures, the `merchant` account in the banner, a favicon, and `run_demo` ending with status 0
on Ctrl+C (so `make demo` ends without a make error)."""

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.support.points import assert_ledger_exact

ROOT = Path(__file__).resolve().parents[1]

CHILD = (
    "import signal, sys, time\n"
    "def stop(*_):\n"
    "    print('child stopped by TERM', flush=True)\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, stop)\n"
    "print('child up', flush=True)\n"
    "time.sleep(60)\n"
)


def run_demo_process(children: list[str]) -> subprocess.Popen:
    """`manage.py run_demo` in its own session, with stand-in children instead of gunicorn and
    the worker (the supervisor, the command and its exit status are the real ones)."""
    script = textwrap.dedent(
        f"""
        import os, sys
        import django
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
        django.setup()
        from shequ.demo import processes
        children = {children!r}
        processes.demo_commands = lambda host, port: [[sys.executable, "-c", c] for c in children]
        from django.core.management import call_command
        call_command("run_demo", port=8999)
        """
    )
    env = {**os.environ, "SHEQU_ENV": "test", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for(process: subprocess.Popen, text: str, count: int, timeout: float = 60) -> str:
    seen, deadline = "", time.monotonic() + timeout
    while seen.count(text) < count:
        assert time.monotonic() < deadline, seen
        line = process.stdout.readline()
        assert line or process.poll() is None, seen
        seen += line
    return seen


class TestCtrlC:
    def test_sigint_to_the_terminal_group_exits_0_and_stops_children_once(self):
        process = run_demo_process([CHILD, CHILD])
        try:
            wait_for(process, "child up", 2)
            # Ctrl+C: the terminal sends SIGINT to the whole foreground process group
            os.killpg(process.pid, signal.SIGINT)
            out, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        assert process.returncode == 0, out
        assert out.count("child stopped by TERM") == 2, out
        assert "Traceback" not in out and "KeyboardInterrupt" not in out, out

    def test_a_crashing_child_is_reported_and_stops_the_other(self):
        crash = "import time; time.sleep(0.5); raise SystemExit(3)"
        process = run_demo_process([CHILD, crash])
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 3, out
        assert "child stopped by TERM" in out


@pytest.mark.django_db
class TestShell:
    def test_banner_and_accounts_list_the_merchant(self):
        out = io.StringIO()
        call_command("demo_banner", port=8000, stdout=out)
        assert "merchant" in out.getvalue() and "商户收银" in out.getvalue()
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        assert "| `merchant` |" in readme

    def test_merchant_demo_account_is_a_cashier(self, django_user_model):
        from shequ.core.scoping import has_perm
        from shequ.points import permissions as P

        merchant = django_user_model.objects.get(username="merchant")
        assert has_perm(merchant, P.MERCHANT_TILL) and not merchant.is_staff

    def test_favicon(self, client):
        response = client.get("/favicon.ico")
        assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
        assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
        page = client.get("/login/").content.decode()
        assert 'rel="icon"' in page and "favicon" in page


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.usefixtures("categories")
def test_small_demo_spreads_people_points_and_cases_over_every_township(client_as, world):
    """One small seeding of people, cases and points (on the base world of geography and
    accounts): every township has residents, cases and volunteer service; the flagship
    community stays richest; every store item has a picture; the ledger is exact; over the
    past year every township is ranked in the cockpit (enough cases for the minimum sample)."""
    import datetime as dt

    from django.db.models import Count
    from django.db.models.functions import Substr
    from PIL import Image

    from shequ.cases.models import Case
    from shequ.demo import seeding
    from shequ.geo.models import Region
    from shequ.people.models import Person
    from shequ.points.models import Claim, StoreItem, VolunteerRecord

    ctx = seeding.SeedContext(scale="small", log=lambda message: None)
    ctx.data["flagship_grids"] = sorted(
        Region.objects.filter(level="grid", code__startswith=world["community"]).values_list(
            "code", flat=True
        )
    )
    ctx.data["flagship_code"] = world["community"]
    seeding.run(ctx, only={"people", "cases", "points"})

    townships = set(Region.objects.filter(level="township").values_list("code", flat=True))
    assert len(townships) == 12

    def per_township(qs):
        return dict(
            qs.annotate(t=Substr("region_code", 1, 9))
            .values("t")
            .annotate(n=Count("id"))
            .values_list("t", "n")
        )

    for model in (Person, Case, VolunteerRecord):
        counts = per_township(model.objects.all())
        assert set(counts) == townships, model
        assert min(counts.values()) > 0, model
    by_unit = dict(
        VolunteerRecord.objects.annotate(u=Substr("region_code", 1, 12))
        .values("u")
        .annotate(n=Count("id"))
        .values_list("u", "n")
    )
    assert max(by_unit, key=by_unit.get) == world["community"]  # the flagship stays richest
    assert len(by_unit) >= 60  # nearly every community and village
    # credited hours never exceed a task's hours; a verified attendance credits the time served
    for claim in Claim.objects.filter(record_type="credit").select_related("task")[:300]:
        assert claim.hours_awarded <= claim.task.hours_per_person
    # every store item has a real picture
    items = list(StoreItem.objects.all())
    assert len({i.store_id for i in items}) == 13  # the flagship's store and one per township
    for item in items[:30]:
        assert item.photo
        with item.photo.open("rb") as handle:
            image = Image.open(handle)
            assert image.format == "JPEG" and min(image.size) >= 200
    assert_ledger_exact()
    # the cockpit over the past year ranks every township
    today = timezone.localdate()
    response = client_as("city").get(
        "/analytics/",
        {"period": "custom", "from": (today - dt.timedelta(days=360)).isoformat(), "to": today},
    )
    ranking = next(r for r in response.context["rankings"] if r["table"].id == "rank-township")
    assert all(isinstance(row["rank"], int) for row in ranking["table"].rows)
    assert len(ranking["table"].rows) == 12
