"""Integration fixtures shared across files: one local Ray session for every Ray test of the run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """A local Ray (2 CPUs, no dashboard) started once per test session; yields the ``ray`` module.

    Starting Ray costs several seconds on a small machine, so every Ray test shares this one; keep
    actor counts small and give actors ``num_cpus=0`` where they mostly wait on IO.
    """
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, namespace="reelstack-tests",
                 logging_level=logging.WARNING, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="session")
def api_platform(ray_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The whole platform (log writer, views, shards, pipeline, Serve apps, trainer) on the shared Ray session,
    its HTTP API on a free loopback port; started once for every ``test_api_*`` file.

    Rate limits are set so ordinary tests never meet them (1000/s per address, 40/s per user) while
    the rate-limit test can still exhaust a user's bucket quickly.
    """
    from reelstack.platform import start_platform
    from reelstack.services import free_port
    from reelstack.settings import load_settings

    root = tmp_path_factory.mktemp("platform")
    # non-default moderation serving settings (harmless to the other tests) show they reach the platform
    moderation_file = root / "moderation.json"
    moderation_file.write_text('{"max_replicas": 1, "timeout_s": 25.0}')
    settings = load_settings(
        {}, data_dir=str(root), log_partitions=4, shards=2, rate_ip_per_s=1000.0, rate_ip_burst=2000,
        rate_user_per_s=40.0, rate_user_burst=60, max_body_bytes=64 * 1024, upload_max_bytes=8 * 1024 * 1024,
        ingress_replicas_max=1, moderation_config=str(moderation_file), trainer_publish_every_s=1.0,
        ranking_mode="deployment",  # test_api_ranking_down kills the ranking deployment's replicas
    )
    platform = start_platform(settings, namespace="reelstack-tests", host="127.0.0.1", port=free_port(),
                              moderation="serve")
    yield platform
    platform.stop()


@pytest.fixture(scope="session")
def videos(api_platform: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One creator's public, private and friends-only clips, uploaded and published through the API."""
    from concurrent.futures import ThreadPoolExecutor

    from media.synth import make_clip

    from .api_client import Api, wait_status

    root = tmp_path_factory.mktemp("api-clips")
    api = Api(api_platform.base_url)
    creator = api.register(name="Clip Maker", birth_year=1990)
    clips = {p: make_clip(root / f"{p}.mp4", 3, 288, 512, fps=24, seed=i + 40)
             for i, p in enumerate(("public", "private", "friends"))}

    def go(privacy: str) -> str:
        return creator.upload(clips[privacy], description=f"{privacy} clip #apitest #{privacy}",
                              privacy=privacy, music_id=f"sound-{privacy}")

    with ThreadPoolExecutor(3) as pool:
        ids = dict(zip(clips, pool.map(go, clips), strict=True))
    cards = {p: wait_status(creator, vid, {"published", "rejected", "failed"}) for p, vid in ids.items()}
    for p, card in cards.items():
        assert card["status"] == "published", (p, card)
    return {"creator": creator, "ids": ids, "cards": cards, "clip": clips["public"]}
