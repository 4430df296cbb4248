"""Experiments as configuration: arms with feed overrides, traffic splits, deterministic bucketing by hash.

An experiment is plain data (name, salt, status, arms with a traffic weight and parameter overrides:
``exploration_share``, ``blend``, ``personalize``, ``model_version``). A user's arm is a pure function
of ``(salt or name, user_id)`` and the weights, so every ingress replica agrees without coordination.

``ExperimentStore`` keeps the experiments in one JSON file in the data directory
(``<data_dir>/experiments.json``). The ingress re-reads it when its modification time changes (checked
at most every ``check_every_s``), so an arm can be ramped (weights changed) or rolled back (weight 0,
or the experiment stopped) without restarting the platform. Writes go through a temporary file and an
atomic rename, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

__all__ = [
    "CONFIG_FILE",
    "Arm",
    "Assignment",
    "Experiment",
    "ExperimentError",
    "ExperimentStore",
    "assign",
    "assign_all",
    "bucket",
    "feed_overrides",
    "parse_arm",
]

CONFIG_FILE = "experiments.json"
BUCKETS = 10_000
OVERRIDE_KEYS = ("exploration_share", "blend", "personalize", "model_version")


class ExperimentError(ValueError):
    """A bad experiment definition or command; the message says what to fix."""

    def __init__(self, message: str, *, experiment: str = "") -> None:
        self.experiment = experiment
        super().__init__(message)


class Arm(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    weight: float = 1.0  # traffic share relative to the other arms; 0 = rolled back (no new traffic)
    overrides: dict[str, Any] = {}


class Experiment(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    arms: list[Arm]
    status: str = "running"  # running | stopped
    salt: str = ""  # default: the name; change it to reshuffle users
    traffic: float = 1.0  # share of all users in the experiment; the rest get no arm

    def validate(self) -> Experiment:
        if not self.name or any(c.isspace() for c in self.name):
            raise ExperimentError("an experiment needs a name without spaces", experiment=self.name)
        if not self.arms:
            raise ExperimentError("an experiment needs at least one arm", experiment=self.name)
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ExperimentError(f"arm names must be unique, got {names}", experiment=self.name)
        if any(a.weight < 0 for a in self.arms) or sum(a.weight for a in self.arms) <= 0:
            raise ExperimentError("arm weights must be >= 0 and not all 0", experiment=self.name)
        if not 0.0 <= self.traffic <= 1.0:
            raise ExperimentError("traffic must be in [0, 1]", experiment=self.name)
        if self.status not in ("running", "stopped"):
            raise ExperimentError("status is running or stopped", experiment=self.name)
        for a in self.arms:
            bad = set(a.overrides) - set(OVERRIDE_KEYS)
            if bad:
                raise ExperimentError(
                    f"arm {a.name}: unknown overrides {sorted(bad)}; use {OVERRIDE_KEYS}",
                    experiment=self.name,
                )
            share = a.overrides.get("exploration_share")
            if share is not None and not 0.0 <= float(share) <= 1.0:
                raise ExperimentError(
                    f"arm {a.name}: exploration_share must be in [0, 1]", experiment=self.name
                )
        return self


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    experiment: str
    arm: str
    overrides: dict[str, Any] = {}


def bucket(salt: str, user_id: str, buckets: int = BUCKETS) -> int:
    """The user's bucket in ``[0, buckets)``: a stable hash (SHA-256), the same in every process."""
    digest = hashlib.sha256(f"{salt}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % buckets


def assign(exp: Experiment, user_id: str) -> Assignment | None:
    """The arm of ``user_id`` in ``exp`` (None: stopped, outside the traffic share, or all weights 0)."""
    if exp.status != "running":
        return None
    salt = exp.salt or exp.name
    if bucket(salt + "/traffic", user_id) >= exp.traffic * BUCKETS:
        return None
    total = sum(a.weight for a in exp.arms)
    if total <= 0:
        return None
    point = bucket(salt, user_id) / BUCKETS * total
    acc = 0.0
    for a in exp.arms:
        acc += a.weight
        if point < acc and a.weight > 0:
            return Assignment(experiment=exp.name, arm=a.name, overrides=dict(a.overrides))
    last = [a for a in exp.arms if a.weight > 0][-1]
    return Assignment(experiment=exp.name, arm=last.name, overrides=dict(last.overrides))


def assign_all(experiments: Sequence[Experiment], user_id: str) -> list[Assignment]:
    return [a for e in experiments if (a := assign(e, user_id)) is not None]


def feed_overrides(assignments: Sequence[Assignment]) -> dict[str, Any]:
    """``FeedContext`` keyword arguments for a user's arms (later experiments win on a shared key)."""
    out: dict[str, Any] = {"experiment": {a.experiment: a.arm for a in assignments}}
    for a in assignments:
        o = a.overrides
        if "exploration_share" in o:
            out["exploration_share"] = float(o["exploration_share"])
        if "blend" in o:
            out["blend"] = {str(k): float(v) for k, v in dict(o["blend"]).items()}
        if "personalize" in o:
            out["personalize"] = bool(o["personalize"])
        if "model_version" in o:
            out["model_version"] = str(o["model_version"])
    return out


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_arm(spec: str) -> Arm:
    """``name[:weight][,key=value...]``, e.g. ``explore30:1,exploration_share=0.3`` or
    ``popular:1,personalize=false``; values are JSON (``blend={"like":2}``) or plain strings."""
    head, *pairs = [p.strip() for p in spec.split(",")] if spec else [""]
    name, _, weight = head.partition(":")
    if not name:
        raise ExperimentError(f"bad arm {spec!r}: write name[:weight][,key=value...]")
    overrides = {}
    for pair in pairs:
        key, eq, raw = pair.partition("=")
        if not eq:
            raise ExperimentError(f"bad override {pair!r} in arm {name}: write key=value")
        overrides[key.strip()] = _value(raw.strip())
    try:
        w = float(weight) if weight else 1.0
    except ValueError:
        raise ExperimentError(f"bad weight {weight!r} in arm {name}: a number, e.g. {name}:0.5") from None
    return Arm(name=name, weight=w, overrides=overrides)


class ExperimentStore:
    """The experiments file of a data directory: read (cached by mtime), written atomically."""

    def __init__(self, data_dir: str | os.PathLike[str], *, check_every_s: float = 1.0) -> None:
        self.path = Path(data_dir) / CONFIG_FILE
        self.check_every_s = check_every_s
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._checked = 0.0
        self._cached: list[Experiment] = []

    def load(self) -> list[Experiment]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            return [e.validate() for e in msgspec.json.decode(raw, type=list[Experiment])]
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ExperimentError(
                f"{self.path} is not a valid experiments file ({exc}); fix or delete it"
            ) from None

    def current(self) -> list[Experiment]:
        """The running experiments, re-read when the file changed (cheap: a ``stat`` a second at most)."""
        now = time.monotonic()
        if now - self._checked < self.check_every_s:
            return self._cached
        with self._lock:
            self._checked = now
            try:
                mtime = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                self._mtime, self._cached = None, []
                return self._cached
            if mtime != self._mtime:
                # a broken file: keep serving the last good configuration while an operator fixes it
                with contextlib.suppress(ExperimentError):
                    self._cached = [e for e in self.load() if e.status == "running"]
                self._mtime = mtime
        return self._cached

    def overrides_for(self, user_id: str) -> dict[str, Any]:
        return feed_overrides(assign_all(self.current(), user_id))

    def save(self, experiments: Sequence[Experiment]) -> None:
        for e in experiments:
            e.validate()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(msgspec.json.format(msgspec.json.encode(list(experiments)), indent=2))
        os.replace(tmp, self.path)

    def upsert(self, exp: Experiment) -> None:
        others = [e for e in self.load() if e.name != exp.name]
        self.save([*others, exp.validate()])

    def get(self, name: str) -> Experiment:
        for e in self.load():
            if e.name == name:
                return e
        raise ExperimentError(
            f"no experiment {name!r} in {self.path}; create it with `reel experiments start`", experiment=name
        )

    def set_weights(self, name: str, weights: Mapping[str, float]) -> Experiment:
        """Ramp (or roll back with weight 0) arms of a running experiment."""
        exp = self.get(name)
        unknown = set(weights) - {a.name for a in exp.arms}
        if unknown:
            raise ExperimentError(f"experiment {name} has no arm(s) {sorted(unknown)}", experiment=name)
        arms = [msgspec.structs.replace(a, weight=float(weights.get(a.name, a.weight))) for a in exp.arms]
        new = msgspec.structs.replace(exp, arms=arms)
        self.upsert(new)
        return new

    def set_status(self, name: str, status: str) -> Experiment:
        new = msgspec.structs.replace(self.get(name), status=status)
        self.upsert(new)
        return new
