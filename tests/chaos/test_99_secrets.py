"""Scenario 10: after the suite, the worker's API key appears nowhere it could leak to.

Every workflow history of every chaos server (payloads decoded from base64: inputs, results,
memos, search attributes, failure messages and stack traces, markers) and every worker and
server log is scanned for the key. Runs last (file name), so it sees what the suite left.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToJson

from starter.client import ReelflowClient
from tests.chaos.helpers import (
    ChaosReport,
    ScenarioRecord,
    outcomes,
    start_jobs,
)
from tests.chaos.stack import CHAOS_API_KEY, ChaosStack

pytestmark = [pytest.mark.chaos]

BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
SECRET_PARTS = (CHAOS_API_KEY, CHAOS_API_KEY.removeprefix("chaos-key-"))
"""The key, and its random part alone (a masked or cut key would still show it)."""


def decoded_strings(value: Any) -> list[str]:
    """Every string in a JSON document, plus the text of every base64 string (payload bytes)."""
    found: list[str] = []
    if isinstance(value, dict):
        for item in value.values():
            found += decoded_strings(item)
    elif isinstance(value, list):
        for item in value:
            found += decoded_strings(item)
    elif isinstance(value, str):
        found.append(value)
        if len(value) >= 4 and len(value) % 4 == 0 and BASE64.match(value):
            try:
                found.append(base64.b64decode(value, validate=True).decode(errors="replace"))
            except (binascii.Error, ValueError):
                pass
    return found


def leaks(text: str) -> int:
    return sum(text.count(part) for part in SECRET_PARTS)


async def history_texts(reelflow: ReelflowClient) -> dict[str, str]:
    """Each run's history and description as searchable text, keyed by ``id/run``."""
    texts: dict[str, str] = {}
    async for execution in reelflow.temporal.list_workflows():
        handle = reelflow.temporal.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = json.loads((await handle.fetch_history()).to_json())
        description = json.loads(MessageToJson((await handle.describe()).raw_description))
        strings = decoded_strings(history) + decoded_strings(description)
        texts[f"{execution.id}/{execution.run_id}"] = "\n".join(strings)
    return texts


def test_the_scanner_finds_a_key_inside_a_payload() -> None:
    payload = {"data": base64.b64encode(f'{{"key": "{CHAOS_API_KEY}"}}'.encode()).decode()}
    assert leaks("\n".join(decoded_strings({"events": [payload]}))) >= 1


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.timeout(300)
async def test_the_api_key_is_in_no_history_and_no_log(
    stack: ChaosStack,
    can_stack: ChaosStack,
    reelflow: ReelflowClient,
    can_reelflow: ReelflowClient,
    report: ChaosReport,
) -> None:
    started = time.monotonic()
    # Something to scan even when this test runs alone: a success and an auth failure.
    jobs = await start_jobs(reelflow, "secrets", 1, seconds=4)
    first = await outcomes(jobs, timeout=60)
    stack.simulator.set_faults({"rules": [{"endpoint": "create", "kind": "http_401"}]})
    second = await outcomes(await start_jobs(reelflow, "secrets-401", 1, seconds=4), timeout=60)
    stack.simulator.clear_faults()
    assert [type(end).__name__ for end in (*first.values(), *second.values())] == [
        "VideoResult",
        "VideoJobFailedError",
    ]

    texts = await history_texts(reelflow)
    texts.update(await history_texts(can_reelflow))
    logs: list[Path] = []
    for chaos_stack in (stack, can_stack):
        logs += sorted(chaos_stack.logs_dir.glob("*.log"))
    for log in logs:
        texts[str(log)] = log.read_text(errors="replace")

    assert any("chaos secrets: a lighthouse" in text for text in texts.values()), (
        "payloads were not decoded: the scan would be blind"
    )
    assert any("Incorrect API key provided" in text for text in texts.values())
    hits = {name: leaks(text) for name, text in texts.items() if leaks(text)}
    assert not hits, f"the API key leaked into: {hits}"
    histories = sum(1 for name in texts if not name.endswith(".log"))
    report.add(
        ScenarioRecord(
            "10 secrets scan",
            jobs=histories,
            faults=f"scanned {histories} run histories + {len(logs)} worker/server logs",
            outcome="0 hits of the API key",
            seconds=time.monotonic() - started,
            notes={"bytes_scanned": sum(len(text) for text in texts.values())},
        )
    )
