"""The suite's own shape: what tests share lives in tests/support/, test modules never import
each other (nor a conftest), and fixtures come from `pytest_plugins`, not from imports."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SUPPORT = TESTS / "support"


def imported_modules(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            modules += [a.name for a in node.names]
    return modules


def plugins_of(conftest: Path) -> list[str]:
    for node in ast.parse(conftest.read_text()).body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "pytest_plugins":
            return ast.literal_eval(node.value)
    return []


def test_helpers_live_in_support():
    helpers = [
        str(p.relative_to(TESTS))
        for p in TESTS.rglob("*.py")
        if SUPPORT not in p.parents
        and not p.name.startswith("test_")
        and p.name not in ("conftest.py", "__init__.py")
    ]
    assert helpers == [], f"move these helper modules into tests/support/: {helpers}"


def test_no_test_module_imports_another_or_a_conftest():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for module in imported_modules(path):
            last = module.rsplit(".", 1)[-1]
            if module.startswith("tests") and (last.startswith("test_") or last == "conftest"):
                offenders.append(f"{path.relative_to(TESTS)} imports {module}")
    assert offenders == [], offenders


def test_support_fixtures_are_plugins_not_imports():
    """A fixture defined in tests/support/ is registered in tests/conftest.py's
    `pytest_plugins`; importing it by name into a test module (with `# noqa: F401`) is what
    this replaced."""
    with_fixtures = sorted(
        f"tests.support.{p.stem}"
        for p in SUPPORT.glob("*.py")
        if "@pytest.fixture" in p.read_text()
    )
    assert sorted(plugins_of(TESTS / "conftest.py")) == with_fixtures
    fixture_names = {
        node.name
        for p in SUPPORT.glob("*.py")
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.FunctionDef)
        and any("fixture" in ast.unparse(d) for d in node.decorator_list)
    }
    imported = [
        f"{path.relative_to(TESTS)}: {module}"
        for path in sorted(TESTS.rglob("test_*.py"))
        for module in imported_modules(path)
        if module.startswith("tests.support.") and module.rsplit(".", 1)[-1] in fixture_names
    ]
    assert imported == [], imported
