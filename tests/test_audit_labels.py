"""Every audit action written anywhere in the code has a Chinese label, and the audit page shows
actions, fields and details in Chinese with an action filter grouped by app."""

import ast
import re
from pathlib import Path

import pytest

import shequ
from shequ.core import audit
from shequ.core.audit import action_choices, action_label, detail_items, labelled_actions
from shequ.core.audit_labels import ACTION_LABELS, GROUP_LABELS
from shequ.core.models import AuditEvent

PACKAGE = Path(shequ.__file__).parent
AUDIT_CALLS = {"audit_record", "audit_refusal"}
ACTION_NAME = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")


def _strings(node: ast.AST) -> list[str] | None:
    """The literal strings an expression can evaluate to (`"a.b"`, `"a" if x else "b"`), or None
    when it is not made of literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _strings(node.body), _strings(node.orelse)
        if body is not None and orelse is not None:
            return body + orelse
    return None


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def collect_audit_actions() -> tuple[dict[str, str], list[str]]:
    """Every action name passed to audit_record/audit_refusal (and every export kind, whose name
    is its audit action) in the shequ package → where; plus the calls whose action is computed,
    which must be listed in DYNAMIC below."""
    found: dict[str, str] = {}
    dynamic: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            keyword = {"export_kind_register": "name"}.get(name, "action")
            if name not in AUDIT_CALLS and name != "export_kind_register":
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            for kw in node.keywords:
                if kw.arg is None and name in AUDIT_CALLS:
                    dynamic.append(where)  # audit_record(**kwargs)
                if kw.arg != keyword:
                    continue
                values = _strings(kw.value)
                if values is None:
                    dynamic.append(where)
                else:
                    for value in values:
                        found.setdefault(value, where)
    return found, dynamic


# Calls whose action is not a literal, and why they are covered.
DYNAMIC = {
    "shequ/core/audit.py": "audit_refusal forwards to audit_record",
    "shequ/core/exports.py": "the action is the export kind's name (collected from the kinds)",
}


def test_the_collector_finds_actions_of_every_kind():
    found, _dynamic = collect_audit_actions()
    # a plain literal, both arms of a conditional, an audit_refusal, an export kind
    for action in (
        "people.reveal",
        "points.honour_grant",
        "points.confirm",
        "people.reveal_refused",
        "people.export",
    ):
        assert action in found
    assert len(found) >= 40


def test_every_audit_action_in_the_code_has_a_chinese_label():
    found, dynamic = collect_audit_actions()
    labels = labelled_actions()  # audit_labels.py, and any an app registers at start-up
    missing = sorted(
        f"{action} ({where})" for action, where in found.items() if action not in labels
    )
    assert not missing, "audit actions without a label in shequ/core/audit_labels.py: " + ", ".join(
        missing
    )
    for action in found:
        assert ACTION_NAME.match(action), action
        assert re.search(r"[\u4e00-\u9fff]", labels[action]), action
        assert action.split(".")[0] in GROUP_LABELS, action
    unexplained = [w for w in dynamic if w.rsplit(":", 1)[0] not in DYNAMIC]
    assert not unexplained, f"audit calls with a computed action: {unexplained}"


def test_labels_are_not_stale():
    found, _dynamic = collect_audit_actions()
    stale = sorted(set(ACTION_LABELS) - set(found))
    assert not stale, f"labels of actions no code writes: {stale}"


def test_retired_actions_keep_their_names_and_are_not_written_any_more():
    from shequ.core.audit_labels import RETIRED_ACTION_LABELS

    found, _dynamic = collect_audit_actions()
    assert not set(RETIRED_ACTION_LABELS) & set(found)
    assert not set(RETIRED_ACTION_LABELS) & set(ACTION_LABELS)
    assert action_label("points.checkin_code_locked") == "签到码错误次数过多，已锁定"


def test_an_unknown_action_is_still_shown_in_chinese():
    assert action_label("newapp.thing") == "其他操作（newapp.thing）"
    assert action_label("points.honour_grant") == "授予荣誉积分"


def test_action_choices_are_grouped_by_app_and_hold_every_action():
    groups = action_choices()
    headings = [str(h) for h, _ in groups]
    assert headings[:2] == ["账号与岗位", "实有人口"]
    codes = {code for _, options in groups for code, _label in options}
    assert set(ACTION_LABELS) <= codes
    for _heading, options in groups:
        apps = {code.split(".")[0] for code, _ in options}
        assert len(apps) == 1


def test_details_and_fields_are_shown_in_chinese(db):
    event = AuditEvent(
        action="people.reveal",
        object_type="people.person",
        details={"field": "id_number", "self": False},
    )
    assert detail_items(event) == [("字段", "证件号码"), ("本人查看", "否")]
    update = AuditEvent(
        action="people.person_update",
        object_type="people.person",
        details={"fields": ["mobile", "name"]},
    )
    [(heading, value)] = detail_items(update)
    assert heading == "修改的字段"
    assert "mobile" not in value and "手机" in value
    item = AuditEvent(action="points.item_update", details={"price": 20, "monthly_limit": 2})
    assert detail_items(item) == [("所需积分", "20"), ("每人每月限兑", "2")]


def test_audit_page_shows_chinese_and_an_optgroup_filter(client_as, persona):
    audit.audit_record(
        actor=persona("community"),
        action="people.reveal",
        object_type="people.person",
        object_id="1",
        object_repr="张*明",
        reason="核对信息",
        details={"field": "id_number", "self": False},
    )
    audit.audit_record(
        actor=persona("community"),
        action="points.honour_grant",
        object_type="points.claim",
        object_id="2",
        details={"points": 5},
    )
    response = client_as("auditor").get("/audit/")
    assert response.status_code == 200
    html = response.content.decode()
    table = html[html.index('id="audit-table"') :]
    for raw in ("points.honour_grant", "id_number", "people.reveal", "people.person"):
        assert raw not in table, raw
    assert "授予荣誉积分" in table and "证件号码" in table and "查看完整信息" in table
    form = html[html.index('id="audit-form"') : html.index('id="audit-table"')]
    assert '<optgroup label="互融互助积分">' in form
    assert '<optgroup label="实有人口">' in form
    assert form.count("<option") >= len(ACTION_LABELS)
    assert "（people.reveal）" not in form
    assert '<option value="people.person">' in form  # object types by their Chinese names
    assert '<option value="people.person">people.person<' not in form


@pytest.mark.parametrize("action", ["points.honour_grant", "bogus-action"])
def test_filtering_by_action(client_as, persona, action):
    audit.audit_record(actor=persona("community"), action="points.honour_grant", object_id="9")
    response = client_as("auditor").get("/audit/", {"action": action})
    assert response.status_code == 200
    if action == "bogus-action":
        assert "选择一个有效的选项" in response.content.decode()
