"""The certification methods that know no paper: ball branch and bound, and a gadget equal to
its exact reference on all of R^d."""

from __future__ import annotations

from typing import Any

from flint import arb, fmpq

from certify import evidence
from certify.analysis.bnb import ball_sup_error
from certify.analysis.pl1d import enumerate_1d
from certify.analysis.regions import certify_reference_identity
from certify.analysis.witnesses import falsify, lower_from
from certify.method import PREC, ErrorReport, Method, bound_value, methods, to_arb
from constructive.errors import UserError
from constructive.ir import Gadget, Node, walk
from constructive.numbers import precision


def method_identity(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    gadget = next(g for g in walk(net) if isinstance(g, Gadget) and g.spec and g.spec.reference)
    result = certify_reference_identity(gadget)
    err = result.difference if not result.holds else fmpq(0)
    wit = [{"x": [str(v) for v in result.witness], "error": str(err)}] if not result.holds else []
    # the kernel's relu-identity compares normal forms with the statement's formula
    return ErrorReport(abs(err), abs(err), wit, set(), {"regions": result.regions},
                       evidence=evidence.PIECES)


def with_kinks(net: Node, axis: list, d: int) -> list:
    """In 1-D, the cuts plus every neuron-level kink in [0, 1] of a piecewise-linear network."""
    if d != 1:
        return axis
    try:

        kinks = enumerate_1d(net, fmpq(0), fmpq(1), max_points=20000, minimal=False).points
    except (UserError, ValueError):
        return axis
    return sorted(set(axis) | set(kinks))


def method_ball_bnb(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Sup error on [0,1]^d by ball branch and bound (any activation with a ball kernel)."""
    d = target.dim
    best, err = falsify(net, target, d)
    lower, wit = lower_from(best, err)
    with precision(PREC):
        bound = to_arb(bound_value(thm, params, target))
        # refine until the upper bound is within a factor 3/2 of the witness (tight tables),
        # or at least below the claim
        goal = arb(3 * lower / 2) if lower > 0 else bound
        goal = goal if goal < bound else bound
    upper, examined, leaves = ball_sup_error(net, target, [(fmpq(0), fmpq(1))] * d, goal)
    cuts = [sorted({a for box in leaves for a in box[i]}) for i in range(d)]
    if d == 1:
        cuts = [with_kinks(net, cuts[0], 1)]
    return ErrorReport(lower, upper, wit, set(), {"boxes": examined}, evidence=evidence.grid(cuts))


METHODS = methods(
    Method("ball-bnb", method_ball_bnb),
    Method("identity", method_identity),
)
