"""Bootstrap CIs over users: coverage of a known mean, ratio metrics, lifts."""

from __future__ import annotations

import numpy as np

from sim.stats import bootstrap_lift, bootstrap_ratio


def test_ci_covers_the_true_mean_most_of_the_time() -> None:
    rng = np.random.default_rng(0)
    hits = 0
    for i in range(100):
        x = rng.exponential(2.0, size=300)
        ci = bootstrap_ratio(x, resamples=400, seed=i)
        hits += ci["lo"] <= 2.0 <= ci["hi"]
        assert ci["lo"] <= ci["mean"] <= ci["hi"]
    assert 88 <= hits <= 100  # nominal 95 %


def test_ratio_is_sum_over_sum_and_narrows_with_more_users() -> None:
    num, den = [1, 2, 3, 4], [2, 4, 6, 8]
    ci = bootstrap_ratio(num, den, resamples=200)
    assert ci["mean"] == 0.5 and ci["lo"] == ci["hi"] == 0.5
    rng = np.random.default_rng(1)
    small = bootstrap_ratio(rng.binomial(10, 0.3, 50), [10] * 50, seed=1)
    big = bootstrap_ratio(rng.binomial(10, 0.3, 5000), [10] * 5000, seed=1)
    assert big["hi"] - big["lo"] < (small["hi"] - small["lo"]) / 5


def test_lift_sign_and_null() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(11.0, 2.0, 2000)
    b = rng.normal(10.0, 2.0, 2000)
    lift = bootstrap_lift((a, None), (b, None), resamples=500)
    assert 0.07 < lift["lo"] < lift["mean"] < lift["hi"] < 0.13
    same = bootstrap_lift((b[:1000], None), (b[1000:], None), resamples=500)
    assert same["lo"] < 0 < same["hi"]
