"""The service under load, on loopback: what-if throughput, save → event latency, memory over a long run.

* **Throughput**: ``POST /api/circuits/seed/evaluate`` with 32 concurrent keep-alive clients, against
  a bare FastAPI endpoint that returns a constant JSON object, run by uvicorn with the same settings
  (`engine.serve.runner.server_config`) under the same load, in the same run; rounds alternate
  between the two servers. Target: at least 70% of the bare endpoint's requests per second.
* **Save → event**: 100 subscribers on ``GET /api/events``; the seed file is saved again and again;
  the time from each save until the first and until the last subscriber has the ``changed`` event,
  above the debounce. Target: median (last subscriber) ≤ 30 ms above the debounce.
* **Memory**: the server's resident size over 10,000 what-if requests and 1,000 saves (every tenth
  broken), measured after a warm-up. Target: within ±10% of the warm size throughout.

Each server is a real ``circuit serve`` (or uvicorn) process; the load comes from this process
through raw HTTP/1.1 connections (asyncio streams), cheap enough that the server is what is measured.
Traffic goes to 127.0.0.1 only. Tables go into ``docs/performance.md`` between the ``bench:serve``
markers.

    python benchmarks/bench_serve.py [--seconds 2] [--rounds 9] [--saves 40] [--soak-requests 10000] [--soak-saves 1000]
                                     [--only throughput|latency|memory] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.docs import write_section  # noqa: E402
from engine.serve.hub import BACKLOG  # noqa: E402

CLIENTS = 32
SUBSCRIBERS = 100
DEBOUNCE_MS = 50
SOAK_DEBOUNCE_MS = 10
QUESTION = json.dumps({"inputs": {"x": 1.5}}).encode()
SEED = (ROOT / "circuits" / "seed.yaml").read_text(encoding="utf-8")


# ---- servers ----


@dataclass
class Process:
    """A server process and the port it listens on."""

    process: subprocess.Popen[str]
    port: int

    def rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def cpu_seconds(self) -> float:
        """User and system CPU time the server has used so far."""
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def start_serve(folder: Path, *args: str) -> Process:
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "serve", str(folder), "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("serving "):
        raise SystemExit(f"circuit serve did not start: {line!r}")
    return Process(process, int(line.rsplit(":", 1)[1].strip().rstrip("/")))


# the same socket (`listen`) and uvicorn settings (`server_config`) as `circuit serve`
BARE_APP = """
import uvicorn
from fastapi import FastAPI
from engine.serve.runner import listen, server_config
app = FastAPI()
@app.post("/constant")
async def constant() -> dict:
    return {"status": "ok", "value": -12.0}
sock = listen("127.0.0.1", 0)
print(sock.getsockname()[1], flush=True)
uvicorn.Server(server_config(app)).run(sockets=[sock])
"""


def start_bare() -> Process:
    process = subprocess.Popen([sys.executable, "-c", BARE_APP], stdout=subprocess.PIPE, text=True, env=_env())
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return Process(process, port)


# ---- a raw HTTP/1.1 load generator ----


def request_bytes(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


async def _client(port: int, request: bytes, stop_at: float, latencies: list[float], failures: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            status, _ = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                failures.append(status)
    finally:
        writer.close()


async def load(port: int, request: bytes, seconds: float, clients: int = CLIENTS) -> tuple[float, list[float]]:
    """Requests per second and the latencies (s) of `clients` connections sending `request` for `seconds`."""
    latencies: list[float] = []
    failures: list[int] = []
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(_client(port, request, stop_at, latencies, failures) for _ in range(clients)))
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. with status {failures[0]}")
    return len(latencies) / (time.perf_counter() - started), latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- SSE subscribers ----


class Subscriber:
    """One ``GET /api/events`` connection; `changed` holds the arrival time of each ``changed`` event."""

    def __init__(self) -> None:
        self.changed: list[float] = []
        self.arrived = asyncio.Event()

    async def run(self, port: int, ready: asyncio.Event, opened: list[int]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        opened.append(1)
        if len(opened) == SUBSCRIBERS:
            ready.set()
        try:
            while line := await reader.readline():
                if line.startswith(b"event: changed"):
                    self.changed.append(time.perf_counter())
                    self.arrived.set()
        finally:
            writer.close()


async def save_latency(port: int, target: Path, saves: int, subscribers: int = SUBSCRIBERS) -> list[list[float]]:
    """For each save: every subscriber's latency in ms, in order of arrival."""
    people = [Subscriber() for _ in range(subscribers)]
    ready, opened = asyncio.Event(), []
    tasks = [asyncio.create_task(person.run(port, ready, opened)) for person in people]
    await asyncio.wait_for(ready.wait(), 60)
    await asyncio.sleep(0.5)  # the initial events are delivered
    rows = []
    for save in range(saves):
        for person in people:
            person.arrived.clear()
        count = save + 1
        saved = time.perf_counter()
        target.write_text(SEED.replace("x: -2", f"x: {save % 7 - 3}.5"), encoding="utf-8")
        await asyncio.wait_for(asyncio.gather(*(_until(p, count) for p in people)), 60)
        rows.append(sorted((p.changed[count - 1] - saved) * 1000 for p in people))
        await asyncio.sleep(0.15)  # saves are apart, as a person's are
    for task in tasks:
        task.cancel()
    return rows


