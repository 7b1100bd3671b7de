"""Status throughput of the video API simulator: `GET /v1/videos/{id}` with 200 jobs in flight.

Starts `python -m simulator` (one process, so one core for requests), creates 200 slow jobs
that stay in flight, then hammers retrieve with concurrent httpx clients for ~10 s and prints
requests/s with latency p50/p99. Exits non-zero below the target (500 req/s by default).

    .venv/bin/python benchmarks/simulator_throughput.py [--seconds 10] [--jobs 200] ...
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
HEADERS = {"Authorization": "Bearer bench"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_simulator(port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "simulator", "--port", str(port), "--speed", "0.01"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"simulator exited:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_sim/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("simulator did not start")


def create_jobs(base_url: str, count: int) -> list[str]:
    """Create `count` identical slow jobs (one shared render) that stay in flight."""
    body = {"prompt": "throughput benchmark", "size": "1280x720", "seconds": "4"}
    with httpx.Client(base_url=base_url, headers=HEADERS) as client:
        ids = []
        for _ in range(count):
            response = client.post("/videos", json=body)
            response.raise_for_status()
            ids.append(response.json()["id"])
    return ids


async def hammer(
    client: httpx.AsyncClient, ids: list[str], until: float, latencies: list[float]
) -> int:
    errors = 0
    rng = random.Random()
    while time.perf_counter() < until:
        started = time.perf_counter()
        response = await client.get(f"/videos/{rng.choice(ids)}")
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200 or response.json()["status"] == "completed":
            errors += 1
    return errors


async def client_run(
    base_url: str, ids: list[str], until: float, connections: int
) -> tuple[list[float], int]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, limits=limits) as client:
        latencies: list[float] = []
        workers = [hammer(client, ids, until, latencies) for _ in range(connections)]
        errors = await asyncio.gather(*workers)
    return latencies, sum(errors)


def client_process(args: tuple[str, list[str], float, int]) -> tuple[list[float], int]:
    """One client process: `connections` concurrent requests until the wall-clock deadline."""
    base_url, ids, until_wall, connections = args
    until = time.perf_counter() + (until_wall - time.time())
    return asyncio.run(client_run(base_url, ids, until, connections))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Result:
    def __init__(self, elapsed: float, latencies: list[float], errors: int) -> None:
        latencies = sorted(latencies)
        self.requests = len(latencies)
        self.rps = self.requests / elapsed
        self.p50_ms = latencies[len(latencies) // 2] * 1000
        self.p99_ms = latencies[int(len(latencies) * 0.99)] * 1000
        self.errors = errors


def run(
    port: int, pid: int, jobs: int, seconds: float, concurrency: int, clients: int
) -> tuple[Result, float]:
    """Create the jobs, hammer retrieve; return the result and the server's CPU seconds."""
    base_url = f"http://127.0.0.1:{port}/v1"
    ids = create_jobs(base_url, jobs)
    context = multiprocessing.get_context("spawn")
    with context.Pool(clients) as pool:
        pool.map(int, range(clients))  # start the workers before the clock runs
        cpu_before = cpu_seconds(pid)
        started = time.time()
        work = [(base_url, ids, started + seconds, concurrency // clients)] * clients
        outcomes = pool.map(client_process, work)
        elapsed = time.time() - started
        server_cpu = cpu_seconds(pid) - cpu_before
    latencies = [latency for found, _ in outcomes for latency in found]
    return Result(elapsed, latencies, sum(errors for _, errors in outcomes)), server_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32, help="connections in all")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--min-rps", type=float, default=500.0)
    args = parser.parse_args()
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="reelflow-bench-")) / "simulator.log"
    process = start_simulator(port, log)
    try:
        result, server_cpu = run(
            port, process.pid, args.jobs, args.seconds, args.concurrency, args.clients
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    per_request_us = server_cpu / max(result.requests, 1) * 1e6
    print(
        f"simulator retrieve: {result.rps:.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms ({args.jobs} jobs in flight, {args.concurrency} connections "
        f"from {args.clients} client processes, "
        f"{args.seconds:.0f} s, {result.errors} bad answers)"
    )
    print(
        f"server CPU: {server_cpu:.1f} s for {result.requests} requests = {per_request_us:.0f} us "
        f"per request (~{1e6 / max(per_request_us, 1):.0f} req/s per fully used core)"
    )
    if result.errors or result.rps < args.min_rps:
        print(f"FAIL: below {args.min_rps:.0f} req/s or bad answers", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
