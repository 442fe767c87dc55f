"""Back-office pages (issue 21.4/21.5): who may open the Django admin, the superuser's home page,
and 指标说明 written for leaders."""

import re

import pytest

from shequ.accounts.models import Assignment
from shequ.accounts.services import (
    assignment_grant,
    assignment_revoke,
    may_use_admin,
    user_create,
)
from shequ.geo.models import Region


class TestAdminAccess:
    @pytest.mark.parametrize("username", ["grid", "grid2", "property", "resident", "auditor"])
    def test_field_roles_have_no_admin_access(self, client_as, persona, username):
        user = persona(username)
        assert not user.is_staff
        assert not may_use_admin(user)
        client = client_as(username)
        response = client.get("/admin/", follow=True)
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == "/"  # home, with a notice; no redirect loop
        assert "管理后台仅供管理员使用" in response.content.decode()
        home = client_as(username).get("/").content.decode()
        assert 'href="/admin/"' not in home

    @pytest.mark.parametrize("username", ["grid", "property"])
    def test_a_staff_flag_alone_does_not_open_the_admin(self, client_as, persona, username):
        user = persona(username)
        user.is_staff = True  # e.g. a row from before issue 21.5, or a hand edit
        user.save(update_fields=["is_staff"])
        assert client_as(username).get("/admin/").status_code == 302
        assert client_as(username).get("/admin/geo/building/").status_code == 302

    @pytest.mark.parametrize("username", ["admin", "city", "township", "community"])
    def test_operators_keep_the_admin(self, client_as, username):
        assert client_as(username).get("/admin/").status_code == 200

    def test_grant_and_revoke_keep_the_flag_in_step(self, persona, world):
        user = user_create(username="twohats", password="a-long-password-1")
        grid = Region.objects.get(code=world["grid_a"])
        community = Region.objects.get(code=world["community"])
        assignment_grant(user=user, role="grid_worker", region=grid, actor=persona("admin"))
        user.refresh_from_db()
        assert not user.is_staff
        staff = assignment_grant(
            user=user, role="community_staff", region=community, actor=persona("admin")
        )
        user.refresh_from_db()
        assert user.is_staff
        assignment_revoke(assignment=staff, actor=persona("admin"))
        user.refresh_from_db()
        assert not user.is_staff
        assert Assignment.objects.filter(user=user, is_active=True).count() == 1


class TestSuperuserHome:
    def test_superuser_home_is_a_real_page(self, client_as):
        response = client_as("admin").get("/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "尚未分配岗位" not in html
        assert 'data-home="superuser"' in html
        assert 'id="city-overview"' in html
        assert "云阳街道" in html
        for url in ("/admin/", "/audit/"):
            assert f'href="{url}"' in html

    def test_a_user_without_a_role_still_gets_the_notice(self, db, client):
        user = user_create(username="nobody", password="a-long-password-1")
        client.force_login(user)
        from shequ.accounts.second_factor import CHECKED

        session = client.session
        session[CHECKED] = "password"
        session.save()
        html = client.get("/").content.decode()
        assert "尚未分配岗位" in html


def _has_chinese(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


class TestIndicatorExplanations:
    """指标说明 is written for leaders: formula, meaning, source document by name."""

    DEVELOPER_WORDS = re.compile(
        r"[a-z]+_[a-z_]+|shequ\.|\bAPI\b|Austin|§|selector|queryset|\(reported_at\)", re.I
    )

    def test_every_indicator_has_formula_meaning_and_a_named_source(self):
        from shequ.analytics.definitions import DEFINITIONS

        for d in DEFINITIONS:
            for text in (d.label, d.formula, d.meaning, d.source):
                assert _has_chinese(str(text)), (d.key, text)
                assert not self.DEVELOPER_WORDS.search(str(text)), (d.key, text)
            source = str(d.source)
            assert "《" in source or "本平台" in source or "考核" in source, (d.key, source)

    def test_page_shows_the_leaders_columns_without_column_names(self, client_as):
        from shequ.analytics.definitions import DEFINITIONS

        response = client_as("city").get("/analytics/indicators/")
        assert response.status_code == 200
        html = response.content.decode()
        table = html[html.index('id="definitions"') : html.index("</table>")]
        for heading in ("计算方法", "含义", "依据"):
            assert f">{heading}<" in table
        for d in DEFINITIONS:
            assert str(d.meaning) in table
        text = re.sub(r"<[^>]+>", " ", html[html.index("<main") :])
        assert not self.DEVELOPER_WORDS.search(text), self.DEVELOPER_WORDS.search(text)
        assert "城市市政综合监管信息系统" in text

    def test_export_notes_sheet_has_no_column_names(self, client_as, world):
        import io

        import openpyxl

        response = client_as("city").get("/analytics/export.xlsx")
        assert response.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        rows = list(book["指标说明"].iter_rows(values_only=True))
        assert rows[0][:4] == ("指标", "计算方法", "含义", "依据")
        for row in rows:
            for cell in row:
                if isinstance(cell, str):
                    assert not self.DEVELOPER_WORDS.search(cell), cell
