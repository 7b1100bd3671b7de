"""Exceptions of reelflow's Python API: catch :class:`ReelflowError` for all of them."""

from __future__ import annotations


class ReelflowError(Exception):
    """Base of every error the Python API raises."""


class InvalidVideoRequestError(ReelflowError, ValueError):
    """The request was rejected before anything was started or paid for."""


class JobNotFoundError(ReelflowError):
    """No job with this id exists in the namespace."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no video job with id {job_id!r}")
        self.job_id = job_id


class NoWorkerError(ReelflowError):
    """No worker polls the task queue, so a started job would wait silently."""


class VideoJobError(ReelflowError):
    """The job ended without a video; ``code`` and ``message`` say why."""

    def __init__(self, job_id: str, code: str, message: str) -> None:
        super().__init__(f"video job {job_id} {self.verb}: {message}")
        self.job_id = job_id
        self.code = code
        self.message = message

    verb = "ended"


class VideoJobFailedError(VideoJobError):
    verb = "failed"


class VideoJobCancelledError(VideoJobError):
    verb = "was cancelled"


class VideoJobTimedOutError(VideoJobFailedError):
    verb = "timed out"
