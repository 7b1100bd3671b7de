"""Placeholder media for the Videos API simulator: an H.264/AAC MP4, a WebP thumbnail, a JPEG
spritesheet.

The clip shows the prompt over an animated background whose colours and motion are derived from
a hash of the prompt, plus a frame counter and a progress bar, with a quiet chord progression as
audio. Frames are painted directly in YUV 4:2:0 with numpy: the background is separable (one
broadcast add per plane), the text is rasterised once with Pillow, so no per-frame colour
conversion is needed and a 1280x720 clip renders far faster than real time on a small machine.

Every output is written to a temp name in ``out_dir`` and renamed into place after an fsync, so a
crash never leaves a partial file under a final name; existing outputs are reused as a cache.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import math
import os
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

VIDEO_NAME = "video.mp4"
THUMBNAIL_NAME = "thumbnail.webp"
SPRITESHEET_NAME = "spritesheet.jpg"

MIN_DIMENSION = 16
AUDIO_SAMPLE_RATE = 48_000
ENCODER_THREADS = 2
X264_OPTIONS = {"preset": "ultrafast", "crf": "20"}
KEYFRAME_INTERVAL_SECONDS = 2
SPRITE_COLUMNS = 5
SPRITE_TILE_WIDTH = 160

# ffmpeg enum values (AVCOL_*) for BT.709 limited range, the colours the frames are painted in.
_BT709 = 1
_LIMITED_RANGE = 1

Plane = NDArray[np.uint8]
Alpha = NDArray[np.int32]
Floats = NDArray[np.float64]
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive); even, for 4:2:0 chroma
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class RenderedMedia:
    """Final paths of one render; all three files exist once `render_media` returns."""

    video: Path  # H.264 + AAC MP4
    thumbnail: Path  # WebP
    spritesheet: Path  # JPEG grid of frames


def media_cache_key(prompt: str, width: int, height: int, seconds: int) -> str:
    """Hex sha256 identifying a render, so identical requests can share one output directory."""
    canonical = json.dumps([prompt, width, height, seconds], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def render_media(
    prompt: str, width: int, height: int, seconds: int, out_dir: Path, *, fps: int = 24
) -> RenderedMedia:
    """Render video, thumbnail and spritesheet for `prompt` into `out_dir`, or reuse them.

    Synchronous and CPU-bound: call it from a worker thread. `out_dir` should be dedicated to one
    `media_cache_key`; if all three files already exist there they are returned untouched.
    """
    _validate_request(width, height, seconds, fps)
    out_dir.mkdir(parents=True, exist_ok=True)
    media = RenderedMedia(
        video=out_dir / VIDEO_NAME,
        thumbnail=out_dir / THUMBNAIL_NAME,
        spritesheet=out_dir / SPRITESHEET_NAME,
    )
    if all(path.is_file() for path in (media.video, media.thumbnail, media.spritesheet)):
        return media

    sampler = _FrameSampler(width, height, frame_count=seconds * fps, seconds=seconds)
    with _atomic_destination(media.video) as temp:
        _encode_video(temp, prompt, width, height, seconds, fps, sampler)
    with _atomic_destination(media.thumbnail) as temp:
        sampler.thumbnail().save(temp, format="WEBP", quality=80, method=2)
    with _atomic_destination(media.spritesheet) as temp:
        sampler.spritesheet().save(temp, format="JPEG", quality=80)
    _fsync_directory(out_dir)
    return media


def _validate_request(width: int, height: int, seconds: int, fps: int) -> None:
    """Reject sizes H.264 4:2:0 cannot encode and non-positive durations up front."""
    for name, value in (("width", width), ("height", height)):
        if value < MIN_DIMENSION or value % 2:
            raise ValueError(f"{name} must be an even number >= {MIN_DIMENSION}, got {value}")
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")


# --- atomic file output ------------------------------------------------------------------------


@contextmanager
def _atomic_destination(final: Path) -> Iterator[Path]:
    """Yield a temp path beside `final`; on success fsync it and rename it over `final`.

    The temp file is removed if the body raises, so failed renders leave nothing behind.
    """
    temp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temp
        _fsync_file(temp)
        os.replace(temp, final)
    finally:
        temp.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    """Flush a file written by a library that does not expose its descriptor."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(path: Path) -> None:
    """Persist the renames in `path` (best effort: not every platform can fsync a directory)."""
    try:
        _fsync_file(path)
    except OSError:
        pass


