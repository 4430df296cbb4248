"""Moderation configuration: per-category thresholds, the mature band, unscored handling, plug-ins, serving.

Defaults follow the platform rules: a score above ``reject_above`` (0.95) auto-rejects, a score of
``review_at`` (0.7) or more holds the video for a human, anything lower approves. ``from_json`` reads an
operator's file (any subset of fields); ``plugins_from_setting`` parses ``REEL_MODERATION_PLUGINS``.

Unscored categories (a scorer returned ``None``) route to review unless listed in ``allow_unscored``.
The default allows only ``violence``: no offline violence model ships with Reelstack, and a platform
that held every upload for a human because of a slot it knowingly left empty would publish nothing.
The gap is not hidden: the category stays ``None`` in ``ModerationScored`` and is named in the
decision's reason and in the review console. Any other category that fails to score (no decodable
keyframes, a crashed model) holds the video for review.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

__all__ = [
    "CATEGORIES",
    "CategoryPolicy",
    "ModerationConfig",
    "config_from_settings",
    "plugins_from_setting",
]

#: The ensemble's categories, in report order.
CATEGORIES: tuple[str, ...] = ("nudity", "text", "copyright", "spam", "violence")


class CategoryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    review_at: float = 0.7  # score >= review_at: held for review
    reject_above: float = 0.95  # score > reject_above: auto-rejected


class ModerationConfig(msgspec.Struct, frozen=True, kw_only=True):
    categories: dict[str, CategoryPolicy] = msgspec.field(
        default_factory=lambda: {c: CategoryPolicy() for c in CATEGORIES}
    )
    allow_unscored: tuple[str, ...] = ("violence",)
    #: Nudity scores in [mature_from, review_at) publish with age rating "mature" (18+ viewers only).
    mature_from: float = 0.4
    #: Keyframes sampled per video (evenly over its segments).
    max_keyframes: int = 8
    #: Long side of the frames sent to the image model (the detector runs at 320x320).
    frame_side: int = 320
    #: category -> "module:Class" of an extra or replacing scorer (constructed without arguments).
    plugins: dict[str, str] = {}
    #: Word lists (moderation/wordlists/<lang>.txt) used as the text model's second opinion.
    languages: tuple[str, ...] = ("en", "es", "fr", "de", "pt", "it")
    #: Near-duplicate threshold on the pHash distance (media.vfingerprint).
    near_duplicate: float = 0.18
    # serving
    timeout_s: float = 20.0
    max_batch_size: int = 8
    batch_wait_timeout_s: float = 0.05
    min_replicas: int = 1
    max_replicas: int = 4
    target_ongoing_requests: float = 4.0
    #: "auto": one GPU per replica when the Ray cluster has GPUs; "never"; or a fraction like "0.5".
    gpu: str = "auto"

    def policy(self, category: str) -> CategoryPolicy:
        return self.categories.get(category, CategoryPolicy())

    @classmethod
    def from_json(cls, path: str | Path) -> ModerationConfig:
        return msgspec.json.decode(Path(path).read_bytes(), type=cls)


def config_from_settings(settings: object) -> ModerationConfig:
    """``REEL_MODERATION_CONFIG`` (a JSON file; defaults when empty) plus ``REEL_MODERATION_PLUGINS``."""
    path = str(getattr(settings, "moderation_config", "") or "")
    config = ModerationConfig.from_json(path) if path else ModerationConfig()
    plugins = plugins_from_setting(str(getattr(settings, "moderation_plugins", "") or ""))
    if plugins:
        config = msgspec.structs.replace(config, plugins={**config.plugins, **plugins})
    return config


def plugins_from_setting(text: str) -> dict[str, str]:
    """``"violence=acme.safety:ViolenceScorer,nudity=x.y:Z"`` -> {category: target}."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        category, sep, target = part.partition("=")
        if not sep or ":" not in target:
            raise ValueError(f"plug-in entry {part!r} is not 'category=module:Class'")
        out[category.strip()] = target.strip()
    return out
