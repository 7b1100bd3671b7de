"""``reelflow demo`` (the README's first command) works from nothing: a fresh data dir."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import av

from starter.processes import bin_path


def test_demo_runs_one_job_end_to_end_and_stops(tmp_path: Path) -> None:
    env = {**os.environ, "REELFLOW_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    run = subprocess.run(
        [str(bin_path("reelflow")), "demo", "a demo boat", "--simulator-speed", "4"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    match = re.search(r"video ready: (\S+)", run.stdout)
    assert match, run.stdout
    video = Path(match[1])
    assert video.is_relative_to(tmp_path / "videos")
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (1280, 720)
        assert container.streams.audio
    assert re.search(
        r"Temporal UI: +http://localhost:\d+/namespaces/default/workflows/video-", run.stdout
    )
    assert (tmp_path / "temporal-dev.db").is_file(), (
        "the history persists for a later `reelflow dev`"
    )
    worker_log = (tmp_path / "logs" / "worker.log").read_text()
    assert "worker stopped" in worker_log, "the demo stops its worker cleanly"
