"""Allowed values of the Videos API and the exact validation of request input."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from simulator.errors import ApiError, invalid_value

STANDARD_SIZES = ("720x1280", "1280x720")
PRO_SIZES = (*STANDARD_SIZES, "1024x1792", "1792x1024")
MODEL_SIZES: dict[str, tuple[str, ...]] = {
    "sora-2": STANDARD_SIZES,
    "sora-2-pro": PRO_SIZES,
    "sora-2-2025-10-06": STANDARD_SIZES,
    "sora-2-pro-2025-10-06": PRO_SIZES,
    "sora-2-2025-12-08": STANDARD_SIZES,
}
SECONDS = ("4", "8", "12")
DEFAULT_MODEL = "sora-2"
DEFAULT_SIZE = "720x1280"
DEFAULT_SECONDS = "4"
PROMPT_MAX_CHARS = 32000
REFERENCE_FORMATS = {"JPEG", "PNG", "WEBP"}
LIST_LIMIT_MAX = 100
LIST_LIMIT_DEFAULT = 20


@dataclass(frozen=True)
class CreateRequest:
    """A validated create (or remix) request."""

    prompt: str
    model: str
    size: str
    seconds: int
    reference_sha256: str | None = None

    @property
    def width(self) -> int:
        return int(self.size.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.size.split("x")[1])

    def fingerprint(self) -> str:
        """Identifies the request body, to detect idempotency-key reuse with another body."""
        fields = [self.prompt, self.model, self.size, self.seconds, self.reference_sha256]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


@dataclass(frozen=True)
class ListQuery:
    after: str | None
    limit: int
    order: str


def quoted_choices(values: Sequence[str]) -> str:
    """`'a' and 'b'` or `'a', 'b', and 'c'`, as in the upstream error messages."""
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a decimal", list: "an array"}
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    return names.get(type(value), "a " + type(value).__name__)


def invalid_type(param: str, expected: str, value: object) -> ApiError:
    return ApiError(
        400,
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param=param,
        code="invalid_type",
    )


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def validate_prompt(value: object) -> str:
    if value is None:
        raise ApiError(
            400,
            "Missing required parameter: 'prompt'.",
            param="prompt",
            code="missing_required_parameter",
        )
    if not isinstance(value, str):
        raise invalid_type("prompt", "a string", value)
    if not _encodable(value):
        raise ApiError(
            400,
            "Invalid 'prompt': the string is not valid Unicode (it has an unpaired surrogate).",
            param="prompt",
            code="invalid_value",
        )
    if not value:
        raise ApiError(
            400,
            "Invalid 'prompt': string too short. Expected a string with minimum length 1, "
            "but got an empty string instead.",
            param="prompt",
            code="string_below_min_length",
        )
    if len(value) > PROMPT_MAX_CHARS:
        raise ApiError(
            400,
            f"Invalid 'prompt': string too long. Expected a string with maximum length "
            f"{PROMPT_MAX_CHARS}, but got a string with length {len(value)} instead.",
            param="prompt",
            code="string_above_max_length",
        )
    return value


def validate_model(value: object, unavailable: Sequence[str]) -> str:
    if value is None:
        value = DEFAULT_MODEL
    if not isinstance(value, str):
        raise invalid_type("model", "a string", value)
    if value in unavailable:
        raise ApiError(
            404,
            f"The model '{value}' does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
    if value not in MODEL_SIZES:
        raise invalid_value(
            "model",
            f"Invalid value: '{value}'. Supported values are: {quoted_choices(list(MODEL_SIZES))}.",
        )
    return value


def validate_size(value: object, model: str) -> str:
    if value is None:
        value = DEFAULT_SIZE
    if not isinstance(value, str):
        raise invalid_type("size", "a string", value)
    allowed = MODEL_SIZES[model]
    if value not in allowed:
        raise invalid_value(
            "size",
            f"Invalid value: '{value}'. Supported values for model '{model}' are: "
            f"{quoted_choices(allowed)}.",
        )
    return value


def validate_seconds(value: object) -> int:
    if value is None:
        value = DEFAULT_SECONDS
    text = value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or text not in SECONDS:
        raise invalid_value(
            "seconds",
            f"Invalid value: '{text}'. Supported values are: {quoted_choices(SECONDS)}.",
        )
    return int(text)


def validate_create(
    fields: Mapping[str, object],
    *,
    unavailable_models: Sequence[str] = (),
    reference: bytes | None = None,
) -> CreateRequest:
    """Validate a create body (JSON object or form fields). Unknown fields are ignored."""
    prompt = validate_prompt(fields.get("prompt"))
    model = validate_model(fields.get("model"), unavailable_models)
    size = validate_size(fields.get("size"), model)
    seconds = validate_seconds(fields.get("seconds"))
    digest = None
    if reference is not None:
        check_reference_image(reference, size)
        digest = hashlib.sha256(reference).hexdigest()
    return CreateRequest(
        prompt=prompt, model=model, size=size, seconds=seconds, reference_sha256=digest
    )


def check_reference_image(data: bytes, size: str) -> None:
    """`input_reference` must be a JPEG, PNG or WebP image of exactly the requested size."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise invalid_value(
            "input_reference",
            "Invalid 'input_reference': expected a JPEG, PNG or WebP image.",
        ) from exc
    if image_format not in REFERENCE_FORMATS:
        raise invalid_value(
            "input_reference",
            f"Invalid 'input_reference': unsupported image format '{image_format}'. "
            "Supported formats are: JPEG, PNG and WebP.",
        )
    if f"{width}x{height}" != size:
        raise invalid_value(
            "input_reference",
            f"Invalid 'input_reference': the image is {width}x{height} but the requested "
            f"size is {size}; they must match.",
        )


def validate_list_query(params: Mapping[str, str]) -> ListQuery:
    after = params.get("after") or None
    raw_limit = params.get("limit")
    limit = LIST_LIMIT_DEFAULT
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise invalid_value(
                "limit", f"Invalid value for 'limit': '{raw_limit}' is not an integer."
            ) from None
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise invalid_value(
                "limit",
                f"Invalid value for 'limit': {limit}. It must be between 1 and {LIST_LIMIT_MAX}.",
            )
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_value(
            "order", f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'."
        )
    return ListQuery(after=after, limit=limit, order=order)
