"""Mutants of the hyper-compression entries (hc-*): proofs/hyper_compression/.

The network is the codec encoder's score layer (row θ = (2p_θ, −|p_θ|²)).  A codeword moved by
2^-40 (weight and bias moved together, so the layer is still a nearest-codeword search) is
no longer the codec's winding, and at k = 1 it also breaks the three-distance gap structure;
a constant C tightened below the certified radius must come out VIOLATED.
"""

from __future__ import annotations

import pytest

from .harness import Mutant, assert_dies, cases
from .mutate import EPS, affine_sites, nudge, substitute, with_entry
from .statements import below_lower, certified_lower, tighten_bound

K1 = ("hc-winding-gaps-k1", {"n": "128"})
K1_TORUS = ("hc-winding-gaps-k1", {"n": "100", "domain": "torus"})
K2 = ("hc-winding-covering-k2", {"n": "128"})
K2_TORUS = ("hc-winding-covering-k2", {"n": "64", "domain": "torus"})
K3 = ("hc-winding-covering-k3", {"n": "64"})
ROUNDTRIP = ("hc-codec-roundtrip", {"k": "2", "bits": "3", "rows": "16", "cols": "64"})


def move_point(theta: int, axis: int = 0):
    """Codeword θ's coordinate ``axis`` moved by 2^-40, its bias −|p|² following."""
    def mutate(i):
        aff = affine_sites(i.net)[0].node
        p = [aff.W[theta, j] / 2 for j in range(aff.W.ncols())]
        p[axis] += EPS if p[axis] + EPS < 1 else -EPS
        moved = with_entry(aff, "W", theta, axis, 2 * p[axis])
        moved = with_entry(moved, "b", theta, 0, -sum(v * v for v in p))
        return substitute(i.net, aff, moved)
    return mutate


def bias_only(theta: int):
    """Only the bias of score θ moved by 2^-40: the layer is then no nearest-codeword search."""
    def mutate(i):
        return nudge(i.net, affine_sites(i.net)[0].node, "b", theta, 0)
    return mutate


def just_below(inst):
    """C shrunk so that the bound sits 2^-40 (relative) below the certified lower bound."""
    lower = certified_lower(inst.cert)
    return tighten_bound(inst.thm, lower * (1 - EPS))


KILLED = [
    Mutant("hc-k1-point-moved", *K1, "codeword θ = 37 moved by 2^-40", mutate=move_point(37)),
    Mutant("hc-k1-last-point-moved", *K1_TORUS, "the last codeword moved by 2^-40 (torus)",
           mutate=move_point(99)),
    Mutant("hc-k1-C-halved", *K1, "C/n replaced by half the certified radius", restate=below_lower),
    Mutant("hc-k1-C-just-below", *K1, "bound 2^-40 below the exact radius", restate=just_below),
    Mutant("hc-k2-point-moved", *K2, "codeword θ = 5, y moved by 2^-40", mutate=move_point(5, 1)),
    Mutant("hc-k2-torus-point-moved", *K2_TORUS, "codeword θ = 63, x moved by 2^-40 (torus)",
           mutate=move_point(63)),
    Mutant("hc-k2-bias-moved", *K2, "score bias of θ = 7 moved by 2^-40", mutate=bias_only(7)),
    Mutant("hc-k2-C-halved", *K2, "C·n^(-1/2) replaced by half the certified radius", restate=below_lower),
    Mutant("hc-k2-C-just-below", *K2, "bound 2^-40 below the exact radius", restate=just_below),
    Mutant("hc-k3-point-moved", *K3, "codeword θ = 10, z moved by 2^-40", mutate=move_point(10, 2)),
    Mutant("hc-k3-C-just-below", *K3, "bound 2^-40 below the certified lower bound", restate=just_below),
    Mutant("hc-roundtrip-point-moved", *ROUNDTRIP, "score-layer codeword θ = 3 moved by 2^-40",
           mutate=move_point(3), slow=True),
    Mutant("hc-roundtrip-bound-halved", *ROUNDTRIP, "bound 1 replaced by half the certified ratio",
           restate=below_lower),
]


@pytest.mark.parametrize("m", cases(KILLED))
def test_mutant_is_killed(m):
    out = assert_dies(m)
    if m.restate is not None:  # a bound below an exact lower bound is a violation, not a doubt
        assert out.verdict == "VIOLATED", out.line()
