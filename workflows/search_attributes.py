"""reelflow's custom search attributes (registered by ``reelflow dev`` and the compose setup)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

VIDEO_STATUS = SearchAttributeKey.for_keyword("VideoStatus")
VIDEO_PROGRESS = SearchAttributeKey.for_int("VideoProgress")
VIDEO_MODEL = SearchAttributeKey.for_keyword("VideoModel")
VIDEO_PROVIDER_JOB_ID = SearchAttributeKey.for_keyword("VideoProviderJobId")

ALL_KEYS = (VIDEO_STATUS, VIDEO_PROGRESS, VIDEO_MODEL, VIDEO_PROVIDER_JOB_ID)
"""Every key, in the order ``temporal server start-dev --search-attribute`` registers them."""

CLI_TYPES = {"KEYWORD": "Keyword", "INT": "Int"}


def dev_server_flags() -> list[str]:
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={CLI_TYPES[key.indexed_value_type.name]}"]
    return flags
