"""A time limit for a call running in any thread: `run_with_deadline`.

The local worker pool stops a circuit past ``--timeout`` by ending its worker
process (`engine.batching.workers`). An executor that cannot stop a task (a Dask
cluster, whose tasks run in worker threads; any executor passed to
`engine.batch`) gets the limit inside the task instead. Signals (``SIGALRM``)
only reach a process's main thread, so a timer raises `Expired` *in the thread
running the call* (CPython's ``PyThreadState_SetAsyncExc``). The exception
arrives at the next Python instruction: a call stuck inside one long C function
is interrupted only when that function returns (evaluation is Python code, so in
practice that is soon).
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Expired(BaseException):
    """The call ran past its deadline.

    A `BaseException`, so that no ``except Exception`` inside the call swallows it.
    """


_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc

# An asynchronous exception can land inside a weakref callback or a finaliser,
# where Python reports it as "Exception ignored in …" with a traceback on stderr.
# While any deadline is armed, a hook drops those reports for `Expired` (the call
# is still stopped: `run_with_deadline` raises `Expired` itself once it returns).
_hook_lock = threading.Lock()
_hook_users = 0
_previous_hook: Callable[[sys.UnraisableHookArgs], object] | None = None


def _drop_expired(unraisable: sys.UnraisableHookArgs) -> None:
    if unraisable.exc_type is Expired:
        return
    (_previous_hook or sys.__unraisablehook__)(unraisable)


def _arm_hook() -> None:
    global _hook_users, _previous_hook
    with _hook_lock:
        if _hook_users == 0:
            _previous_hook = sys.unraisablehook
            sys.unraisablehook = _drop_expired
        _hook_users += 1


def _disarm_hook() -> None:
    global _hook_users, _previous_hook
    with _hook_lock:
        _hook_users -= 1
        if _hook_users == 0:
            if sys.unraisablehook is _drop_expired:
                sys.unraisablehook = _previous_hook or sys.__unraisablehook__
            _previous_hook = None


def run_with_deadline(fn: Callable[[], T], seconds: float | None) -> T:
    """``fn()``, interrupted with `Expired` if it runs longer than `seconds`.

    Args:
        fn: the call to make.
        seconds: the limit; None, or more than a timer can wait (centuries), for no limit.

    Raises:
        Expired: the limit passed before `fn` returned.
    """
    if seconds is None or seconds >= threading.TIMEOUT_MAX:
        return fn()
    target = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def fire() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                _set_async_exc(ctypes.c_ulong(target), ctypes.py_object(Expired))

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    _arm_hook()
    timer.start()
    try:
        return fn()
    finally:
        with lock:
            state["done"] = True
            if state["fired"]:
                # the exception may still be pending (not yet raised): clear it, so
                # it cannot surface later in unrelated code; raise it here instead
                _set_async_exc(ctypes.c_ulong(target), None)
        timer.cancel()
        _disarm_hook()  # after the clear above: no Expired can be delivered any more
        if state["fired"]:
            raise Expired
