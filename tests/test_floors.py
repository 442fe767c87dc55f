"""The apps' floors (docs/architecture.md, "Floors"): an app imports only from the floors below
its own — never sideways or upwards, so the apps form no cycle. Demo seeders and the demo app sit on top
and may import anything. The few upward imports that exist are listed with their reason; the
list may shrink, never grow."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHEQU = ROOT / "shequ"

FLOORS = {
    "core": 0,
    "geo": 1,
    "accounts": 1,
    "property": 1,
    "notifications": 1,
    "queue": 1,
    "people": 2,
    "cases": 3,
    "points": 3,
    "open311": 4,
    "analytics": 4,
    "web": 5,
    "demo": 5,
}

# (importing module, imported app): why it is there. Fix by moving the code down a floor.
KNOWN_UPWARD = {
    ("shequ/geo/selectors.py", "people"): "resident counts per region (guarded by is_installed)",
    ("shequ/geo/mapdata.py", "people"): "the user's own house on the map (guarded)",
    ("shequ/geo/resolve.py", "people"): "a caller's registered house (guarded)",
    ("shequ/geo/selectors.py", "accounts"): "grid workers named on the grid page",
    ("shequ/accounts/lockout.py", "web"): "the locked-out login page renders web's login form",
}


def is_top(path: Path) -> bool:
    """Seeders (an app's demo.py or demo/ package), demo helpers and management commands wire
    everything together."""
    name = path.name
    inside = path.relative_to(SHEQU).parts[1:-1]
    return (
        name.startswith("demo")
        or "demo" in inside
        or "management" in path.parts
        or "migrations" in path.parts
    )


def upward_imports() -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for path in SHEQU.rglob("*.py"):
        relative = path.relative_to(SHEQU)
        if len(relative.parts) < 2 or relative.parts[0] not in FLOORS or is_top(path):
            continue
        app = relative.parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            modules = []
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("shequ."):
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names if a.name.startswith("shequ.")]
            for module in modules:
                other = module.split(".")[1]
                if other in FLOORS and other != app and FLOORS[other] >= FLOORS[app]:
                    key = (str(path.relative_to(ROOT)), other)
                    found[key] = node.lineno
    return found


def test_every_app_has_a_floor():
    apps = {p.name for p in SHEQU.iterdir() if (p / "apps.py").exists()}
    assert apps == set(FLOORS), "give each app its floor here and in docs/architecture.md"


def test_no_app_imports_upwards():
    found = upward_imports()
    new = {k: v for k, v in found.items() if k not in KNOWN_UPWARD}
    assert not new, (
        f"upward imports (move the code down a floor, or down-call through a hook): {new}"
    )


def test_the_known_exceptions_still_exist():
    """A fixed exception leaves this list, so it cannot come back unnoticed."""
    gone = set(KNOWN_UPWARD) - set(upward_imports())
    assert not gone, f"remove these from KNOWN_UPWARD: {sorted(gone)}"


def test_the_floors_are_on_the_architecture_page():
    page = (ROOT / "docs" / "architecture.md").read_text()
    section = page.split("## Floors", 1)[1].split("\n## ", 1)[0]
    for app in FLOORS:
        assert f"`{app}`" in section, app
