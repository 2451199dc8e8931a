"""Gadget specifications are certified at every nesting level, never trusted.

Mutants: a gadget's body is changed under its unchanged specification.  A mutant that the error
analysis cannot see (the change lies where the analysis uses the specification instead of the
body) must still not HOLD: the certification of the specification fails.  One mutant per gadget
kind with a specification in ``constructive/gadgets/``.
"""

from __future__ import annotations

import dataclasses

import pytest
from flint import fmpq

from certify.analysis.gadget_certs import certify_gadgets
from certify.analysis.ranges import RangeAnalysis, output_range
from certify.certificate import certify_network, make_target_for
from certify.registry import default_registry
from constructive.gadgets.bits import bit_extractor
from constructive.gadgets.mid import mid_gadget
from constructive.ir import (Activation, Gadget, GadgetSpec, Network, Parallel, Repeat, activation, affine,
                             gadget, identity_layers, network, parallel)

# ------------------------------------------------------------------------------------------------
# mutations (the spec stays, the body changes)


def replace_bodies(node, name, change):
    """``node`` with the body of every gadget called ``name`` replaced by ``change(body)``."""
    if isinstance(node, Gadget):
        body = replace_bodies(node.body, name, change)
        return dataclasses.replace(node, body=change(body) if node.name == name else body)
    if isinstance(node, Repeat):
        return dataclasses.replace(node, body=replace_bodies(node.body, name, change))
    if isinstance(node, Parallel):
        return Parallel(tuple(replace_bodies(p, name, change) for p in node.parts))
    if isinstance(node, Activation):
        return Activation(tuple(replace_bodies(f, name, change) if isinstance(f, Network) else f
                                for f in node.functions))
    if isinstance(node, Network):
        return Network(tuple(replace_bodies(n, name, change) for n in node.nodes), node.in_dim, node.out_dim)
    return node


def bump(a, b, height=5000, coordinate=0):
    """body + height·tent(x_coordinate) on (a, b), added to the first output; same depth."""
    a, b = fmpq(a), fmpq(b)

    def change(body):
        d, m = body.in_dim, body.out_dim
        c = (a + b) / 2
        s = fmpq(height) / (c - a)
        tent = network(affine([[1], [1], [1]], [-a, -c, -b]), activation(3), affine([[s, -2 * s, s]], [0]))
        if body.depth > 1:  # the tent is >= 0: non-negative identity layers carry it
            tent = network(tent, identity_layers(1, body.depth - 1, nonnegative=True))
        fan = affine([[1 if j == k else 0 for j in range(d)] for k in range(d)] +
                     [[1 if j == coordinate else 0 for j in range(d)]], [0] * (d + 1))
        add = affine([[1 if j == k else 0 for j in range(m)] + [1 if k == 0 else 0] for k in range(m)],
                     [0] * m)
        return network(fan, parallel(body, tent), add)
    return change


def linear(scale=1, shift=0):
    """scale·body + shift: same layers (the affine map merges with the body's last one)."""
    def change(body):
        m = body.out_dim
        return network(body, affine([[scale if i == j else 0 for j in range(m)] for i in range(m)],
                                    [shift] * m))
    return change


def certify_mutant(theorem_id, raw, name, change):
    thm = default_registry().get(theorem_id)
    params = thm.parse_params(raw)
    target = make_target_for(thm, params, None)
    build = thm.builder()

    def mutant_builder(p, t):  # the intrinsic-parameter probes see the same mutant
        return replace_bodies(build(p, t), name, change)

    return certify_network(thm, params, target, mutant_builder(params, target), mutant_builder)


def failed(cert):
    return {g["gadget"] for g in cert["gadgets"] if not g["holds"]}


LP = ("syz-intrinsic-lp", {"n": "4", "d": "1", "p": "2"})
LINF = ("syz-intrinsic-linf", {"n": "3"})

# ------------------------------------------------------------------------------------------------
# the reported hole: a threshold with a bump of height 5000 on h ∈ (0.4, 0.6), spec unchanged


@pytest.mark.parametrize("theorem_id,raw", [LP, LINF])
def test_threshold_bump_is_caught_by_its_nested_certificate(theorem_id, raw):
    cert = certify_mutant(theorem_id, raw, "threshold", bump("2/5", "3/5"))
    # the cells never reach the bump, so only the spec's certificate can tell
    assert cert["verdict"] == "INCONCLUSIVE"
    assert "threshold" in failed(cert)
    assert all(c["ok"] for c in cert["architecture"]["claims"])


