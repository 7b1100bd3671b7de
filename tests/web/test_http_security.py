"""Bearer auth on and off, signed result URLs, CORS, and the OpenAPI docs."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from starter.http_security import ContentSigner
from tests.web.conftest import ALLOWED_ORIGIN, API_TOKEN
from tests.web.servers import SseRead, read_sse, run_body

pytestmark = pytest.mark.asyncio(loop_scope="session")

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
FAST = {"pollingInterval": 200}


async def test_with_auth_on_every_api_route_wants_the_token(secured_api_url: str) -> None:
    async with httpx.AsyncClient(base_url=secured_api_url, timeout=30) as http:
        run_id = f"auth-{uuid.uuid4().hex[:10]}"
        body = run_body("a cat", run_id)
        calls = [
            ("POST", "/api/generate/video", body),
            ("GET", f"/api/generate/video?runId={run_id}&offset=-1", None),
            ("POST", "/api/video/generate", {"prompt": "a cat"}),
            ("GET", "/api/video/jobs/some-job", None),
            ("POST", "/api/video/jobs/some-job/cancel", None),
            ("GET", "/api/video/jobs/some-job/content", None),
        ]
        for method, path, json in calls:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_TOKEN}):
                response = await http.request(method, path, json=json, headers=headers)
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["www-authenticate"].startswith("Bearer")
        assert (await http.get(f"/api/video/jobs/run-{run_id}", headers=AUTH)).status_code == 404
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/openapi.json")).status_code == 200


async def test_with_auth_on_results_carry_signed_urls(secured_api_url: str) -> None:
    async with httpx.AsyncClient(base_url=secured_api_url, timeout=60, headers=AUTH) as http:
        run_id = f"auth-{uuid.uuid4().hex[:10]}"
        headers = {"X-Run-Id": run_id}
        payload = run_body("a lantern", run_id, **FAST)
        async with http.stream(
            "POST", "/api/generate/video", json=payload, headers=headers
        ) as response:
            assert response.status_code == 200
            got = await read_sse(response, SseRead([]))
        result = got.events[-2].payload["value"]
        assert got.events[-1].kind == "RUN_FINISHED" and result["expiresAt"]

    url = urlsplit(result["url"])
    query = parse_qs(url.query)
    assert set(query) == {"expires", "signature"}
    async with httpx.AsyncClient(timeout=30) as anonymous:  # like a <video src>: no header
        video = await anonymous.get(result["url"])
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        job_id = result["jobId"]
        expires = query["expires"][0]
        forged = f"{url.scheme}://{url.netloc}{url.path}?expires={int(expires) + 1}"
        forged += f"&signature={query['signature'][0]}"
        assert (await anonymous.get(forged)).status_code == 401
        thumbnail = f"{url.scheme}://{url.netloc}{url.path}?variant=thumbnail&{url.query}"
        assert (await anonymous.get(thumbnail)).status_code == 401, "signed for the video only"
        other = result["url"].replace(job_id, "run-someone-else")
        assert (await anonymous.get(other)).status_code == 401

    signer = ContentSigner.for_token(API_TOKEN)
    stale_expires, stale_signature = signer.sign(job_id, "video", now=0)
    assert not signer.verify(job_id, "video", stale_expires, stale_signature)


async def test_with_auth_off_no_token_is_needed(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/video/jobs/no-such-job")
    assert response.status_code == 404
    ignored = await http.get("/api/video/jobs/no-such-job", headers={"Authorization": "Bearer x"})
    assert ignored.status_code == 404


async def test_cors_allows_the_configured_origin_only(http: httpx.AsyncClient) -> None:
    preflight = await http.options(
        "/api/generate/video",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-run-id,last-event-id,authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"x-run-id", "last-event-id", "authorization"} <= set(allowed.split(", "))

    simple = await http.get("/api/video/jobs/no-such-job", headers={"Origin": ALLOWED_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "content-range" in simple.headers["access-control-expose-headers"].lower()
    stranger = await http.get("/api/video/jobs/no-such-job", headers={"Origin": "http://evil.test"})
    assert "access-control-allow-origin" not in stranger.headers


async def test_without_cors_origins_no_cors_headers(secured_api_url: str) -> None:
    async with httpx.AsyncClient(base_url=secured_api_url) as http:
        response = await http.get("/healthz", headers={"Origin": ALLOWED_ORIGIN})
    assert "access-control-allow-origin" not in response.headers


async def test_openapi_docs_describe_the_api(http: httpx.AsyncClient) -> None:
    docs = await http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert {
        "/api/generate/video",
        "/api/video/generate",
        "/api/video/jobs/{job_id}",
        "/api/video/jobs/{job_id}/cancel",
        "/api/video/jobs/{job_id}/content",
    } <= set(paths)
    stream = paths["/api/generate/video"]["post"]["responses"]["200"]
    assert "text/event-stream" in stream["content"]
