"""Zhang, Zhao, Zhong, Zhou (arXiv 2306.17301): exact Gram matrices, certified spectra, the
roots of Lemma 1, Corollary 42, and the registry entries at their default instances."""

from __future__ import annotations

import numpy as np
import pytest
from flint import fmpq

from certify.certificate import run_theorem
from constructive.errors import UserError
from constructive.ir import activation, affine, network
from proofs.shallow_networks import gram, leaky, roots, spectrum
from proofs.shallow_networks.build import biases, build_feature_family, build_relu_features


@pytest.mark.parametrize("kernel", ["relu", "signed", "leaky", "power"])
def test_every_closed_form_is_the_exact_integral(kernel):
    net = build_feature_family({"n": 10, "seed": 7, "kernel": kernel, "alpha": "2/5", "m": 2})
    f = gram.features_of(net, 2 if kernel == "power" else 1)
    assert gram.closed_form_gram(f) == gram.integral_gram(f)


def test_the_closed_form_differs_from_the_integral_where_the_kernel_is_wrong():
    f = gram.features_of(build_feature_family({"n": 6, "seed": 2, "kernel": "relu"}))
    # the block kernel's -- entry in the printed variables would be G(b_i, b_j), not G(-b, -b)
    assert any(gram.relu_kernel(-x, -y) != gram.integral_entry(f, i, j)
               for i, x in enumerate(f.breakpoints) for j, y in enumerate(f.breakpoints))


def test_gram_entry_diagonal_is_one_third_of_the_cube():
    for b in (fmpq(-1), fmpq(1, 3), fmpq(1)):
        assert gram.relu_kernel(b, b) == (1 - b) ** 3 / 3


def test_features_refuse_a_network_that_is_not_shallow_relu():
    bad = network(affine([[2]], [0]), activation(1), affine([[1]], [0]))
    with pytest.raises(UserError):
        gram.features_of(bad)


def test_inertia_counts_agree_with_float_eigenvalues_away_from_them():
    bias = biases(30, "random", seed=3)
    pc = spectrum.pencil(bias)
    eig = np.linalg.eigvalsh(np.array(pc.gram, dtype=float) / pc.scale)
    for s in (1e-7, 1e-4, 1e-2, 0.5, 5.0):
        if np.min(np.abs(eig - s)) > 1e-6 * s:
            assert spectrum.count_below(pc, spectrum._rational(s)) == int(np.sum(eig < s))


def test_enclosures_contain_the_float_eigenvalues_of_a_jittered_grid():
    bias = biases(40, "jittered", seed=5)
    enc = spectrum.enclose(bias, tight=set(range(1, 41)))
    G = np.array([[float(gram.relu_kernel(x, y)) for y in bias] for x in bias])
    eig = np.sort(np.linalg.eigvalsh(G))[::-1]
    for k in range(40):
        tol = 1e-13 * eig[0]
        assert float(enc.lower[k]) - tol <= eig[k] <= float(enc.upper[k]) + tol


def test_the_banded_congruence_refuses_unsorted_or_out_of_range_biases():
    with pytest.raises(UserError):
        spectrum.pencil([fmpq(0), fmpq(-1, 2)])
    with pytest.raises(UserError):
        spectrum.pencil([fmpq(0), fmpq(1)])


def test_the_first_roots_and_eigenvalues_match_the_notes():
    mu1, lo1, hi1 = roots.mu_enclosure(1)
    assert float(lo1) < 0.937553 and float(hi1) > 0.937551
    assert abs(float(mu1.mid()) - 1.29425) < 1e-5
    assert abs(float(roots.mu_enclosure(2)[0].mid()) - 3.29544e-2) < 1e-7


def test_a_shifted_root_interval_is_refuted():
    lo, hi, s = roots.stated_interval(7)
    assert roots.check_interval(7, lo, hi, s).verdict == "one root"
    shifted = roots.check_interval(7, lo + fmpq(1, 16), hi + fmpq(1, 16), s)
    assert shifted.verdict == "no root"


def test_corollary42_polynomials_and_the_whole_interval():
    out = leaky.holds_on_unit_interval()
    assert out["lower"] and out["upper"] and out["paper_lower_polynomial_agrees"]
    assert not out["paper_hs_polynomial_agrees"]  # the printed degree-8 polynomial (notes)
    low_sq, hs_sq = leaky.bounds_at(fmpq(1))
    assert hs_sq == fmpq(32, 9) and low_sq < hs_sq


def test_certified_slope_for_n100_is_minus_four():
    from proofs.shallow_networks.check import _slope
    enc = spectrum.enclose(biases(100, "even"), tight=set(range(10, 61)))
    slope = _slope(enc, 10, 60)
    assert slope > -4.1 and slope < -3.9, slope


@pytest.mark.parametrize("tid", ["shallow-gram-closed-form", "shallow-lemma1-roots",
                                 "shallow-corollary2-root-gaps", "shallow-resolvable-modes-precision",
                                 "shallow-gram-kernel-spectrum", "shallow-gram-condition-number"])
def test_default_instances_hold(tid):
    assert run_theorem(tid, {})["verdict"] == "HOLDS"


def test_theorem3_holds_on_a_jittered_quasi_even_grid():
    cert = run_theorem("shallow-gram-kernel-spectrum", {"n": "40", "scheme": "jittered", "seed": "9"})
    assert cert["verdict"] == "HOLDS" and cert["details"]["first"][0]["k"] == 1


def test_the_experiments_grid_is_exactly_singular():
    cert = run_theorem("shallow-gram-experiments-grid-printed", {"n": "12"})
    assert cert["verdict"] == "VIOLATED"
    assert cert["witnesses"][0]["zero_row"] == 12 and cert["error"]["lower"] == "1"


def test_the_experiments_grid_bias_is_one_at_the_end():
    assert biases(9, "experiments")[-1] == 1 and build_relu_features({"n": 9})


@pytest.mark.slow
@pytest.mark.parametrize("n", [200, 400])
def test_theorem3_and_4_at_large_n(n):
    spec = run_theorem("shallow-gram-kernel-spectrum", {"n": str(n)})
    assert spec["verdict"] == "HOLDS"
    kappa = run_theorem("shallow-gram-condition-number", {"n": str(n)})
    assert kappa["verdict"] == "HOLDS"


@pytest.mark.slow
def test_corollary2_up_to_200():
    assert run_theorem("shallow-corollary2-root-gaps", {"k_max": "200"})["verdict"] == "HOLDS"


def test_the_erratum_certificate_is_accepted_by_the_kernel_and_the_even_grid_has_full_rank():
    import json

    from certify.kernel.check import check_certificate_data
    from certify.registry import default_registry
    from proofs.shallow_networks.check import method_gram_rank
    cert = run_theorem("shallow-gram-experiments-grid-printed", {})
    report = check_certificate_data(json.loads(json.dumps(cert)))
    assert report.ok and report.verdict == "VIOLATED"
    thm = default_registry().get("shallow-gram-experiments-grid-printed")
    even = build_relu_features({"n": 20, "scheme": "even"})
    assert method_gram_rank(thm, {"n": 20}, None, even).upper == 0