def test_threshold_bump_breaks_the_bit_extractor_range():
    cert = certify_mutant("syz-bit-extraction", {}, "threshold", bump("2/5", "3/5"))
    assert cert["verdict"] != "HOLDS"  # also VIOLATED: the bump widens the layer to 5
    assert "threshold" in failed(cert)
    entry = next(g for g in cert["gadgets"] if g["gadget"] == "threshold")
    assert entry["method"] == "exact 1-D enumeration of the body"


# ------------------------------------------------------------------------------------------------
# one mutant per gadget kind with a specification in constructive/gadgets/


# kinds whose specification an analysis uses in place of the body: the change hides there
RELIED = [
    ("bit-extraction", LP, bump(-10, -9)),  # φ1, L ≥ 0: negative inputs are never met
    ("mid", LINF, bump("2/5", "9/20")),  # not monotone; exact boxes never feed it (2/5, 9/20)
    ("mid", ("nestnet-height-s-rate-linf", {}), bump("2/5", "9/20")),
    ("nestnet-clip", ("nestnet-height-s-rate", {}), bump(-10, -9)),
    ("zlz-clamp", ("zlz-composition-rate", {}), bump(-1000, -999)),
]


@pytest.mark.parametrize("name,instance,change", RELIED, ids=lambda v: v if isinstance(v, str) else None)
def test_relied_on_spec_mutant_is_not_trusted(name, instance, change):
    cert = certify_mutant(*instance, name, change)
    assert cert["verdict"] == "INCONCLUSIVE"
    assert failed(cert) == {name}


# kinds the paper methods check on the network itself: the change shows as an error
DIRECT = [
    ("threshold", ("syz-bit-extraction", {}), linear(shift=1)),
    ("cpwl-one-layer", ("syz-cpwl-one-layer", {}), linear(shift=1)),
    ("mid", ("syz-mid-gadget", {}), linear(shift=1)),
    ("nestnet-floor", ("nestnet-floor-c2", {}), linear(shift=1)),
    ("nestnet-step", ("nestnet-step-doubly-exponential", {}), linear(shift=1)),
    ("nestnet-bitsum", ("nestnet-bitsum-d4", {}), linear(shift=1)),
    ("nestnet-blocksum", ("nestnet-point-fit", {}), linear(scale=2)),  # a shift cancels in φ2 − φ3
    ("nestnet-point-fit", ("nestnet-point-fit", {}), linear(shift=1)),
]


@pytest.mark.parametrize("name,instance,change", DIRECT, ids=lambda v: v if isinstance(v, str) else None)
def test_checked_gadget_mutant_does_not_hold(name, instance, change):
    assert certify_mutant(*instance, name, change)["verdict"] != "HOLDS"


EUAF = [
    ("euaf-identity", "euaf-identity-padding"),
    ("euaf-square", "euaf-square-exact"),
    ("euaf-square", "euaf-product-exact"),
    ("euaf-product", "euaf-product-exact"),
    ("euaf-index", "euaf-step-index"),
    ("euaf-softsign-index", "euaf-softsign-independent-index"),
    ("euaf-psi-hat", "euaf-partition-of-unity"),
    ("euaf-partition-of-unity", "euaf-partition-of-unity"),
    ("euaf-round-odd", "euaf-rounding-odd"),
]


def _identity_proved(theorem_id, params, net):
    from certify.analysis.sigma_cells import identity_on
    from proofs.fixed_sigma.specs import identity_spec

    spec = identity_spec(theorem_id, params, net)
    if spec.kind == "cells":
        return all(identity_on(spec.network, ref, lo, hi)[0] for lo, hi, ref in spec.pieces)
    return spec.proof()[0]


@pytest.mark.parametrize("name,theorem_id", EUAF)
def test_euaf_identity_is_proved_on_the_network_given(name, theorem_id):
    thm = default_registry().get(theorem_id)
    params = thm.parse_params({})
    net = thm.builder()(params, None)
    assert _identity_proved(theorem_id, params, net)
    assert not _identity_proved(theorem_id, params, replace_bodies(net, name, linear(shift=1)))


# the whole pipeline proves these identities on the network it is handed (gadget_identity passes
# ``net``): the euaf-* mutants in tests/mutants/test_euaf_mutants.py must not HOLD


# ------------------------------------------------------------------------------------------------
# the relied-on set is closed under nesting


