"""Read what a stored video really is (size, duration, audio), by decoding its container."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image


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
    check_mp4_boxes(path)
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


def check_mp4_boxes(path: Path) -> None:
    """Raise :class:`NotAVideoError` if an MP4's top-level boxes do not tile the file exactly.

    The container header alone does not show a cut or garbled body (the geometry and duration
    are in ``moov``, often at the front), so a half-received file would pass as playable.
    Files that are not ISO-BMFF are left to the decoder.
    """
    size = path.stat().st_size
    with path.open("rb") as file:
        if file.read(8)[4:8] != b"ftyp":
            return
        offset = 0
        while offset < size:
            file.seek(offset)
            header = file.read(16)
            box_size = int.from_bytes(header[:4], "big") if len(header) >= 8 else -1
            if box_size == 1:
                box_size = int.from_bytes(header[8:16], "big") if len(header) == 16 else -1
            elif box_size == 0:
                box_size = size - offset  # the last box runs to the end of the file
            if box_size < 8 or offset + box_size > size:
                kind = header[4:8].decode("latin-1") if len(header) >= 8 else "?"
                raise NotAVideoError(
                    f"{path} is truncated or corrupt: box {kind!r} at byte {offset} "
                    f"declares {box_size} bytes but {size - offset} remain"
                )
            offset += box_size


def check_image(path: Path) -> None:
    """Raise :class:`NotAVideoError` if a thumbnail is cut or garbled (decoded in full)."""
    size = path.stat().st_size
    with path.open("rb") as file:
        head = file.read(12)
    if head[:4] == b"RIFF" and int.from_bytes(head[4:8], "little") + 8 != size:
        raise NotAVideoError(
            f"{path} is truncated or corrupt: its RIFF header declares "
            f"{int.from_bytes(head[4:8], 'little') + 8} bytes but the file has {size}"
        )
    try:
        with Image.open(path) as image:
            image.load()
    except (OSError, ValueError) as exc:
        raise NotAVideoError(f"{path} is not a readable image: {exc}") from exc


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()
