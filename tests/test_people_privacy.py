"""The PII vault: encryption at rest, keyed-hash lookup and uniqueness, masks, key rotation of
every encrypted value (people and accounts), and no plaintext number anywhere in the database."""

import base64
import re
import subprocess

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from shequ.accounts.models import User
from shequ.accounts.services import user_find_by_mobile
from shequ.core import crypto, rotation
from shequ.core.crypto import blind_index, hash_for, lookup_hashes
from shequ.core.masking import mask_id_number, mask_phone
from shequ.people.models import ID_CONTEXT, ImportJob, Person
from shequ.people.selectors import PeopleFilter, people_page
from tests.support.factories import make_person, valid_id
from tests.support.processes import demo_env, manage, scratch_database

pytestmark = pytest.mark.django_db


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_masks():
    assert mask_id_number("321181199001010012") == "3211**********0012"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("0511-86881234") == "0511-****1234"


def test_encryption_round_trip_with_key_id(world):
    number = valid_id()
    person = make_person(grid_code=world["grid_a"], id_number=number, mobile="19912345678")
    stored = raw("people_person", "id_number", person.pk)
    assert stored.startswith("t1$") and number not in stored
    assert "19912345678" not in raw("people_person", "mobile", person.pk)
    fresh = Person.objects.get(pk=person.pk)
    assert fresh.id_number == number and fresh.mobile == "19912345678"
    assert fresh.masked_id_number == mask_id_number(number)
    # The field name is bound as associated data: a value copied to another column fails.
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored, context="people.person.mobile")


def test_lookup_through_keyed_hash(world, persona):
    number = valid_id()
    person = make_person(grid_code=world["grid_a"], id_number=number, mobile="19912345670")
    assert person.id_number_hash == blind_index(number, context=ID_CONTEXT)
    assert Person.objects.get(
        id_number_hash__in=lookup_hashes("people.person", "id_number", number.lower())
    )
    page = people_page(persona("community"), PeopleFilter(q=number))
    assert [p.pk for p in page.rows] == [person.pk] and page.search_kind == "id"
    page = people_page(persona("community"), PeopleFilter(q="199 1234 5670"))
    assert [p.pk for p in page.rows] == [person.pk] and page.search_kind == "phone"


def test_one_person_per_id_number_in_the_database(world):
    number = valid_id()
    make_person(grid_code=world["grid_a"], id_number=number)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_person(grid_code=world["grid_b"], id_number=number)


@pytest.fixture
def second_key(settings):
    """Put a new key k2 first (the old test key t1 stays for decryption)."""
    old = list(settings.SHEQU_DATA_KEYS)
    new = ("k2", b"k" * 32)
    settings.SHEQU_DATA_KEYS = [new, *old]
    crypto.reset_keyring()
    yield new, old
    settings.SHEQU_DATA_KEYS = old
    crypto.reset_keyring()


