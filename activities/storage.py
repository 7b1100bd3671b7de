"""Where finished videos live: one folder per job under the configured storage directory."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from workflows.contract import validate_job_id


@dataclass(frozen=True)
class LocalStorage:
    """A local directory: ``{root}/{job_id}/video.mp4`` and ``thumbnail.webp``."""

    root: Path

    def job_dir(self, job_id: str) -> Path:
        return self.root / validate_job_id(job_id)

    def video_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "video.mp4"

    def thumbnail_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "thumbnail.webp"

    def url_for(self, path: Path) -> str:
        return path.resolve().as_uri()

    def remove_job(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def remove_temp_files(self, job_id: str) -> None:
        """Remove ``*.part`` files a killed download attempt left behind (never a final file)."""
        for temp in self.job_dir(job_id).glob(".*.part"):
            temp.unlink(missing_ok=True)
