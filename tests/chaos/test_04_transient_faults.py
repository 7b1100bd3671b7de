"""Scenario 4: 30 % of provider calls fail transiently; every job still completes.

The faults (5 % each, seeded): 429 with a retry-after, 500, 503, a dropped connection, a stall
past the worker's provider timeout, a garbled body. The worker talks to the simulator through
a recording proxy, which timestamps every exchange: after each 429 the same call must not come
back before the retry-after has passed.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest

from activities.video_activities import NOT_PLAYABLE_ATTEMPTS
from starter.client import ReelflowClient
from starter.errors import VideoJobFailedError
from tests.chaos.helpers import (
    ChaosReport,
    FinalPathWatcher,
    ScenarioRecord,
    assert_one_video_per_job,
    assert_stored,
    calls,
    completed,
    faults_injected,
    outcomes,
    start_jobs,
    status_when,
)
from tests.chaos.proxy import Exchange, RecordingProxy
from tests.chaos.stack import ChaosStack

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.chaos]

RETRY_AFTER = 1.0
PROVIDER_TIMEOUT = 2.0
FAULT_KINDS: list[dict[str, Any]] = [
    {"kind": "http_429", "retry_after": RETRY_AFTER},
    {"kind": "http_500"},
    {"kind": "http_503"},
    {"kind": "drop"},
    {"kind": "delay", "delay_seconds": PROVIDER_TIMEOUT + 1.5},
    {"kind": "garble"},
]


def fault_rules(share: float) -> list[dict[str, Any]]:
    """One rule per kind; the first rule that fires wins, so each kind gets ``share`` of calls."""
    rules = []
    for index, rule in enumerate(FAULT_KINDS):
        probability = share / (1 - share * index)
        rules.append({"endpoint": "any", "probability": probability, **rule})
    return rules


@contextlib.contextmanager
def proxied_worker(stack: ChaosStack) -> Iterator[RecordingProxy]:
    """The worker, restarted to reach the simulator through a recording proxy (undone after)."""
    original_url = stack.worker.env["OPENAI_BASE_URL"]
    original_timeout = stack.worker.env["REELFLOW_PROVIDER_TIMEOUT"]
    with RecordingProxy(stack.simulator.port) as proxy:
        stack.worker.restart(
            OPENAI_BASE_URL=proxy.base_url, REELFLOW_PROVIDER_TIMEOUT=str(PROVIDER_TIMEOUT)
        )
        try:
            yield proxy
        finally:
            stack.simulator.clear_faults()
            stack.worker.restart(
                OPENAI_BASE_URL=original_url, REELFLOW_PROVIDER_TIMEOUT=original_timeout
            )


def early_retries(exchanges: list[Exchange]) -> list[tuple[str, str, float, float]]:
    """Retries sent before the retry-after of the 429 they follow: (method, url, gap, asked)."""
    return [
        (e.method, e.target, round(gap, 3), e.retry_after or 0.0)
        for e, gap in retry_after_gaps(exchanges)
        if gap < (e.retry_after or 0.0)
    ]


def retry_after_gaps(exchanges: list[Exchange]) -> list[tuple[Exchange, float]]:
    """For each 429, the time until the same call was sent again (if it was)."""
    gaps = []
    for index, exchange in enumerate(exchanges):
        if exchange.status != 429 or exchange.answered_at is None:
            continue
        retry = next((e for e in exchanges[index + 1 :] if e.call == exchange.call), None)
        if retry is not None:
            gaps.append((exchange, retry.sent_at - exchange.answered_at))
    return gaps


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_thirty_percent_transient_faults(
    stack: ChaosStack, reelflow: ReelflowClient, rng: random.Random, report: ChaosReport
) -> None:
    simulator = stack.simulator
    started = time.monotonic()
    with proxied_worker(stack) as proxy:
        before = simulator.counters()
        simulator.set_faults({"seed": rng.randrange(2**32), "rules": fault_rules(0.05)})
        jobs = await start_jobs(reelflow, "transient", 8, seconds=4, polling_interval=0.3)
        jobs += await start_jobs(reelflow, "transient", 8, seconds=8, polling_interval=0.3)
        jobs += await start_jobs(reelflow, "transient", 4, seconds=12, polling_interval=0.3)
        ends = await outcomes(jobs, timeout=240)
        after = simulator.counters()
        simulator.clear_faults()
        exchanges = proxy.snapshot()

    results = completed(ends)
    for result in results.values():
        assert_stored(result)
    duplicates = assert_one_video_per_job(simulator, results)

    injected = faults_injected(before, after)
    api_calls = sum(after[f"{e}_calls"] - before[f"{e}_calls"] for e in ("create", "retrieve"))
    api_calls += sum(after[f"{e}_calls"] - before[f"{e}_calls"] for e in ("content", "delete"))
    share = sum(injected.values()) / api_calls
    assert 0.18 <= share <= 0.45, f"{share:.0%} of {api_calls} calls faulted: {injected}"
    assert set(injected) >= {"http_429", "http_500", "http_503", "drop", "delay", "garble"}

    gaps = retry_after_gaps(exchanges)
    assert gaps, "no 429 was retried: nothing measured"
    early = early_retries(exchanges)
    assert not early, f"retried before the retry-after: {early}"
    report.add(
        ScenarioRecord(
            "4 transient faults (30 %)",
            jobs=len(jobs),
            faults=f"{sum(injected.values())} of {api_calls} calls ({share:.0%}): {injected}",
            outcome="all completed",
            duplicates=duplicates,
            seconds=time.monotonic() - started,
            notes={
                "429_retries_measured": len(gaps),
                "min_gap_s": round(min(gap for _, gap in gaps), 3),
            },
        )
    )


@pytest.mark.timeout(120)
async def test_cut_or_garbled_downloads_are_fetched_again(
    stack: ChaosStack, reelflow: ReelflowClient, report: ChaosReport
) -> None:
    """A 200 whose body is cut or garbled (video or thumbnail) never reaches the final path;
    the job completes with both files whole."""
    simulator = stack.simulator
    started = time.monotonic()
    simulator.set_faults(
        {
            "rules": [
                {"endpoint": "content", "kind": "garble", "schedule": [1, 5]},
                {"endpoint": "content", "kind": "truncate", "schedule": [3]},
            ]
        }
    )
    watcher = FinalPathWatcher(stack.videos_dir)
    with watcher:
        (job,) = await start_jobs(reelflow, "garbled", 1, seconds=4)
        watcher.watch(job.job_id)
        ends = await outcomes([job], timeout=90)
    results = completed(ends)
    assert_stored(results[job.job_id])
    watcher.assert_never_partial(results)
    report.add(
        ScenarioRecord(
            "4 garbled + cut video body",
            jobs=1,
            faults="garbled video, cut video, garbled thumbnail on GET /content",
            outcome="completed with a verified MP4",
            duplicates=assert_one_video_per_job(simulator, results),
            seconds=time.monotonic() - started,
        )
    )


@pytest.mark.timeout(120)
async def test_a_provider_that_always_sends_garbage_ends_the_job(
    stack: ChaosStack, reelflow: ReelflowClient, report: ChaosReport
) -> None:
    """Bounded: a few downloads, then a clear failure (no retry loop)."""
    simulator = stack.simulator
    started = time.monotonic()
    simulator.set_faults({"rules": [{"endpoint": "content", "kind": "garble"}]})
    before = calls(simulator, "content")
    (job,) = await start_jobs(reelflow, "garbage", 1, seconds=4)
    (end,) = (await outcomes([job], timeout=90)).values()
    assert isinstance(end, VideoJobFailedError), end
    assert (
        "truncated or corrupt" in end.message
        and "3 of at most 3 downloads did not verify" in end.message
    )
    content_calls = calls(simulator, "content") - before
    assert content_calls == 2 * NOT_PLAYABLE_ATTEMPTS  # video + thumbnail per attempt
    assert not (stack.videos_dir / job.job_id / "video.mp4").exists()
    report.add(
        ScenarioRecord(
            "4 provider always garbles the video",
            jobs=1,
            faults="garble on every GET /content",
            outcome=f"failed after {content_calls} content calls (VideoNotPlayable)",
            seconds=time.monotonic() - started,
        )
    )


@pytest.mark.timeout(120)
async def test_retry_after_holds_across_poll_rounds(
    stack: ChaosStack, reelflow: ReelflowClient, report: ChaosReport
) -> None:
    """Every attempt of one poll answers 429: the next round must still wait the retry-after."""
    simulator = stack.simulator
    started = time.monotonic()
    with proxied_worker(stack) as proxy:
        (job,) = await start_jobs(reelflow, "retry-after", 1, seconds=12, polling_interval=0.2)
        await status_when(job, lambda s: s.polls >= 1, timeout=30, what="a first poll")
        rule = {"endpoint": "retrieve", "kind": "http_429", "retry_after": 1.5, "times": 5}
        simulator.set_faults({"rules": [rule]})
        await status_when(job, lambda s: s.poll_errors >= 1, timeout=60, what="a failed poll")
        ends = await outcomes([job], timeout=90)
        exchanges = proxy.snapshot()
    results = completed(ends)
    assert_stored(results[job.job_id])
    gaps = [gap for e, gap in retry_after_gaps(exchanges) if e.status == 429]
    assert len(gaps) == 5
    assert not early_retries(exchanges), f"retried too early: {early_retries(exchanges)}"
    report.add(
        ScenarioRecord(
            "4 429 on every attempt of a poll",
            jobs=1,
            faults="5 x 429 (retry-after 1.5 s) on GET /videos/{id}",
            outcome="completed; every retry waited the retry-after",
            duplicates=assert_one_video_per_job(simulator, results),
            seconds=time.monotonic() - started,
            notes={"gaps_s": [round(gap, 2) for gap in gaps]},
        )
    )


@pytest.mark.timeout(120)
async def test_only_broken_downloads_count_toward_giving_up(
    stack: ChaosStack, reelflow: ReelflowClient, report: ChaosReport
) -> None:
    """Two 503s, then a garbled body on the third download attempt: still worth a fourth."""
    simulator = stack.simulator
    started = time.monotonic()
    simulator.set_faults(
        {
            "rules": [
                {"endpoint": "content", "kind": "http_503", "schedule": [1, 2]},
                {"endpoint": "content", "kind": "garble", "schedule": [3]},
            ]
        }
    )
    (job,) = await start_jobs(reelflow, "broken-late", 1, seconds=4)
    results = completed(await outcomes([job], timeout=90))
    assert_stored(results[job.job_id])
    report.add(
        ScenarioRecord(
            "4 503, 503, then garbled video",
            jobs=1,
            faults="3 failed download attempts, 1 of them garbled",
            outcome="completed on attempt 4",
            duplicates=assert_one_video_per_job(simulator, results),
            seconds=time.monotonic() - started,
        )
    )
