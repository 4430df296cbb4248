"""Serve's ingress modes (``serve.modes``) and the settings that go with them.

- each mode's environment; an unknown mode is a ``ValueError`` that lists the modes;
- choosing a mode after ``ray.serve`` was imported in another one is refused (Ray reads it once), and
  choosing the one it runs in is a no-op; ``proxy`` clears the throughput variables a shell exported;
- ``REEL_SERVE_MODE=throughput`` needs ``REEL_RATE_IP_PER_S=0`` (the replicas see HAProxy's address),
  and 0 means no per-address limit (``address_limits`` gives none).
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from reelstack.settings import SettingsError, load_settings
from serve.api.ratelimit import TokenBuckets, address_limits
from serve.modes import SERVE_MODES, serve_mode_env, use_serve_mode

CONSTANTS = "ray.serve._private.constants"
FLAGS = ("RAY_SERVE_THROUGHPUT_OPTIMIZED", "RAY_SERVE_ENABLE_HA_PROXY")


def test_each_mode_has_its_environment() -> None:
    assert serve_mode_env("proxy") == {}
    assert serve_mode_env("throughput") == dict.fromkeys(FLAGS, "1")
    assert set(SERVE_MODES) == {"proxy", "throughput"}
    with pytest.raises(ValueError, match="proxy, throughput"):
        serve_mode_env("turbo")


def test_a_mode_is_refused_once_ray_serve_runs_in_another(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, CONSTANTS, SimpleNamespace(**dict.fromkeys(FLAGS, False)))
    use_serve_mode("proxy")  # the mode it runs in: nothing to do
    with pytest.raises(RuntimeError, match=r"before ray\.serve is imported"):
        use_serve_mode("throughput")
    monkeypatch.setitem(sys.modules, CONSTANTS, SimpleNamespace(**dict.fromkeys(FLAGS, True)))
    use_serve_mode("throughput")
    with pytest.raises(RuntimeError, match=r"before ray\.serve is imported"):
        use_serve_mode("proxy")


def test_proxy_mode_clears_exported_throughput_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, CONSTANTS, raising=False)
    for k in FLAGS:
        monkeypatch.setenv(k, "1")
    use_serve_mode("proxy")
    import os

    assert not any(k in os.environ for k in FLAGS)


def test_throughput_mode_needs_no_per_address_limit() -> None:
    assert load_settings({}).serve_mode == "proxy"
    with pytest.raises(SettingsError) as err:
        load_settings({"REEL_SERVE_MODE": "throughput"})
    assert err.value.variable == "REEL_RATE_IP_PER_S" and "HAProxy" in str(err.value)
    s = load_settings({"REEL_SERVE_MODE": "throughput", "REEL_RATE_IP_PER_S": "0"})
    assert s.serve_mode == "throughput" and s.rate_ip_per_s == 0
    for env, variable in (({"REEL_SERVE_MODE": "fast"}, "REEL_SERVE_MODE"),
                          ({"REEL_RATE_IP_PER_S": "-1"}, "REEL_RATE_IP_PER_S")):
        with pytest.raises(SettingsError) as err:
            load_settings(env)
        assert err.value.variable == variable


def test_a_zero_rate_means_no_per_address_limit() -> None:
    assert address_limits(0.0, 10) is None
    limits = address_limits(2.0, 1)
    assert isinstance(limits, TokenBuckets)
    assert limits.take("ip:a") == 0.0 and limits.take("ip:a") > 0  # a real bucket: the second waits
