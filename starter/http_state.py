"""What every route of the HTTP API shares: the client, settings, storage and URL building.

Routes get it through FastAPI dependencies (``Depends(http_state)``), so the app factory is
the only place that decides how it is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials

from activities.storage import LocalStorage
from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from starter.http_security import ContentSigner, bearer_scheme, token_matches, unauthorized
from workflows.contract import validate_job_id

Variant = Literal["video", "thumbnail"]


@dataclass
class HttpState:
    """Built once per app; ``client`` is connected at startup unless one was given."""

    settings: ReelflowSettings
    storage: LocalStorage
    signer: ContentSigner | None
    ping_interval: float
    watch_interval: float
    client: ReelflowClient | None = None

    @property
    def api_token(self) -> str | None:
        token = self.settings.api_token
        return (token.get_secret_value() or None) if token is not None else None

    def reelflow(self) -> ReelflowClient:
        if self.client is None:
            raise HTTPException(503, "not connected to Temporal yet")
        return self.client

    def content_url(
        self, request: Request, job_id: str, variant: Variant = "video"
    ) -> tuple[str, datetime | None]:
        """An absolute URL of a stored file, signed when auth is on; and when it expires."""
        base = self.settings.public_base_url or str(request.base_url)
        url = f"{base.rstrip('/')}/api/video/jobs/{job_id}/content"
        query: dict[str, str | int] = {}
        if variant != "video":
            query["variant"] = variant
        expires_at: datetime | None = None
        if self.signer is not None:
            expires, signature = self.signer.sign(job_id, variant)
            query.update(expires=expires, signature=signature)
            expires_at = datetime.fromtimestamp(expires, UTC)
        return (f"{url}?{urlencode(query)}" if query else url), expires_at


def http_state(request: Request) -> HttpState:
    state: HttpState = request.app.state.reelflow
    return state


State = Annotated[HttpState, Depends(http_state)]


def require_token(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """The bearer-token check of every ``/api`` route (a no-op when no token is configured)."""
    if not token_matches(state.api_token, credentials):
        raise unauthorized()


def checked_job_id(
    job_id: Annotated[str, Path(description="A job id, as returned in `jobId`.")],
) -> str:
    """A job id safe as a workflow id and a storage folder name (no ``..``, no slashes)."""
    try:
        return validate_job_id(job_id)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


JobId = Annotated[str, Depends(checked_job_id)]
