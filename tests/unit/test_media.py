"""Tests for simulator.media: outputs decode as the formats and sizes the Videos API promises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import pytest
from PIL import Image

from simulator import media
from simulator.media import RenderedMedia, media_cache_key, render_media

PROMPT = "A calico cat playing a grand piano on a foggy stage, warm spotlights, 35mm film"
FINAL_NAMES = {"video.mp4", "thumbnail.webp", "spritesheet.jpg"}


@dataclass(frozen=True)
class VideoProbe:
    """What a player sees when it decodes the MP4."""

    video_codec: str
    width: int
    height: int
    decoded_frames: int
    video_seconds: float
    audio_codec: str
    audio_seconds: float
    audio_sample_rate: int


def stream_seconds(stream: av.stream.Stream) -> float:
    assert stream.duration is not None and stream.time_base is not None
    return float(stream.duration * stream.time_base)


def probe(path: Path) -> VideoProbe:
    """Decode every video frame (to count them) and read both streams' durations."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        decoded = sum(1 for _ in container.decode(video))
        return VideoProbe(
            video_codec=video.codec_context.name,
            width=video.width,
            height=video.height,
            decoded_frames=decoded,
            video_seconds=stream_seconds(video),
            audio_codec=audio.codec_context.name,
            audio_seconds=stream_seconds(audio),
            audio_sample_rate=audio.sample_rate,
        )


def assert_valid_render(
    rendered: RenderedMedia, width: int, height: int, seconds: int, fps: int = 24
) -> None:
    info = probe(rendered.video)
    assert info.video_codec == "h264"
    assert (info.width, info.height) == (width, height)
    assert info.decoded_frames == seconds * fps
    assert info.video_seconds == pytest.approx(seconds, abs=1 / fps)
    assert info.audio_codec == "aac"
    assert info.audio_sample_rate == media.AUDIO_SAMPLE_RATE
    assert info.audio_seconds == pytest.approx(seconds, abs=0.05)

    with Image.open(rendered.thumbnail) as thumbnail:
        assert thumbnail.format == "WEBP"
        assert thumbnail.size == (width, height)
    with Image.open(rendered.spritesheet) as sheet:
        assert sheet.format == "JPEG"
        assert sheet.width == media.SPRITE_COLUMNS * media.SPRITE_TILE_WIDTH


