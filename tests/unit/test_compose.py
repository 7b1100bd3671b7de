"""The production compose file is consistent (no Docker engine here: checked as data)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from starter.processes import bin_path
from workflows.search_attributes import ALL_KEYS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_services_use_official_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["postgresql"]["image"].startswith("postgres:")
    for name in ("temporal-admin-tools", "temporal-setup"):
        assert services[name]["image"].startswith("temporalio/admin-tools:")
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    assert services["temporal"]["environment"]["DB"] == "postgres12"


def test_start_order_is_a_chain_of_health_conditions(compose: dict[str, Any]) -> None:
    services = compose["services"]

    def waits_for(name: str) -> dict[str, str]:
        return {dep: cond["condition"] for dep, cond in services[name]["depends_on"].items()}

    assert waits_for("temporal-admin-tools") == {"postgresql": "service_healthy"}
    assert waits_for("temporal") == {"temporal-admin-tools": "service_completed_successfully"}
    assert waits_for("temporal-setup") == {"temporal": "service_healthy"}
    assert waits_for("worker") == {"temporal-setup": "service_completed_successfully"}
    assert waits_for("api") == {"temporal-setup": "service_completed_successfully"}
    for name in ("postgresql", "temporal"):
        assert "healthcheck" in services[name]


def test_reelflow_services_run_real_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    help_text = subprocess.run(
        [str(bin_path("reelflow")), "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in ("worker", "api", "simulator"):
        command = services[name]["command"]
        assert command[0] == "reelflow"
        assert re.search(rf"\b{command[1]}\b", help_text), f"`reelflow {command[1]}` is missing"
    assert services["worker"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert services["worker"]["volumes"] == services["api"]["volumes"], "api serves worker files"


def test_secrets_come_from_the_environment(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"sk-[A-Za-z0-9]", text)
    env = compose["services"]["worker"]["environment"]
    assert env["OPENAI_API_KEY"].startswith("${OPENAI_API_KEY:?")
    assert compose["services"]["postgresql"]["environment"]["POSTGRES_PASSWORD"].startswith("${")


def test_search_attributes_are_registered_with_their_types() -> None:
    script = (ROOT / "deploy" / "create-namespace.sh").read_text()
    registered = dict(re.findall(r"^register (\w+) (\w+)$", script, flags=re.MULTILINE))
    expected = {key.name: key.indexed_value_type.name.title() for key in ALL_KEYS}
    assert registered == expected


def test_setup_scripts_are_valid_shell() -> None:
    for script in (ROOT / "deploy").glob("*.sh"):
        subprocess.run(["sh", "-n", str(script)], check=True)
