"""Read what a stored video really is (size, duration, audio), by decoding its container."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import av


@dataclass(frozen=True)
class VideoFacts:
    width: int
    height: int
    duration_seconds: float
    has_audio: bool


class NotAVideoError(ValueError):
    """The file is not a decodable video."""


def probe_video(path: Path) -> VideoFacts:
    """Open the container and read the video stream's geometry and the file's duration."""
    try:
        with av.open(str(path)) as container:
            video_streams = container.streams.video
            if not video_streams:
                raise NotAVideoError(f"{path} has no video stream")
            stream = video_streams[0]
            if container.duration is not None:
                duration = float(container.duration) / 1_000_000
            elif stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = 0.0
            return VideoFacts(
                width=int(stream.codec_context.width),
                height=int(stream.codec_context.height),
                duration_seconds=round(duration, 3),
                has_audio=bool(container.streams.audio),
            )
    except av.error.FFmpegError as exc:
        raise NotAVideoError(f"{path} is not a playable video: {exc}") from exc


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()
