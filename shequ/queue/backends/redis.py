"""Redis-backed queue for scale-out (`SHEQU_QUEUE_URL=redis://host:6379/0`).

Keys (prefix `shequ:q:` by default):
  task:<id>            hash: data (the JSON record), queue, score (ready order), owner (lease)
  ready:<queue>        sorted set of due task ids, ordered by priority then enqueue time
  scheduled:<queue>    sorted set of deferred/backed-off ids, scored by when they are due
  running:<queue>      sorted set of leased ids, scored by lease expiry
  failed:<queue>, done:<queue>   finished ids, scored by finish time (for operators and purge)

Moves between the sets are Lua scripts, so a task is in exactly one set at any moment.
Enqueueing happens when the surrounding database transaction commits (`on_commit`), so a
rolled-back request never leaves a task behind. Redis must persist (appendonly yes) for queued
work to survive a Redis restart; see docs/operations.md.

OPTIONS: URL (redis://…), PREFIX (default "shequ:q:"), ON_COMMIT (default True; tests that run
inside one never-committed transaction turn it off).
"""

import json
from datetime import datetime

import redis
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.tasks import TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from shequ.queue.backends.base import Claimed, QueueBackend, TaskRow

DATE_FIELDS = ("run_after", "enqueued_at", "started_at", "finished_at", "last_attempted_at")

# ARGV: prefix, now_ms, lease_until_ms, queue…  → claimed id or false
CLAIM = """
local p, now, lease = ARGV[1], tonumber(ARGV[2]), ARGV[3]
for i = 4, #ARGV do
  local q = ARGV[i]
  local due = redis.call('ZRANGEBYSCORE', p..'scheduled:'..q, '-inf', now, 'LIMIT', 0, 500)
  for _, id in ipairs(due) do
    redis.call('ZREM', p..'scheduled:'..q, id)
    local score = redis.call('HGET', p..'task:'..id, 'score')
    if score then redis.call('ZADD', p..'ready:'..q, score, id) end
  end
end
for i = 4, #ARGV do
  local q = ARGV[i]
  local popped = redis.call('ZPOPMIN', p..'ready:'..q)
  if popped[1] then
    redis.call('ZADD', p..'running:'..q, lease, popped[1])
    return popped[1]
  end
end
return false
"""

# KEYS: task hash; ARGV: prefix, queue, owner token, data, target ('done'|'failed'|'scheduled'),
# score for the target set → 1 if this owner still held the lease
FINISH = """
local p, q = ARGV[1], ARGV[2]
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[3] then return 0 end
local id = string.sub(KEYS[1], string.len(p) + 6)
if redis.call('ZREM', p..'running:'..q, id) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[4], 'owner', '')
redis.call('ZADD', p..ARGV[5]..':'..q, ARGV[6], id)
return 1
"""

# KEYS: task hash; ARGV: prefix, queue, owner token, lease_until_ms
EXTEND = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[3] then return 0 end
local id = string.sub(KEYS[1], string.len(ARGV[1]) + 6)
local running = ARGV[1]..'running:'..ARGV[2]
if not redis.call('ZSCORE', running, id) then return 0 end
redis.call('ZADD', running, 'XX', ARGV[4], id)
return 1
"""

# ARGV: prefix, now_ms, queue… → number of tasks put back to ready
RECOVER = """
local p, now, n = ARGV[1], tonumber(ARGV[2]), 0
for i = 3, #ARGV do
  local q = ARGV[i]
  local expired = redis.call('ZRANGEBYSCORE', p..'running:'..q, '-inf', now, 'LIMIT', 0, 500)
  for _, id in ipairs(expired) do
    redis.call('ZREM', p..'running:'..q, id)
    redis.call('HSET', p..'task:'..id, 'owner', '')
    redis.call('ZADD', p..'ready:'..q, redis.call('HGET', p..'task:'..id, 'score') or 0, id)
    n = n + 1
  end
