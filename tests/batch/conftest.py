"""Fixtures of the batch tests: the mixed folder (see `mixed_suite`) and a real Dask
LocalCluster (two worker processes on 127.0.0.1, no dashboard)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mixed_suite import make_suite


@pytest.fixture()
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The mixed folder, with the working directory at its parent."""
    monkeypatch.chdir(tmp_path)
    make_suite(tmp_path)
    return Path("suite")


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A client of a real two-worker LocalCluster, shared by the session."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