def file_names(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


@pytest.fixture(scope="module")
def small_render(tmp_path_factory: pytest.TempPathFactory) -> RenderedMedia:
    """One 320x180 4 s render shared by the format assertions (rendering is the slow part)."""
    return render_media(PROMPT, 320, 180, 4, tmp_path_factory.mktemp("small") / "job")


def test_small_render_has_exact_formats_sizes_and_durations(small_render: RenderedMedia) -> None:
    assert_valid_render(small_render, 320, 180, 4)


def test_outputs_use_fixed_names_and_leave_no_temp_files(small_render: RenderedMedia) -> None:
    out_dir = small_render.video.parent
    assert small_render == RenderedMedia(
        out_dir / "video.mp4", out_dir / "thumbnail.webp", out_dir / "spritesheet.jpg"
    )
    assert file_names(out_dir) == FINAL_NAMES


def test_video_is_faststart(small_render: RenderedMedia) -> None:
    """The moov atom precedes mdat so browsers can start playback before the download ends."""
    head = small_render.video.read_bytes()
    assert 0 <= head.find(b"moov") < head.find(b"mdat")


def test_spritesheet_has_one_tile_per_second_rounded_up_to_full_rows(tmp_path: Path) -> None:
    rendered = render_media(PROMPT, 64, 36, 8, tmp_path, fps=4)
    with Image.open(rendered.spritesheet) as sheet:
        tile_height = 90  # 160 px wide tiles keep the 16:9 aspect
        assert sheet.size == (5 * 160, 2 * tile_height)


@pytest.mark.parametrize(("width", "height"), [(180, 320), (322, 182)])
def test_portrait_and_non_multiple_of_four_sizes(tmp_path: Path, width: int, height: int) -> None:
    assert_valid_render(render_media(PROMPT, width, height, 4, tmp_path), width, height, 4)


def test_other_frame_rates_keep_exact_frame_count(tmp_path: Path) -> None:
    assert_valid_render(render_media(PROMPT, 64, 48, 2, tmp_path, fps=30), 64, 48, 2, fps=30)


def test_full_hd_ish_landscape_render(tmp_path: Path) -> None:
    assert_valid_render(render_media(PROMPT, 1280, 720, 4, tmp_path), 1280, 720, 4)


def test_long_and_non_ascii_prompts_render(tmp_path: Path) -> None:
    prompt = "Ünïcödé, 日本語 and a very long prompt " * 200 + "x" * 500
    assert_valid_render(render_media(prompt, 320, 180, 1, tmp_path), 320, 180, 1)


def test_content_depends_on_prompt(tmp_path: Path) -> None:
    first = render_media("a red fox", 64, 48, 1, tmp_path / "fox")
    second = render_media("a blue whale", 64, 48, 1, tmp_path / "whale")
    with Image.open(first.thumbnail) as a, Image.open(second.thumbnail) as b:
        assert a.tobytes() != b.tobytes()


def test_second_call_returns_cached_files_without_rendering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = render_media(PROMPT, 64, 48, 1, tmp_path)
    mtimes = {path: path.stat().st_mtime_ns for path in vars(first).values()}

    def fail_if_called(*args: object) -> None:
        raise AssertionError("cached render was re-encoded")

    monkeypatch.setattr(media, "_encode_video", fail_if_called)
    second = render_media(PROMPT, 64, 48, 1, tmp_path)

    assert second == first
    assert {path: path.stat().st_mtime_ns for path in vars(second).values()} == mtimes


def test_missing_output_triggers_full_rerender(tmp_path: Path) -> None:
    first = render_media(PROMPT, 64, 48, 1, tmp_path)
    video_mtime = first.video.stat().st_mtime_ns
    first.thumbnail.unlink()

    second = render_media(PROMPT, 64, 48, 1, tmp_path)

    assert second.thumbnail.is_file()
    assert second.video.stat().st_mtime_ns != video_mtime
    assert file_names(tmp_path) == FINAL_NAMES


def test_failed_render_leaves_no_partial_or_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_paint = media._FramePainter.paint

    def paint_then_crash(self: media._FramePainter, index: int) -> av.VideoFrame:
        if index == 10:
            raise RuntimeError("simulated crash mid-encode")
        return real_paint(self, index)

    monkeypatch.setattr(media._FramePainter, "paint", paint_then_crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        render_media(PROMPT, 64, 48, 1, tmp_path)

    assert file_names(tmp_path) == set()


@pytest.mark.parametrize(
    ("width", "height", "seconds", "fps"),
    [(321, 180, 4, 24), (320, 181, 4, 24), (8, 8, 4, 24), (320, 180, 0, 24), (320, 180, 4, 0)],
)
def test_rejects_unencodable_requests(
    tmp_path: Path, width: int, height: int, seconds: int, fps: int
) -> None:
    with pytest.raises(ValueError):
        render_media(PROMPT, width, height, seconds, tmp_path, fps=fps)


def test_cache_key_is_sha256_hex_of_all_four_inputs() -> None:
    key = media_cache_key(PROMPT, 1280, 720, 4)
    assert len(key) == 64
    assert int(key, 16) >= 0
    assert key == media_cache_key(PROMPT, 1280, 720, 4)
    variants = [
        media_cache_key(PROMPT + " ", 1280, 720, 4),
        media_cache_key(PROMPT, 720, 1280, 4),
        media_cache_key(PROMPT, 1280, 720, 8),
    ]
    assert key not in variants
    assert len(set(variants)) == len(variants)


def test_cache_key_fields_cannot_bleed_into_each_other() -> None:
    assert media_cache_key("a", 12, 34, 4) != media_cache_key("a1", 2, 34, 4)
