"""The pipeline's state machine: stages and due actions moved only by events (pure fold)."""

from __future__ import annotations

from events.schema import (
    AppealDecided,
    Event,
    ModerationDecided,
    ModerationScored,
    Rendition,
    ReviewDecided,
    TranscodeFailed,
    UploadRequested,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoTranscoded,
    VideoUploaded,
)
from pipeline.state import PROJECTION, PipelineVideo, due_action
from projections.base import DictView, fold_all

SHA = "0" * 64
_ts = iter(range(1, 10_000))


def _e(cls: type, **kw: object) -> Event:
    return cls(event_id=f"e{next(_ts)}", ts=next(_ts), video_id="v", **kw)  # type: ignore[no-any-return]


def requested(creator: str = "c") -> Event:
    return _e(UploadRequested, creator_id=creator, max_bytes=10, expires_at=99)


def uploaded(creator: str = "c") -> Event:
    return _e(VideoUploaded, creator_id=creator, blob_key="uploads/v/source", sha256=SHA, size_bytes=5)


def details(creator: str = "c") -> Event:
    return _e(VideoDetailsSubmitted, creator_id=creator, caption="hi")


def transcoded() -> Event:
    return _e(
        VideoTranscoded,
        creator_id="c",
        duration_ms=15000,
        width=720,
        height=1280,
        master_playlist_key="videos/v/hls/master.m3u8",
        renditions=(
            Rendition(height=640, width=360, bitrate_kbps=800, playlist_key="videos/v/hls/360p/index.m3u8"),
        ),
        thumbnail_keys=("videos/v/thumbs/thumb_720.jpg",),
    )


def state(events: list[Event]) -> PipelineVideo:
    view = fold_all(PROJECTION, events)
    v = view.get("v:v")
    assert isinstance(v, PipelineVideo)
    return v


def due_keys(events: list[Event]) -> dict[str, str]:
    view: DictView = fold_all(PROJECTION, events)
    return {k: v.action for k, v in view.data.items() if k.startswith("due:")}


def test_happy_path_stages_and_due_actions() -> None:
    seq = [requested(), uploaded()]
    assert state(seq).stage == "uploaded" and due_action(state(seq)) is None
    seq.append(details())
    assert state(seq).stage == "transcoding" and due_keys(seq) == {"due:v": "transcode"}
    seq.append(transcoded())
    assert state(seq).stage == "transcoded" and due_keys(seq) == {"due:v": "moderate"}
    seq.append(_e(ModerationScored, scores={}))
    assert state(seq).stage == "moderating" and state(seq).scored and due_keys(seq) == {"due:v": "moderate"}
    seq.append(_e(ModerationDecided, decision="approve"))
    assert state(seq).stage == "approved" and due_keys(seq) == {"due:v": "publish"}
    seq.append(_e(VideoPublished, creator_id="c"))
    assert state(seq).stage == "published" and due_keys(seq) == {}


def test_details_before_upload_also_start_transcoding() -> None:
    assert state([requested(), details(), uploaded()]).stage == "transcoding"


def test_details_from_someone_else_are_ignored() -> None:
    assert state([requested(), uploaded(), details(creator="mallory")]).stage == "uploaded"


def test_review_and_reject_stop_the_pipeline() -> None:
    base = [requested(), uploaded(), details(), transcoded()]
    held = [*base, _e(ModerationDecided, decision="review")]
    assert state(held).stage == "in_review" and due_keys(held) == {}
    assert due_keys([*held, _e(ReviewDecided, moderator_id="m", decision="approve")]) == {"due:v": "publish"}
    rejected = [*base, _e(ModerationDecided, decision="reject")]
    assert state(rejected).stage == "rejected" and due_keys(rejected) == {}
    overturned = [*rejected, _e(AppealDecided, moderator_id="m", upheld=False)]
    assert state(overturned).stage == "approved"
    assert state([*rejected, _e(AppealDecided, moderator_id="m", upheld=True)]).stage == "rejected"


def test_failure_is_final_until_a_new_upload() -> None:
    seq = [
        requested(),
        uploaded(),
        details(),
        _e(TranscodeFailed, creator_id="c", reason="bad", stage="probe"),
    ]
    v = state(seq)
    assert v.stage == "failed" and v.failure == "bad" and due_keys(seq) == {}
    assert state([*seq, uploaded()]).stage == "transcoding"


def test_nothing_moves_a_published_video_back_into_processing() -> None:
    seq = [
        requested(),
        uploaded(),
        details(),
        transcoded(),
        _e(ModerationDecided, decision="approve"),
        _e(VideoPublished, creator_id="c"),
    ]
    for late in (uploaded(), transcoded(), _e(TranscodeFailed, creator_id="c", reason="x")):
        assert state([*seq, late]).stage == "published"


def test_another_creators_upload_is_ignored() -> None:
    assert state([requested(), uploaded(creator="mallory")]).stage == "requested"


def test_fold_is_deterministic() -> None:
    seq = [requested(), uploaded(), details(), transcoded(), _e(ModerationScored, scores={"nudity": 0.1})]
    assert fold_all(PROJECTION, seq).data == fold_all(PROJECTION, seq).data
