"""NestNet gadgets (Shen, Yang, Zhang, NeurIPS 2022, Appendices C and D), exact rational weights.

Floors with gaps (Appendix C):

* :func:`floor_c2` — Lemma C.2, height 1: ⌊x⌋ on ∪_{ℓ<2^n} [ℓ, ℓ+1−δ], binary digits peeled one per
  hidden layer (width 4, depth n; the paper's figure uses depth 4n−1).
* :func:`floor_c3` — Lemma C.3, height +1: a floor g of height s, valid for ℓ < m = 2^{n^s} with gap
  δ_g, used as the activation of a width-3 network that peels n base-m digits; valid for
  ℓ < m^n with gap m^n δ_g.  The outer network has exactly 4 + 9 + 12(n−2) + 4 = 12n − 7 parameters.
* :func:`floor_c1` — Lemma C.1, height r by induction (C.2, then C.3 r−1 times).
* :func:`step_b1` — Proposition B.1: = ⌊x⌋ on [j, j+1−δ] for j < J and = J on [J, J+1].  Project
  variant: the clamp acts on the input, φ(x) = φ₀(min{x, J}) with min{x, J} = σ(x) − σ(x − J)
  (the paper clamps the output with M = (M̃ + J)/δ; same statement, and every ReLU keeps one sign
  on every gapped interval, which the cell certifier uses).

Bit sums and point fitting (Appendix D):

* :func:`bitsum_d4` — Lemma D.4, height 1: x = k + bin0.θ₁…θ_n ↦ Σ_{ℓ≤k} θ_ℓ (k = 0..n).  Project
  weights (width 8, depth n + 2): one bit per layer, [ℓ ≤ k] = σ(k−ℓ+1) − σ(k−ℓ) and the product of
  two bits as σ(a + b − 1); the case k = 0 needs no repair.
* :func:`bitsum_d5` — Lemma D.5, height +1: n blocks of m = n^r bits, each split off with a floor
  g̃ of height r and summed with the bit-sum g of height r, both used as activations.
* :func:`bitsum_d2` — Lemma D.2 (induction: D.4, then D.5).
* :func:`blocksum_d3` — Lemma D.3 (composition Φ₁, ϕ₂, then the bit sum: height s).
* :func:`point_fit_b2` — Proposition B.2, with the sign of ϕ₃ corrected ((ϕ₁ + ϕ₂ − ϕ₃)ε; the proof
  prints + ϕ₃).

Nested activations are one-input networks whose only node is a :class:`~constructive.ir.Gadget`
named ``nestnet-floor`` or ``nestnet-bitsum``; their ``params`` carry the specification the
certifier checks (``gap`` and ``count`` for floors, ``bits`` for bit sums).
"""

from __future__ import annotations

import random
from typing import Any, Optional, Sequence

from flint import fmpq

from constructive.activations import RELU
from constructive.errors import UserError
from constructive.ir import (Activation, Gadget, GadgetSpec, Network, Node, affine, gadget, identity_layers,
                             network, parallel)
from constructive.numbers import as_fmpq

FLOOR = "nestnet-floor"
BITSUM = "nestnet-bitsum"


def _check_pos(**values: int) -> None:
    for name, v in values.items():
        if not isinstance(v, int) or v < 1:
            raise UserError(f"{name}={v!r} must be a positive integer")


def _layers(spec: Sequence[tuple[list, list, Optional[list]]]) -> list[Node]:
    """[(W, b, activations or None)] → nodes; activations default to ReLU."""
    nodes: list[Node] = []
    for W, b, acts in spec:
        nodes.append(affine(W, b))
        if acts is not None:
            nodes.append(Activation(tuple(acts)))
    return nodes


def floor_spec(gap: fmpq, count: int, source: str) -> GadgetSpec:
    return GadgetSpec(statement=f"⌊x⌋ on ∪_{{ℓ<{count}}} [ℓ, ℓ+1−gap], gap = {gap}",
                      reference=lambda v: [v[0].floor()], source=source)


def _floor_gadget(body: Network, gap: fmpq, count: int, height: int, source: str) -> Network:
    return network(gadget(FLOOR, body, floor_spec(gap, count, source), gap=gap, count=count,
                          height=height))


# ------------------------------------------------------------------------------------------------
# Appendix C: floors


