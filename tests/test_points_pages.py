"""Points pages: residents and staff reach every page, forms call the services, errors show in
Chinese, scoping hides other grids (404), query counts are pinned on list pages."""

import pytest
from django.urls import reverse
from django.utils import timezone

from shequ.core.models import AuditEvent
from shequ.points import ledger
from shequ.points.choices import ClaimStatus, OrderStatus, TaskStatus
from shequ.points.models import Claim, Merchant, Order, Task
from shequ.points.services import claim_check, order_redeem, task_claim
from tests.support.factories import give_points, window

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("exact_ledger")]


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


class TestResidentPages:
    def test_every_resident_page_renders(self, client_as, resident, make_task, make_item):
        _user, person = resident
        give_points(person, 100)
        task = make_task()
        item = make_item()
        client = client_as("resident")
        for name, args in [
            ("points:tasks", []),
            ("points:task", [task.pk]),
            ("points:my-tasks", []),
            ("points:me", []),
            ("points:store", []),
            ("points:orders", []),
            ("points:help-new", []),
            ("points:recognition", []),
            ("points:certificate", []),
        ]:
            response = client.get(reverse(name, args=args))
            assert response.status_code == 200, name
        page = client.get(reverse("points:store")).content.decode()
        assert item.name in page and 'data-balance="volunteer">100<' in page

    def test_task_square_htmx_fragment(self, client_as, resident, make_task):
        make_task(title="近处任务")
        response = client_as("resident").get("/points/?tab=new", headers={"HX-Request": "true"})
        body = response.content.decode()
        assert "近处任务" in body and "<html" not in body

    def test_claim_and_check_in_through_the_pages(self, client_as, resident, make_task):
        _user, person = resident
        task = make_task()
        client = client_as("resident")
        response = client.post(reverse("points:task-claim", args=[task.pk]), follow=True)
        assert "认领成功" in " ".join(messages_of(response))
        response = client.post(
            reverse("points:task-check", args=[task.pk]), {"code": "nope"}, follow=True
        )
        assert "签到码不正确" in " ".join(messages_of(response))
        client.post(reverse("points:task-check", args=[task.pk]), {"code": task.checkin_code})
        client.post(reverse("points:task-check", args=[task.pk]), {"code": task.checkout_code})
        assert Claim.objects.get(task=task, person=person).status == ClaimStatus.CHECKED_OUT

    def test_claiming_a_full_task_shows_a_chinese_message(
        self, client_as, resident, volunteer, make_task
    ):
        task = make_task(quota=1)
        task_claim(actor=volunteer[0], task=task)
        response = client_as("resident").post(
            reverse("points:task-claim", args=[task.pk]), follow=True
        )
        assert "该任务已满员" in " ".join(messages_of(response))

    def test_redeem_with_too_few_points(self, client_as, resident, make_item):
        item = make_item(price=30)
        response = client_as("resident").post(
            reverse("points:redeem", args=[item.pk]),
            {"quantity": "1", "request_key": "k1"},
            follow=True,
        )
        assert "积分余额不足" in " ".join(messages_of(response))
        assert not Order.objects.exists()

    def test_redeem_and_cancel_through_the_pages(self, client_as, resident, make_item):
        _user, person = resident
        give_points(person, 100)
        item = make_item(price=30)
        client = client_as("resident")
        response = client.post(
            reverse("points:redeem", args=[item.pk]),
            {"quantity": "1", "request_key": "form-1"},
            follow=True,
        )
        order = Order.objects.get()
        assert order.pickup_code in " ".join(messages_of(response))
        # a double submit of the same form does not buy twice
        client.post(
            reverse("points:redeem", args=[item.pk]), {"quantity": "1", "request_key": "form-1"}
        )
        assert Order.objects.count() == 1
        client.post(reverse("points:order-cancel", args=[order.pk]))
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED
        assert ledger.resident_account(person).balance == 100

    def test_help_request_form(self, client_as, resident):
        _user, person = resident
        give_points(person, 50)
        client = client_as("resident")
        bad = client.post(reverse("points:help-new"), {"title": "", "points": "x"})
        assert bad.status_code == 200 and not Task.objects.exists()
        start, end = window(1)
        response = client.post(
            reverse("points:help-new"),
            {
                "title": "帮忙修水龙头",
                "category": "neighbour",
                "starts_at": local(start),
                "ends_at": local(end),
                "points": "10",
                "hours": "1",
                "quota": "1",
            },
        )
        task = Task.objects.get()
        assert response.status_code == 302 and task.status == TaskStatus.PUBLISHED
        assert ledger.resident_account(person).balance == 40

    def test_pay_code_page(self, client_as, resident):
        _user, person = resident
        give_points(person, 10)
        response = client_as("resident").post(reverse("points:paycode"))
        assert response.status_code == 200 and 'id="paycode"' in response.content.decode()

    def test_staff_are_not_residents(self, client_as):
        assert client_as("grid").get(reverse("points:me")).status_code == 404

    def test_resident_without_registry_record(self, client_as):
        response = client_as("resident").get(reverse("points:me"))
        assert "尚未关联居民档案" in response.content.decode()

    def test_recognition_shows_own_star_and_units_not_people(
        self, client_as, resident, volunteer, make_task, persona
    ):
        task = make_task()
        user, _person = volunteer
        task_claim(actor=user, task=task)
        claim_check(actor=user, task=task, code=task.checkin_code)
        claim = claim_check(actor=user, task=task, code=task.checkout_code)
        from shequ.points.services import claim_confirm

        claim_confirm(actor=persona("grid"), claim=claim)
        # the old address answers with a redirect to the new page (bookmarks)
        old = client_as("resident").get(reverse("points:leaderboard"))
        assert old.status_code == 302 and old.url == reverse("points:recognition")
        body = client_as("resident").get(reverse("points:recognition")).content.decode()
        assert "陈*愿" not in body and "陈志愿" not in body and "my-star" in body
        staff_body = client_as("community").get(reverse("points:recognition")).content.decode()
        assert "陈志愿" not in staff_body and 'id="units"' in staff_body
        cert = client_as("community").get(
            reverse("points:person-certificate", args=[claim.person_id])
        )
        assert "陈志愿" in cert.content.decode() and "张网格" in cert.content.decode()
        assert AuditEvent.objects.filter(action="points.certificate_print").count() == 1
        own = client_as_volunteer(user).get(reverse("points:certificate")).content.decode()
        assert "楼道清理" in own and "张网格" in own  # 谁记录谁证明


