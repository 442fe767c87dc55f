"""A task for the queue benchmark: does nothing, so the figure is the queue's own cost."""

from django.tasks import task


@task
def noop(n: int) -> int:
    return n