def test_nested_specs_join_the_relied_on_set():
    net = bit_extractor(12)
    (iv,), used = output_range(net)
    assert iv == (0, 1) and used == {"bit-extraction"}
    entries = {g["gadget"]: g for g in certify_gadgets(net, used)}
    assert set(entries) == {"bit-extraction", "threshold"}
    assert entries["bit-extraction"]["relies_on"] == ["threshold"]
    assert all(g["holds"] for g in entries.values())


def test_default_instances_certify_the_nested_threshold():
    for theorem_id, raw in (LP, LINF):
        thm = default_registry().get(theorem_id)
        params = thm.parse_params(raw)
        target = make_target_for(thm, params, None)
        cert = certify_network(thm, params, target, thm.builder()(params, target), thm.builder())
        assert cert["verdict"] == "HOLDS"
        names = {g["gadget"] for g in cert["gadgets"]}
        assert "threshold" in names and all(g["holds"] for g in cert["gadgets"])


def test_every_instance_of_a_name_is_certified():
    # two instances named g under one spec: the clip σ(x) − σ(x − 1) keeps to [0, 1], σ does not
    plain = gadget("g", network(affine([[1]], [0]), activation(1), affine([[1]], [0])),
                   GadgetSpec("values in [0, 1]", range=(fmpq(0), fmpq(1))))
    clip = dataclasses.replace(plain, body=network(affine([[1], [1]], [0, -1]), activation(2),
                                                   affine([[1, -1]], [0])))
    net = network(clip, plain)
    entries = certify_gadgets(net, {"g"})
    assert len(entries) == 2 and sorted(e["holds"] for e in entries) == [False, True]


def test_a_reported_name_without_gadget_is_not_certified():
    (entry,) = certify_gadgets(mid_gadget(), {"no-such-gadget"})
    assert entry["holds"] is False


def test_constant_cells_are_listed_as_derived():
    (entry,) = certify_gadgets(mid_gadget(), {"aux-offtrifling (cells)"})
    assert entry["holds"] and "derived from the body" in entry["method"]


# ------------------------------------------------------------------------------------------------
# how specifications may be used


def test_a_range_on_a_bounded_domain_is_not_used_outside_it():
    body = network(affine([[1]], [0]), activation(1), affine([[1]], [0]))
    g = gadget("bounded", body, GadgetSpec("σ(x) = x on [0, 1]", domain=((fmpq(0), fmpq(1)),),
                                           range=(fmpq(0), fmpq(1))))
    inside = RangeAnalysis()
    assert inside.run(g, [(fmpq(0), fmpq(1, 2))]) == [(0, 1)] and inside.used == {"bounded"}
    outside = RangeAnalysis()
    assert outside.run(g, [(fmpq(-5), fmpq(5))]) == [(0, 5)] and not outside.used


def test_the_interval_extension_comes_from_the_body():
    """The enclosure at mid is [body(lo), body(hi)], so a wrong interval callable is not used."""
    g = mid_gadget().nodes[0]
    wrong = dataclasses.replace(g, spec=dataclasses.replace(g.spec, interval=lambda lo, hi: ([0], [0])))
    analysis = RangeAnalysis()
    assert analysis.run(wrong, [(fmpq(1), fmpq(2)), (fmpq(3), fmpq(5)), (fmpq(0), fmpq(4))]) == [(1, 4)]
    assert analysis.used == {"mid"}


def test_a_non_monotone_body_fails_the_interval_certificate():
    g = mid_gadget().nodes[0]
    mutant = dataclasses.replace(g, body=bump("2/5", "9/20")(g.body))
    (entry,) = certify_gadgets(network(mutant), {"mid"})
    assert entry["holds"] is False and "witness" in entry["facts"][0]
    (ok,) = certify_gadgets(network(g), {"mid"})
    assert ok["holds"]


def test_demand_driven_clip_in_boxes_records_only_what_tightens():
    """A range that does not tighten the body's enclosure is not relied on."""
    from certify.analysis.boxes import analyse_boxes

    body = network(affine([[1], [1]], [0, -1]), activation(2), affine([[1, -1]], [0]))  # in [0, 1]
    loose = gadget("clip", body, GadgetSpec("in [-5, 5]", range=(fmpq(-5), fmpq(5))))
    (r,), used = analyse_boxes(network(loose), [[(fmpq(-1), fmpq(3))]])
    assert not r.exact and used == set()  # the body's interval [-2, 3] is inside [-5, 5]
    tight = gadget("clip", body, GadgetSpec("in [0, 1]", range=(fmpq(0), fmpq(1))))
    (r,), used = analyse_boxes(network(tight), [[(fmpq(-1), fmpq(3))]])
    assert (r.lo, r.hi) == ((0,), (1,)) and used == {"clip"}
