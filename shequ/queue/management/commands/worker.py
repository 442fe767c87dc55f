"""python manage.py worker — run queued tasks and periodic jobs until stopped."""

import importlib

from django.core.management.base import BaseCommand, CommandError
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

from shequ.queue.backends.base import QueueBackend
from shequ.queue.worker import Worker


class Command(BaseCommand):
    help = "Run background tasks from the persistent queue (and periodic jobs)."

    def add_arguments(self, parser):
        parser.add_argument("--backend", default=DEFAULT_TASK_BACKEND_ALIAS)
        parser.add_argument(
            "--queue", action="append", dest="queues", help="queue to work on (repeatable)"
        )
        parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument("--no-periodic", action="store_true", help="do not start periodic jobs")
        parser.add_argument("--worker-id", default=None)
        parser.add_argument(
            "--import",
            action="append",
            dest="imports",
            default=[],
            help="import a module before starting (e.g. one that registers periodic jobs)",
        )

    def handle(
        self, *args, backend, queues, burst, max_tasks, no_periodic, worker_id, imports, **kw
    ):
        for module in imports:
            importlib.import_module(module)
        queue_backend = task_backends[backend]
        if not isinstance(queue_backend, QueueBackend):
            raise CommandError(
                f"任务后端 {backend!r} 不是持久队列（{type(queue_backend).__name__}），无需 worker。"
                f" Backend {backend!r} is not a persistent queue; the worker has nothing to do."
            )
        worker = Worker(
            backend=queue_backend,
            queues=queues,
            worker_id=worker_id,
            periodic=not no_periodic,
            burst=burst,
            max_tasks=max_tasks,
        )
        worker.install_signal_handlers()
        worker.run()
