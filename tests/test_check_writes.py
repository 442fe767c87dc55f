"""scripts/check-writes (issue 13.2): the product passes it, and it catches each kind of write
outside a service — planted in a copy, so the check itself can fail."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check-writes"


def run(*paths) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_the_product_has_no_write_outside_services():
    result = run()
    assert result.returncode == 0, result.stdout


def plant(tmp_path, name: str, source: str) -> Path:
    folder = tmp_path / "shequ" / "planted"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def test_a_view_that_saves_is_caught(tmp_path):
    path = plant(
        tmp_path,
        "views.py",
        """
        def edit(request, pk):
            case = Case.objects.get(pk=pk)
            case.status = "closed"
            case.save()
            Case.objects.filter(pk=pk).update(status="x")
        """,
    )
    result = run(path)
    assert result.returncode == 1
    assert "case.save" in result.stdout and "Case.objects.filter(pk=pk).update" in result.stdout


def test_a_module_of_an_api_package_is_checked(tmp_path):
    """An app's api.py split into an api/ package (cases/api/) stays under the check."""
    (tmp_path / "shequ" / "planted" / "api").mkdir(parents=True)
    path = tmp_path / "shequ" / "planted" / "api" / "handling.py"
    path.write_text("def act(request, pk):\n    Case.objects.filter(pk=pk).delete()\n")
    result = run(path)
    assert result.returncode == 1
    assert "Case.objects.filter(pk=pk).delete" in result.stdout


def test_a_model_admin_with_default_saves_is_caught_and_a_service_admin_is_not(tmp_path):
    path = plant(
        tmp_path,
        "admin.py",
        """
        from django.contrib import admin
        from shequ.core.admin import ScopedAdminMixin, ServiceAdminMixin

        class RawAdmin(ScopedAdminMixin, admin.ModelAdmin):
            pass

        class AuditedAdmin(ScopedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
            def save_model(self, request, obj, form, change):
                obj.prepare()
                super().save_model(request, obj, form, change)

        class LockedAdmin(admin.ModelAdmin):
            def has_add_permission(self, request):
                return False

            def has_change_permission(self, request, obj=None):
                return False
        """,
    )
    result = run(path)
    assert result.returncode == 1
    assert "RawAdmin saves with the admin's default save_model" in result.stdout
    assert "RawAdmin deletes with the admin's default delete" in result.stdout
    assert "AuditedAdmin" not in result.stdout and "LockedAdmin" not in result.stdout


def test_a_marked_write_passes(tmp_path):
    path = plant(
        tmp_path,
        "views.py",
        """
        def language(request):
            request.user.save(update_fields=["lang"])  # writes: the user's own preference
        """,
    )
    assert run(path).returncode == 0
