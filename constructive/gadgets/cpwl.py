"""Continuous piecewise-linear functions of one variable with one hidden ReLU layer.

B Lemma 4.3 / NestNet Lemma D.1: a CPwL function on R with n breakpoints is realised exactly by
one hidden layer of width n + 1.  The recipe below writes f as

    f(x) = f(x₀) + Σ_i (s_i − s_{i−1}) σ(x − x_i) − s_left σ(x₀ − x),

where s_i is the slope right of breakpoint x_i and s_{−1} = s_left; the last term is only
needed when the left end is not flat.
"""

from __future__ import annotations

from typing import Any, Sequence

from flint import fmpq

from constructive.ir import GadgetSpec, Network, activation, affine, gadget, network
from constructive.numbers import as_fmpq, precision


def cpwl_network(xs: Sequence[Any], ys: Sequence[Any], left_slope: Any = 0, right_slope: Any = 0,
                 name: str = "cpwl-one-layer") -> Network:
    """The one-hidden-layer ReLU network through ``(xs[i], ys[i])`` with the given end slopes.

    Points where the slope does not change are dropped, so the width is the number of true kinks
    (plus one when the left end has a slope).

    >>> from constructive.evaluate import evaluate
    >>> net = cpwl_network([0, 1, 2], [0, 1, 0])
    >>> evaluate(net, [[-1, "1/2", 1, 3]])
    [[0, 1/2, 1, 0]]
    """
    xs = [as_fmpq(x) for x in xs]
    ys = [as_fmpq(y) for y in ys]
    if len(xs) != len(ys) or not xs:
        raise ValueError("need as many values as points, and at least one point")
    if any(b <= a for a, b in zip(xs, xs[1:])):
        raise ValueError("points must be strictly increasing")
    s_left, s_right = as_fmpq(left_slope), as_fmpq(right_slope)
    slopes = [s_left] + [(ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(len(xs) - 1)] + [s_right]
    kinks = [(xs[i], slopes[i + 1] - slopes[i]) for i in range(len(xs)) if slopes[i + 1] != slopes[i]]
    x0, y0 = xs[0], ys[0]
    weights_in, biases, weights_out = [], [], []
    for x, jump in kinks:
        weights_in.append([1]); biases.append(-x); weights_out.append(jump)
    if s_left != 0:
        # the left ray: f(x) = f(x0) + s_left (x − x0) = … − s_left σ(x0 − x) left of x0,
        # and the kink terms supply the rest because Σ jumps starts from s_left
        weights_in.append([-1]); biases.append(x0); weights_out.append(-s_left)
        # σ(x − x0) must then carry s_left as well: fold it into the first kink at x0
        if kinks and kinks[0][0] == x0:
            weights_out[0] += s_left
        else:
            weights_in.insert(0, [1]); biases.insert(0, -x0); weights_out.insert(0, s_left)
    width = len(weights_in)
    # f(x0) is reached at x0 where every σ(x − x_i) with x_i ≥ x0 vanishes
    bias_out = y0
    if width == 0:
        body = network(affine([[0]], [y0]))
    else:
        body = network(affine(weights_in, biases), activation(width),
                       affine([weights_out], [bias_out]))
    points = tuple(zip(xs, ys))
    spec = GadgetSpec(
        statement="CPwL through the given points with the given end slopes, one hidden layer",
        reference=None, domain=((None, None),), points=points, source="B Lemma 4.3",
    )
    return network(gadget(name, body, spec, breakpoints=len(kinks),
                          left_slope=str(s_left), right_slope=str(s_right)))


def build_interpolant(params: dict, target) -> Network:
    """Registry entries syz-cpwl-one-layer / syz-cpwl-interpolation: interpolate the target at
    n equispaced nodes (exact values when the target is rational-valued, otherwise a 64-bit
    dyadic rounding of a 128-bit ball)."""
    n = params["n"]
    xs = [fmpq(i, n - 1) for i in range(n)]
    return cpwl_network(xs, [node_value(target, x) for x in xs])


def node_value(target, x: fmpq) -> fmpq:
    if getattr(target, "rational_valued", False):
        return target.exact([x])

    with precision(128):
        mid = target.ball([x], prec=128).mid()
        return fmpq(int((mid * 2 ** 64).floor().unique_fmpz()), 2 ** 64)
