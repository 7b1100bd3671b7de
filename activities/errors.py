"""One exception hierarchy for provider calls, shaped by what the caller should do next.

- :class:`ProviderRetryableError`: try again later (408/409/429/5xx, connection errors, timeouts,
  unreadable bodies); carries the server's ``retry_after`` when it sent one.
- :class:`ProviderRequestError`: do not retry; the request or the account must change first
  (validation, auth, unknown id, quota, expired asset).
- :class:`ProviderUnavailableError`: do not retry; the Videos API is not served at the base URL.

The client never retries by itself: retries belong to Temporal's retry policies. No message
or repr ever contains the API key.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Any failed call to the video provider."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        param: str | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.param = param
        self.error_type = error_type

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status_code={self.status_code}, "
            f"code={self.code!r})"
        )


class ProviderRetryableError(ProviderError):
    """A transient failure: the same call may succeed later."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ProviderRateLimitError(ProviderRetryableError):
    """429 rate limit (not ``insufficient_quota``): wait ``retry_after`` seconds."""


class ProviderConnectionError(ProviderRetryableError):
    """The connection failed, was dropped or timed out before a full answer arrived."""


class ProviderResponseError(ProviderRetryableError):
    """The provider answered 2xx with a body that is not the expected JSON."""


class ProviderRequestError(ProviderError):
    """A permanent failure: retrying the same call gives the same answer."""


class ProviderValidationError(ProviderRequestError):
    """400: the request is invalid; ``param`` names the field."""


class ProviderAuthError(ProviderRequestError):
    """401/403: the API key is missing, wrong or not allowed."""


class ProviderNotFoundError(ProviderRequestError):
    """404 for a video id: the provider does not know this job (any more)."""


class ProviderQuotaError(ProviderRequestError):
    """429 ``insufficient_quota``: the account has no credit left."""


class ProviderAssetExpiredError(ProviderRequestError):
    """The video's assets expired before they were downloaded."""


class ProviderUnavailableError(ProviderError):
    """The Videos API is not served at this base URL (404 on the collection, model_not_found)."""
