"""The provider contract's allowed values (OpenAI Videos API, ``sora-2`` family)."""

from __future__ import annotations

BASE_MODELS: tuple[str, ...] = ("sora-2", "sora-2-pro")
MODEL_SNAPSHOTS: dict[str, str] = {
    "sora-2-2025-10-06": "sora-2",
    "sora-2-2025-12-08": "sora-2",
    "sora-2-pro-2025-10-06": "sora-2-pro",
}
PRO_MODELS: frozenset[str] = frozenset({"sora-2-pro"})
SIZES_BY_MODEL_FAMILY: dict[str, tuple[str, ...]] = {
    "sora-2": ("720x1280", "1280x720"),
    "sora-2-pro": ("720x1280", "1280x720", "1024x1792", "1792x1024"),
}
ALLOWED_SECONDS: tuple[int, ...] = (4, 8, 12)
MAX_PROMPT_LENGTH = 32000


def known_models() -> tuple[str, ...]:
    return BASE_MODELS + tuple(MODEL_SNAPSHOTS)


def model_family(model: str) -> str:
    """Map a snapshot id to its base model (``sora-2-pro-2025-10-06`` → ``sora-2-pro``)."""
    return MODEL_SNAPSHOTS.get(model, model)