def floor_c2(n: int, gap: Any) -> Network:
    """Lemma C.2: a ReLU network (height 1) equal to ⌊x⌋ on ∪_{ℓ<2^n} [ℓ, ℓ+1−gap].

    Hidden layer j (j = n−1..0) holds (σ(x), σ(S_j), σ(u_j−1+δ̃), σ(u_j−1)) with S_j = Σ_{i>j} z_i 2^i,
    u_j = (x − S_j)/2^j and δ̃ = 2^{−n}·gap; z_j = (σ(u_j−1+δ̃) − σ(u_j−1))/δ̃.

    >>> from constructive.evaluate import evaluate
    >>> evaluate(floor_c2(3, fmpq(1, 4)), [[0, "5/2", "27/4"]])
    [[0, 2, 6]]
    """
    _check_pos(n=n)
    gap = as_fmpq(gap)
    if not 0 < gap < 1:
        raise UserError(f"gap={gap} must lie in (0, 1)")
    dt = gap / 2 ** n
    spec = []
    # first hidden layer: x, and the digit pair for j = n−1 (S = 0)
    c = fmpq(1, 2 ** (n - 1))
    spec.append(([[1], [c], [c]], [0, -1 + dt, -1], [RELU] * 3))
    # rows of later layers read (x, [S,] a, b); z = (a − b)/δ̃
    prev_has_s = False
    for j in range(n - 2, -1, -1):
        w = 2 ** (j + 1) / dt  # S_j = S_{j+1} + 2^{j+1} z_{j+1}
        cj = fmpq(1, 2 ** j)
        if prev_has_s:
            row_x = [1, 0, 0, 0]
            row_s = [0, 1, w, -w]
            row_u = [cj, -cj, -cj * w, cj * w]
        else:
            row_x = [1, 0, 0]
            row_s = [0, w, -w]
            row_u = [cj, -cj * w, cj * w]
        spec.append(([row_x, row_s, row_u, row_u], [0, 0, -1 + dt, -1], [RELU] * 4))
        prev_has_s = True
    if prev_has_s:
        out = [[0, 1, 1 / dt, -1 / dt]]
    else:
        out = [[0, 1 / dt, -1 / dt]]
    spec.append((out, [0], None))
    body = network(*_layers(spec))
    return _floor_gadget(body, gap, 2 ** n, 1, "NestNet Lemma C.2")


def floor_c3(g: Network, n: int) -> Network:
    """Lemma C.3: with g a floor of height s valid for ℓ < m and gap δ_g (and m^n δ_g < 1), a
    height-(s+1) floor valid for ℓ < m^n with gap m^n δ_g.  Width 3, depth n, outer 12n − 7 params.

    Hidden layer n−1 is (σ(x), g(x/m^{n−1})); layer j < n−1 is (σ(x), σ(S_j), g((x − S_j)/m^j)).
    """
    _check_pos(n=n)
    if n < 2:
        raise UserError(f"Lemma C.3 needs n >= 2 (its parameter count 12n − 7 assumes it); got n={n}")
    gsp = _spec_of(g, FLOOR)
    m, gap_g = gsp["count"], gsp["gap"]
    gap = gap_g * m ** n
    if not gap < 1:
        raise UserError(f"Lemma C.3 needs m^n·δ < 1; here {m}^{n}·{gap_g} = {gap}")
    spec = [([[1], [fmpq(1, m ** (n - 1))]], [0, 0], [RELU, g])]
    prev_has_s = False
    for j in range(n - 2, -1, -1):
        w = m ** (j + 1)
        cj = fmpq(1, m ** j)
        if prev_has_s:
            rows = [[1, 0, 0], [0, 1, w], [cj, -cj, -cj * w]]
        else:
            rows = [[1, 0], [0, w], [cj, -cj * w]]
        spec.append((rows, [0, 0, 0], [RELU, RELU, g]))
        prev_has_s = True
    spec.append(([[0, 1, 1]], [0], None))
    body = network(*_layers(spec))
    return _floor_gadget(body, gap, m ** n, _height(g) + 1, "NestNet Lemma C.3")


def floor_c1(r: int, n: int, gap: Any) -> Network:
    """Lemma C.1: a height-r floor valid for ℓ < 2^{n^r} with the given final gap
    (δ = gap / C(r, n), C(r, n) = Π_{i≤r} 2^{n^i})."""
    _check_pos(r=r, n=n)
    gap = as_fmpq(gap)
    if not 0 < gap < 1:
        raise UserError(f"gap={gap} must lie in (0, 1)")
    if r >= 2 and n < 2:
        raise UserError(f"Lemma C.1 with r={r} >= 2 uses Lemma C.3, which needs n >= 2; got n={n}")
    base_gap = gap / 2 ** sum(n ** i for i in range(2, r + 1))
    g = floor_c2(n, base_gap)
    for _ in range(2, r + 1):
        g = floor_c3(g, n)
    return g