end
return n
"""

# KEYS: task hash; ARGV: prefix, queue, data → 1 if it was failed and is ready again
RETRY = """
local id = string.sub(KEYS[1], string.len(ARGV[1]) + 6)
if redis.call('ZREM', ARGV[1]..'failed:'..ARGV[2], id) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[3])
redis.call('ZADD', ARGV[1]..'ready:'..ARGV[2], redis.call('HGET', KEYS[1], 'score'), id)
return 1
"""


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _dumps(record: dict) -> str:
    return json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False)


def _loads(raw: str | bytes) -> dict:
    record = json.loads(raw)
    for name in DATE_FIELDS:
        if record.get(name):
            record[name] = parse_datetime(record[name])
    return record


class RedisBackend(QueueBackend):
    def __init__(self, alias, params):
        super().__init__(alias, params)
        self.prefix = self.options.get("PREFIX", "shequ:q:")
        self.on_commit = bool(self.options.get("ON_COMMIT", True))
        self.client = redis.Redis.from_url(self.options["URL"], decode_responses=True)
        self._claim = self.client.register_script(CLAIM)
        self._finish = self.client.register_script(FINISH)
        self._extend = self.client.register_script(EXTEND)
        self._recover = self.client.register_script(RECOVER)
        self._retry = self.client.register_script(RETRY)

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _ready_score(self, record: dict) -> int:
        # Higher priority first, then oldest first (ms since epoch < 1e13 until year 2286).
        return (100 - record["priority"]) * 10**13 + _ms(record["enqueued_at"])

    def _push(self, record: dict) -> None:
        queue, task_id = record["queue_name"], record["id"]
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(
            self.key("task", task_id),
            mapping={
                "data": _dumps(record),
                "queue": queue,
                "score": self._ready_score(record),
                "owner": "",
            },
        )
        run_after = record["run_after"]
        if run_after is not None and run_after > timezone.now():
            pipe.zadd(self.key("scheduled", queue), {task_id: _ms(run_after)})
        else:
            pipe.zadd(self.key("ready", queue), {task_id: self._ready_score(record)})
        pipe.execute()

    def enqueue(self, task, args, kwargs):
        self.validate_task(task)
        record = self.new_record(task, args, kwargs)
        result = self.make_result(task=task, record=record)

        def push():
            self._push(record)
            task_enqueued.send(type(self), task_result=result)

        if self.on_commit:
            transaction.on_commit(push, robust=False)
        else:
            push()
        return result

    def _get(self, task_id: str) -> dict | None:
        raw = self.client.hget(self.key("task", task_id), "data")
        return _loads(raw) if raw else None

    def get_result(self, result_id):
        record = self._get(result_id)
        if record is None:
            raise TaskResultDoesNotExist(result_id)
        return self.result_from_record(record)

    def claim(self, *, worker_id, queues):
        now = timezone.now()
        task_id = self._claim(args=[self.prefix, _ms(now), _ms(now + self.lease), *queues])
        if not task_id:
            return None
        record = self._get(task_id)
        if record is None:  # purged meanwhile
            self.client.zrem(self.key("running", *queues[:1]), task_id)
            return None
        record["worker_ids"] = [*record["worker_ids"], worker_id]
        record["status"] = TaskResultStatus.RUNNING
        record["started_at"] = record["started_at"] or now
        record["last_attempted_at"] = now
        token = f"{worker_id}#{len(record['worker_ids'])}"
        self.client.hset(
            self.key("task", task_id), mapping={"data": _dumps(record), "owner": token}
        )
        return Claimed(
            result=self.result_from_record(record),
            attempt=len(record["worker_ids"]) - record.get("retry_base", 0),
            token=token,
        )

    def extend_lease(self, *, result_id, token):
        record = self._get(result_id)
        if record is None:
            return False
        until = _ms(timezone.now() + self.lease)
        keys = [self.key("task", result_id)]
        return bool(self._extend(keys=keys, args=[self.prefix, record["queue_name"], token, until]))

    def _finish_with(self, result_id, token, target: str, score: int, **changes) -> bool:
        record = self._get(result_id)
        if record is None:
            return False
        record.update(changes)
        keys = [self.key("task", result_id)]
        args = [self.prefix, record["queue_name"], token, _dumps(record), target, score]
        return bool(self._finish(keys=keys, args=args))

    def mark_successful(self, *, result_id, token, return_value):
        now = timezone.now()
        return self._finish_with(
            result_id,
            token,
            "done",
            _ms(now),
            status=TaskResultStatus.SUCCESSFUL,
            finished_at=now,
            return_value=return_value,
        )

    def mark_failed(self, *, result_id, token, error, retry_at):
        record = self._get(result_id)
        if record is None:
            return False
        errors = [
            *record["errors"],
            {"exception_class_path": error.exception_class_path, "traceback": error.traceback},
        ]
        now = timezone.now()
        if retry_at is None:
            return self._finish_with(
                result_id,
                token,
                "failed",
                _ms(now),
                status=TaskResultStatus.FAILED,
                finished_at=now,
                errors=errors,
            )
        return self._finish_with(
            result_id,
            token,
            "scheduled",
            _ms(retry_at),
            status=TaskResultStatus.READY,
            run_after=retry_at,
            errors=errors,
        )

    def recover_expired(self):
        return int(self._recover(args=[self.prefix, _ms(timezone.now()), *sorted(self.queues)]))

    def counts(self):
        counts = {}
        pipe = self.client.pipeline(transaction=False)
        layout = []
        for queue in sorted(self.queues):
            for status, sets in (
                (TaskResultStatus.READY, ("ready", "scheduled")),
                (TaskResultStatus.RUNNING, ("running",)),
                (TaskResultStatus.FAILED, ("failed",)),
                (TaskResultStatus.SUCCESSFUL, ("done",)),
            ):
                for name in sets:
                    pipe.zcard(self.key(name, queue))
                    layout.append((queue, status))
        for (queue, status), n in zip(layout, pipe.execute(), strict=True):
            if n:
                counts[(queue, status)] = counts.get((queue, status), 0) + n
        return counts

    def rows(self, *, status, limit=50):
        sets = {
            TaskResultStatus.READY: ("ready", "scheduled"),
            TaskResultStatus.RUNNING: ("running",),
            TaskResultStatus.FAILED: ("failed",),
            TaskResultStatus.SUCCESSFUL: ("done",),
        }[TaskResultStatus(status)]
        newest_first = status in (TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL)
        ids = []
        for queue in sorted(self.queues):
            for name in sets:
                key = self.key(name, queue)
                fetch = self.client.zrevrange if newest_first else self.client.zrange
                ids.extend(fetch(key, 0, limit - 1))
        rows = []
        for task_id in ids[:limit]:
            record = self._get(task_id)
            if record is None:
                continue
            rows.append(
                TaskRow(
                    id=record["id"],
                    task_path=record["task_path"],
                    queue_name=record["queue_name"],
                    status=status,
                    attempts=len(record["worker_ids"]),
                    enqueued_at=record["enqueued_at"],
                    run_after=record["run_after"],
                    finished_at=record["finished_at"],
                    last_error=(
                        record["errors"][-1]["exception_class_path"] if record["errors"] else ""
                    ),
                )
            )
        return rows

    def retry(self, *, result_id):
        record = self._get(result_id)
        if record is None or record["status"] != TaskResultStatus.FAILED:
            return False
        record.update(
            status=TaskResultStatus.READY,
            run_after=None,
            finished_at=None,
            retry_base=len(record["worker_ids"]),
        )
        keys = [self.key("task", result_id)]
        return bool(
            self._retry(keys=keys, args=[self.prefix, record["queue_name"], _dumps(record)])
        )

    def purge(self, *, finished_before, failed_before):
        deleted = 0
        for queue in sorted(self.queues):
            for name, cutoff in (("done", finished_before), ("failed", failed_before)):
                key = self.key(name, queue)
                ids = self.client.zrangebyscore(key, "-inf", _ms(cutoff))
                if ids:
                    pipe = self.client.pipeline(transaction=True)
                    pipe.zrem(key, *ids)
                    pipe.delete(*[self.key("task", task_id) for task_id in ids])
                    pipe.execute()
                    deleted += len(ids)
        return deleted

    def flush(self) -> None:
        """Delete every key of this queue (tests and `worker --flush` only)."""
        keys = list(self.client.scan_iter(match=self.prefix + "*", count=1000))
        if keys:
            self.client.delete(*keys)
