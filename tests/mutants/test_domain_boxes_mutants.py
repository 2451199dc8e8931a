"""Mutants of Theorem 2.5 on a named union of boxes E (syz-bounded-domain-boxes, -lp):
proofs/optimal_rate/domain.py and domain_methods.py.

Theorem 2.5's constant 131 leaves far more room than any change of E or of the extension can
use (|f − g| ≤ λ diam^α), so the domain and extension mutants are certified against the bound
tightened to the unchanged network's certified upper bound on its own E: the unchanged network
meets that bound (checked below), and the mutation must then break it — which shows that the
certificate measures the error on the E it names, with the network it is handed.
"""

from __future__ import annotations

from functools import lru_cache

import pytest
from flint import arb, fmpq

from certify.certificate import certify_network
from constructive.numbers import as_fmpq
from constructive.targets import arb_to_fmpq_bounds
from proofs.optimal_rate.domain import build_domain, build_domain_lp, domain_boxes, domain_network, extension

from .harness import Mutant, assert_dies, assert_harmless, cases, instance
from .mutate import affine_sites, first_effective_nudge, gadgets_named, nudge
from .statements import tighten_bound

LINF = "syz-bounded-domain-boxes"
LP = "syz-bounded-domain-boxes-lp"
CUBE = {"E": "cube"}


@lru_cache(maxsize=None)
def _own_upper(tid: str) -> fmpq:
    """The unchanged default network's certified upper bound on its own E (frame)."""
    text = instance(tid).cert["error"]["upper"]
    if text.startswith("["):
        return arb_to_fmpq_bounds(arb(text))[1]
    return fmpq(*map(int, text.split("/"))) if "/" in text else fmpq(int(text))


def _tight(i):
    return tighten_bound(i.thm, _own_upper(i.thm.id))


def _frame_network(i):
    """The default (E = frame) network, handed in under the instance's bigger E (the cube)."""
    build = build_domain_lp if i.thm.id == LP else build_domain
    return build({**i.params, "E": "frame"}, i.target)


class RaisedOffE:
    """The extension with every value off U raised by ``c`` (the values on U kept)."""

    def __init__(self, g, boxes, c):
        self.g, self.boxes, self.c = g, boxes, c
        for k in ("dim", "name", "lam", "alpha", "rational_valued"):
            setattr(self, k, getattr(g, k))

    def _off(self, point):
        return not any(all(a <= x <= b for x, (a, b) in zip(point, box)) for box in self.boxes)

    def exact(self, point):
        return self.g.exact(point) + (self.c if self._off(point) else 0)

    def ball(self, point, prec=128):
        return self.g.ball(point, prec) + (self.c if self._off(point) else 0)


def _raised_extension(i, c=fmpq(1, 4)):
    d = int(i.params["d"])
    g = RaisedOffE(extension(i.target, i.params), domain_boxes(str(i.params["E"]), d), c)
    return domain_network(i.params, g, lp=i.thm.id == LP)


def _cell_centres_in_E(i):
    """Centres of the cells Q_β that lie in U, as inputs x = 2Ru − R of the whole network."""
    from proofs.optimal_rate.stepfn import step_counts

    p = i.params
    K = step_counts(int(p["N"]), int(p["L"]), int(p["d"]))["K"]
    R = as_fmpq(p["R"])
    boxes = domain_boxes(str(p["E"]), int(p["d"]))
    out = []
    for k in range(K):
        u = fmpq(2 * k + 1, 2 * K)
        if any(a <= u <= b for (a, b), *_ in boxes):
            out.append([2 * R * u - R] * int(p["d"]))
    return out


def _step_map_weight(i):
    g = gadgets_named(i.net, "syz-step-map")[0]
    return first_effective_nudge(i.net, [s.node for s in affine_sites(g)], _cell_centres_in_E(i))


