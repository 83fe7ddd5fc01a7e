"""A time limit for a call running in any thread: `run_with_deadline`.

Batch evaluation runs circuits in the calling thread (``--jobs 1``), in pool
workers, and in Dask worker threads. Signals (``SIGALRM``) only reach a process's
main thread, so the limit is enforced instead by a timer that raises `Expired`
*in the thread running the call* (CPython's ``PyThreadState_SetAsyncExc``). The
exception arrives at the next Python instruction, so a call stuck inside one
long C function is interrupted only when that function returns; the process
pool therefore also kills a worker that overruns by a margin (see `engine.pool`).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Expired(BaseException):
    """The call ran past its deadline.

    A `BaseException`, so that no ``except Exception`` inside the call swallows it.
    """


_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc


def run_with_deadline(fn: Callable[[], T], seconds: float | None) -> T:
    """``fn()``, interrupted with `Expired` if it runs longer than `seconds`.

    Args:
        fn: the call to make.
        seconds: the limit; None for no limit.

    Raises:
        Expired: the limit passed before `fn` returned.
    """
    if seconds is None:
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
        if state["fired"]:
            raise Expired
