"""Scale-out on Dask: a scheduler address → a `concurrent.futures.Executor`.

``circuit batch --scheduler tcp://HOST:8786`` connects to a running Dask
scheduler; ``--scheduler local`` starts a `LocalCluster` on this machine. Either
way the batch runs through the client's executor, the same code path as the
local process pool. Dask is an optional extra (``circuitflow[dask]``), imported
only here and only when a scheduler is asked for.

Workers need circuitflow installed, but no access to the circuit files: the
client reads each file and sends its bytes (see `engine.batching.runner`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

INSTALL_HINT = "pip install 'circuitflow[dask]'"
CONNECT_TIMEOUT_S = 10.0


class ClusterError(Exception):
    """The cluster cannot be used: the extra is missing or the scheduler is unreachable."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"--scheduler needs the Dask extra: {INSTALL_HINT}") from None
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
            client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"cannot reach the Dask scheduler at '{scheduler}': {exc}") from None
    try:
        capacity = sum(client.nthreads().values()) or 1
        yield client.get_executor(pure=False), capacity
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
