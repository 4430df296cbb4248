"""The real Serve deployment (one test): the pipeline fails closed while it is down, resumes once it is up,
batches calls, follows the log for reference data, and fails closed again when it is deleted."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from events.ids import new_event_id, now_us
from events.schema import ModerationDecided, ProtectedSoundRegistered, VideoPublished
from media.fingerprint import audio_fingerprint
from media.synth import make_clip
from moderation.config import ModerationConfig
from moderation.inputs import ModerationInputs
from moderation.keyframes import keyframes_from_file
from moderation.port import ServeScoring

from .moderation_env import mod_env

pytestmark = pytest.mark.timeout(480)

APP = "moderation-test"


async def test_pipeline_waits_for_the_serve_deployment_and_resumes(ray_session: Any, tmp_path: Path) -> None:
    from ray import serve

    from serve.moderation import DEPLOYMENT, moderation_app

    serve.start(proxy_location="Disabled")
    config = ModerationConfig(timeout_s=10.0, max_replicas=1)
    async with mod_env(ray_session, tmp_path) as env:
        env.start(env.port(ServeScoring(app_name=APP, deployment=DEPLOYMENT), config))
        vid = await env.upload(make_clip(tmp_path / "a.mp4", 4, 360, 640, seed=31), caption="morning run")
        await env.wait_status(vid, {"transcoded", "moderating"})
        await asyncio.sleep(3.0)
        v = await env.video(vid)
        assert v is not None and v.status == "transcoded"  # down: nothing decided, nothing published
        assert (await env.coordinators[0].status.remote())["counts"].get("moderation_unavailable", 0) >= 1

        app = moderation_app(config, log_url=env.log_url, cluster_gpus=0, num_cpus=0)
        handle = serve.run(app, name=APP, route_prefix=None)
        v = await env.wait_status(vid, {"published", "rejected", "in_review"}, timeout_s=180)
        assert v.status == "published"
        [decided] = [e for e in await env.events(vid) if isinstance(e, ModerationDecided)]
        assert decided.decision == "approve"

        # batched calls, and reference data folded from the log by the replica
        clip = make_clip(tmp_path / "b.mp4", 4, 180, 320, seed=32)
        fp = audio_fingerprint(clip)
        assert fp is not None
        await env.appender.append(
            [
                ProtectedSoundRegistered(
                    event_id=new_event_id(),
                    ts=now_us(),
                    sound_id="s-1",
                    title="Hit",
                    owner="Label",
                    fingerprint=fp.fingerprint,
                )
            ]
        )
        await asyncio.sleep(0.6)
        frames = keyframes_from_file(clip, 2)
        batch = [
            ModerationInputs(
                video_id=f"x{i}", frames=frames, audio_fingerprint=fp.fingerprint, caption="hello"
            )
            for i in range(4)
        ]
        results = await asyncio.gather(*[handle.score.remote(x) for x in batch])
        assert [r.scores["copyright"] for r in results] == [1.0] * 4
        info = await handle.references.remote()
        assert info["sounds"] == 1 and info["largest_batch"] >= 2  # concurrent calls shared a model run

        # deleted: the next upload waits again
        serve.delete(APP)
        vid2 = await env.upload(make_clip(tmp_path / "c.mp4", 4, 360, 640, seed=33))
        await env.wait_status(vid2, {"transcoded", "moderating"})
        await asyncio.sleep(3.0)
        assert (await env.video(vid2)).status == "transcoded"  # type: ignore[union-attr]
        assert not [e for e in await env.events(vid2) if isinstance(e, VideoPublished)]
