"""Moderation through the pipeline's port on the shared Ray session: real models on transcoded uploads.

A clean upload is approved end to end; a protected sound re-encoded 3 s later and an abusive caption
are rejected with their category (the creator sees it); a scoring timeout keeps the video unpublished
until a working service answers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from events.ids import new_event_id, now_us
from events.schema import (
    ModerationDecided,
    ModerationScored,
    ProtectedSoundRegistered,
    VideoPublished,
)
from media.fingerprint import audio_fingerprint
from media.synth import make_clip, melody
from moderation.backlog import backlog
from moderation.config import ModerationConfig
from moderation.port import keyframe_keys

from .moderation_env import ModEnv, mod_env
from .test_moderation_models import RATE, write_audio, write_upload

pytestmark = pytest.mark.timeout(420)


@pytest.fixture
async def env(ray_session: Any, tmp_path: Path) -> Any:
    async with mod_env(ray_session, tmp_path) as e:
        yield e


async def test_clean_upload_is_approved_and_unsafe_ones_rejected_end_to_end(
    env: ModEnv, tmp_path: Path
) -> None:
    song = melody(30, seed=42)
    original = audio_fingerprint(write_audio(tmp_path / "song.m4a", song, 192_000))
    assert original is not None
    await env.appender.append(
        [
            ProtectedSoundRegistered(
                event_id=new_event_id(),
                ts=now_us(),
                sound_id="snd-1",
                title="Summer Hit",
                owner="Label Records",
                fingerprint=original.fingerprint,
            )
        ]
    )
    env.start(env.port())
    clean = await env.upload(
        make_clip(tmp_path / "clean.mp4", 6, 360, 640, seed=21), caption="sunset at the lake"
    )
    copy = await env.upload(
        write_upload(tmp_path / "copy.mp4", 8, song[3 * RATE : 11 * RATE], 64_000),
        creator="creator-2",
        caption="my summer",
    )
    abuse = await env.upload(
        make_clip(tmp_path / "abuse.mp4", 4, 360, 640, seed=22),
        creator="creator-3",
        caption="you are a stupid fucking idiot",
    )

    v = await env.wait_status(clean, {"published", "rejected", "in_review"})
    assert v.status == "published", v
    events = await env.events(clean)
    [scored] = [e for e in events if isinstance(e, ModerationScored)]
    [decided] = [e for e in events if isinstance(e, ModerationDecided)]
    assert set(scored.scores) == {"nudity", "text", "copyright", "spam", "violence"}
    assert scored.scores["violence"] is None  # unscored, recorded as such
    assert all(s is not None and s < 0.3 for c, s in scored.scores.items() if c != "violence"), scored.scores
    assert scored.model_versions["nudity"].startswith("nudenet-320n@")
    assert scored.model_versions["text"].startswith("alt-profanity-check@")
    assert decided.decision == "approve" and "unscored: violence" in decided.reason
    assert any(isinstance(e, VideoPublished) for e in events)
    keys = keyframe_keys(clean, 3)  # a 6 s video has 3 segments of 2 s: one keyframe each
    assert all(env.blobs.exists(k) for k in keys)

    v = await env.wait_status(copy, {"published", "rejected", "in_review"})
    assert (v.status, v.reject_category) == ("rejected", "copyright"), v
    assert v.reject_reason and "Summer Hit" in v.reject_reason  # what the creator is told
    v = await env.wait_status(abuse, {"published", "rejected", "in_review"})
    assert (v.status, v.reject_category) == ("rejected", "text"), v
    assert not [e for e in await env.events(abuse) if isinstance(e, VideoPublished)]


async def test_a_scoring_timeout_fails_closed_and_the_video_resumes_later(
    env: ModEnv, tmp_path: Path
) -> None:
    slow = env.port(config=ModerationConfig(timeout_s=0.001))  # no scoring finishes in 1 ms
    env.start(slow)
    vid = await env.upload(make_clip(tmp_path / "c.mp4", 4, 360, 640, seed=23))
    await env.wait_status(vid, {"transcoded", "moderating"})
    await asyncio.sleep(4.0)  # several retries, each timing out
    v = await env.video(vid)
    assert v is not None and v.status == "transcoded"  # nothing published, nothing decided
    assert not [e for e in await env.events(vid) if isinstance(e, (VideoPublished, ModerationDecided))]
    status = await env.coordinators[0].status.remote()
    assert status["counts"].get("moderation_unavailable", 0) >= 2
    b = backlog(env.catalog, env.moderation, now_us())
    assert [w.video_id for w in b.waiting] == [vid]

    await env.stop_all()
    env.start(env.port())  # the service answers again
    v = await env.wait_status(vid, {"published", "rejected", "in_review"})
    assert v.status == "published"
    assert backlog(env.catalog, env.moderation, now_us()).waiting == []
    np.testing.assert_equal(len([e for e in await env.events(vid) if isinstance(e, ModerationDecided)]), 1)
