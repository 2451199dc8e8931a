"""The checker kernel re-derives the EUAF gadget identities (check ``sigma-identity``): on each
cell every pre-activation stays in one piece of σ, the network is one rational function there,
equal to the claimed polynomial; a weight moved by 2^-40 is refused with an exact witness, and
the evidence's cuts only save work."""

from __future__ import annotations

import copy

import pytest
from flint import fmpq, fmpq_poly

from certify.certificate import content_hash
from certify.kernel import check_certificate_data
from certify.kernel.sigma import roots_inside
from tests.kernel_certs import cert, moved

IDS = ["euaf-identity-padding", "euaf-square-exact", "euaf-step-index",
       "euaf-softsign-independent-index", "euaf-rounding-odd", "euaf-partition-of-unity",
       "euaf-psi-hat-zero"]
EPS = fmpq(1, 2 ** 40)
NO_LAST_BIAS = ("euaf-square-exact", "euaf-partition-of-unity", "euaf-psi-hat-zero")


@pytest.mark.parametrize("tid", IDS)
def test_kernel_rederives_the_identity(tid):
    c = cert(tid)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert report.verdict == c["verdict"] == "HOLDS" and report.upper == 0
    assert not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("tid,params", [("euaf-step-index", {"K": "13"}),
                                        ("euaf-identity-padding", {"M": "7/3"}),
                                        ("euaf-softsign-independent-index", {"K": "5", "alpha": "22/7"})])
def test_other_instances(tid, params):
    c = cert(tid, **params)
    report = check_certificate_data(c)
    assert report.ok and report.upper == 0, report.problems


# every last-layer W, and every last-layer bias there is (some outputs have none)
@pytest.mark.parametrize("tid,key", [(t, "W") for t in IDS if t != "euaf-psi-hat-zero"] + [(t, "b") for t in IDS
                                                             if t not in NO_LAST_BIAS])
def test_a_last_layer_weight_moved_by_2_to_the_minus_40_is_refused(tid, key):
    c = cert(tid)
    last = len(c["network"]["layers"]["layers"]) - 1
    report = check_certificate_data(moved(c, last, key, EPS))
    assert not report.ok and report.verdict == "VIOLATED"
    assert report.lower is not None and report.lower > 0


def test_psi_hat_moved_under_its_last_sigma_is_refused():
    """ψ̂'s output weight only scales a value that is 0 on the bad halves (harmless there); the
    weight 2K + 1 before the last σ moved by 2^-40 lifts its argument above 2k + 2, so σ ≠ 0."""
    report = check_certificate_data(moved(cert("euaf-psi-hat-zero"), 1, "W", EPS))
    assert not report.ok and report.verdict == "VIOLATED" and report.lower > 0


def test_a_first_layer_weight_moved_is_refused_or_shown_different():
    """The square's first-layer weight moved: the cells move with it (the kernel cuts at the new
    crossings itself) and the rational function is no longer x²."""
    c = cert("euaf-square-exact")
    report = check_certificate_data(moved(c, 0, "W", EPS))
    assert not report.ok and report.verdict != "HOLDS"


def test_the_cuts_only_save_work():
    c = cert("euaf-rounding-odd")
    bare = copy.deepcopy(c)
    bare["evidence"]["cuts"] = [bare["evidence"]["cuts"][0], bare["evidence"]["cuts"][-1]]
    bare["hash"] = content_hash(bare)
    report = check_certificate_data(bare)
    assert report.ok and report.upper == 0, report.problems


def test_a_forged_holds_on_a_euaf_network_elsewhere_is_not_taken_by_a_relu_check():
    """A stored network whose ReLUs were renamed σ, under a statement whose check follows ReLU
    only: the bound is listed as trusted, never re-derived as if σ were ReLU."""
    c = cert("syz-cpwl-one-layer")
    c["network"]["layers"]["layers"][0]["act"] = [["euaf", n] for _, n in c["network"]["layers"]["layers"][0]["act"]]
    c["hash"] = content_hash(c)
    report = check_certificate_data(c)
    assert any("error bounds" in t and "not followed" in t for t in report.trusted), report.trusted


def test_sturm_counts_roots_strictly_inside():
    x = fmpq_poly([0, 1])
    f = (x - fmpq(1, 3)) * (x - fmpq(1, 2)) ** 2 * (x * x - 2)
    assert roots_inside(f, fmpq(0), fmpq(1)) == 2
    assert roots_inside(f, fmpq(1, 3), fmpq(1, 2)) == 0
    assert roots_inside(f, fmpq(1), fmpq(2)) == 1  # √2


def test_a_huge_weight_is_not_followed_piece_by_piece():
    """A first-layer weight scaled up by 2^200 makes a pre-activation sweep ~2^200 pieces of σ on
    one cell: the kernel does not enumerate them (it would never finish); the bound it cannot
    re-derive is listed as trusted, never re-derived."""
    c = cert("euaf-square-exact")
    entry = c["network"]["layers"]["layers"][0]["W"][0]
    forged = moved(c, 0, "W", fmpq(2 ** 200) * fmpq(*map(int, (entry[-1] + "/1").split("/")[:2])))
    report = check_certificate_data(forged)
    assert any("error bounds" in t and "pieces of σ" in t for t in report.trusted), report.trusted


