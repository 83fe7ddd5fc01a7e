"""Scale-out on Dask: a scheduler address → a `concurrent.futures.Executor`.

``circuit batch --scheduler tcp://HOST:8786`` connects to a running Dask
scheduler; ``--scheduler local`` starts a `LocalCluster` on this machine. Either
way the batch runs through the client's executor, the same code path as the
local process pool. Dask is an optional extra (``pip install -e '.[dask]'`` in a checkout), imported
only here and only when a scheduler is asked for.

Workers need circuitflow installed, but no access to the circuit files: the
client reads each file and sends its bytes (see `engine.batching.runner`).

A ``tcp://`` address is first tried with a plain TCP connection: a refused or
unanswered one fails within `_PROBE_TIMEOUT_S`, where Dask's client would keep
retrying until its own connection timeout.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

_INSTALL_HINT = "pip install -e '.[dask]'"  # from a checkout: the package is not published
#: Seconds a scheduler has to accept a TCP connection.
_PROBE_TIMEOUT_S = 2.0
#: Seconds Dask's client has, once the TCP connection is accepted, to finish its handshake.
_CONNECT_TIMEOUT_S = 10.0
_DEFAULT_PORT = 8786
_UNREACHABLE_HINT = "check the address, and that 'dask scheduler' runs there (its default port is 8786)"


class ClusterError(Exception):
    """The cluster cannot be used: the extra is missing or the scheduler is unreachable."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def probe(scheduler: str) -> None:
    """Fail fast if nothing accepts a TCP connection at a ``tcp://HOST:PORT`` address.

    Other schemes (``tls://``, ``ws://``, …) are left to Dask.

    Raises:
        ClusterError: the connection is refused, fails, or is not answered in time.
    """
    scheme, sep, rest = scheduler.partition("://")
    if not sep:
        scheme, rest = "tcp", scheduler
    if scheme != "tcp":
        return
    host, _, port_text = rest.rstrip("/").rpartition(":")
    if not host:  # no port given
        host, port_text = rest.rstrip("/"), str(_DEFAULT_PORT)
    try:
        port = int(port_text)
    except ValueError:
        raise ClusterError(f"'{scheduler}' is not a scheduler address", "write it as tcp://HOST:PORT") from None
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=_PROBE_TIMEOUT_S):
            pass
    except TimeoutError:
        raise ClusterError(
            f"cannot reach the Dask scheduler at '{scheduler}': no answer within {_PROBE_TIMEOUT_S:g} s",
            _UNREACHABLE_HINT,
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ClusterError(
            f"cannot reach the Dask scheduler at '{scheduler}': {reason[:1].lower()}{reason[1:]}", _UNREACHABLE_HINT
        ) from None


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"--scheduler needs the Dask extra: {_INSTALL_HINT}") from None
    return distributed


@contextmanager
def dask_executor(scheduler: str, workers: int | None = None) -> Iterator[tuple[Executor, int]]:
    """An executor on a Dask cluster, and how many tasks the cluster runs at once.

    Args:
        scheduler: ``tcp://HOST:PORT`` of a running scheduler, or ``local`` to start a
            `LocalCluster` (bound to 127.0.0.1, no dashboard) for this batch.
        workers: worker processes of a local cluster (default: the number of CPUs).

    Raises:
        ClusterError: Dask is not installed, or the scheduler cannot be reached.
    """
    distributed = _distributed()
    if scheduler != "local":
        probe(scheduler)
    cluster = None
    try:
        if scheduler == "local":
            cluster = distributed.LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(scheduler, timeout=_CONNECT_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - Dask fails in many ways when the other end is no scheduler
        if cluster is not None:
            cluster.close()
        reason = str(exc) if isinstance(exc, OSError | ValueError) else f"{type(exc).__name__}: {exc}"
        raise ClusterError(f"cannot reach the Dask scheduler at '{scheduler}': {reason}", _UNREACHABLE_HINT) from None
    try:
        capacity = sum(client.nthreads().values()) or 1
        yield client.get_executor(pure=False), capacity
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