# --- colours -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Yuv:
    """A BT.709 limited-range colour, as stored in yuv420p planes."""

    y: int
    u: int
    v: int

    @classmethod
    def from_hsv(cls, hue: float, saturation: float, value: float) -> _Yuv:
        red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
        luma = 0.2126 * red + 0.7152 * green + 0.0722 * blue
        return cls(
            y=round(16 + 219 * luma),
            u=round(128 + 224 * (blue - luma) / 1.8556),
            v=round(128 + 224 * (red - luma) / 1.5748),
        )


WHITE = _Yuv(235, 128, 128)


@dataclass(frozen=True)
class _Palette:
    """Background, shadow and accent colours chosen by the prompt hash."""

    primary: _Yuv
    secondary: _Yuv
    accent: _Yuv

    @classmethod
    def from_digest(cls, digest: bytes) -> _Palette:
        hue = digest[0] / 256
        return cls(
            primary=_Yuv.from_hsv(hue, 0.65, 0.60),
            secondary=_Yuv.from_hsv(hue + 0.12 + digest[1] / 1024, 0.75, 0.22),
            accent=_Yuv.from_hsv(hue + 0.5, 0.55, 0.95),
        )


# --- frame painting ----------------------------------------------------------------------------


class _Canvas:
    """One reusable yuv420p frame buffer with writable views of its three planes."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        luma_size = width * height
        self.buffer: Plane = np.zeros(luma_size * 3 // 2, dtype=np.uint8)
        self.y = self.buffer[:luma_size].reshape(height, width)
        self.u = self.buffer[luma_size : luma_size * 5 // 4].reshape(height // 2, width // 2)
        self.v = self.buffer[luma_size * 5 // 4 :].reshape(height // 2, width // 2)

    def planes(self, rect: Rect) -> tuple[Plane, Plane, Plane]:
        """Views of `rect` in the Y, U and V planes (chroma coordinates halved)."""
        x0, y0, x1, y1 = rect
        return (
            self.y[y0:y1, x0:x1],
            self.u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
            self.v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
        )

    def fill(self, rect: Rect, colour: _Yuv) -> None:
        for plane, value in zip(self.planes(rect), (colour.y, colour.u, colour.v), strict=True):
            plane[...] = value

    def darken(self, rect: Rect) -> None:
        """Quarter the brightness and saturation of `rect`: a cheap translucent panel."""
        luma, *chroma = self.planes(rect)
        np.right_shift(luma, 2, out=luma)
        np.add(luma, 12, out=luma)
        for plane in chroma:
            np.right_shift(plane, 2, out=plane)
            np.add(plane, 96, out=plane)

    def to_video_frame(self) -> av.VideoFrame:
        """Copy the buffer into a new frame (the encoder may still hold earlier ones)."""
        return av.VideoFrame.from_ndarray(self.buffer.reshape(-1, self.width), format="yuv420p")


def _even(value: float) -> int:
    return int(value) // 2 * 2


def _paint_separable_gradient(
    plane: Plane, start: int, end: int, wave_x: Floats, wave_y: Floats
) -> None:
    """Fill plane[y, x] = start + (end - start) * (0.5 + wave_x[x] / 4 + wave_y[y] / 4).

    Split into a non-negative row term and column term so one uint8 broadcast add paints it.
    """
    span = end - start
    shift = min(0.0, span / 2)
    row = start + shift + span * 0.25 * (1 + wave_x)
    column = span * 0.25 * (1 + wave_y) - shift
    np.add(
        column.round().astype(np.uint8)[:, None],
        row.round().astype(np.uint8)[None, :],
        out=plane,
    )


class _WaveBackground:
    """Two sine waves, one per axis, drifting at prompt-derived speeds between two colours."""

    def __init__(self, width: int, height: int, palette: _Palette, digest: bytes) -> None:
        self._palette = palette
        self._x = np.arange(width) / width * 2 * math.pi * (1 + digest[2] % 3 / 2)
        self._y = np.arange(height) / height * 2 * math.pi * (1 + digest[3] % 3 / 2)
        self._speed_x = 1.0 + digest[4] / 128
        self._speed_y = -0.7 - digest[5] / 160

    def paint(self, canvas: _Canvas, t: float) -> None:
        wave_x = np.sin(self._x + self._speed_x * t)
        wave_y = np.sin(self._y + self._speed_y * t)
        start, end = self._palette.primary, self._palette.secondary
        _paint_separable_gradient(canvas.y, start.y, end.y, wave_x, wave_y)
        for plane, a, b in ((canvas.u, start.u, end.u), (canvas.v, start.v, end.v)):
            _paint_separable_gradient(plane, a, b, wave_x[::2], wave_y[::2])


def _blend_towards(plane: Plane, value: int, alpha: Alpha) -> None:
    """plane += (value - plane) * alpha / 256, in integer arithmetic (alpha in 0..255)."""
    current = plane.astype(np.int32)
    plane[...] = current + (((value - current) * alpha) >> 8)


class _Orb:
    """A soft disc of the accent colour gliding along a Lissajous path."""

    def __init__(self, width: int, height: int, colour: _Yuv, digest: bytes) -> None:
        self._colour = colour
        self._width, self._height = width, height
        self._size = max(2, _even(min(width, height) / 3))
        radius = self._size / 2
        ys, xs = np.mgrid[0 : self._size, 0 : self._size] + 0.5 - radius
        distance = np.hypot(xs, ys) / radius
        self._alpha: Alpha = (np.clip((1 - distance) * 3, 0, 1) * 200).astype(np.int32)
        self._chroma_alpha: Alpha = self._alpha[::2, ::2]
        self._freq_x = 0.6 + digest[6] / 256
        self._freq_y = 0.9 + digest[7] / 256
        self._phase = digest[8] / 256 * 2 * math.pi

    def paint(self, canvas: _Canvas, t: float) -> None:
        x0 = _even((self._width - self._size) * (0.5 + 0.5 * math.sin(self._freq_x * t)))
        y0 = _even(
            (self._height - self._size) * (0.5 + 0.5 * math.sin(self._freq_y * t + self._phase))
        )
        rect = (x0, y0, x0 + self._size, y0 + self._size)
        luma, u, v = canvas.planes(rect)
        _blend_towards(luma, self._colour.y, self._alpha)
        _blend_towards(u, self._colour.u, self._chroma_alpha)
        _blend_towards(v, self._colour.v, self._chroma_alpha)


@dataclass(frozen=True)
class _Stamp:
    """White anti-aliased text as a luma mask, drawn on a darkened panel at `rect`."""

    rect: Rect
    luma: Plane

    @classmethod
    def from_mask(cls, mask: Image.Image, x0: int, y0: int, canvas: _Canvas) -> _Stamp:
        """Place a Pillow 'L' mask at (x0, y0), cropped to the canvas."""
        x1 = min(canvas.width, x0 + _even(mask.width))
        y1 = min(canvas.height, y0 + _even(mask.height))
        pixels = np.asarray(mask, dtype=np.uint16)[: y1 - y0, : x1 - x0]
        return cls((x0, y0, x1, y1), (pixels * WHITE.y // 255).astype(np.uint8))

    def paint(self, canvas: _Canvas) -> None:
        canvas.darken(self.rect)
        luma = canvas.planes(self.rect)[0]
        np.maximum(luma, self.luma, out=luma)


def _font(size: int) -> Font:
    """Pillow's bundled font (FreeType Aileron when available) at `size` pixels."""
    return ImageFont.load_default(size=size)


