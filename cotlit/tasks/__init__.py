"""Built-in tasks; importing this package registers them (see :mod:`cotlit.tasks.base`)."""

from cotlit.tasks import aqua, arithmetic, csqa, gsm8k, math, obqa, strategyqa, svamp  # noqa: F401
from cotlit.tasks.base import Extraction, Score, Task, TestItem, get_task, register_task, task_names

__all__ = ["Extraction", "Score", "Task", "TestItem", "get_task", "register_task", "task_names"]
