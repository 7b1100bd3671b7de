"""Every fault kind, its targeting (schedule, times, probability, endpoint) and its counters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.simulator.helpers import completed, create, error_of
from tests.support.simulator import SimulatorProcess, wait_until

pytestmark = pytest.mark.usefixtures("no_faults")

BODY = {"prompt": "faulty", "size": "1280x720", "seconds": "4"}


def fault(endpoint: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"rules": [{"endpoint": endpoint, "kind": kind, "times": 1, **extra}]}


def created(sim: SimulatorProcess) -> int:
    count: int = sim.counters()["videos_created"]
    return count


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("http_429", 429, "rate_limit_exceeded"),
        ("insufficient_quota", 429, "insufficient_quota"),
        ("http_500", 500, "server_error"),
        ("http_502", 502, "bad_gateway"),
        ("http_503", 503, "service_unavailable"),
        ("http_408", 408, "timeout"),
        ("http_409", 409, "conflict"),
        ("http_401", 401, "invalid_api_key"),
        ("http_403", 403, "unsupported_country_region_territory"),
    ],
)
def test_http_status_faults_on_create_create_nothing(
    sim: SimulatorProcess, api: httpx.Client, kind: str, status: int, code: str
) -> None:
    before = created(sim)
    sim.set_faults(fault("create", kind))
    response = api.post("/videos", json=BODY)
    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert created(sim) == before
    assert api.post("/videos", json=BODY).status_code == 200  # times: 1
    assert created(sim) == before + 1
    assert sim.counters()["faults_injected"][kind] >= 1


def test_429_sends_retry_after_headers(sim: SimulatorProcess, api: httpx.Client) -> None:
    sim.set_faults(fault("retrieve", "http_429", retry_after=1.5))
    video = create(api)
    response = api.get(f"/videos/{video['id']}")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "1500"


def test_delay_answers_late_and_still_creates(sim: SimulatorProcess, api: httpx.Client) -> None:
    before = created(sim)
    sim.set_faults(fault("create", "delay", delay_seconds=1.5))
    with pytest.raises(httpx.ReadTimeout):
        api.post("/videos", json=BODY, timeout=0.3)
    wait_until(lambda: created(sim) == before + 1, timeout=5, message="delayed create")


def test_drop_closes_without_response_and_creates_nothing(
    sim: SimulatorProcess, api: httpx.Client
) -> None:
    before = created(sim)
    sim.set_faults(fault("create", "drop"))
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/videos", json=BODY)
    assert created(sim) == before


def test_drop_after_creates_then_drops(sim: SimulatorProcess, api: httpx.Client) -> None:
    before = created(sim)
    sim.set_faults(fault("create", "drop_after"))
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/videos", json=BODY)
    assert created(sim) == before + 1


def test_truncate_cuts_the_body(sim: SimulatorProcess, api: httpx.Client) -> None:
    video = create(api)
    sim.set_faults(fault("retrieve", "truncate"))
    with pytest.raises(httpx.RemoteProtocolError):
        api.get(f"/videos/{video['id']}")
    assert api.get(f"/videos/{video['id']}").status_code == 200


def test_truncate_on_create_creates_nothing(sim: SimulatorProcess, api: httpx.Client) -> None:
    before = created(sim)
    sim.set_faults(fault("create", "truncate"))
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/videos", json=BODY)
    assert created(sim) == before


def test_garble_is_200_with_invalid_json(sim: SimulatorProcess, api: httpx.Client) -> None:
    before = created(sim)
    sim.set_faults(fault("create", "garble"))
    response = api.post("/videos", json=BODY)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert created(sim) == before


def test_faults_on_every_endpoint(sim: SimulatorProcess, api: httpx.Client) -> None:
    video = completed(api)
    calls = {
        "retrieve": lambda: api.get(f"/videos/{video['id']}"),
        "list": lambda: api.get("/videos"),
        "content": lambda: api.get(f"/videos/{video['id']}/content"),
        "remix": lambda: api.post(f"/videos/{video['id']}/remix", json={"prompt": "r"}),
        "delete": lambda: api.delete(f"/videos/{video['id']}"),
    }
    for endpoint, call in calls.items():
        sim.set_faults(fault(endpoint, "http_503"))
        assert call().status_code == 503, endpoint
        assert call().status_code == 200, endpoint


def test_schedule_picks_call_indices(sim: SimulatorProcess, api: httpx.Client) -> None:
    video = create(api)
    sim.set_faults({"rules": [{"endpoint": "retrieve", "kind": "http_500", "schedule": [2, 3]}]})
    statuses = [api.get(f"/videos/{video['id']}").status_code for _ in range(5)]
    assert statuses == [200, 500, 500, 200, 200]


def test_times_and_any_endpoint(sim: SimulatorProcess, api: httpx.Client) -> None:
    sim.set_faults({"rules": [{"endpoint": "any", "kind": "http_502", "times": 2}]})
    assert api.get("/videos").status_code == 502
    assert api.post("/videos", json=BODY).status_code == 502
    assert api.get("/videos").status_code == 200


def test_probability_is_seeded(sim: SimulatorProcess, api: httpx.Client) -> None:
    config = {"seed": 7, "rules": [{"endpoint": "list", "kind": "http_500", "probability": 0.5}]}

    def run() -> list[int]:
        sim.set_faults(config)
        return [api.get("/videos", params={"limit": 1}).status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert 3 <= first.count(500) <= 27


def test_faults_admin_roundtrip(sim: SimulatorProcess) -> None:
    admin = httpx.Client(base_url=f"{sim.root_url}/_sim")
    rules = {"seed": 1, "rules": [{"endpoint": "create", "kind": "http_500", "times": 3}]}
    shown = admin.put("/faults", json=rules).json()
    assert shown["seed"] == 1 and shown["rules"][0]["kind"] == "http_500"
    assert shown["rule_stats"] == [{"calls": 0, "fired": 0}]
    assert admin.get("/faults").json()["rules"][0]["times"] == 3
    bad = admin.put("/faults", json={"rules": [{"kind": "explode"}]})
    assert bad.status_code == 400
    assert admin.delete("/faults").json()["rules"] == []
    admin.close()


def test_faults_file_at_start(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(fault("create", "http_503")))
    with SimulatorProcess(extra_args=["--faults-file", str(path)]) as sim:
        client = httpx.Client(base_url=sim.base_url, headers={"Authorization": "Bearer k"})
        assert client.post("/videos", json=BODY).status_code == 503
        assert client.post("/videos", json=BODY).status_code == 200
        assert sim.counters()["faults_injected"] == {"http_503": 1}
        client.close()
