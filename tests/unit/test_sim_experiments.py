"""Experiments: deterministic bucketing, traffic splits, ramps and rollbacks through the config file."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

from sim.experiments import (
    Arm,
    Experiment,
    ExperimentError,
    ExperimentStore,
    assign,
    bucket,
    feed_overrides,
    parse_arm,
)

USERS = [f"u-{i:05d}" for i in range(20_000)]


def _exp(**kw: object) -> Experiment:
    base: dict[str, object] = {
        "name": "explore",
        "arms": [
            Arm(name="a", weight=1, overrides={"exploration_share": 0.1}),
            Arm(name="b", weight=3, overrides={"exploration_share": 0.3}),
        ],
    }
    base.update(kw)
    return Experiment(**base).validate()  # type: ignore[arg-type]


def test_bucketing_is_a_stable_function_of_salt_and_user() -> None:
    assert bucket("s", "u-1") == bucket("s", "u-1")
    assert bucket("s", "u-1") == 1192  # pinned (SHA-256): every process and release must agree
    assert bucket("s", "u-1") != bucket("t", "u-1") or bucket("s", "u-2") != bucket("t", "u-2")
    exp = _exp()
    assert [assign(exp, u) for u in USERS[:200]] == [assign(exp, u) for u in USERS[:200]]


def test_split_follows_the_weights() -> None:
    counts = Counter(a.arm for u in USERS if (a := assign(_exp(), u)) is not None)
    assert counts["a"] + counts["b"] == len(USERS)
    assert abs(counts["b"] / len(USERS) - 0.75) < 0.015


def test_traffic_share_and_rollback() -> None:
    half = [assign(_exp(traffic=0.5), u) for u in USERS]
    assert abs(sum(a is not None for a in half) / len(USERS) - 0.5) < 0.015
    rolled = _exp(arms=[Arm(name="a", weight=1), Arm(name="b", weight=0)])
    assert {a.arm for u in USERS[:2000] if (a := assign(rolled, u))} == {"a"}
    assert assign(_exp(status="stopped"), USERS[0]) is None


def test_ramping_moves_only_users_of_the_ramped_arm() -> None:
    before = {u: assign(_exp(), u) for u in USERS[:5000]}
    after = {
        u: assign(_exp(arms=[Arm(name="a", weight=1), Arm(name="b", weight=1)]), u) for u in USERS[:5000]
    }
    moved = [u for u in before if before[u].arm != after[u].arm]  # type: ignore[union-attr]
    assert all(before[u].arm == "b" and after[u].arm == "a" for u in moved)  # type: ignore[union-attr]


def test_overrides_become_feed_context_fields() -> None:
    a = assign(_exp(), USERS[0])
    assert a is not None
    o = feed_overrides([a])
    assert o["experiment"] == {"explore": a.arm} and o["exploration_share"] in (0.1, 0.3)
    popular = parse_arm('popular:2,personalize=false,blend={"like":2}')
    assert popular.weight == 2 and popular.overrides == {"personalize": False, "blend": {"like": 2}}


def test_bad_definitions_are_refused() -> None:
    with pytest.raises(ExperimentError, match="unknown overrides"):
        _exp(arms=[Arm(name="a", overrides={"explore": 1})])
    with pytest.raises(ExperimentError, match="unique"):
        _exp(arms=[Arm(name="a"), Arm(name="a")])
    with pytest.raises(ExperimentError):
        parse_arm("x:lots")


def test_store_rereads_the_file_when_it_changes(tmp_path: Path) -> None:
    store = ExperimentStore(tmp_path, check_every_s=0.0)
    assert store.current() == [] and store.overrides_for("u-1") == {"experiment": {}}
    writer = ExperimentStore(tmp_path)
    writer.upsert(_exp())
    assert [e.name for e in store.current()] == ["explore"]
    writer.set_weights("explore", {"a": 0.0})
    os.utime(store.path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert {store.overrides_for(u)["experiment"]["explore"] for u in USERS[:300]} == {"b"}
    writer.set_status("explore", "stopped")
    os.utime(store.path, ns=(time.time_ns(), time.time_ns() + 2_000_000))
    assert store.current() == []
    store.path.write_text("{not json")
    os.utime(store.path, ns=(time.time_ns(), time.time_ns() + 3_000_000))
    assert store.current() == []  # keeps the last good configuration
    with pytest.raises(ExperimentError, match="not a valid"):
        store.load()
