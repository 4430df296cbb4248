"""Scorers without video: the real text model and word lists, spam heuristics, the nudity rule, references."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from events.schema import ProtectedSoundRegistered, UserRegistered, VideoTranscoded, VideoUploaded
from moderation.config import ModerationConfig
from moderation.ensemble import Ensemble
from moderation.inputs import AccountContext, Frame, ModerationInputs
from moderation.policy import route
from moderation.references import References
from moderation.scorers.copyright import similarity_score
from moderation.scorers.nudity import Detection, NudityScorer, frame_score
from moderation.scorers.spam import SpamScorer, noisy_or
from moderation.scorers.text import TextScorer, combine
from moderation.scorers.violence import UnscoredViolence

H = 3600 * 1_000_000


@pytest.fixture(scope="module")
def text() -> TextScorer:
    return TextScorer()


@pytest.mark.parametrize(
    "caption",
    ["you are a stupid fucking idiot", "I hate you all, go kill yourselves you worthless trash"],
)
def test_the_text_model_flags_abusive_captions(text: TextScorer, caption: str) -> None:
    score = text.score(ModerationInputs(video_id="v", caption=caption))
    assert score is not None and score >= 0.7


@pytest.mark.parametrize(
    "caption",
    ["have a lovely day at the beach", "new dance challenge with my sister, try it!", "how to bake bread"],
)
def test_the_text_model_passes_clean_captions(text: TextScorer, caption: str) -> None:
    score = text.score(ModerationInputs(video_id="v", caption=caption, hashtags=("#fyp", "#sunset")))
    assert score is not None and score < 0.3


def test_word_lists_are_a_second_opinion_in_other_languages(text: TextScorer) -> None:
    [(score, note)] = text.assess_batch([ModerationInputs(video_id="v", caption="eres un pendejo")])
    assert score is not None and 0.7 <= score <= 0.95 and "pendejo" in note  # review, not reject
    assert text.score(ModerationInputs(video_id="v", comments=("Connàrd !",))) == pytest.approx(0.75)
    assert text.score(ModerationInputs(video_id="v")) == 0.0  # nothing to find is scored, not skipped


def test_text_combination_rule() -> None:
    assert combine(0.99, 0) == 0.95  # the model alone holds for review, never rejects
    assert combine(0.99, 1) == 0.99
    assert combine(0.1, 1) == 0.75 and combine(0.1, 3) == 0.9


def inputs(**kw: object) -> ModerationInputs:
    base: dict[str, object] = {"video_id": "v1", "creator_id": "alice"}
    base.update(kw)
    return ModerationInputs(**base)  # type: ignore[arg-type]


def test_spam_clean_caption_from_an_established_account_scores_zero() -> None:
    s = SpamScorer(References())
    old = AccountContext(account_age_s=90 * 86_400, uploads_last_hour=1)
    assert s.score(inputs(caption="my cat learns to skate #cats", account=old)) == 0.0


def test_spam_links_handles_scam_phrases_bursts_and_new_accounts_add_up() -> None:
    s = SpamScorer(References())
    scam = "FREE GIVEAWAY dm me! https://x.example/win www.win.example bit.ly/abc @ann @bo @cy @dee @eve @fay"
    new_burst = AccountContext(account_age_s=600, uploads_last_hour=12)
    sig = s.signals(inputs(caption=scam, account=new_burst))
    assert set(sig) == {"links", "handles", "scam_phrase", "burst", "new_account"}
    score = s.score(inputs(caption=scam, account=new_burst))
    assert score is not None and score > 0.95
    assert s.score(inputs(account=AccountContext(account_age_s=600))) == pytest.approx(0.2)  # weak alone
    assert noisy_or([0.5, 0.5]) == pytest.approx(0.75)


def test_spam_near_duplicate_reupload_of_another_creators_video() -> None:
    refs = References()
    fp = ("f0f0f0f0f0f0f0f0", "0f0f0f0f0f0f0f0f", "ffff0000ffff0000", "00ff00ff00ff00ff")
    refs.apply(
        VideoTranscoded(
            event_id="e1",
            ts=1,
            video_id="orig",
            creator_id="bob",
            duration_ms=4000,
            width=1,
            height=1,
            master_playlist_key="k",
            renditions=(),
            video_fingerprint=fp,
        )
    )
    s = SpamScorer(refs)
    near = ("f0f0f0f0f0f0f0f1", *fp[1:])  # one bit off
    assert s.signals(inputs(video_fingerprint=near)) == {"duplicate_of:orig": 0.8}
    assert s.signals(inputs(creator_id="bob", video_fingerprint=near)) == {"reupload_of:orig": 0.6}
    other = ("0123456789abcdef", "fedcba9876543210", "0f1e2d3c4b5a6978", "8796a5b4c3d2e1f0")
    assert s.signals(inputs(video_fingerprint=other)) == {}


def test_references_fold_accounts_uploads_and_sounds() -> None:
    refs = References().apply_all(
        [
            UserRegistered(event_id="u", ts=10 * H, user_id="alice", language="es"),
            *[
                VideoUploaded(
                    event_id=f"x{i}",
                    ts=10 * H + i * 60_000_000,
                    video_id=f"v{i}",
                    creator_id="alice",
                    blob_key="k",
                    sha256="0" * 64,
                    size_bytes=1,
                )
                for i in range(8)
            ],
            ProtectedSoundRegistered(
                event_id="s", ts=1, sound_id="s1", title="Song", owner="Label", fingerprint="AQAA"
            ),
        ]
    )
    ctx = refs.account("alice", refs.upload_at["v7"])
    assert ctx.uploads_last_hour == 8 and ctx.language == "es"
    assert ctx.account_age_s == pytest.approx(7 * 60)
    assert refs.account("alice", refs.upload_at["v7"] + 2 * H).uploads_last_hour == 0
    assert refs.account("nobody", 0).account_age_s is None
    assert set(refs.sounds) == {"s1"}


def test_copyright_similarity_mapping() -> None:
    assert similarity_score(0.25) == 0.0  # unrelated music
    assert similarity_score(0.92) == 1.0  # a re-encoded copy
    assert 0.0 < similarity_score(0.6) < 1.0


class InjectedDetector:
    """Detector outputs injected at the image-model port (the scoring rule and routing are real)."""

    version = "injected"

    def __init__(self, per_frame: list[Detection]) -> None:
        self.per_frame = per_frame

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detection]:
        assert len(frames) == len(self.per_frame)
        return self.per_frame


def frames(n: int) -> tuple[Frame, ...]:
    return tuple(Frame.from_array(float(i), np.zeros((32, 18, 3), np.uint8)) for i in range(n))


@pytest.mark.parametrize(
    ("detections", "decision", "rating"),
    [
        ([{}, {"FACE_FEMALE": 0.9}, {"FEET_EXPOSED": 0.8}], "approve", "general"),
        ([{}, {"BUTTOCKS_COVERED": 0.8}, {}], "approve", "mature"),  # 0.44: mature band
        ([{}, {"FEMALE_BREAST_EXPOSED": 0.85}, {}], "review", "mature"),  # 0.765
        ([{"FEMALE_GENITALIA_EXPOSED": 0.97}, {}, {}], "reject", "mature"),
    ],
)
def test_detector_outputs_route_through_the_real_rule_and_policy(
    detections: list[Detection], decision: str, rating: str, text: TextScorer
) -> None:
    refs = References()
    scorers = {
        "nudity": NudityScorer(InjectedDetector(detections)),
        "text": text,
        "spam": SpamScorer(refs),
        "violence": UnscoredViolence(),
    }
    ens = Ensemble(ModerationConfig(), refs, scorers)  # type: ignore[arg-type]
    result = ens.score(inputs(frames=frames(3), caption="summer at the lake"))
    assert result.versions["nudity"] == "injected" and result.scores["violence"] is None
    r = route(result.scores, ModerationConfig(), result.notes)
    assert (r.decision, r.age_rating) == (decision, rating)
    if decision == "reject":
        assert r.category == "nudity" and "female_genitalia_exposed" in r.reason


def test_frame_rule_ignores_unweighted_classes() -> None:
    assert frame_score({}) == 0.0
    assert frame_score({"FACE_MALE": 0.99, "ARMPITS_EXPOSED": 0.9}) == 0.0
    assert frame_score({"MALE_GENITALIA_EXPOSED": 0.6, "BUTTOCKS_COVERED": 0.9}) == pytest.approx(0.6)


def test_no_frames_leaves_nudity_unscored_and_a_broken_scorer_does_too() -> None:
    class Broken:
        name, version = "text", "broken"

        def score(self, x: ModerationInputs) -> float | None:
            raise RuntimeError("model file corrupt")

    ens = Ensemble(
        ModerationConfig(), References(), {"nudity": NudityScorer(InjectedDetector([])), "text": Broken()}
    )  # type: ignore[dict-item]
    s = ens.score(inputs(frames_note="renditions missing"))
    assert s.scores == {"nudity": None, "text": None}
    assert "model file corrupt" in s.notes["text"] and s.notes["nudity"] == "renditions missing"
    assert route(s.scores, ModerationConfig(), s.notes).decision == "review"


def test_near_duplicates_are_found_through_the_band_index_at_scale() -> None:
    rng = np.random.default_rng(5)
    refs = References(exhaustive_below=100)

    def hashes(n: int) -> tuple[str, ...]:
        return tuple(f"{int(x):016x}" for x in rng.integers(0, 2**63, n))

    original = hashes(15)
    for i in range(600):  # past the exhaustive limit: the band index picks the candidates
        fp = original if i == 432 else hashes(15)
        refs.apply(
            VideoTranscoded(
                event_id=f"e{i}",
                ts=i,
                video_id=f"v{i}",
                creator_id="bob",
                duration_ms=15000,
                width=1,
                height=1,
                master_playlist_key="k",
                renditions=(),
                video_fingerprint=fp,
            )
        )
    # a re-encode: every per-second hash a couple of bits off
    near = tuple(f"{int(h, 16) ^ (1 << 5) ^ (1 << 40):016x}" for h in original)
    candidates = refs.similar_videos(near)
    assert "v432" in {c.video_id for c in candidates} and len(candidates) < 60  # ~1.4% chance collisions
    assert SpamScorer(refs).signals(inputs(video_fingerprint=near)) == {"duplicate_of:v432": 0.8}