@pytest.mark.parametrize("params", [{}, {"K": "64", "eps": "1/10"}])
def test_kernel_rederives_the_theorem_14_error(params):
    """sigma-sup: φ is constant on every I_k (the kernel finds its cells), sin(6x) is enclosed on
    64 parts of each; the bound decides the strict claim error < eps."""
    c = cert("syz-fixed-sigma-1d-half", **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)
    assert report.lower <= report.upper < fmpq(*map(int, c["error"]["bound"].split("/")))


def test_theorem_14_output_moved_past_eps_is_refused():
    c = cert("syz-fixed-sigma-1d-half")
    report = check_certificate_data(moved(c, 2, "b", fmpq(1, 5)))
    assert not report.ok and report.verdict == "VIOLATED"


def test_theorem_14_frequency_moved_is_never_rederived_as_holds():
    """w0 (575 bits at K = 64, 125 at K = 16) moved by 2^-40: φ is no longer constant on I_k and
    its σ argument sweeps astronomically many pieces on every cell; the kernel does not follow
    them but encloses that neuron by σ's range, a bound (about 3) that does not decide the claim,
    so the certifier's is listed as trusted (check --rebuild compares the network with the
    builder's)."""
    c = cert("syz-fixed-sigma-1d-half")
    report = check_certificate_data(moved(c, 1, "W", EPS))
    assert report.upper is None and report.verdict != "VIOLATED"
    assert any("error bounds" in t and "does not decide" in t for t in report.trusted)


# --- Lemma 16's product on [-M, M]^2: a sum of three ridge functions (certify.kernel.ridge)


