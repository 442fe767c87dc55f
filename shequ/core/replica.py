"""Read replica for heavy reads (the cockpit, rankings, exports).

With SHEQU_REPLICA_URL set, DATABASES has a "replica" alias (a PostgreSQL streaming replica);
otherwise reads go to "default". Selectors that can tolerate a few seconds of replication lag
read with `Model.objects.using(read_db())`; everything that writes, or must see its own
writes, stays on "default". Nothing is routed implicitly.
"""

from django.conf import settings

REPLICA = "replica"


def read_db() -> str:
    return REPLICA if REPLICA in settings.DATABASES else "default"