def step_b1(r: int, n: int, delta: Any, J: int, floor: Optional[Network] = None) -> Network:
    """Proposition B.1 (project variant, input clamp): ⌊x⌋ on [j, j+1−δ] for j < J, J on [J, J+1].

    φ(x) = φ₀(σ(x) − σ(x − J)) with φ₀ = Lemma C.1 (height r, floor for ℓ < 2^{n^r}, gap δ);
    needs J < 2^{n^r} (the paper allows J = 2^{n^r} with an output clamp).
    """
    _check_pos(r=r, n=n)
    if not isinstance(J, int) or J < 0:
        raise UserError(f"J={J!r} must be a non-negative integer")
    delta = as_fmpq(delta)
    if J >= 2 ** (n ** r):
        raise UserError(f"Proposition B.1 (input-clamp variant) needs J < 2^(n^r) = 2^{n ** r}; got J={J}")
    phi0 = floor if floor is not None else floor_c1(r, n, delta)
    clamp = network(affine([[1], [1]], [0, -J]), Activation((RELU, RELU)), affine([[1, -1]], [0]))
    body = network(clamp, *_unwrap(phi0).nodes)
    spec = GadgetSpec(statement=f"⌊x⌋ on [j, j+1−δ] for j < {J}, and {J} on [{J}, {J + 1}]",
                      reference=lambda v: [min(v[0].floor(), fmpq(J))], source="NestNet Prop B.1")
    return network(gadget("nestnet-step", body, spec, r=r, n=n, J=J, delta=delta))


# ------------------------------------------------------------------------------------------------
# Appendix D: bit sums


def bin0(bits: Sequence[int]) -> fmpq:
    """bin0.θ₁…θ_L = Σ θ_ℓ 2^{−ℓ}."""
    v = 0
    for b in bits:
        if b not in (0, 1):
            raise UserError("bits must be 0 or 1")
        v = 2 * v + b
    return fmpq(v, 2 ** len(bits))


def bitsum_reference(x: fmpq, m: int) -> Optional[int]:
    """Σ_{ℓ≤p} ξ_ℓ for x = p + bin0.ξ₁…ξ_m with p ∈ 0..m; None when x is not of that form."""
    if x < 0 or x >= m + 1:
        return None
    p = int(x.floor())
    frac = (x - p) * 2 ** m
    if frac.q != 1:
        return None
    F = int(frac.p)
    return bin(F >> (m - p)).count("1")


def _bitsum_gadget(body: Network, m: int, height: int, source: str) -> Network:
    spec = GadgetSpec(statement=f"x = p + bin0.ξ₁…ξ_{m} ↦ Σ_{{ℓ≤p}} ξ_ℓ for p = 0..{m}",
                      reference=lambda v: [fmpq(bitsum_reference(v[0], m))], source=source)
    return network(gadget(BITSUM, body, spec, bits=m, height=height))


