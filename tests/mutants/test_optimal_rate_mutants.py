"""Mutants of the optimal-rate constructions (syz-*): proofs/optimal_rate/{increments,pointfit}.py."""

from __future__ import annotations

import pytest
from flint import fmpq

from constructive.ir import Network

from .harness import Mutant, assert_dies, assert_harmless, cases
from .mutate import EPS, affine_sites, first_effective_nudge, shift_last_bias

INDEX = ("syz-index-bitsum", {})
FIT47 = ("syz-increment-fit", {})
FIT47_RANGE = ("syz-increment-fit-range", {})
FIT32 = ("syz-point-fit", {})
FIT32_RANGE = ("syz-point-fit-range", {})
# an instance where φ without its clip leaves [0, max y] (it dips to −1/4; at the defaults the
# unclipped φ happens to stay inside, see HARMLESS)
FIT32_RANGE_WIDE = ("syz-point-fit-range", {"N": "7", "L": "1", "J": "98", "seed": "1"})


def _grid(i):
    """The finite claim's points of a default instance: (m, k) for Lemmas 4.6/4.7, j for 3.2."""
    from proofs.optimal_rate.increments import sizes

    N, L = int(i.params["N"]), int(i.params["L"])
    M, _, Lhat = sizes(N, L)
    if "J" in i.params:
        return [[j] for j in range(int(i.params["J"]))]
    return [[m, k] for m in range(M) for k in range(Lhat)]


def _nudge_one(i):
    """The first weight (pre-order over the whole network) whose move by 2^-40 changes the
    output on the claim's grid."""
    return first_effective_nudge(i.net, [s.node for s in affine_sites(i.net)], _grid(i))


