"""docs/architecture.md stays the map: every installed Shequ app and every core module is on it.
And the cases app keeps its shape (issue 13.6): small modules, split packages that re-export
their old names, one place that stores case photos."""

import importlib
import re
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "architecture.md").read_text()
LAYOUT = PAGE.split("## Layout", 1)[1].split("```", 2)[1]


def test_every_installed_app_is_on_the_map():
    ours = [c.name.split(".", 1)[1] for c in apps.get_app_configs() if c.name.startswith("shequ.")]
    assert ours, "no Shequ apps installed?"
    missing = [name for name in ours if not re.search(rf"^\s+{name}/", LAYOUT, re.MULTILINE)]
    assert not missing, f"add these apps to docs/architecture.md's layout: {missing}"


def test_every_core_module_is_on_the_map():
    modules = sorted(
        p.stem for p in (ROOT / "shequ" / "core").glob("*.py") if p.stem not in ("__init__", "apps")
    )
    missing = [name for name in modules if f"{name}.py" not in LAYOUT]
    assert not missing, f"add these core modules to docs/architecture.md: {missing}"


def test_the_cases_modules_stay_under_600_lines():
    """STYLE.md rule 9: a module past ~600 lines becomes a package with explicit re-exports."""
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "shequ" / "cases").rglob("*.py")
        if "migrations" not in p.parts and (n := len(p.read_text().splitlines())) > 600
    }
    assert not long, f"split these into packages: {long}"


@pytest.mark.parametrize(
    "package",
    ["shequ.cases.api", "shequ.cases.demo", "shequ.cases.services.transitions"],
)
def test_a_split_package_re_exports_its_old_names(package):
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, missing


def test_old_import_paths_still_work():
    from shequ.cases import demo
    from shequ.cases.api import API_PREFIX, router
    from shequ.cases.services.report import resolve_category
    from shequ.cases.services.transitions import case_reopen, cases_escalate_due
    from shequ.notifications.services import notification_deliver
    from shequ.people.services import id_hashes

    assert API_PREFIX == "/" and router.path_operations
    assert callable(demo.seed) and demo.SEED_ORDER == 40 and callable(demo.DIGEST)
    assert resolve_category.__module__ == "shequ.cases.categories"
    assert case_reopen.__module__.endswith("transitions.handling")
    assert cases_escalate_due.__module__.endswith("transitions.escalation")
    assert notification_deliver.__module__ == "shequ.notifications.delivery"
    assert id_hashes.__module__ == "shequ.people.models"


def test_case_photos_are_stored_in_one_place():
    """Reporting, every transition and the demo store photos through services._common's
    store_photos; no other module creates CasePhoto rows."""
    writers = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "shequ").rglob("*.py")
        if "migrations" not in p.parts and "CasePhoto.objects.create(" in p.read_text()
    )
    assert writers == ["shequ/cases/services/_common.py"]
