"""Models and migrations agree (a model change without its migration fails here)."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:
        pytest.fail(f"missing migrations (exit {exc.code}):\n{out.getvalue()}")


# The working calendar moved from cases to core (issue 13): same table, same rows ---------------


@pytest.mark.django_db
def test_the_calendar_table_kept_its_name_when_it_moved_to_core():
    import datetime as dt
    from importlib import import_module

    from django.db import connection

    from shequ.core.models import CalendarDay

    assert CalendarDay._meta.app_label == "core"
    assert CalendarDay._meta.db_table == "cases_calendarday"
    for module in (
        "shequ.cases.migrations.0005_calendarday_moves_to_core",
        "shequ.core.migrations.0004_calendarday_from_cases",
    ):
        moves = import_module(module).Migration.operations[0]
        assert moves.database_operations == [], module  # state only: no table dropped or made
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_calendarday (date, is_workday, note) VALUES (%s, %s, %s)",
            [dt.date(2031, 2, 3), False, "旧表里的一行"],
        )
    assert CalendarDay.objects.get(date=dt.date(2031, 2, 3)).note == "旧表里的一行"


@pytest.mark.usefixtures("reseed_after_flush", "transactional_db")
def test_calendar_rows_survive_the_move_forwards_and_back():
    import datetime as dt

    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from shequ.core.models import CalendarDay

    content_type = ContentType.objects.get_for_model(CalendarDay).pk
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate([("cases", "0004_case_description_masked_original")])  # before the move
    old = executor.loader.project_state(
        [("cases", "0004_case_description_masked_original")]
    ).apps.get_model("cases", "CalendarDay")
    old.objects.create(date=dt.date(2031, 4, 6), is_workday=False, note="清明调休")
    assert ContentType.objects.get(pk=content_type).app_label == "cases"

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(leaves)
    ContentType.objects.clear_cache()
    assert CalendarDay.objects.get(date=dt.date(2031, 4, 6)).note == "清明调休"
    assert ContentType.objects.get(pk=content_type).app_label == "core"
    assert not ContentType.objects.filter(app_label="cases", model="calendarday").exists()