def bitsum_d4(n: int) -> Network:
    """Lemma D.4 (height 1, project weights): k + bin0.θ₁…θ_n ↦ Σ_{ℓ≤k} θ_ℓ for k = 0..n.

    >>> from constructive.evaluate import evaluate
    >>> evaluate(bitsum_d4(3), [[2 + bin0([1, 0, 1]), 3 + bin0([1, 0, 1])]])
    [[1, 2]]
    """
    _check_pos(n=n)
    eps = fmpq(1, 2 ** n)
    # Ψ: k = ψ(x), ψ the CPwL floor with 2n breakpoints (ℓ on [ℓ, ℓ+1−2^{−n}], ℓ = 0..n)
    W1 = [[1]]
    b1: list = [0]
    for l in range(n):
        W1 += [[1], [1]]
        b1 += [-(l + 1 - eps), -(l + 1)]
    w_k = [0] + [v for _ in range(n) for v in (1 / eps, -1 / eps)]
    # state layers: (A, B, C, D, y, k, S, P): A = σ(2y−1+ε), B = σ(2y−1), C = σ(k−ℓ+1), D = σ(k−ℓ),
    # P = σ(θ_{ℓ−1} + c_{ℓ−1} − 1) (the previous bit if it counts), S the running sum
    w_y = [1] + [-v for v in w_k[1:]]  # y = σ(x) − k
    spec = [(W1, b1, [RELU] * len(b1))]

    def state_rows(yrow: list, krow: list, srow: list, prow: list, l: int) -> tuple[list, list]:
        rows = [[2 * v for v in yrow], [2 * v for v in yrow], krow, krow, yrow, krow, srow, prow]
        bias = [-1 + eps, -1, -l + 1, -l, 0, 0, 0, 0]
        return rows, bias

    zero = [0] * len(w_k)
    rows, bias = state_rows(w_y, w_k, zero, zero, 1)
    spec.append((rows, bias, [RELU] * 8))
    # from a state layer: θ = (A − B)/ε, c = C − D, y' = 2y − θ, k, S' = S + P, P' = σ(θ + c − 1)
    for l in range(2, n + 2):
        theta = [1 / eps, -1 / eps, 0, 0, 0, 0, 0, 0]
        cbit = [0, 0, 1, -1, 0, 0, 0, 0]
        yrow = [-t for t in theta]
        yrow[4] = 2
        krow = [0, 0, 0, 0, 0, 1, 0, 0]
        srow = [0, 0, 0, 0, 0, 0, 1, 1]
        prow = [theta[i] + cbit[i] for i in range(8)]
        if l <= n:
            rows = [[2 * v for v in yrow], [2 * v for v in yrow], krow, krow, yrow, krow, srow, prow]
            bias = [-1 + eps, -1, -l + 1, -l, 0, 0, 0, -1]
            spec.append((rows, bias, [RELU] * 8))
        else:  # last: only S' and P' remain
            spec.append(([srow, prow], [0, -1], [RELU] * 2))
    spec.append(([[1, 1]], [0], None))
    body = network(*_layers(spec))
    return _bitsum_gadget(body, n, 1, "NestNet Lemma D.4 (project weights)")


def bitsum_d5(g: Network, floor: Network, n: int) -> Network:
    """Lemma D.5: from a bit sum g of height r over m bits and a floor g̃ of height r (valid for
    ℓ ≤ max(nm, 2^m − 1), gap ≤ 2^{−nm}), a height-(r+1) bit sum over nm bits.

    Layers: (σ(x), g̃(x)) gives k and y₀ = x − k; per block i three layers
    (y, k, S, g̃(2^m y), σ(k − im)) → (y', k, S, b, σ(m − σ(k − im))) → (y', k, S, g(q_i + b/2^m)),
    with q_i = min{σ(k − im), m}, y' = 2^m y − g̃(2^m y), S accumulating the block sums.
    """
    _check_pos(n=n)
    m = _spec_of(g, BITSUM)["bits"]
    fs = _spec_of(floor, FLOOR)
    if fs["count"] < max(n * m + 1, 2 ** m) or fs["gap"] > fmpq(1, 2 ** (n * m)):
        raise UserError("Lemma D.5 needs a floor valid for ℓ ≤ max(nm, 2^m − 1) with gap ≤ 2^{−nm}")
    M = 2 ** m
    spec = [([[1], [1]], [0, 0], [RELU, floor])]
    # from (x, k): state (y, k, S=0) as the previous "c" layer shape (y, k, S, t) with t = 0
    # block layers a/b/c; the c layer of the previous block is (y, k, S, t) with t the block sum
    prev = ("start",)
    for i in range(n):
        if prev[0] == "start":
            y = [1, -1]; k = [0, 1]; S = [0, 0]
        else:
            y = [1, 0, 0, 0]; k = [0, 1, 0, 0]; S = [0, 0, 1, 1]
        rows_a = [y, k, S, [M * v for v in y], k]
        spec.append((rows_a, [0, 0, 0, 0, -i * m], [RELU, RELU, RELU, floor, RELU]))
        # layer b from (y, k, S, G, h): y' = M y − G, b = G, σ(m − h)
        rows_b = [[M, 0, 0, -1, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, -1]]
        spec.append((rows_b, [0, 0, 0, 0, m], [RELU] * 5))
        # layer c from (y', k, S, G, e): q + G/M = m − e + G/M
        rows_c = [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, fmpq(1, M), -1]]
        spec.append((rows_c, [0, 0, 0, m], [RELU, RELU, RELU, g]))
        prev = ("c",)
    spec.append(([[0, 0, 1, 1]], [0], None))
    body = network(*_layers(spec))
    return _bitsum_gadget(body, n * m, _height(g) + 1, "NestNet Lemma D.5")


