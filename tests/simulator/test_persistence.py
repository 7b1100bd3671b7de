"""With `--db`, jobs, idempotency keys and counters survive a restart of the simulator."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.simulator.helpers import FAST, retrieve, wait_final
from tests.support.simulator import SimulatorProcess


def client(sim: SimulatorProcess) -> httpx.Client:
    return httpx.Client(base_url=sim.base_url, headers={"Authorization": "Bearer k"}, timeout=10)


def test_jobs_survive_stop_and_start(tmp_path: Path) -> None:
    sim = SimulatorProcess(speed=2.0, db=tmp_path / "sim.db")
    body = {"prompt": "a persisted harbour", **FAST}
    with sim:
        with client(sim) as api:
            video = api.post("/videos", json=body, headers={"Idempotency-Key": "k-1"}).json()
            before = retrieve(api, video["id"])
        sim.stop()
        assert not sim.running
        sim.start()
        with client(sim) as api:
            after = retrieve(api, video["id"])
            assert after["created_at"] == before["created_at"]
            assert after["status"] in ("queued", "in_progress")
            assert after["progress"] >= before["progress"]
            again = api.post("/videos", json=body, headers={"Idempotency-Key": "k-1"}).json()
            assert again["id"] == video["id"]
            counters = sim.counters()
            assert counters["create_calls"] == 2
            assert counters["videos_created"] == 1
            assert counters["idempotency_keys"]["k-1"] == {"calls": 2, "video_id": video["id"]}
            done = wait_final(api, video["id"])
            assert done["status"] == "completed"
            assert api.get(f"/videos/{video['id']}/content").content[4:8] == b"ftyp"


def test_jobs_survive_a_kill(tmp_path: Path) -> None:
    sim = SimulatorProcess(speed=20.0, db=tmp_path / "sim.db")
    with sim:
        with client(sim) as api:
            video = api.post("/videos", json={"prompt": "killed mid-way", **FAST}).json()
            deleted = api.post("/videos", json={"prompt": "gone", **FAST}).json()
            api.delete(f"/videos/{deleted['id']}")
        sim.kill()
        sim.start()
        with client(sim) as api:
            assert wait_final(api, video["id"])["status"] == "completed"
            assert api.get(f"/videos/{deleted['id']}").status_code == 404
        assert sim.video(deleted["id"])["deleted"] is True
        assert sim.counters()["deleted_ids"] == [deleted["id"]]
