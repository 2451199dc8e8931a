"""Certification methods of the optimal-rate paper (Shen, Yang, Zhang, JMPA 2022)."""

from __future__ import annotations

from typing import Any

from flint import fmpq

from certify import evidence
from certify.analysis.pl1d import enumerate_1d, pl_from_points
from certify.method import ErrorReport, Method, methods
from constructive.errors import UserError
from constructive.gadgets.cpwl import node_value
from constructive.ir import Node


def method_pl1d_exact(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:


    n = params["n"]
    xs = [fmpq(i, n - 1) for i in range(n)]
    reference = pl_from_points(xs, [node_value(target, x) for x in xs])
    pl = enumerate_1d(net)
    diff = pl.max_abs_difference(reference)
    value, where = diff if isinstance(diff, tuple) else (diff, None)
    if value is None:
        raise UserError("the network and the reference differ unboundedly")
    wit = [{"x": [str(where)], "error": str(value)}] if value else []
    cuts = set(evidence.breakpoints_1d(net)) | set(xs)
    return ErrorReport(value, value, wit, set(), {"breakpoints": len(pl.points)},
                       evidence=evidence.line(cuts))


METHODS = methods(Method("pl1d-exact", method_pl1d_exact))
