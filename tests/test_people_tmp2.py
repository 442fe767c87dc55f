import pytest
from tests.people_factories import make_person, tag, xlsx, valid_id

pytestmark = pytest.mark.django_db


def test_pages(client_as, world, persona, django_capture_on_commit_callbacks):
    p = make_person(grid_code=world["grid_a"], mobile="19912345678")
    tag(p, "dibao")
    tag(p, "disability", detail="肢体二级")
    c = client_as("grid")
    for url in [
        "/people/",
        f"/people/{p.pk}/",
        "/people/new/",
        f"/people/{p.pk}/edit/",
        f"/people/{p.pk}/move/",
        f"/people/buildings/{p.house.building_id}/",
        "/people/?q=王",
        f"/people/?q={p.id_number}",
        "/people/?q=19912345678",
        "/people/?q=110105194912310021",
    ]:
        r = c.get(url)
        assert r.status_code == 200, (url, r.status_code, r.content[:3000])
    r = c.post(
        f"/people/{p.pk}/reveal/", {"field": "id_number", "reason": ""}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 400
    r = c.post(
        f"/people/{p.pk}/reveal/",
        {"field": "id_number", "reason": "核实身份"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200 and p.id_number in r.content.decode()
    c2 = client_as("community")
    for url in ["/people/import/", "/people/import/template.xlsx", "/people/export/"]:
        r = c2.get(url)
        assert r.status_code == 200, (url, r.content[:2000])
    content = xlsx(
        [
            ["姓名", "身份证号", "网格"],
            ["张三", valid_id(), world["grid_a"]],
            ["李四", "110105194912310021", world["grid_a"]],
        ]
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        r = c2.post(
            "/people/import/",
            {
                "file": SimpleUploadedFile("a.xlsx", content),
                "community": world["community"],
                "grid": "",
            },
        )
    assert r.status_code == 302, r.content[:3000]
    r = c2.get(r["Location"])
    print(r.content.decode()[-3000:])
    assert "校验位错误" in r.content.decode()
    a = client_as("auditor")
    r = a.get("/audit/")
    assert r.status_code == 200
    assert "核实身份" in r.content.decode()
    r = a.get(f"/people/{p.pk}/")
    assert "核实身份" in r.content.decode()
    r = client_as("grid2").get(f"/people/{p.pk}/")
    assert r.status_code == 404
    r = client_as("resident").get("/people/me/")
    assert r.status_code == 200
