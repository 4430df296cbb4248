"""The shipped all-MiniLM-L6-v2 loads offline and embeds captions meaningfully; content rows use it."""

from __future__ import annotations

import numpy as np

from ml.content import VideoContent, content_dim, content_matrix
from ml.text_encoder import DIM, MiniLMEncoder, video_text


def test_minilm_offline_embeddings_and_content_rows() -> None:
    enc = MiniLMEncoder(device="cpu")
    texts = [video_text("my cat jumps on the sofa", ["cats"]), video_text("kitten playing", ["cute"]),
             video_text("stock market crash explained", ["finance"]), ""]
    v = enc.encode(texts)
    assert v.shape == (4, DIM) and np.allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-4)
    assert not v[3].any()  # no text, no vector
    assert v[0] @ v[1] > v[0] @ v[2]  # cats are closer to kittens than to finance
    rows = content_matrix([VideoContent("a", creator_id="c", caption="my cat", duration_ms=15_000, width=720,
                                        height=1280)], enc)
    assert rows.shape == (1, content_dim(DIM)) and rows[0, :DIM].any()
