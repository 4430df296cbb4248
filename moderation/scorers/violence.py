"""Violence/gore: an empty slot. No offline model ships on these machines, so it reports ``None``.

``None`` means *unscored*, never *safe*: the policy holds unscored categories for review unless the
configuration lists them in ``allow_unscored`` (the default lists ``violence``, see
``moderation.config``), and the decision's reason and the review console name the gap.

Adding a model (operators): write a class with ``name = "violence"``, a ``version`` string and
``score(inputs: moderation.inputs.ModerationInputs) -> float | None`` (optionally ``score_batch``),
constructed without arguments; install its package on every node; then set
``REEL_MODERATION_PLUGINS="violence=your_pkg.module:YourScorer"`` (or ``plugins`` in the moderation
config JSON) and remove ``violence`` from ``allow_unscored``. The ensemble loads it in place of this one.
"""

from __future__ import annotations

from ..inputs import ModerationInputs

__all__ = ["UnscoredViolence"]


class UnscoredViolence:
    name = "violence"
    version = "none"

    def score(self, inputs: ModerationInputs) -> float | None:
        return None

    def assess(self, inputs: ModerationInputs) -> tuple[float | None, str]:
        return None, "no violence model is configured"
