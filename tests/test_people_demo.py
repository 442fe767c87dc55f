"""Demo residents: ≈5,000 at small scale, the flagship community's thesis figures, valid
synthetic ID numbers, phones from the 199 range, the demo resident linked in grid A."""

import pytest

from shequ.core.idnumbers import parse_id_number
from shequ.demo import danyang
from shequ.demo.seeding import SeedContext
from shequ.people import demo
from shequ.people.models import HouseLink, Person, PersonTag

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(world):
    ctx = SeedContext(scale="small", log=lambda m: None)
    ctx.data["flagship_grids"] = [world["grid_a"], world["grid_b"]]
    demo.seed(ctx)
    return ctx


def test_small_scale_residents(seeded):
    assert 4_900 <= Person.objects.count() <= 5_100
    people = list(Person.objects.all())
    assert all(parse_id_number(p.id_number).number == p.id_number for p in people)
    assert all(p.gender == parse_id_number(p.id_number).gender for p in people)
    mobiles = [p.mobile for p in people if p.mobile]
    assert len(mobiles) > 3_000 and all(m.startswith("199") and len(m) == 11 for m in mobiles)
    assert len({p.id_number for p in people}) == len(people)
    assert HouseLink.objects.filter(status="out").exists()  # some history
    assert all(p.household_id and p.house_id for p in people)


def test_flagship_reproduces_the_thesis_figures(seeded):
    flagship = PersonTag.objects.filter(person__region_code__startswith=danyang.FLAGSHIP_CODE)
    dibao = flagship.filter(tag_type__code="dibao")
    hardship = flagship.filter(tag_type__code="hardship")
    assert dibao.values("person__household").distinct().count() == 8  # 8 低保户
    assert hardship.values("person__household").distinct().count() == 25  # 25 困难户
    assert flagship.filter(tag_type__code="disability").count() == 100  # 100 disabled residents


def test_demo_resident_lives_in_grid_a(seeded, world):
    person = Person.objects.get(user__username="resident")
    assert person.region_code == world["grid_a"] and person.relation_to_head == "head"
    assert person.mobile == "19900000006" and person.household.members.count() == 3
