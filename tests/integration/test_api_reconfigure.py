"""Tuning through Serve ``user_config``: redeploying the ingress with new rate limits applies them
(``Ingress.reconfigure``); the old limits come back the same way.

Through Serve's declarative config (``serve deploy`` / REST) a ``user_config`` change is a lightweight
update of the running replicas; through the Python API used here (``serve.run``) Serve rolls the
replicas, so this checks the limits' path, not the absence of a restart."""

from __future__ import annotations

from typing import Any

import pytest
from ray import serve

from serve.app import APP_NAME, build_apps, ingress_user_config

from .api_client import Api

pytestmark = pytest.mark.timeout(300)


def _redeploy(platform: Any, config: dict[str, Any]) -> None:
    apps = build_apps(platform.settings, namespace=platform.namespace, user_config=config)
    serve.run(apps[APP_NAME], name=APP_NAME, route_prefix="/")


def test_rate_limits_change_without_a_restart(api_platform: Any) -> None:
    user = Api(api_platform.base_url).register(name="Tuned", birth_year=1990)
    tight = {**ingress_user_config(api_platform.settings), "rate_user_per_s": 0.2, "rate_user_burst": 2}
    _redeploy(api_platform, tight)
    try:
        codes = [user.get("/auth/me").status_code for _ in range(6)]
        assert codes[:2] == [200, 200] and 429 in codes, codes
    finally:
        _redeploy(api_platform, ingress_user_config(api_platform.settings))
    fresh = Api(api_platform.base_url).register(name="Relaxed", birth_year=1990)
    assert all(fresh.get("/auth/me").status_code == 200 for _ in range(10))
    assert user.get("/health").json()["feed"] is True