def _wrap_to_width(text: str, font: Font, max_width: int, max_lines: int) -> list[str]:
    """Word-wrap `text` to lines no wider than `max_width`; overflow ends in an ellipsis."""
    words = " ".join(text.split())
    average_char = font.getlength("abcdefghijklmnopqrstuvwxyz ") / 27
    columns = max(1, int(max_width / max(average_char, 1.0)))
    while True:
        lines = textwrap.wrap(words, columns) or [""]
        if columns == 1 or all(font.getlength(line) <= max_width for line in lines):
            break
        columns -= max(1, columns // 10)
    if len(lines) <= max_lines:
        return lines
    last = lines[max_lines - 1]
    while last and font.getlength(last + "...") > max_width:
        last = last[:-1]
    return [*lines[: max_lines - 1], last.rstrip() + "..."]


def _prompt_stamp(prompt: str, canvas: _Canvas) -> _Stamp:
    """Rasterise the wrapped prompt once, centred, sized relative to the frame."""
    font_size = max(10, round(min(canvas.width, canvas.height) * 0.06))
    font = _font(font_size)
    line_height = round(font_size * 1.3)
    padding = _even(font_size * 0.8)
    max_lines = max(1, int(canvas.height * 0.6) // line_height)
    lines = _wrap_to_width(prompt, font, int(canvas.width * 0.8), max_lines)
    text_width = max(font.getlength(line) for line in lines)
    mask = Image.new(
        "L", (math.ceil(text_width) + 2 * padding, len(lines) * line_height + 2 * padding)
    )
    draw = ImageDraw.Draw(mask)
    for row, line in enumerate(lines):
        origin = (mask.width / 2, padding + row * line_height)
        draw.text(origin, line, fill=255, font=font, anchor="ma")
    x0 = _even(max(0, canvas.width - mask.width) / 2)
    y0 = _even(max(0, canvas.height - mask.height) / 2)
    return _Stamp.from_mask(mask, x0, y0, canvas)


class _Hud:
    """Frame counter (top left) and progress bar (bottom edge)."""

    def __init__(self, canvas: _Canvas, frame_count: int, fps: int) -> None:
        self._frame_count = frame_count
        self._fps = fps
        self._font = _font(max(8, round(min(canvas.width, canvas.height) * 0.035)))
        widest = self._label(frame_count - 1)
        _, _, right, bottom = self._font.getbbox(widest)
        self._margin = _even(max(2, min(canvas.width, canvas.height) * 0.02))
        self._label_size = (math.ceil(right) + self._margin, math.ceil(bottom) + self._margin)
        bar_height = max(2, _even(canvas.height / 60))
        self._bar_top = canvas.height - bar_height

    def _label(self, index: int) -> str:
        seconds = index / self._fps
        return f"{index + 1}/{self._frame_count}  {seconds:.2f}s"

    def paint(self, canvas: _Canvas, index: int) -> None:
        mask = Image.new("L", self._label_size)
        half = self._margin // 2
        ImageDraw.Draw(mask).text((half, half), self._label(index), fill=255, font=self._font)
        _Stamp.from_mask(mask, self._margin, self._margin, canvas).paint(canvas)
        filled = _even(canvas.width * (index + 1) / self._frame_count)
        canvas.darken((filled, self._bar_top, canvas.width, canvas.height))
        canvas.fill((0, self._bar_top, filled, canvas.height), WHITE)


class _FramePainter:
    """Paints frame `index` of the clip for `prompt` into one reused canvas."""

    def __init__(self, prompt: str, width: int, height: int, fps: int, frame_count: int) -> None:
        digest = hashlib.sha256(prompt.encode("utf-8")).digest()
        palette = _Palette.from_digest(digest)
        self._fps = fps
        self._canvas = _Canvas(width, height)
        self._background = _WaveBackground(width, height, palette, digest)
        self._orb = _Orb(width, height, palette.accent, digest)
        self._prompt = _prompt_stamp(prompt, self._canvas)
        self._hud = _Hud(self._canvas, frame_count, fps)

    def paint(self, index: int) -> av.VideoFrame:
        t = index / self._fps
        self._background.paint(self._canvas, t)
        self._orb.paint(self._canvas, t)
        self._prompt.paint(self._canvas)
        self._hud.paint(self._canvas, index)
        frame = self._canvas.to_video_frame()
        frame.pts = index
        return frame


# --- audio -------------------------------------------------------------------------------------

_CHORD_SHAPES = ((0, 4, 7), (0, 3, 7), (0, 5, 7), (0, 4, 7, 11), (0, 3, 7, 10))
_SCALE_DEGREES = (0, 2, 4, 5, 7, 9)
_FADE_SECONDS = 0.02
_AUDIO_LEVEL = 0.12


def _chord_progression(prompt: str, seconds: int) -> NDArray[np.float32]:
    """One quiet chord per second, picked by the prompt hash; stereo (2, samples), click-free.

    The right channel is detuned slightly for width; each chord fades in and out over 20 ms so
    chord changes do not click.
    """
    digest = hashlib.sha256(b"audio:" + prompt.encode("utf-8")).digest()
    t = np.arange(AUDIO_SAMPLE_RATE) / AUDIO_SAMPLE_RATE
    fade = np.clip(np.minimum(t, 1 - t) / _FADE_SECONDS, 0, 1)
    envelope = 0.5 - 0.5 * np.cos(np.pi * fade)
    chords = []
    for second in range(seconds):
        choice = digest[second % len(digest)]
        shape = _CHORD_SHAPES[choice // len(_SCALE_DEGREES) % len(_CHORD_SHAPES)]
        root = _SCALE_DEGREES[choice % len(_SCALE_DEGREES)]
        frequencies = 220.0 * 2 ** ((root + np.array(shape)) / 12)
        left = np.sin(2 * np.pi * frequencies[:, None] * t).sum(axis=0)
        right = np.sin(2 * np.pi * 1.003 * frequencies[:, None] * t).sum(axis=0)
        chords.append(np.stack([left, right]) * envelope * (_AUDIO_LEVEL / len(shape)))
    return np.concatenate(chords, axis=1).astype(np.float32)


def _audio_frame(samples: NDArray[np.float32], start: int, stop: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples[:, start:stop]), format="fltp", layout="stereo"
    )
    frame.sample_rate = AUDIO_SAMPLE_RATE
    frame.pts = start
    frame.time_base = Fraction(1, AUDIO_SAMPLE_RATE)
    return frame


# --- encoding ----------------------------------------------------------------------------------


def _add_video_stream(
    container: av.container.OutputContainer, width: int, height: int, fps: int
) -> av.VideoStream:
    stream = container.add_stream("libx264", rate=fps, options=dict(X264_OPTIONS))
    stream.width = width
    stream.height = height
    stream.pix_fmt = "yuv420p"
    context = stream.codec_context
    context.thread_count = ENCODER_THREADS
    context.gop_size = KEYFRAME_INTERVAL_SECONDS * fps
    context.colorspace = _BT709
    context.color_primaries = _BT709
    context.color_trc = _BT709
    context.color_range = _LIMITED_RANGE
    return stream


def _add_audio_stream(container: av.container.OutputContainer) -> av.AudioStream:
    stream = container.add_stream("aac", rate=AUDIO_SAMPLE_RATE, layout="stereo")
    stream.codec_context.thread_count = 1
    return stream


def _encode_video(
    path: Path,
    prompt: str,
    width: int,
    height: int,
    seconds: int,
    fps: int,
    sampler: _FrameSampler,
) -> None:
    """Encode the clip to `path` (MP4, moov first), audio interleaved frame by frame."""
    frame_count = seconds * fps
    painter = _FramePainter(prompt, width, height, fps, frame_count)
    audio = _chord_progression(prompt, seconds)
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        video_stream = _add_video_stream(out, width, height, fps)
        audio_stream = _add_audio_stream(out)
        for index in range(frame_count):
            frame = painter.paint(index)
            out.mux(video_stream.encode(frame))
            sampler.offer(index, frame)
            start = index * AUDIO_SAMPLE_RATE // fps
            stop = (index + 1) * AUDIO_SAMPLE_RATE // fps
            out.mux(audio_stream.encode(_audio_frame(audio, start, stop)))
        out.mux(video_stream.encode(None))
        out.mux(audio_stream.encode(None))


# --- thumbnail and spritesheet -----------------------------------------------------------------


def _to_rgb_image(frame: av.VideoFrame, width: int, height: int) -> Image.Image:
    """Convert a painted BT.709 limited-range frame to an RGB image of the given size."""
    rgb = frame.reformat(
        width=width,
        height=height,
        format="rgb24",
        src_colorspace="ITU709",
        dst_colorspace="ITU709",
        src_color_range="MPEG",
        dst_color_range="JPEG",
        interpolation="AREA",
    )
    return Image.fromarray(rgb.to_ndarray())


class _FrameSampler:
    """Keeps the middle frame (thumbnail) and evenly spaced small tiles while encoding."""

    def __init__(self, width: int, height: int, *, frame_count: int, seconds: int) -> None:
        self._width, self._height = width, height
        self._thumbnail_index = frame_count // 2
        self._thumbnail: Image.Image | None = None
        rows = max(1, math.ceil(seconds / SPRITE_COLUMNS))
        count = SPRITE_COLUMNS * rows
        self._tile_indices = [int((k + 0.5) * frame_count / count) for k in range(count)]
        self._tile_size = (SPRITE_TILE_WIDTH, max(2, _even(SPRITE_TILE_WIDTH * height / width)))
        self._tiles: dict[int, Image.Image] = {}

    def offer(self, index: int, frame: av.VideoFrame) -> None:
        if index == self._thumbnail_index:
            self._thumbnail = _to_rgb_image(frame, self._width, self._height)
        if index in self._tile_indices:
            self._tiles[index] = _to_rgb_image(frame, *self._tile_size)

    def thumbnail(self) -> Image.Image:
        if self._thumbnail is None:
            raise RuntimeError("the middle frame was never offered")
        return self._thumbnail

    def spritesheet(self) -> Image.Image:
        """Tiles in time order, left to right then top to bottom."""
        tile_width, tile_height = self._tile_size
        rows = len(self._tile_indices) // SPRITE_COLUMNS
        sheet = Image.new("RGB", (tile_width * SPRITE_COLUMNS, tile_height * rows))
        for position, index in enumerate(self._tile_indices):
            row, column = divmod(position, SPRITE_COLUMNS)
            sheet.paste(self._tiles[index], (column * tile_width, row * tile_height))
        return sheet
