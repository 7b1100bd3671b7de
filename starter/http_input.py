"""What the HTTP API reads: TanStack's request bodies, turned into a validated ``VideoRequest``.

Everything here is checked before a job is started, so a bad request costs nothing. Problems
are raised as :class:`RequestProblem`, naming the field the way the caller spelled it
(``duration``, not reelflow's ``seconds``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from starter.http_events import BEFORE_FIRST
from workflows.contract import JOB_ID_PATTERN, VideoRequest

RUN_JOB_PREFIX = "run-"
"""A job started for run id R is ``run-R`` when R is a safe id, else ``run.`` + a hash of R."""

HASHED_RUN_JOB_PREFIX = "run."

_FIELD_NAMES = {
    "seconds": "duration",
    "model_options": "modelOptions",
    "polling_interval": "pollingInterval",
    "max_duration": "maxDuration",
    "input_reference": "inputReference",
}
"""reelflow's field names → the names a TanStack app sends."""

_KNOWN_KEYS = frozenset(
    {
        "prompt",
        "size",
        "duration",
        "seconds",
        "model",
        "modelOptions",
        "model_options",
        "pollingInterval",
        "maxDuration",
        "inputReference",
        "input_reference",
    }
)


@dataclass
class RequestProblem(Exception):
    """A request reelflow refuses: HTTP ``status``, a message and the fields at fault."""

    status: int
    message: str
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


class RunAgentInput(BaseModel):
    """The AG-UI body ``fetchServerSentEvents`` posts; the generation input is in ``data``."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "threadId": "thread-1",
                    "runId": "run-1",
                    "data": {"prompt": "A paper boat on a pond", "size": "1280x720", "duration": 4},
                }
            ]
        },
    )

    threadId: str | None = Field(default=None, description="The caller's thread id (echoed).")
    runId: str | None = Field(
        default=None, description="The run id; the job id derives from it (or from X-Run-Id)."
    )
    data: dict[str, Any] | None = Field(
        default=None,
        description="prompt, size, duration (seconds), model, modelOptions; other keys are "
        "passed to the provider as model options.",
    )
    forwardedProps: dict[str, Any] | None = Field(
        default=None, description="Read when `data` is absent (same content)."
    )

    def generation_input(self) -> dict[str, Any]:
        return dict(self.data if self.data is not None else self.forwardedProps or {})


class VideoInput(BaseModel):
    """The body of fetcher mode: TanStack's ``VideoGenerateInput`` (or an AG-UI body)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [{"prompt": "A paper boat on a pond", "size": "1280x720", "duration": 4}]
        },
    )

    # Loosely typed on purpose: ``video_request`` checks them all, naming the field.
    prompt: Any = Field(default=None, description="Text, or a list of TanStack text parts.")
    size: Any = Field(default=None, description="WIDTHxHEIGHT, e.g. 1280x720.")
    duration: Any = Field(default=None, description="Seconds: 4, 8 or 12.")
    model: Any = Field(default=None, description="e.g. sora-2.")
    modelOptions: Any = Field(default=None, description="Passed to the provider.")

    def generation_input(self) -> dict[str, Any]:
        body = self.model_dump(exclude_none=True)
        inner = body.get("data")
        if isinstance(inner, dict):
            return dict(inner)
        return {key: value for key, value in body.items() if key not in ("runId", "threadId")}


def new_run_id() -> str:
    return f"reelflow-{uuid.uuid4().hex[:20]}"


def job_id_for_run(run_id: str) -> str:
    """The job a run id attaches to: the same run id always names the same single job."""
    candidate = RUN_JOB_PREFIX + run_id
    if JOB_ID_PATTERN.fullmatch(candidate):
        return candidate
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:40]
    return HASHED_RUN_JOB_PREFIX + digest


def parse_offset(value: str | None, source: str) -> int:
    """An SSE offset (``Last-Event-ID`` or ``offset``): -1 or more; absent means -1."""
    if value is None or not value.strip():
        return BEFORE_FIRST
    try:
        offset = int(value.strip())
    except ValueError:
        raise RequestProblem(400, f"{source} must be an integer offset, got {value!r}") from None
    if offset < BEFORE_FIRST:
        raise RequestProblem(400, f"{source} must be -1 or more, got {offset}")
    return offset


def video_request(data: Mapping[str, Any]) -> VideoRequest:
    """Validate TanStack's generation input (see ``docs/http-api.md``) into a ``VideoRequest``."""
    fields: dict[str, Any] = {
        "prompt": _prompt_text(data.get("prompt")),
        "size": data.get("size"),
        "seconds": data.get("duration", data.get("seconds")),
        "model": data.get("model"),
        "model_options": _model_options(data),
        "polling_interval": _milliseconds(data, "pollingInterval"),
        "max_duration": _milliseconds(data, "maxDuration"),
        "input_reference": _input_reference(data),
    }
    try:
        return VideoRequest.model_validate(
            {key: value for key, value in fields.items() if value is not None}
        )
    except ValidationError as exc:
        raise _problem_from(exc) from None


def _prompt_text(prompt: Any) -> Any:
    """A string as is; TanStack's list of text parts joined; image/video parts refused."""
    if not isinstance(prompt, list):
        return prompt
    texts: list[str] = []
    for part in prompt:
        if not isinstance(part, dict) or part.get("type") != "text":
            raise RequestProblem(
                422,
                "invalid video request: prompt: only text parts are supported "
                "(send a reference image as inputReference)",
                ["prompt"],
            )
        texts.append(str(part.get("content", "")))
    return "\n".join(texts)


def _model_options(data: Mapping[str, Any]) -> dict[str, Any]:
    options = data.get("modelOptions", data.get("model_options"))
    if options is not None and not isinstance(options, dict):
        raise RequestProblem(
            422, "invalid video request: modelOptions: must be an object", ["modelOptions"]
        )
    merged = dict(options or {})
    for key, value in data.items():
        if key not in _KNOWN_KEYS and value is not None:
            merged[key] = value
    return merged


def _milliseconds(data: Mapping[str, Any], name: str) -> timedelta | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestProblem(
            422, f"invalid video request: {name}: must be a number of milliseconds", [name]
        )
    return timedelta(milliseconds=value)


def _input_reference(data: Mapping[str, Any]) -> str | None:
    """Only URLs: a path would let a caller make the worker upload any file it can read."""
    value = data.get("inputReference", data.get("input_reference"))
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise RequestProblem(
            422,
            "invalid video request: inputReference: must be an http(s) URL",
            ["inputReference"],
        )
    return value


def _problem_from(exc: ValidationError) -> RequestProblem:
    fields: list[str] = []
    lines: list[str] = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        name = _field_name(error["loc"], message)
        if name and name not in fields:
            fields.append(name)
        lines.append(f"{name}: {message}" if name else message)
    return RequestProblem(422, "invalid video request: " + "; ".join(lines), fields)


def _field_name(location: tuple[int | str, ...], message: str) -> str | None:
    """The caller's name for the field at fault; model-level checks name it in the message."""
    parts = [str(part) for part in location]
    if not parts:
        first = message.split(" ", 1)[0].strip("'\":,")
        if first in _FIELD_NAMES or first in ("prompt", "size", "model"):
            parts = [first]
        else:
            return None
    parts[0] = _FIELD_NAMES.get(parts[0], parts[0])
    return ".".join(parts)
