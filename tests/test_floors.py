"""The apps' floors (docs/architecture.md, "Floors"): an app imports only from the floors below
its own — never sideways or upwards, so the apps form no cycle. Demo seeders and the demo app sit on top
and may import anything. The few upward imports that exist are listed with their reason; the
list may shrink, never grow."""

import ast
import sys
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
    # 4: the wave-2 apps (deliberation, party, care, community, services) — they call cases
    # (a topic opens a case) and points (participation credit)
    "open311": 5,
    "analytics": 5,
    "web": 6,
    "demo": 6,
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


# Cycles inside an app, counting imports inside functions too (an import moved into a function
# hides a cycle instead of breaking it). (module, module it imports inside a function): why.
KNOWN_CYCLES: dict[tuple[str, str], str] = {}


def _module_names() -> dict[str, Path]:
    names = {}
    for path in SHEQU.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _import_graph() -> tuple[dict[str, set[str]], set[tuple[str, str]]]:
    """module → the shequ modules it imports (anywhere), and the edges made inside functions.
    `from a import b` counts as importing the module a.b when there is one; a module importing
    a.b also imports the package a, unless the module is inside a itself."""
    names = _module_names()
    graph: dict[str, set[str]] = {name: set() for name in names}
    in_functions: set[tuple[str, str]] = set()
    for name, path in names.items():
        tree = ast.parse(path.read_text())
        nested = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                targets = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in names else node.module
                    for a in node.names
                ]
            else:
                continue
            for target in targets:
                while target and target not in names:
                    target = target.rpartition(".")[0]
                if not target or target == name:
                    continue
                parts = target.split(".")
                packages = {
                    ".".join(parts[:i])
                    for i in range(2, len(parts))
                    if not name.startswith(".".join(parts[:i]) + ".")
                }
                for imported in {target} | (packages & set(names)):
                    graph[name].add(imported)
                    if id(node) in nested:
                        in_functions.add((name, imported))
    return graph, in_functions


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        module = stack.pop()
        if module == goal:
            return True
        if module not in seen:
            seen.add(module)
            stack += graph[module]
    return False


def import_cycles() -> set[tuple[str, str]]:
    """The function-level imports that close a cycle (report ↔ transitions used to)."""
    graph, in_functions = _import_graph()
    return {(a, b) for a, b in in_functions if _reaches(graph, b, a)}


def test_no_import_cycle_hides_in_a_function():
    new = {edge for edge in import_cycles() if edge not in KNOWN_CYCLES}
    assert not new, f"import cycles closed by an import inside a function (break them): {new}"


def test_the_cycle_finder_finds_a_planted_cycle(tmp_path, monkeypatch):
    package = tmp_path / "shequ" / "planted"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from shequ.planted.b import g\n\n\ndef f():\n    return g\n")
    (package / "b.py").write_text("def g():\n    from shequ.planted.a import f\n\n    return f\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "SHEQU", tmp_path / "shequ")
    assert import_cycles() == {("shequ.planted.b", "shequ.planted.a")}