def _nudge_deep(i):
    """Same, but the search starts at the last third of the affine maps (inside Lemma 4.5's
    blocks and the clip), so a weight deep in the network is moved."""
    sites = [s.node for s in affine_sites(i.net)]
    return first_effective_nudge(i.net, sites[2 * len(sites) // 3:], _grid(i))


def _without_clip(i):
    """The network cut after its first top-level width-1 output: ε(ψ1 + ψ2 − ψ3), no clip."""
    nodes = i.net.nodes
    cut = next(k for k, n in enumerate(nodes) if n.out_dim == 1)
    assert cut < len(nodes) - 1, "the network has no clip after its width-1 combination"
    return Network(tuple(nodes[:cut + 1]))


KILLED = [
    Mutant("syz-index-bitsum-weight", *INDEX, "Lemma 4.6: the first weight that matters on the "
           "grid moved by 2^-40", mutate=_nudge_one),
    Mutant("syz-fit47-weight", *FIT47, "Lemma 4.7: the first weight that matters on the grid "
           "moved by 2^-40", mutate=_nudge_one),
    Mutant("syz-fit47-deep-weight", *FIT47, "Lemma 4.7: a weight in the last third of the "
           "affine maps moved by 2^-40", mutate=_nudge_deep),
    Mutant("syz-fit47-range-clip-removed", *FIT47_RANGE, "Lemma 4.7 (ii): the clip "
           "min{σ(·), y_max} removed (the grid values stay right; the range is not shown)",
           mutate=_without_clip),
    Mutant("syz-fit32-weight", *FIT32, "Prop 3.2: a weight deep in the network moved by 2^-40",
           mutate=_nudge_deep),
    Mutant("syz-fit32-index-weight", *FIT32, "Prop 3.2: the first weight that matters (index "
           "network) moved by 2^-40", mutate=_nudge_one),
    Mutant("syz-fit32-range-clip-removed", *FIT32_RANGE_WIDE, "Prop 3.2 (ii): the clip removed",
           mutate=_without_clip),
    Mutant("syz-fit32-range-output-bias", *FIT32_RANGE, "Prop 3.2 (ii): output bias −2^-40 "
           "(φ − 2^-40 < 0 wherever φ = 0)", mutate=lambda i: shift_last_bias(i.net, -EPS)),
]


HARMLESS = [
    Mutant("syz-fit32-range-clip-removed-default", *FIT32_RANGE, "Prop 3.2 (ii) at the defaults: "
           "the clip removed", mutate=_without_clip,
           harmless="the exact 1-D enumeration of the unclipped network over all of R gives "
                    "min 0 and max 9/4 <= max y = 389/168: the range claim really holds there"),
]


@pytest.mark.parametrize("m", cases(HARMLESS))
def test_harmless_mutant_holds(m):
    assert_harmless(m)


@pytest.mark.parametrize("m", cases(KILLED))
def test_mutant_dies(m):
    out = assert_dies(m)
    if m.id.endswith("-clip-removed") and m.theorem == "syz-point-fit-range":
        # one input: the exact enumeration finds the range leaving [0, max y], with a witness
        assert out.verdict == "VIOLATED" and out.cert["witnesses"], out.line()


def test_the_clip_removed_keeps_the_grid_values():
    """The range mutants are meaningful: without the clip the finite claim still HOLDS."""
    from certify.certificate import certify_network

    from .harness import instance

    i = instance(*FIT47)
    net = _without_clip(i)
    cert = certify_network(i.thm, i.params, i.target, net, i.builder)
    assert cert["verdict"] == "HOLDS", cert["reasons"]
    assert fmpq(cert["error"]["upper"]) == 0


# ------------------------------------------------------------------------------------------------
# Prop 3.1 (syz-step-function) and Theorems 2.1 / 1.1 (syz-off-trifling, syz-rate-lp, syz-rate-linf)

STEP = ("syz-step-function", {})
OFF = ("syz-off-trifling", {})
RATE_LP = ("syz-rate-lp", {})
RATE_LINF = ("syz-rate-linf", {})


def _step_ends(i):
    from proofs.optimal_rate.rate_methods import step_intervals
    from proofs.optimal_rate.stepfn import step_counts

    p = i.params
    K = step_counts(int(p["N"]), int(p["L"]), int(p["d"]))["K"]
    return [[x] for iv in step_intervals(K, fmpq(1, 3 * K * int(p["q"]))) for x in iv]


def _step_weight(i):
    """Prop 3.1: the first weight that matters at the step ends moved by 2^-40."""
    return first_effective_nudge(i.net, [s.node for s in affine_sites(i.net)], _step_ends(i))


def _step_breakpoint(i):
    """Prop 3.1: the first kink of the coarse step's first layer whose move by δ/2 changes φ at
    a step end (a sample point of Lemma 4.1 moved inside a step)."""
    from .mutate import changes_output, shift_breakpoint

    pts = _step_ends(i)
    delta = fmpq(1, 3 * int(fmpq(pts[3][0] - pts[2][0]).q))  # any small move will do
    aff = affine_sites(i.net)[1].node  # fan-out, then the coarse step's knots σ(x − t)
    for row in range(aff.W.nrows()):
        if aff.W[row, 0] == 0:
            continue
        mutant = shift_breakpoint(i.net, aff, row, delta)
        if changes_output(i.net, mutant, pts):
            return mutant
    raise AssertionError("no knot of the coarse step changes the step values")


def _cell_centres(i):
    from proofs.optimal_rate.stepfn import step_counts

    p = i.params
    K = step_counts(int(p["N"]), int(p["L"]), int(p["d"]))["K"]
    return [[fmpq(2 * k + 1, 2 * K)] for k in range(K)]


def _step_map_weight(i):
    """Theorem 2.1 / 1.1: a weight inside the step map Φ1 moved by 2^-40 (the first one that
    changes φ at a cell centre); for p = ∞ the shared copy, so all 3^d copies move."""
    from .mutate import gadgets_named

    g = gadgets_named(i.net, "syz-step-map")[0]
    return first_effective_nudge(i.net, [s.node for s in affine_sites(g)], _cell_centres(i))


def _step_map_kink(i):
    """Theorem 2.1 at N = 3: the step map's first inner kink, at 8/27, moved by 2^-40."""
    from .mutate import nudge

    aff = affine_sites(i.net)[1].node  # fan-out, then Φ1's knots relu(x − t)
    assert aff.b[1, 0] == fmpq(-8, 27)
    return nudge(i.net, aff, "b", 1, delta=-EPS)


def _nudge_first_bias(net):
    from .mutate import nudge

    return nudge(net, affine_sites(net)[0].node, "b", 0)


def _below(i):
    from .statements import below_lower

    return below_lower(i)


RATE_KILLED = [
    Mutant("syz-step-weight", *STEP, "Prop 3.1: the first weight that matters moved by 2^-40",
           mutate=_step_weight),
    Mutant("syz-step-breakpoint", *STEP, "Prop 3.1: a knot of the coarse step moved inside a step",
           mutate=_step_breakpoint),
    Mutant("syz-off-trifling-step-kink", "syz-off-trifling", {"N": "3"}, "Thm 2.1: a kink of "
           "the step map Φ1 (its bias −8/27) moved by 2^-40 into a cell", mutate=_step_map_kink),
    Mutant("syz-rate-linf-step-weight", *RATE_LINF, "Thm 1.1 (p = ∞): a weight of Φ1 moved by "
           "2^-40 in the copy all 3^d shifts share", mutate=_step_map_weight),
    Mutant("syz-off-trifling-bound-below", *OFF, "Thm 2.1: the bound replaced by half the "
           "certified lower bound", restate=_below),
    Mutant("syz-rate-lp-bound-below", *RATE_LP, "Thm 1.1 (p = 2): the bound replaced by half the "
           "certified lower bound", restate=_below),
    Mutant("syz-bounded-domain-rescale", "syz-bounded-domain", {}, "Thm 2.5: the change of "
           "variables x -> (x + R)/(2R) with its first bias moved by 2^-40",
           mutate=lambda i: _nudge_first_bias(i.net)),
    Mutant("syz-bounded-domain-lp-rescale", "syz-bounded-domain-lp", {}, "Thm 2.5 (p = 2): the "
           "change of variables with its first bias moved by 2^-40",
           mutate=lambda i: _nudge_first_bias(i.net)),
    Mutant("syz-rate-linf-bound-below", *RATE_LINF, "Thm 1.1 (p = ∞): the bound replaced by half "
           "the certified lower bound", restate=_below),
]


@pytest.mark.parametrize("m", cases(RATE_KILLED))
def test_rate_mutant_dies(m):
    assert_dies(m)


RATE_HARMLESS = [
    Mutant("syz-off-trifling-step-weight", *OFF, "Thm 2.1: a weight of Φ1 moved by 2^-40",
           mutate=_step_map_weight,
           harmless="a slope of Φ1 moved by 2^-40 moves φ on the cells by about 10^-10: the "
                    "certifier's cells lose their affine pieces (INCONCLUSIVE), but the kernel "
                    "follows φ exactly across them and bounds the error by 0.0170068028 (the "
                    "honest network's 0.0170068027) against the claim's 1/49: HOLDS"),
]


@pytest.mark.parametrize("m", cases(RATE_HARMLESS))
def test_rate_harmless_mutant_holds(m):
    assert_harmless(m)