async def _until(person: Subscriber, count: int) -> None:
    while len(person.changed) < count:
        person.arrived.clear()
        await person.arrived.wait()


# ---- the three measurements ----


def throughput(seconds: float, rounds: int) -> tuple[list[str], bool]:
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    (folder / "seed.yaml").write_text(SEED, encoding="utf-8")
    serve, bare = start_serve(folder), start_bare()
    targets = {
        "bare": (bare, request_bytes("POST", "/constant", QUESTION)),
        "serve": (serve, request_bytes("POST", "/api/circuits/seed/evaluate", QUESTION)),
    }
    runs: dict[str, list[tuple[float, list[float], float]]] = {"serve": [], "bare": []}
    try:
        for server, request in targets.values():  # warm-up: code paths, caches, connections
            asyncio.run(load(server.port, request, 1.0))
        for _ in range(rounds):  # short rounds, alternating: both see the same load from the rest of the machine
            for name, (server, request) in targets.items():
                cpu = server.cpu_seconds()
                rate, latencies = asyncio.run(load(server.port, request, seconds))
                runs[name].append((rate, latencies, (server.cpu_seconds() - cpu) / len(latencies)))
    finally:
        serve.stop()
        bare.stop()
    ratios = [s[0] / b[0] for s, b in zip(runs["serve"], runs["bare"], strict=True)]
    ratio = statistics.median(ratios)
    lines = [
        f"{CLIENTS} concurrent keep-alive clients; {rounds} rounds of {seconds:g} s per endpoint, alternating; "
        "medians over the rounds (CPU: the server process's user + system time per request).",
        "",
        "| endpoint | requests/s | p50 ms | p99 ms | server CPU µs/request |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in (("bare", "bare FastAPI, constant JSON"), ("serve", "`POST /api/circuits/seed/evaluate`")):
        latencies = [x for _, lat, _ in runs[name] for x in lat]
        rate = statistics.median(r for r, _, _ in runs[name])
        cpu = statistics.median(c for _, _, c in runs[name])
        lines.append(
            f"| {label} | {rate:,.0f} | {percentile(latencies, 0.5) * 1000:.2f} | "
            f"{percentile(latencies, 0.99) * 1000:.2f} | {cpu * 1e6:.0f} |"
        )
    ok = ratio >= 0.70
    lines += [
        "",
        f"What-if throughput is **{ratio:.0%}** of the bare endpoint's (median of the rounds' ratios; "
        f"target ≥ 70%: {_mark(ok)}).",
    ]
    return lines, ok


def latency(saves: int) -> tuple[list[str], bool]:
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    target = folder / "seed.yaml"
    target.write_text(SEED, encoding="utf-8")
    server = start_serve(folder, "--debounce-ms", str(DEBOUNCE_MS))
    try:
        rows = asyncio.run(save_latency(server.port, target, saves))
    finally:
        server.stop()
    first = [row[0] - DEBOUNCE_MS for row in rows]
    each = [x - DEBOUNCE_MS for row in rows for x in row]
    last = [row[-1] - DEBOUNCE_MS for row in rows]
    median = statistics.median(each)
    ok = median <= 30
    lines = [
        f"{SUBSCRIBERS} subscribers, {saves} saves of the seed, debounce {DEBOUNCE_MS} ms; "
        "time from the save to the `changed` event, above the debounce.",
        "",
        "| subscriber | median ms | p95 ms | max ms |",
        "|---|---:|---:|---:|",
        *(
            f"| {label} | {statistics.median(xs):.1f} | {percentile(xs, 0.95):.1f} | {max(xs):.1f} |"
            for label, xs in (
                ("first to receive", first),
                (f"any of the {SUBSCRIBERS}", each),
                (f"last of the {SUBSCRIBERS}", last),
            )
        ),
        "",
        f"Median over every subscriber and save: {median:.1f} ms above the debounce (target ≤ 30 ms: {_mark(ok)}).",
    ]
    return lines, ok


def soak(requests: int, saves: int) -> tuple[list[str], bool]:
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    target = folder / "seed.yaml"
    target.write_text(SEED, encoding="utf-8")
    server = start_serve(folder, "--debounce-ms", str(SOAK_DEBOUNCE_MS))
    try:
        samples = asyncio.run(_soak(server, target, requests, saves))
    finally:
        server.stop()
    warm = samples[0][2]
    worst = max(abs(mb - warm) / warm for _, _, mb in samples)
    ok = worst <= 0.10
    lines = [
        f"One server: {requests:,} what-if requests ({CLIENTS} clients) and {saves:,} saves (every tenth broken, "
        f"debounce {SOAK_DEBOUNCE_MS} ms) after a warm-up of a tenth of each (first row); resident size.",
        "",
        "| requests | saves | resident MB |",
        "|---:|---:|---:|",
        *(f"| {r:,} | {s:,} | {mb:.1f} |" for r, s, mb in samples),
        "",
        f"Largest change from the warm size: {worst:.1%} (target ±10%: {_mark(ok)}). What grows is the log of "
        f"the last {BACKLOG:,} events kept for reconnecting subscribers, until it is full.",
    ]
    return lines, ok


async def _soak(server: Process, target: Path, requests: int, saves: int) -> list[tuple[int, int, float]]:
    what_if = request_bytes("POST", "/api/circuits/seed/evaluate", QUESTION)
    person = Subscriber()
    ready: asyncio.Event = asyncio.Event()
    opened: list[int] = []
    listening = asyncio.create_task(person.run(server.port, ready, opened))
    while not opened:
        await asyncio.sleep(0.01)
    blocks = 10
    samples: list[tuple[int, int, float]] = []
    done_requests = done_saves = 0
    for _ in range(blocks + 1):  # the first block is the warm-up
        await _requests(server.port, what_if, requests // blocks)
        done_requests += requests // blocks
        for _ in range(saves // blocks):
            done_saves += 1
            text = SEED.replace("x: -2", f"x: {done_saves % 5}")
            if done_saves % 10 == 0:
                text = text.replace("op: add", "op: ad")
            target.write_text(text, encoding="utf-8")
            await asyncio.wait_for(_until(person, done_saves), 60)
        samples.append((done_requests, done_saves, server.rss_mb()))
    listening.cancel()
    return samples


async def _requests(port: int, request: bytes, count: int) -> None:
    async def client(share: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(share):
            writer.write(request)
            status, _ = await _read_response(reader)
            if status != 200:
                raise SystemExit(f"a what-if request failed with {status}")
        writer.close()

    await asyncio.gather(*(client(count // CLIENTS + (i < count % CLIENTS)) for i in range(CLIENTS)))


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one throughput round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--saves", type=int, default=40, help="saves timed for the latency")
    parser.add_argument("--soak-requests", type=int, default=10_000)
    parser.add_argument("--soak-saves", type=int, default=1_000)
    parser.add_argument("--only", choices=["throughput", "latency", "memory"], help="one measurement (not written)")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    args = parser.parse_args()
    parts: list[tuple[str, str, Callable[[], tuple[list[str], bool]]]] = [
        ("throughput", "Throughput", lambda: throughput(args.seconds, args.rounds)),
        ("latency", "Save → event", lambda: latency(args.saves)),
        ("memory", "Memory", lambda: soak(args.soak_requests, args.soak_saves)),
    ]
    text: list[str] = [f"Loopback, this machine ({os.cpu_count()} CPUs), Python {sys.version.split()[0]}.", ""]
    met = True
    for key, title, measure in parts:
        if args.only not in (None, key):
            continue
        lines, ok = measure()
        met = met and ok
        text += [f"**{title}.** " + lines[0], *lines[1:], ""]
        print("\n".join(text[-len(lines) - 1 :]), flush=True)
    if not args.no_write and args.only is None:
        write_section("serve", "\n".join(text))
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
