"""docs/architecture.md stays the map: every installed Shequ app and every core module is on it."""

import re
from pathlib import Path

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