def client_as_volunteer(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


class TestStaffPages:
    def test_every_staff_page_renders(self, client_as, make_task, make_item, world, pool):
        task = make_task()
        make_item()
        Merchant.objects.create(name="商户A", region_code=world["grid_a"])
        client = client_as("community")
        for url in [
            reverse("points:manage-tasks"),
            reverse("points:task-new"),
            reverse("points:manage-task", args=[task.pk]),
            reverse("points:task-codes", args=[task.pk]),
            reverse("points:manage-store"),
            reverse("points:manage-merchants"),
            reverse("points:reports"),
        ]:
            response = client.get(url)
            assert response.status_code == 200, url

    def test_publish_task_through_the_form(self, client_as, world, pool):
        start, end = window(1)
        response = client_as("grid").post(
            reverse("points:task-new"),
            {
                "kind": "volunteer",
                "title": "清理小广告",
                "category": "environment",
                "region_code": world["grid_a"],
                "starts_at": local(start),
                "ends_at": local(end),
                "quota": "3",
                "point_kind": "volunteer",
                "points_per_person": "5",
                "hours_per_person": "1",
                "publish": "on",
            },
        )
        task = Task.objects.get()
        assert response.status_code == 302 and task.status == TaskStatus.PUBLISHED
        # grid2 cannot even choose grid A
        other = client_as("grid2").post(
            reverse("points:task-new"), {"region_code": world["grid_a"], "title": "x"}
        )
        assert other.status_code == 200 and Task.objects.count() == 1

    def test_grid2_cannot_see_grid_a_task(self, client_as, make_task):
        task = make_task()
        assert (
            client_as("grid").get(reverse("points:manage-task", args=[task.pk])).status_code == 200
        )
        for name in ("points:manage-task", "points:task-codes"):
            assert client_as("grid2").get(reverse(name, args=[task.pk])).status_code == 404
        assert (
            client_as("grid2")
            .post(reverse("points:task-action", args=[task.pk, "cancel"]))
            .status_code
            == 404
        )
        listing = client_as("grid2").get(reverse("points:manage-tasks")).content.decode()
        assert task.title not in listing

    def test_confirm_and_honour_forms(self, client_as, make_task, volunteer, persona):
        task = make_task()
        user, person = volunteer
        task_claim(actor=user, task=task)
        claim_check(actor=user, task=task, code=task.checkin_code)
        claim = claim_check(actor=user, task=task, code=task.checkout_code)
        client = client_as("grid")
        listing = client.get(reverse("points:manage-tasks")).content.decode()
        assert f'data-claim="{claim.pk}"' in listing
        client.post(reverse("points:claim-confirm", args=[claim.pk]))
        client.post(reverse("points:claim-confirm", args=[claim.pk]))  # twice: credited once
        assert ledger.resident_account(person).balance == 10
        other = make_task(title="另一个")
        claim2 = task_claim(actor=user, task=other)
        response = client.post(
            reverse("points:claim-honour", args=[claim2.pk]),
            {"points": "5", "hours": "1", "reason": ""},
            follow=True,
        )
        assert any("理由" in m for m in messages_of(response))
        client.post(
            reverse("points:claim-honour", args=[claim2.pk]),
            {"points": "5", "hours": "1", "reason": "忘记签到"},
        )
        assert ledger.resident_account(person).balance == 15

    def test_store_pickup_and_stock_in(self, client_as, resident, make_item, store):
        user, person = resident
        give_points(person, 100)
        item = make_item(price=20, initial_stock=2)
        order = order_redeem(actor=user, item=item)
        client = client_as("community")
        response = client.post(
            reverse("points:pickup"), {"store": store.pk, "code": "000"}, follow=True
        )
        assert "取货码无效" in " ".join(messages_of(response))
        client.post(reverse("points:pickup"), {"store": store.pk, "code": order.pickup_code})
        order.refresh_from_db()
        assert order.status == OrderStatus.PICKED_UP
        response = client.post(
            reverse("points:item-stock-in", args=[item.pk]),
            {"quantity": "5", "source": "donation", "donor": ""},
            follow=True,
        )
        assert "捐赠单位" in " ".join(messages_of(response))
        client.post(
            reverse("points:item-stock-in", args=[item.pk]),
            {"quantity": "5", "source": "donation", "donor": "丹阳农商银行（示例）"},
        )
        item.refresh_from_db()
        assert item.stock == 6
        page = client.get(reverse("points:manage-store")).content.decode()
        assert 'data-matched="yes"' in page
        assert client_as("grid").get(reverse("points:manage-store")).status_code == 404

    def test_new_item_with_photo(self, client_as, store):
        from io import BytesIO

        from django.core.files.uploadedfile import SimpleUploadedFile
        from PIL import Image

        buffer = BytesIO()
        Image.new("RGB", (40, 30), "red").save(buffer, format="PNG")
        photo = SimpleUploadedFile("a.png", buffer.getvalue(), content_type="image/png")
        client = client_as("community")
        client.post(
            reverse("points:item-new"),
            {
                "store": store.pk,
                "name": "雨伞",
                "price": "30",
                "monthly_limit": "1",
                "initial_stock": "3",
                "photo": photo,
            },
        )
        item = store.items.get(name="雨伞")
        assert item.stock == 3 and item.photo
        response = client.get(reverse("points:item-photo", args=[item.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        fake = SimpleUploadedFile("b.png", b"not an image", content_type="image/png")
        response = client.post(
            reverse("points:item-new"),
            {
                "store": store.pk,
                "name": "假图",
                "price": "3",
                "monthly_limit": "1",
                "initial_stock": "0",
                "photo": fake,
            },
            follow=True,
        )
        assert not store.items.filter(name="假图").exists()

    def test_funding_and_adjustment_forms(self, client_as, resident, world):
        _user, person = resident
        pool = ledger.pool_account(world["community"])
        client = client_as("community")
        client.post(
            reverse("points:fund"),
            {
                "pool": pool.pk,
                "funder_kind": "partner",
                "funder_name": "共建单位甲",
                "amount": "300",
            },
        )
        pool.refresh_from_db()
        assert pool.balance == 300
        account = ledger.resident_account(person)
        response = client.post(
            reverse("points:adjust"),
            {"account": account.pk, "amount": "20", "reason": ""},
            follow=True,
        )
        assert account.entries.count() == 0
        client.post(
            reverse("points:adjust"), {"account": account.pk, "amount": "20", "reason": "补录"}
        )
        account.refresh_from_db()
        assert account.balance == 20
        assert response.status_code == 200
        # grid2 has no adjust permission at all
        assert (
            client_as("grid2").post(reverse("points:adjust"), {"account": account.pk}).status_code
            == 404
        )

    def test_merchant_till_and_settlement_pages(self, client_as, resident, world, persona):
        from shequ.accounts.models import User
        from shequ.points.services import paycode_issue

        user, person = resident
        give_points(person, 100)
        shop = Merchant.objects.create(name="商户A", region_code=world["grid_a"])
        cashier = User.objects.create_user(username="till", password="x")
        from shequ.accounts.models import Assignment

        Assignment.objects.create(user=cashier, role="partner_contact")
        shop.operators.add(cashier)
        code = paycode_issue(actor=user)
        client = client_as_volunteer(cashier)
        assert client.get(reverse("points:till")).status_code == 200
        response = client.post(
            reverse("points:till"),
            {"merchant": shop.pk, "code": code.code, "points": "25", "description": "买菜"},
            follow=True,
        )
        assert "收款成功" in " ".join(messages_of(response))
        assert ledger.merchant_account(shop).balance == 25
        body = client_as("community").get(reverse("points:manage-merchants")).content.decode()
        assert "商户A" in body


class TestQueryCounts:
    def test_task_square_and_history(
        self, client_as, resident, make_task, django_assert_max_num_queries
    ):
        _user, person = resident
        for n in range(15):
            make_task(title=f"任务{n}")
            give_points(person, 1)
        client = client_as("resident")
        with django_assert_max_num_queries(9):
            tasks = client.get(reverse("points:tasks"))
        assert tasks.status_code == 200 and "任务14" in tasks.content.decode()
        with django_assert_max_num_queries(9):
            me = client.get(reverse("points:me"))
        assert me.status_code == 200

    def test_staff_lists(
        self, client_as, make_task, make_item, resident, django_assert_max_num_queries
    ):
        user, person = resident
        give_points(person, 500)
        for n in range(10):
            make_task(title=f"任务{n}")
            order_redeem(actor=user, item=make_item(price=5))
        client = client_as("community")
        resident_client = client_as("resident")
        pages = {}
        with django_assert_max_num_queries(8):
            pages["manage-tasks"] = client.get(reverse("points:manage-tasks"))
        with django_assert_max_num_queries(15):
            pages["manage-store"] = client.get(reverse("points:manage-store"))
        with django_assert_max_num_queries(10):
            pages["store"] = resident_client.get(reverse("points:store"))
        with django_assert_max_num_queries(12):
            pages["orders"] = resident_client.get(reverse("points:orders"))
        # A redirect or a 404 would pass any query budget: each list is the page itself.
        assert {name: r.status_code for name, r in pages.items()} == dict.fromkeys(pages, 200)


def test_admin_lists_are_scoped_and_ledger_is_read_only(client_as, world, pool):
    Merchant.objects.create(name="商户甲", region_code=world["grid_a"])
    Merchant.objects.create(name="商户乙", region_code="321181002001001")
    body = client_as("community").get("/admin/points/merchant/").content.decode()
    assert "商户甲" in body and "商户乙" not in body
    for url in ("/admin/points/account/", "/admin/points/transfer/", "/admin/points/pointsrule/"):
        assert client_as("city").get(url).status_code == 200, url
    assert client_as("city").get("/admin/points/transfer/add/").status_code == 403
