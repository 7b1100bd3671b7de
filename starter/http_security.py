"""Optional bearer-token auth, and signed result URLs a ``<video>`` element can load.

With ``REELFLOW_API_TOKEN`` set, every ``/api`` route wants ``Authorization: Bearer <token>``.
A ``<video src>`` cannot send that header, so the result URLs the API hands out carry an
expiring HMAC signature instead (``?expires=…&signature=…``), keyed by the token: the content
route accepts either. Tokens and signatures are compared in constant time and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from dataclasses import dataclass

from fastapi import HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

CONTENT_URL_TTL_SECONDS = 24 * 3600
"""How long a signed result URL stays valid (with auth on; without, URLs do not expire)."""

bearer_scheme = HTTPBearer(auto_error=False, description="REELFLOW_API_TOKEN, when set.")


@dataclass(frozen=True)
class ContentSigner:
    """Signs ``(job id, variant, expiry)`` with a key derived from the API token."""

    key: bytes
    ttl_seconds: int = CONTENT_URL_TTL_SECONDS

    @classmethod
    def for_token(cls, token: str) -> ContentSigner:
        # A derived key: a leaked signature says nothing about the token itself.
        key = hmac.new(token.encode(), b"reelflow content url v1", hashlib.sha256).digest()
        return cls(key)

    def signature(self, job_id: str, variant: str, expires: int) -> str:
        message = f"{job_id}\n{variant}\n{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def sign(self, job_id: str, variant: str, now: float | None = None) -> tuple[int, str]:
        """``(expires, signature)`` for a URL valid for ``ttl_seconds`` from ``now``."""
        expires = int(now if now is not None else time.time()) + self.ttl_seconds
        return expires, self.signature(job_id, variant, expires)

    def verify(self, job_id: str, variant: str, expires: int, signature: str) -> bool:
        if expires < time.time():
            return False
        return hmac.compare_digest(self.signature(job_id, variant, expires), signature)


def token_matches(expected: str | None, credentials: HTTPAuthorizationCredentials | None) -> bool:
    """True when auth is off, or the request carries the right bearer token."""
    if expected is None:
        return True
    if credentials is None or credentials.scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.credentials.encode(), expected.encode())


def unauthorized() -> HTTPException:
    return HTTPException(
        status_code=401,
        detail="missing or invalid bearer token",
        headers={"WWW-Authenticate": 'Bearer realm="reelflow"'},
    )


class RedactSignatures(logging.Filter):
    """Keeps signed-URL signatures out of access logs (they grant access to a video)."""

    _pattern = re.compile(r"(signature=)[0-9a-fA-F]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._pattern.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True
