"""Every `/v1` endpoint over real HTTP: shapes, lifecycle, content, remix, delete, list."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from tests.simulator.helpers import FAST, completed, create, error_of, retrieve, wait_final
from tests.support.simulator import SimulatorProcess, wait_until

VIDEO_KEYS = {
    "id",
    "object",
    "model",
    "status",
    "progress",
    "created_at",
    "completed_at",
    "expires_at",
    "size",
    "seconds",
    "prompt",
    "remixed_from_video_id",
    "error",
}


def png(width: int, height: int, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buffer, format=image_format)
    return buffer.getvalue()


def test_create_returns_a_full_video_object(api: httpx.Client) -> None:
    video = create(api, "a red kite over dunes")
    assert set(video) == VIDEO_KEYS
    assert re.fullmatch(r"video_[0-9a-f]{32}", video["id"])
    assert video["object"] == "video"
    assert video["model"] == "sora-2"
    assert video["status"] in ("queued", "in_progress")
    assert video["size"] == "1280x720"
    assert video["seconds"] == "4"
    assert video["completed_at"] is None and video["expires_at"] is None
    assert video["remixed_from_video_id"] is None and video["error"] is None


def test_defaults_apply_when_fields_are_omitted(api: httpx.Client) -> None:
    response = api.post("/videos", json={"prompt": "defaults", "quality": "high"})
    assert response.status_code == 200
    video = response.json()
    assert (video["model"], video["size"], video["seconds"]) == ("sora-2", "720x1280", "4")


def test_lifecycle_progress_rises_to_completion(api: httpx.Client) -> None:
    video = create(api)
    seen = [(video["status"], video["progress"])]

    def done() -> bool:
        current = retrieve(api, video["id"])
        seen.append((current["status"], current["progress"]))
        return current["status"] == "completed"

    wait_until(done, timeout=30, interval=0.02)
    order = {"queued": 0, "in_progress": 1, "completed": 2}
    assert [order[s] for s, _ in seen] == sorted(order[s] for s, _ in seen)
    progresses = [p for _, p in seen]
    assert progresses == sorted(progresses)
    assert all(p <= 99 for s, p in seen if s != "completed")
    final = retrieve(api, video["id"])
    assert final["progress"] == 100
    assert final["completed_at"] >= final["created_at"]
    assert final["expires_at"] == final["completed_at"] + 3600


def test_multipart_create_with_matching_input_reference(api: httpx.Client) -> None:
    response = api.post(
        "/videos",
        data={"prompt": "from a picture", **FAST},
        files={"input_reference": ("ref.png", png(1280, 720), "image/png")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["size"] == "1280x720"


def test_multipart_create_without_file(api: httpx.Client) -> None:
    response = api.post("/videos", data={"prompt": "plain form", **FAST, "extra": "ignored"})
    assert response.status_code == 200, response.text
    assert response.json()["prompt"] == "plain form"


def test_input_reference_webp_and_jpeg_accepted(api: httpx.Client) -> None:
    for image_format, mime in (("WEBP", "image/webp"), ("JPEG", "image/jpeg")):
        response = api.post(
            "/videos",
            data={"prompt": "ref", **FAST},
            files={"input_reference": ("ref", png(1280, 720, image_format), mime)},
        )
        assert response.status_code == 200, response.text


def test_retrieve_unknown_id_is_404(api: httpx.Client) -> None:
    response = api.get("/videos/video_" + "0" * 32)
    assert response.status_code == 404
    assert error_of(response)["type"] == "invalid_request_error"


def test_unknown_paths_are_404_with_envelope(sim: SimulatorProcess, api: httpx.Client) -> None:
    for url in (f"{sim.root_url}/videos", f"{sim.root_url}/v2/videos", f"{sim.base_url}/nope"):
        response = api.post(url, json={"prompt": "x"})
        assert response.status_code == 404
        assert "Invalid URL" in error_of(response)["message"]
    response = api.put("/videos", json={})
    assert response.status_code == 404
    error_of(response)


def test_content_before_completion_is_400(api: httpx.Client) -> None:
    sim_slow = create(api, "a slow one", seconds="12")
    response = api.get(f"/videos/{sim_slow['id']}/content")
    assert response.status_code == 400
    assert error_of(response)["code"] == "video_not_ready"


def test_content_variants_types_and_range(api: httpx.Client) -> None:
    video = completed(api)
    expected = {
        "video": ("video/mp4", b"ftyp", 4),
        "thumbnail": ("image/webp", b"WEBP", 8),
        "spritesheet": ("image/jpeg", b"\xff\xd8\xff", 0),
    }
    for variant, (media_type, magic, offset) in expected.items():
        response = api.get(f"/videos/{video['id']}/content", params={"variant": variant})
        assert response.status_code == 200
        assert response.headers["content-type"] == media_type
        assert int(response.headers["content-length"]) == len(response.content)
        assert response.content[offset : offset + len(magic)] == magic
    ranged = api.get(f"/videos/{video['id']}/content", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206
    assert len(ranged.content) == 100
    bad = api.get(f"/videos/{video['id']}/content", params={"variant": "poster"})
    assert bad.status_code == 400
    assert error_of(bad)["param"] == "variant"


def test_expired_assets_are_410(sim: SimulatorProcess, api: httpx.Client) -> None:
    video = completed(api)
    sim.expire(video["id"])
    response = api.get(f"/videos/{video['id']}/content")
    assert response.status_code == 410
    assert "expired at" in error_of(response)["message"]
    assert (
        retrieve(api, video["id"])["expires_at"] <= retrieve(api, video["id"])["completed_at"] + 1
    )


def test_expiry_follows_expires_after(sim: SimulatorProcess, api: httpx.Client) -> None:
    sim.configure(expires_after=1.0)
    try:
        video = completed(api)
    finally:
        sim.configure(expires_after=3600.0)
    assert video["expires_at"] == video["completed_at"] + 1
    wait_until(
        lambda: api.get(f"/videos/{video['id']}/content").status_code == 410,
        timeout=5,
        message="assets expire",
    )


def test_delete(sim: SimulatorProcess, api: httpx.Client) -> None:
    video = completed(api)
    response = api.delete(f"/videos/{video['id']}")
    assert response.status_code == 200
    assert response.json() == {"id": video["id"], "object": "video.deleted", "deleted": True}
    assert api.get(f"/videos/{video['id']}").status_code == 404
    assert api.delete(f"/videos/{video['id']}").status_code == 404
    assert api.get(f"/videos/{video['id']}/content").status_code == 404
    internal = sim.video(video["id"])
    assert internal["deleted"] is True
    assert video["id"] in sim.counters()["deleted_ids"]
    listed = api.get("/videos", params={"limit": 100}).json()["data"]
    assert video["id"] not in [v["id"] for v in listed]


def test_remix(api: httpx.Client) -> None:
    source = completed(api)
    response = api.post(f"/videos/{source['id']}/remix", json={"prompt": "now at dusk"})
    assert response.status_code == 200, response.text
    remix = response.json()
    assert remix["remixed_from_video_id"] == source["id"]
    assert remix["prompt"] == "now at dusk"
    assert (remix["model"], remix["size"], remix["seconds"]) == (
        source["model"],
        source["size"],
        source["seconds"],
    )
    assert remix["id"] != source["id"]
    assert wait_final(api, remix["id"])["status"] == "completed"


def test_remix_rules(api: httpx.Client) -> None:
    pending = create(api, "still rendering", seconds="12")
    response = api.post(f"/videos/{pending['id']}/remix", json={"prompt": "again"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "video_not_ready"
    missing = api.post("/videos/video_" + "1" * 32 + "/remix", json={"prompt": "x"})
    assert missing.status_code == 404
    source = completed(api)
    no_prompt = api.post(f"/videos/{source['id']}/remix", json={})
    assert no_prompt.status_code == 400
    assert error_of(no_prompt)["param"] == "prompt"


def test_list_pagination(api: httpx.Client) -> None:
    ids = [create(api, f"list item {i}")["id"] for i in range(5)]
    first = api.get("/videos", params={"limit": 2}).json()
    assert first["object"] == "list"
    assert [v["id"] for v in first["data"]] == ids[::-1][:2]
    assert first["first_id"] == ids[-1] and first["last_id"] == ids[-2]
    assert first["has_more"] is True
    second = api.get("/videos", params={"limit": 2, "after": first["last_id"]}).json()
    assert [v["id"] for v in second["data"]] == ids[::-1][2:4]
    ascending = api.get("/videos", params={"order": "asc", "after": ids[1], "limit": 100}).json()
    assert [v["id"] for v in ascending["data"]][:3] == ids[2:]
    assert ascending["has_more"] is False
    default = api.get("/videos").json()
    assert len(default["data"]) <= 20


def test_list_parameter_errors(api: httpx.Client) -> None:
    for params, param in (
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"order": "up"}, "order"),
        ({"after": "video_nope"}, "after"),
    ):
        response = api.get("/videos", params=params)
        assert response.status_code == 400, params
        assert error_of(response)["param"] == param


def test_poll_after_header(sim: SimulatorProcess, api: httpx.Client) -> None:
    video = create(api)
    assert "openai-poll-after-ms" not in api.get(f"/videos/{video['id']}").headers
    sim.configure(poll_after_ms=250)
    try:
        assert api.get(f"/videos/{video['id']}").headers["openai-poll-after-ms"] == "250"
    finally:
        sim.configure(poll_after_ms=None)


def test_admin_api_shapes(sim: SimulatorProcess, api: httpx.Client) -> None:
    admin = httpx.Client(base_url=f"{sim.root_url}/_sim")
    assert admin.get("/health").json() == {"ok": True}
    counters = admin.get("/counters").json()
    assert set(counters) == {
        "create_calls",
        "videos_created",
        "retrieve_calls",
        "list_calls",
        "delete_calls",
        "content_calls",
        "remix_calls",
        "faults_injected",
        "idempotency_keys",
        "deleted_ids",
    }
    config = admin.get("/config").json()
    assert config["speed"] == 20.0
    assert admin.patch("/config", json={"speed": -1}).status_code == 400
    assert admin.patch("/config", json={"no_such_setting": 1}).status_code == 400
    assert admin.get("/videos/video_nope").status_code == 404
    video = create(api)
    internal = admin.get(f"/videos/{video['id']}").json()
    assert internal["id"] == video["id"] and internal["deleted"] is False
    expire_early = admin.post(f"/videos/{create(api, 'x', seconds='12')['id']}/expire")
    assert expire_early.status_code == 409
    admin.close()