@pytest.mark.parametrize("params", [{}, {"M": "7/3"}, {"M": "1/1000"}])
def test_kernel_rederives_the_product_as_a_sum_of_ridge_functions(params):
    c = cert("euaf-product-exact", **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert report.upper == 0 and not any("error bounds" in t for t in report.trusted)


def test_the_product_splits_into_groups_of_one_direction_each():
    """Each square 12σ(1 − 12σ(−u−1) + 12σ(−u−2)) + 11σ(1 − (10/11)σ((u+1)/2)) is two groups
    that share no weight: six groups, reading x + y, x and y twice each."""
    from certify.kernel.ridge import _direction, groups
    from certify.kernel.stored import decode
    net = decode(cert("euaf-product-exact")["network"]["layers"])
    found = groups(net.layers)
    assert sorted(len(g[0]) for g in found) == [1, 1, 1, 2, 2, 2]
    directions = sorted(tuple(c / max(v, key=abs) for c in v)
                        for v, _ in (_direction(net.layers[0], g[0], 2) for g in found))
    assert directions == sorted([(0, 1), (1, 0), (1, 1)] * 2)


@pytest.mark.parametrize("layer", [1, 2])
def test_a_product_weight_moved_by_2_to_the_minus_40_is_refused(layer):
    """The output weight, or the 12 inside a square: the ridge functions are no longer
    (x+y)², x², y² up to the factors, so the difference is a non-zero polynomial; its exact
    value at a grid point is the lower bound."""
    report = check_certificate_data(moved(cert("euaf-product-exact"), layer, "W", EPS))
    assert not report.ok and report.verdict == "VIOLATED" and report.lower > 0


def test_a_product_kink_moved_along_its_direction_is_refused():
    """Both first-layer weights of one neuron moved by the same 2^-40: still a ridge of x + y,
    but its square is no longer x² on the cell."""
    c = moved(cert("euaf-product-exact"), 0, "W", EPS)
    entry = c["network"]["layers"]["layers"][0]["W"][1]
    entry[-1] = str(fmpq(*map(int, (entry[-1] + "/1").split("/")[:2])) + EPS)
    c["hash"] = content_hash(c)
    report = check_certificate_data(c)
    assert not report.ok and report.verdict == "VIOLATED"


def test_a_product_neuron_turned_away_from_its_direction_is_not_rederived():
    """One weight of a neuron reading x + y moved: that group reads two directions, which the
    ridge check does not follow; the bound is listed as trusted (check --rebuild compares the
    network with the builder's)."""
    report = check_certificate_data(moved(cert("euaf-product-exact"), 0, "W", EPS))
    assert report.upper is None
    assert any("more than one direction" in t for t in report.trusted), report.trusted


# --- Theorem 14's range part: sup |φ| − sup |f| on [0, 1] (check sigma-range)


@pytest.mark.parametrize("params", [{}, {"K": "40"}, {"K": "5", "eps": "1/2"}])
def test_kernel_rederives_the_theorem_14_range(params):
    """On the other halves the last σ's argument sweeps ~2^100 pieces: the kernel encloses that
    neuron by σ's range over its argument's exact range instead of following them."""
    c = cert("syz-fixed-sigma-1d-half-range", **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)
    assert report.lower <= report.upper <= 1


@pytest.mark.parametrize("amount", [fmpq(1, 5), EPS])
def test_theorem_14_output_lifted_is_refused(amount):
    """The output bias moved up: |φ| reaches M + amount with M − 1 = the lower bound of ‖f‖ the
    kernel finds at the same points, so its upper bound exceeds 1 (by 1/5 the exact witness
    shows the claim false)."""
    c = cert("syz-fixed-sigma-1d-half-range")
    last = len(c["network"]["layers"]["layers"]) - 1
    report = check_certificate_data(moved(c, last, "b", amount))
    assert not report.ok and report.verdict != "HOLDS"
    assert report.verdict == ("VIOLATED" if amount == fmpq(1, 5) else "INCONCLUSIVE")


def test_the_range_of_sigma_over_an_interval_encloses_its_values():
    from certify.kernel.sigma import _range_of
    xs = [fmpq(k, 7) for k in range(-30, 40)]

    def sigma(t, w=fmpq(1)):
        if t <= 0:
            return t / (1 - t)
        u = w * t
        n = u.p // u.q
        return abs(u - n - n % 2)
    for w, act in ((fmpq(1), "euaf"), (fmpq(3, 2), "peuaf:3/2")):
        for a in xs:
            for b in xs:
                if a <= b:
                    r = _range_of(act, a, b)
                    assert all(r.lo <= sigma(t, w) <= r.hi for t in xs if a <= t <= b)


# --- Theorems 15 and 6 (the four-copy chain) and PEUAF's Theorem 3 (check sigma-sup): on the
# bad halves φ_i's last σ sweeps ~2^100 pieces; the kernel follows the product in φ_i's value t,
# where Γ(t, 0) cancels exactly


@pytest.mark.parametrize("tid,params", [("syz-fixed-sigma-1d-nine-tenths", {}),
                                        ("syz-fixed-sigma-1d-nine-tenths", {"eps": "1/20"}),
                                        ("syz-fixed-sigma-1d", {}),
                                        ("syz-fixed-sigma-1d", {"a": "3", "b": "7/2", "eps": "1/20"}),
                                        ("peuaf-1d", {}),
                                        ("peuaf-1d", {"K": "64", "eps": "1/20"})])
def test_kernel_rederives_the_four_copy_chains(tid, params):
    c = cert(tid, **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)
    stored = fmpq(*map(int, (c["error"]["upper"] + "/1").split("/")[:2]))
    assert report.upper <= stored * (1 + fmpq(1, 10 ** 6))  # the products exact: never looser


@pytest.mark.parametrize("tid", ["syz-fixed-sigma-1d-nine-tenths", "peuaf-1d"])
def test_a_chain_output_moved_past_eps_is_refused(tid):
    """An output bias of 1/5 added (the stored output has none): φ − f > eps on whole cells."""
    c = cert(tid)
    c["network"]["layers"]["layers"][-1]["b"] = [[0, "1/5"]]
    c["hash"] = content_hash(c)
    report = check_certificate_data(c)
    assert not report.ok and report.verdict == "VIOLATED"


def _net(*layers):
    from certify.kernel.stored import decode
    return decode({"input_dim": 1, "layers": [
        {"rows": len(W), "cols": len(W[0]), "b": [],
         "W": [[i, j, str(w)] for i, row in enumerate(W) for j, w in enumerate(row) if w != 0],
         **({"act": [[act, len(W)]]} if act else {})} for W, act in layers]})


def test_a_swept_neuron_is_followed_as_a_free_variable():
    """σ(2^100 x) sweeps ~2^100 pieces on [0, 1]: it becomes a variable t ∈ [0, 1]; t − t is 0
    exactly, t + x only enclosed."""
    from certify.kernel import sigma
    big = 2 ** 100
    cancel = _net(([[big]], "euaf"), ([[1], [1]], "identity"), ([[1, -1]], None))
    (value,) = sigma.outputs_on(cancel.layers, fmpq(0), fmpq(1), enclose=True)
    assert isinstance(value, tuple) and value[0] == 0
    mixed = _net(([[big], [1]], "euaf"), ([[1, 1]], None))  # σ(x) = x on [0, 1]
    (value,) = sigma.outputs_on(mixed.layers, fmpq(0), fmpq(1), enclose=True)
    assert isinstance(value, sigma.Range) and (value.lo, value.hi) == (0, 2)
    with pytest.raises(sigma.Undecided):
        sigma.outputs_on(cancel.layers, fmpq(0), fmpq(1))  # without enclose: not followed


def test_the_range_at_critical_points_is_enclosed():
    from certify.kernel.sigma import range_on
    x = fmpq_poly([0, 1])
    lo, hi = range_on(x * x - 2 * x, fmpq_poly([1]), fmpq(0), fmpq(3))  # (x − 1)² − 1
    assert lo <= -1 < lo + fmpq(1, 10 ** 12) and hi == 3
    lo, hi = range_on(x * x * x - 2 * x, fmpq_poly([1]), fmpq(-1), fmpq(1))  # critical ±√(2/3)
    assert hi >= fmpq(1088662107903635, 10 ** 15) and hi - lo < fmpq(2178, 1000)