KILLED = [
    Mutant("domain-boxes-step-weight", LINF, {}, "Thm 2.5 on E: a weight of the step map moved "
           "by 2^-40 (the first that changes φ at a cell centre in E)", mutate=_step_map_weight,
           slow=True),
    Mutant("domain-boxes-lp-step-weight", LP, {}, "Thm 2.5 on E (p = 2): a weight of the step map "
           "moved by 2^-40", mutate=_step_map_weight),
    Mutant("domain-boxes-rescale", LINF, {}, "Thm 2.5 on E: the change of variables with its "
           "first bias moved by 2^-40", mutate=lambda i: nudge(i.net, affine_sites(i.net)[0].node, "b", 0)),
    Mutant("domain-boxes-bigger-E", LINF, CUBE, "Thm 2.5 on E: the network built for E = frame "
           "certified on the bigger E = cube, at the bound it meets on the frame",
           mutate=_frame_network, restate=_tight),
    Mutant("domain-boxes-lp-bigger-E", LP, CUBE, "Thm 2.5 on E (p = 2): the frame's network on the "
           "cube, at the bound it meets on the frame", mutate=_frame_network, restate=_tight),
    Mutant("domain-boxes-extension-raised", LINF, {}, "Thm 2.5 on E: the extension's values off E "
           "raised by 1/4, at the bound the unchanged network meets",
           mutate=_raised_extension, restate=_tight),
    Mutant("domain-boxes-lp-extension-raised", LP, {}, "Thm 2.5 on E (p = 2): the extension off E "
           "raised by 1/4, at the bound the unchanged network meets",
           mutate=_raised_extension, restate=_tight),
]


@pytest.mark.parametrize("m", cases(KILLED))
def test_domain_mutant_dies(m):
    out = assert_dies(m)
    if m.restate is not None:  # a measured error above the tightened bound, not a refusal
        assert out.verdict == "VIOLATED", out.line()


class TentOffE:
    """The 1-D frame's extension plus a tent s·max(0, min(u − a, b − u)) on the part of the gap
    (3/10, 7/10) at distance ≥ 2/K from U: cells meeting E keep their corner values, and the
    gap's increments (5/6 per unit there) stay below ε = ω̄(1/K) (1 per unit) with s = 3/20."""

    def __init__(self, g, K):
        self.g, self.a, self.b = g, fmpq(3, 10) + fmpq(2, K), fmpq(7, 10) - fmpq(2, K)
        for k in ("dim", "name", "lam", "alpha", "rational_valued"):
            setattr(self, k, getattr(g, k))

    def _tent(self, point):
        u = as_fmpq(point[0])
        return fmpq(3, 20) * max(fmpq(0), min(u - self.a, self.b - u))

    def exact(self, point):
        return self.g.exact(point) + self._tent(point)

    def ball(self, point, prec=128):
        return self.g.ball(point, prec) + self._tent(point)


def _tented(i):
    from proofs.optimal_rate.stepfn import step_counts

    K = step_counts(int(i.params["N"]), int(i.params["L"]), 1)["K"]
    return domain_network(i.params, TentOffE(extension(i.target, i.params), K), lp=False)


HARMLESS = [
    Mutant("domain-boxes-tent-off-E", LINF, {}, "Thm 2.5 on E: the extension raised by a tent "
           "(height ≈ 0.027) in the middle of the frame's gap, off E",
           mutate=_tented, restate=_tight,
           harmless="the cells that meet E keep their values and ε is unchanged, so φ on E and "
                    "the error there are the unchanged network's: the tightened bound still holds"),
]


@pytest.mark.parametrize("m", cases(HARMLESS))
def test_domain_harmless_mutant_holds(m):
    out = assert_harmless(m)
    base = instance(m.theorem, m.params).cert["error"]
    assert (out.cert["error"]["lower"], out.cert["error"]["upper"]) == (base["lower"], base["upper"])


def test_the_tent_changes_the_network_off_E():
    """The harmless tent is a real change: φ differs in the middle of the gap (x = 0 is u = 1/2)."""
    from constructive.evaluate import evaluate

    i = instance(LINF)
    assert evaluate(_tented(i), [[fmpq(0)]]) != evaluate(i.net, [[fmpq(0)]])


@pytest.mark.parametrize("tid", [LINF, LP])
def test_the_tightened_bound_holds_for_the_unchanged_network(tid):
    """The domain and extension mutants are meaningful: the unchanged network meets the
    tightened bound on its own E."""
    i = instance(tid)
    cert = certify_network(_tight(i), i.params, i.target, i.net, i.builder)
    assert cert["verdict"] == "HOLDS", cert["reasons"]
