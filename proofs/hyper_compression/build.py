"""Hyper-compression (Fan et al., arXiv:2409.00592): the codec's codebook as a network.

The builder returns the encoder's score layer of the project's winding codec (gpu/hyperfunction):
x ↦ (2p_θ·x − |p_θ|²)_θ, whose argmax is the nearest codeword p_θ = frac(θ·A/2^F), A the codec's
stored direction integers.  The certifier reads the codebook back from the network it is handed.
"""

from __future__ import annotations

from typing import Any

from constructive.ir import Network
from proofs.hyper_compression.points import score_network


def build_codebook_k3(params: dict, target: Any) -> Network:
    """The k = 3 score layer (n codewords)."""
    return score_network(int(params["n"]), 3)


def build_codec_codebook(params: dict, target: Any) -> Network:
    """The codebook the codec uses at k and bits: n = 2^(k·bits) samples."""
    k, bits = int(params["k"]), int(params["bits"])
    return score_network(1 << (k * bits), k)


def build_codebook_k1(params: dict, target: Any) -> Network:
    """The k = 1 score layer (n codewords)."""
    return score_network(int(params["n"]), 1)


def build_codebook_k2(params: dict, target: Any) -> Network:
    """The k = 2 score layer (n codewords)."""
    return score_network(int(params["n"]), 2)