def test_rotation_reencrypts_everything_and_recomputes_hashes(world, persona, settings, second_key):
    # Values written under t1 (before the fixture's key took effect they would be; write with t1).
    new, old = second_key
    settings.SHEQU_DATA_KEYS = old
    crypto.reset_keyring()
    numbers = [valid_id() for _ in range(3)]
    people = [
        make_person(grid_code=world["grid_a"], id_number=n, mobile=f"1991234000{i}")
        for i, n in enumerate(numbers)
    ]
    people[0].landline = "0511-86881234"
    people[0].landline_hash = hash_for("people.person", "landline", "0511-86881234")
    people[0].emergency_contact_phone = "19912349999"
    people[0].emergency_contact_phone_hash = hash_for(
        "people.person", "emergency_contact_phone", "19912349999"
    )
    people[0].save()
    job = ImportJob.objects.create(
        region_code=world["community"], file_name="a.xlsx", payload=b"PK-data"
    )
    grid_user = persona("grid")
    settings.SHEQU_DATA_KEYS = [new, *old]
    crypto.reset_keyring()
    assert raw("accounts_user", "mobile", grid_user.pk).startswith("t1$")
    assert rotation.verify()["people.person"] == 3

    call_command("rotate_data_key", batch_size=2, stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert all(v == 0 for v in rotation.verify().values())
    for person, number in zip(people, numbers, strict=True):
        assert raw("people_person", "id_number", person.pk).startswith("k2$")
        fresh = Person.objects.get(pk=person.pk)
        assert fresh.id_number == number
        assert fresh.id_number_hash == blind_index(number, context=ID_CONTEXT, key_id="k2")
    fresh = Person.objects.get(pk=people[0].pk)
    assert fresh.landline == "0511-86881234" and fresh.emergency_contact_phone == "19912349999"
    assert fresh.landline_hash == blind_index(
        "0511-86881234", context="people.person.landline", key_id="k2"
    )
    # accounts.User.mobile is rotated too, and its hash follows.
    assert raw("accounts_user", "mobile", grid_user.pk).startswith("k2$")
    user = User.objects.get(pk=grid_user.pk)
    assert user.mobile == "19900000004"
    assert user.mobile_hash == blind_index(
        "19900000004", context="accounts.user.mobile", key_id="k2"
    )
    payload = raw("people_importjob", "payload", job.pk)
    assert bytes(payload).startswith(b"k2$")
    assert bytes(ImportJob.objects.get(pk=job.pk).payload) == b"PK-data"
    # The old key can now be removed: everything stays readable and findable.
    settings.SHEQU_DATA_KEYS = [new]
    crypto.reset_keyring()
    assert Person.objects.get(pk=people[1].pk).id_number == numbers[1]
    page = people_page(persona("community"), PeopleFilter(q=numbers[2]))
    assert [p.pk for p in page.rows] == [people[2].pk]
    assert user_find_by_mobile("19900000004").pk == grid_user.pk


def test_rotation_is_resumable_and_dry_run_writes_nothing(world, settings, second_key):
    new, old = second_key
    settings.SHEQU_DATA_KEYS = old
    crypto.reset_keyring()
    person = make_person(grid_code=world["grid_a"])
    settings.SHEQU_DATA_KEYS = [new, *old]
    crypto.reset_keyring()
    assert rotation.rotate(dry_run=True, log=lambda m: None)["people.person"] == 1
    assert raw("people_person", "id_number", person.pk).startswith("t1$")
    assert rotation.rotate(log=lambda m: None)["people.person"] == 1
    assert rotation.rotate(log=lambda m: None)["people.person"] == 0


def test_every_encrypted_field_is_registered():
    from django.core import checks

    assert not [e for e in checks.run_checks() if e.id in ("shequ.W001", "shequ.E001")]
    registered = {(s.model, s.field) for s in crypto.registered_encrypted_fields()}
    assert {
        ("accounts.user", "mobile"),
        ("people.person", "id_number"),
        ("people.person", "mobile"),
        ("people.person", "landline"),
        ("people.person", "emergency_contact_phone"),
        ("people.importjob", "payload"),
    } <= registered


def _database_text() -> bytes:
    """Everything the database holds, as bytes: the SQLite file image, or on PostgreSQL every
    row of every table as text (inside this test's transaction, so it sees our rows)."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.serialize()
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT t::text FROM "{table}" t')
            chunks += [row[0].encode() for row in cursor.fetchall()]
    return b"\n".join(chunks)


def _number_windows(image: bytes, lengths: set[int]) -> set[bytes]:
    """Every substring (of the given lengths) of every run of digits, X and dashes: a number
    stored anywhere in plaintext is one of them. (One pass instead of a scan per number.)"""
    windows = set()
    for run in re.findall(rb"[0-9X-]{7,}", image):
        for length in lengths:
            windows.update(run[i : i + length] for i in range(len(run) - length + 1))
    return windows


def test_database_holds_no_plaintext_number(world, persona, django_capture_on_commit_callbacks):
    """Seed residents the demo way, then scan the raw database for every ID and phone number."""
    from shequ.demo.seeding import SeedContext
    from shequ.people import demo

    ctx = SeedContext(scale="small", log=lambda m: None)
    ctx.data["flagship_grids"] = [world["grid_a"], world["grid_b"]]
    demo.seed(ctx)
    numbers = set()
    for person in Person.objects.all():
        numbers |= {
            person.id_number,
            person.mobile,
            person.landline,
            person.emergency_contact_phone,
        }
    for user in User.objects.exclude(mobile=""):
        numbers.add(user.mobile)
    numbers.discard("")
    assert len(numbers) > 8000
    image = _database_text()
    # Positive control: the scan does see the data (names are stored as they are).
    assert Person.objects.first().name.encode() in image
    windows = _number_windows(
        image, {len(n) for n in numbers} | {len(n.replace("-", "")) for n in numbers}
    )
    found = [n for n in numbers if n.encode() in windows or n.replace("-", "").encode() in windows]
    assert not found, f"plaintext numbers in the database: {found[:5]}"
    # Base64 of a plaintext (a careless encoding) is not there either.
    sample = sorted(numbers)[0]
    assert base64.b64encode(sample.encode()) not in image
    # Negative control: a number written in plaintext somewhere is caught.
    from shequ.core.audit import audit_record

    audit_record(actor=None, action="test.leak", reason=f"call {sample}")
    image = _database_text()
    assert sample.encode() in _number_windows(image, {len(sample)})


def test_seeded_demo_database_file_has_no_plaintext(tmp_path):
    """`migrate` + `seed_demo` into a real database (a SQLite file; with DATABASE_URL on
    PostgreSQL a fresh database read back with pg_dump), then scan its bytes."""
    with scratch_database(tmp_path, "plain") as database_url:
        env = demo_env(tmp_path, database_url)
        manage(env, "migrate", "-v0", timeout=600)
        manage(env, "seed_demo", timeout=600)
        dump = manage(
            env,
            "shell",
            "-c",
            "from shequ.people.models import Person\n"
            "from shequ.accounts.models import User\n"
            "for p in Person.objects.all():\n"
            "    print(p.id_number, p.mobile, p.landline, p.emergency_contact_phone)\n"
            "for u in User.objects.all():\n"
            "    print(u.mobile)\n",
            timeout=600,
        ).stdout
        numbers = {n for n in dump.split() if n[:1].isdigit() and len(n) >= 11}
        assert len(numbers) > 8000
        if database_url.startswith("sqlite:"):
            image = b"".join(
                path.read_bytes() for path in tmp_path.glob("plain.sqlite3*") if path.is_file()
            )
        else:
            image = subprocess.run(
                ["pg_dump", "--data-only", env["DATABASE_URL"]],
                check=True,
                capture_output=True,
                timeout=600,
            ).stdout
        assert "丹凤社区".encode() in image  # the scan sees the data
        lengths = {len(n) for n in numbers} | {len(n.replace("-", "")) for n in numbers}
        windows = _number_windows(image, lengths)
        found = [
            n for n in numbers if n.encode() in windows or n.replace("-", "").encode() in windows
        ]
        assert not found, f"plaintext numbers in the database: {found[:5]}"
