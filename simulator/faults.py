"""Fault rules and the seeded engine deciding which call gets which fault.

A rule matches calls to one endpoint (or `any`) and fires:
- with `schedule`: on those 1-based call indices (counted per rule since it was set);
- with `times`: on the next N matching calls;
- with `probability`: at random, drawn from the seeded RNG;
- with none of them: on every matching call.
The first rule that fires wins; every matching rule counts the call.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Endpoint = Literal["create", "retrieve", "list", "delete", "content", "remix"]
EndpointSelector = Literal["create", "retrieve", "list", "delete", "content", "remix", "any"]
FaultKind = Literal[
    "http_429",
    "insufficient_quota",
    "http_500",
    "http_502",
    "http_503",
    "http_408",
    "http_409",
    "http_401",
    "http_403",
    "delay",
    "drop",
    "drop_after",
    "truncate",
    "garble",
]

ENDPOINTS: tuple[Endpoint, ...] = ("create", "retrieve", "list", "delete", "content", "remix")


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: EndpointSelector = "any"
    kind: FaultKind
    probability: float | None = Field(default=None, ge=0, le=1)
    schedule: list[int] | None = None
    times: int | None = Field(default=None, ge=0)
    retry_after: float | None = Field(default=None, ge=0)
    delay_seconds: float = Field(default=5.0, ge=0)

    def matches(self, endpoint: Endpoint) -> bool:
        return self.endpoint in ("any", endpoint)


class FaultConfig(BaseModel):
    """Body of `PUT /_sim/faults` and of the `--faults-file` JSON."""

    model_config = ConfigDict(extra="ignore")

    seed: int | None = None
    rules: list[FaultRule] = Field(default_factory=list)


@dataclass
class RuleState:
    calls: int = 0
    fired: int = 0


class FaultEngine:
    """Holds the active fault config and decides, call by call, whether to inject."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = FaultConfig()
        self._states: list[RuleState] = []
        self._rng = random.Random()
        self.replace(config or FaultConfig())

    def replace(self, config: FaultConfig) -> None:
        self.config = config
        self._states = [RuleState() for _ in config.rules]
        self._rng = random.Random(config.seed)

    def clear(self) -> None:
        self.replace(FaultConfig())

    @property
    def active(self) -> bool:
        return bool(self.config.rules)

    def decide(self, endpoint: Endpoint) -> FaultRule | None:
        """Count this call against every matching rule; return the first rule that fires."""
        chosen: FaultRule | None = None
        for rule, state in zip(self.config.rules, self._states, strict=True):
            if not rule.matches(endpoint):
                continue
            state.calls += 1
            if chosen is None and self._fires(rule, state):
                state.fired += 1
                chosen = rule
        return chosen

    def _fires(self, rule: FaultRule, state: RuleState) -> bool:
        if rule.schedule is not None and state.calls not in rule.schedule:
            return False
        if rule.times is not None and state.fired >= rule.times:
            return False
        if rule.probability is not None:
            return self._rng.random() < rule.probability
        return True

    def view(self) -> dict[str, object]:
        data = self.config.model_dump(mode="json")
        data["rule_stats"] = [{"calls": s.calls, "fired": s.fired} for s in self._states]
        return data
