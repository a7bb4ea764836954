"""Virtual time: an asyncio event loop whose clock only moves when nothing is ready to run, and
a `Clock` (node.clock) on it.

The loop is the standard selector loop with a selector that never waits: when asyncio asks it
to wait `timeout` seconds for I/O, it advances the virtual clock by `timeout` and reports no
events, so the next timer is due at once. A simulated minute therefore costs only the callbacks
that run in it, and a run depends on nothing but the order of the callbacks (asyncio's ready
queue is FIFO and its timer heap is ordered by due time), i.e. on the seed. There is no real I/O
in a simulation (the loop's own self-pipe is registered but never written: nothing calls
`call_soon_threadsafe`). When nothing is ready and no timer is set, every task waits for
something that cannot happen: `Stuck` is raised rather than waiting forever.
"""

from __future__ import annotations

import asyncio
import contextvars
import selectors
import weakref
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from node.clock import Cancellable

T = TypeVar("T")

EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: wall time at virtual time 0


class Stuck(RuntimeError):
    """Every task waits and no timer is set: the simulated system can never move again."""


class _VirtualSelector(selectors.BaseSelector):
    def __init__(self) -> None:
        self.now = 0.0
        self._keys: dict[Any, selectors.SelectorKey] = {}

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        key = selectors.SelectorKey(fileobj, _fd(fileobj), events, data)
        self._keys[fileobj] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._keys.pop(fileobj)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise Stuck("nothing is ready to run and no timer is set: every task waits forever")
        if timeout > 0:
            self.now += timeout
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._keys

    def close(self) -> None:
        self._keys.clear()


def _fd(fileobj: Any) -> int:
    return fileobj if isinstance(fileobj, int) else int(fileobj.fileno())


# The simulated process a task belongs to: tasks inherit it from the task that created them,
# so every task a member's process started can be found (and killed) when the process dies.
PROCESS: contextvars.ContextVar[str | None] = contextvars.ContextVar("process", default=None)


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._virtual = _VirtualSelector()
        super().__init__(self._virtual)
        self._processes: dict[str, weakref.WeakSet[asyncio.Task[Any]]] = {}
        self.set_task_factory(self._make_task)

    def time(self) -> float:
        return self._virtual.now

    def tasks_of(self, process: str) -> list[asyncio.Task[Any]]:
        """The unfinished tasks started in `process` (see `PROCESS`), oldest first."""
        tasks = self._processes.get(process, weakref.WeakSet())
        return sorted((t for t in tasks if not t.done()), key=_serial)

    def _make_task(
        self, loop: asyncio.AbstractEventLoop, coro: Any, context: Any = None
    ) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, context=context)
        process = PROCESS.get() if context is None else context.get(PROCESS)
        if process is not None:
            self._processes.setdefault(process, weakref.WeakSet()).add(task)
            _SERIALS[task] = next(_COUNTER)
        return task


_SERIALS: weakref.WeakKeyDictionary[asyncio.Task[Any], int] = weakref.WeakKeyDictionary()
_COUNTER = iter(range(1 << 62))


def _serial(task: asyncio.Task[Any]) -> int:
    return _SERIALS.get(task, 0)


class SimClock:
    """`node.clock.Clock` on the running loop's virtual time."""

    def now_ms(self) -> int:
        return EPOCH_MS + int(asyncio.get_running_loop().time() * 1000)

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Cancellable:
        return asyncio.get_running_loop().call_later(seconds, callback)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a fresh virtual-time loop."""
    with asyncio.Runner(loop_factory=VirtualLoop) as runner:
        return runner.run(main)
