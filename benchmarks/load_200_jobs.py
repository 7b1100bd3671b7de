"""Start 200 video jobs at once with transient provider faults on; print the wall time.

    .venv/bin/python benchmarks/load_200_jobs.py [--jobs 200] [--fault-share 0.1] [--speed 20]

Runs its own stack, each piece a separate process: a Temporal dev server on a SQLite file, the
simulator (SQLite) and one reelflow worker (``python -m starter.cli worker``). Every job must
complete with exactly one provider video; the script exits non-zero otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.chaos.load import run_load  # noqa: E402
from tests.chaos.stack import CHAOS_API_KEY, start_stack  # noqa: E402
from tests.support.simulator import SimulatorProcess  # noqa: E402


async def benchmark(root: Path, jobs: int, fault_share: float, speed: float, seed: int) -> str:
    with SimulatorProcess(speed=speed, db=root / "simulator.db", api_key=CHAOS_API_KEY) as sim:
        stack = start_stack(root / "stack", sim, name="bench")
        try:
            reelflow = await stack.client()
            load = await run_load(reelflow, sim, jobs=jobs, fault_share=fault_share, seed=seed)
            return load.summary()
        finally:
            stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--fault-share", type=float, default=0.1)
    parser.add_argument("--speed", type=float, default=20.0, help="Simulator speed.")
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(2**32))
    args = parser.parse_args()
    print(f"seed {args.seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="reelflow-load-") as folder:
        code = 0
        try:
            summary = asyncio.run(
                benchmark(Path(folder), args.jobs, args.fault_share, args.speed, args.seed)
            )
            print(summary, flush=True)
        except AssertionError as exc:
            print(f"FAILED: {exc}", file=sys.stderr, flush=True)
            code = 1
    os._exit(code)  # skip interpreter finalisation: native threads of the SDK can crash it


if __name__ == "__main__":
    main()