def bitsum_d2(n: int, s: int) -> Network:
    """Lemma D.2: a height-s bit sum over n^s bits (D.4, then D.5 s − 1 times; each D.5 level r
    uses the floor of Lemma C.1 with ñ = 2n, height r and gap 2^{−n^{r+1}})."""
    _check_pos(n=n, s=s)
    g = bitsum_d4(n)
    for r in range(1, s):
        fl = floor_c1(r, 2 * n, fmpq(1, 2 ** (n ** (r + 1))))
        g = bitsum_d5(g, fl, n)
    return g


def _cpwl_rows(xs: Sequence[fmpq], ys: Sequence[fmpq]) -> tuple[list, list, list, fmpq]:
    """One-hidden-layer CPwL with flat ends through (xs, ys): input weights, biases, output weights
    and output bias (NestNet Lemma D.1 / B Lemma 4.3)."""
    slopes = [fmpq(0)] + [(ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(len(xs) - 1)] + [fmpq(0)]
    W, b, out = [], [], []
    for i, x in enumerate(xs):
        jump = slopes[i + 1] - slopes[i]
        if jump != 0:
            W.append([1]); b.append(-x); out.append(jump)
    return W, b, out, ys[0]


def blocksum_d3(n: int, s: int, theta: Sequence[Sequence[int]], g: Optional[Network] = None) -> Network:
    """Lemma D.3: j = im + k ↦ Σ_{ℓ≤k} θ_{i,ℓ} (m = n^s), height s: Φ₁ (i, k), then k + 1 + z_i,
    then the layers of the bit sum of Lemma D.2 (composed, not nested)."""
    _check_pos(n=n, s=s)
    m = n ** s
    if len(theta) != n or any(len(row) != m for row in theta):
        raise UserError(f"Lemma D.3 needs {n} blocks of {m} bits")
    g = g if g is not None else bitsum_d2(n, s)
    # Φ₁: i = ϕ₁(j/m) with ϕ₁ = ℓ on [ℓ, ℓ+1−1/(2m)], ℓ = 0..n−1 (flat after n−1)
    xs, ys = [fmpq(0)], [fmpq(0)]
    for l in range(n - 1):
        xs += [fmpq(l + 1) - fmpq(1, 2 * m), fmpq(l + 1)]
        ys += [fmpq(l), fmpq(l + 1)]
    Wf, bf, of, cf = _cpwl_rows([x * m for x in xs], ys)  # in terms of j directly
    W1 = [[1]] + Wf
    b1 = [0] + bf
    i_row = [0] + of  # i = cf + Σ of·h  (cf = 0)
    # layer 2: (σ(k), ϕ̃₂ units of i) with k = j − m i
    z = [bin0(row) for row in theta]
    Wz, bz, oz, cz = _cpwl_rows([fmpq(i) for i in range(n)], z) if n > 1 else ([], [], [], z[0])
    k_row = [1] + [-m * v for v in of]
    W2 = [k_row] + [[w[0] * v for v in i_row] for w in Wz]
    b2 = [0] + bz
    # output into the bit sum: k + 1 + z_i
    W3 = [[1] + oz]
    b3 = [1 + cz]
    head = network(*_layers([(W1, b1, [RELU] * len(b1)), (W2, b2, [RELU] * len(b2)), (W3, b3, None)]))
    body = network(head, *_unwrap(g).nodes)
    spec = GadgetSpec(statement=f"j = i·{m} + k ↦ Σ_{{ℓ≤k}} θ_(i,ℓ), j < {n * m}", source="NestNet Lemma D.3")
    return network(gadget("nestnet-blocksum", body, spec, n=n, s=s))


def clip_gadget(M: fmpq) -> Network:
    """ψ(t) = min{σ(t), M} = M − σ(M − σ(t)): values in [0, M] on R (width 1, depth 2).

    Written so that plain interval arithmetic gives [0, M] for any input interval too (the same
    function as σ(t) − σ(σ(t) − M) gives [−(B − M), B] for σ(t) ∈ [0, B]): the checker kernel
    bounds φ on the boxes of the trifling region by interval propagation."""
    M = as_fmpq(M)
    body = network(affine([[1]], [0]), Activation((RELU,)), affine([[-1]], [M]),
                   Activation((RELU,)), affine([[-1]], [M]))
    spec = GadgetSpec(statement=f"min{{σ(t), {M}}}, values in [0, {M}] on R",
                      reference=lambda v: [min(max(v[0], fmpq(0)), M)], domain=((None, None),),
                      range=(fmpq(0), M), source="NestNet Prop B.2 (ψ)")
    return network(gadget("nestnet-clip", body, spec, M=M))


def point_fit_plan(ys: Sequence[fmpq], eps: fmpq, n: int, s: int) -> dict:
    """The data of Proposition B.2: a_j = ⌊y_j/ε⌋, block starts, and the bits c, d of the increments."""
    m = n ** s
    J = len(ys)
    if J > n * m:
        raise UserError(f"Proposition B.2 fits at most n^(s+1) = {n * m} points; got {J}")
    if J < 1 or eps <= 0:
        raise UserError("Proposition B.2 needs at least one sample and ε > 0")
    if any(y < 0 for y in ys):
        raise UserError("Proposition B.2 needs samples y_j >= 0")
    ys = list(ys) + [ys[-1]] * (n * m - J)
    a = [int((y / eps).floor()) for y in ys]
    c = [[0] * m for _ in range(n)]
    dd = [[0] * m for _ in range(n)]
    for i in range(n):
        for l in range(1, m):
            b = a[i * m + l] - a[i * m + l - 1]
            if b not in (-1, 0, 1):
                raise UserError(f"Proposition B.2 needs |y_j − y_(j−1)| <= ε; fails at j = {i * m + l}")
            c[i][l], dd[i][l] = (1, 0) if b == 1 else ((0, 1) if b == -1 else (0, 0))
    return {"a": a, "c": c, "d": dd, "starts": [a[i * m] for i in range(n)], "M": max(ys[:J])}


def point_fit_b2(ys: Sequence[Any], eps: Any, n: int, s: int, g: Optional[Network] = None,
                 phi3_sign: int = -1) -> Network:
    """Proposition B.2: φ(j) = ⌊y_j/ε⌋ε for j < J ≤ n^{s+1}, 0 ≤ φ ≤ max y_j, height s.

    ϕ̃ = (ϕ₁ + ϕ₂ − ϕ₃)ε (the proof prints + ϕ₃: a sign typo) and φ = min{σ(ϕ̃), M};
    ``phi3_sign = +1`` builds the construction as printed (the erratum entry).
    """
    if phi3_sign not in (-1, 1):
        raise UserError(f"phi3_sign={phi3_sign} is not allowed; use -1 (corrected) or +1 (as printed)")
    _check_pos(n=n, s=s)
    ys = [as_fmpq(y) for y in ys]
    eps = as_fmpq(eps)
    plan = point_fit_plan(ys, eps, n, s)
    m = n ** s
    g = g if g is not None else bitsum_d2(n, s)
    phi2 = blocksum_d3(n, s, plan["c"], g)
    phi3 = blocksum_d3(n, s, plan["d"], g)
    # ϕ₁: a_{im} on [im, im + m − 1], linear in between (2n breakpoints), a one-layer CPwL, then
    # identity layers (its values are >= 0) to the depth of the bit sums
    xs, vals = [], []
    for i in range(n):
        xs += [fmpq(i * m), fmpq(i * m + m - 1)] if m > 1 else [fmpq(i * m)]
        vals += [fmpq(plan["starts"][i])] * (2 if m > 1 else 1)
    W, b, o, c0 = _cpwl_rows(xs, vals)
    if W:
        phi1 = network(affine(W, b), Activation((RELU,) * len(W)), affine([o], [c0]))
    else:
        phi1 = network(affine([[0]], [c0]))
    depth = phi2.depth
    phi1 = network(phi1, identity_layers(1, depth - phi1.depth, nonnegative=True)) \
        if depth > phi1.depth else phi1
    fan = affine([[1], [1], [1]], [0, 0, 0])
    combine = affine([[eps, phi3_sign * eps, eps]], [0])
    body = network(fan, parallel(phi2, phi3, phi1), combine, clip_gadget(plan["M"]))
    spec = GadgetSpec(statement=f"|φ(j) − y_j| <= ε for j < {len(ys)}, 0 <= φ <= max y",
                      range=(fmpq(0), plan["M"]), source="NestNet Prop B.2")
    return network(gadget("nestnet-point-fit", body, spec, n=n, s=s, J=len(ys), eps=eps))


# ------------------------------------------------------------------------------------------------
# helpers


def _unwrap(net: Network) -> Network:
    """The body of a one-gadget network (to compose layers instead of nesting)."""

    if isinstance(net, Network) and len(net.nodes) == 1 and isinstance(net.nodes[0], Gadget):
        return net.nodes[0].body
    return net


def _spec_of(net: Network, kind: str) -> dict:

    if not (isinstance(net, Network) and len(net.nodes) == 1 and isinstance(net.nodes[0], Gadget)
            and net.nodes[0].name == kind):
        raise ValueError(f"expected a {kind} gadget network")
    return dict(net.nodes[0].params)


def _height(net: Network) -> int:
    return _spec_of(net, FLOOR if _is(net, FLOOR) else BITSUM)["height"]


def _is(net: Any, kind: str) -> bool:

    return isinstance(net, Network) and len(net.nodes) == 1 and isinstance(net.nodes[0], Gadget) \
        and net.nodes[0].name == kind


def nested_kind(net: Any) -> Optional[str]:
    """FLOOR or BITSUM for a nested gadget activation, else None."""
    for kind in (FLOOR, BITSUM):
        if _is(net, kind):
            return kind
    return None


# ------------------------------------------------------------------------------------------------
# registry builders (``f(params, target) -> Network``)


def build_c2(params: dict, target: Any = None) -> Network:
    """nestnet-floor-c2: Lemma C.2 with n digits and gap ``gap``."""
    return floor_c2(int(params["n"]), as_fmpq(params["gap"]))


def build_c3(params: dict, target: Any = None) -> Network:
    """nestnet-floor-c3: Lemma C.3 on top of the height-s floor of Lemma C.1 (final gap ``gap``)."""
    s, n = int(params["s"]), int(params["n"])
    _check_pos(s=s, n=n)
    if n < 2:
        raise UserError(f"Lemma C.3 needs n >= 2; got n={n}")
    gap = as_fmpq(params["gap"])
    inner = floor_c1(s, n, gap / 2 ** (n ** (s + 1)))
    return floor_c3(inner, n)


def build_c1(params: dict, target: Any = None) -> Network:
    """nestnet-floor-c1: Lemma C.1, height r, final gap C(r, n)·δ = ``gap``."""
    return floor_c1(int(params["r"]), int(params["n"]), as_fmpq(params["gap"]))


def build_step(params: dict, target: Any = None) -> Network:
    """nestnet-step-doubly-exponential: Proposition B.1 (input-clamp variant)."""
    return step_b1(int(params["r"]), int(params["n"]), as_fmpq(params["delta"]), int(params["J"]))


def build_bitsum(params: dict, target: Any = None) -> Network:
    """nestnet-bitsum: Lemma D.2 (the network does not depend on the bits)."""
    return bitsum_d2(int(params["n"]), int(params["s"]))


def point_fit_samples(params: dict) -> tuple[list[fmpq], fmpq]:
    """The data of Prop B.2: a random walk y_j ≥ 0 with steps in {−ε, 0, ε}·(random fraction)
    (from the seed), and ε."""
    n, s = int(params["n"]), int(params["s"])
    J = int(params.get("J", 0)) or n ** (s + 1)
    eps = fmpq(1, 8)
    rng = random.Random(int(params["seed"]))
    ys = [fmpq(rng.randint(0, 64), 64)]
    for _ in range(J - 1):
        ys.append(max(fmpq(0), ys[-1] + eps * fmpq(rng.randint(-16, 16), 16)))
    return ys, eps


def build_point_fit(params: dict, target: Any = None) -> Network:
    """nestnet-point-fit: Proposition B.2 on the seeded random walk :func:`point_fit_samples`
    (the certifier checks the network against the same samples)."""
    ys, eps = point_fit_samples(params)
    return point_fit_b2(ys, eps, int(params["n"]), int(params["s"]))


def build_point_fit_printed(params: dict, target: Any = None) -> Network:
    """nestnet-point-fit-printed: Proposition B.2 exactly as its proof prints it,
    ϕ̃ = (ϕ₁ + ϕ₂ + ϕ₃)ε (txt p. 31, line 1001): every decrease of ⌊y/ε⌋ inside a block is added
    instead of subtracted."""
    ys, eps = point_fit_samples(params)
    return point_fit_b2(ys, eps, int(params["n"]), int(params["s"]), phi3_sign=1)
