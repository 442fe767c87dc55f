"""Notes from outside systems on a case's timeline go through one cases service."""

import ast
from pathlib import Path

import pytest

from shequ.cases.models import CaseEvent
from shequ.cases.services import case_note_add
from tests.support.cases import report

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]
SHEQU = Path(__file__).resolve().parent.parent / "shequ"


def test_a_note_is_a_public_timeline_row_that_never_changes_the_status(persona):
    case = report(persona("resident"))
    before = case.status
    event = case_note_add(
        case=case,
        action="open311_update",
        actor_name="12345热线平台",
        actor_role="open311",
        note="已电话联系居民",
        data={"client_status": "CLOSED"},
    )
    case.refresh_from_db()
    assert case.status == before
    assert (event.from_status, event.to_status) == (before, before)
    assert event.public and event.note == "已电话联系居民"
    assert event.data == {"client_status": "CLOSED"}
    assert CaseEvent.objects.filter(case=case, action="open311_update").count() == 1


def test_only_the_cases_app_writes_timeline_rows():
    """CaseEvent rows are created in shequ/cases only (Open311 calls case_note_add)."""
    writers = []
    for path in SHEQU.rglob("*.py"):
        if "migrations" in path.parts or path.is_relative_to(SHEQU / "cases"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = ast.unparse(node.func)
            if func == "CaseEvent" or (
                func.startswith("CaseEvent.")
                and func.rsplit(".", 1)[-1] in {"create", "bulk_create", "update", "delete"}
            ):
                writers.append(f"{path.relative_to(SHEQU)}:{node.lineno}")
    assert not writers, writers
