"""Checks of claims about numbers the kernel computes from the statement and the stored network:
the covering radius of a codebook (:mod:`certify.kernel.covering`), the Gram matrix of ReLU
features and its spectrum's ends (:mod:`certify.kernel.gram`), roots of tan w tanh w = ±1
(:mod:`certify.kernel.roots`), and tables of numbers.  Each has the signature of the checks in
:mod:`certify.kernel.evidence` and returns its :class:`~certify.kernel.evidence.Bounds`.
"""

from __future__ import annotations

from flint import arb, ctx, fmpq, fmpq_mat, fmpq_mpoly_ctx, fmpz_mat

from certify.kernel import covering as cover
from certify.kernel import emulation, gram, normal, roots, smooth
from certify.kernel.claims import Statement, named_networks, rational
from certify.kernel.errors import KernelError, Undecided
from certify.kernel.evidence import (MAX_WITNESSES, Bounds, need_kind, real_cuts, region, sigma_sup,
                                     statement_boxes)
from certify.kernel.formula import Evaluator, ball, parse
from certify.kernel.grid import TargetExpression
from certify.kernel.network import StoredNetwork, plain_layer
from certify.kernel.stored import decode


def covering(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
             evidence: dict, cert: dict) -> Bounds:
    """The covering radius sup_x min_p |x − p| (Euclidean) of the codewords p listed as points by
    claim.pieces, on [0, 1]^k, or on the torus when the parameter ``domain`` says so: k = 1
    sorted gaps (exact), k = 2 clipped cells, k ≥ 3 dyadic boxes tiling the cube with the
    witnesses for the lower bound (:mod:`certify.kernel.covering`).  The network must be the
    encoder's score layer x ↦ (2p·x − |p|²)_p of exactly these codewords, in order (its argmax is
    the nearest codeword)."""
    k = net.input_dim
    need_kind(evidence, {1: "pieces", 2: "cells"}.get(k, "boxes"))
    if len(net.layers) != 1:
        raise KernelError("covering speaks about one affine layer (an encoder's scores)")
    code = _codewords(net.layers[0])
    if code != [tuple(lo) for lo, _, _ in statement_boxes(stmt, env, k)] or \
            not all(0 <= v < 1 for p in code for v in p):
        raise KernelError("the network's codewords are not the statement's points of [0, 1)^k")
    torus = (cert.get("params") or {}).get("domain") == "torus"
    if k == 1:
        radius = arb(cover.radius_1d([p[0] for p in code], torus))
        return Bounds(radius, radius, f"exact gaps of the statement's {len(code)} codewords, "
                      "read from the network's score layer")
    if k == 2:
        upper, lower = (arb(v).sqrt() for v in cover.radius_2d_sq(code, evidence.get("neighbours"), torus))
        how = "clipped cells"
    elif torus:
        raise KernelError("box evidence speaks about the cube, not the torus")
    else:  # the witnesses' exact distances give the lower bound
        lower = max((arb(cover.nearest_sq(code, x, False)).sqrt() for x in _points(cert, k)),
                    key=lambda v: v.mid(), default=arb(0))
        upper, how = arb(cover.boxes_upper_sq(code, evidence.get("leaves"))).sqrt(), "dyadic boxes"
    return Bounds(arb(upper.upper()), arb(lower.lower()), f"{how} of the statement's "
                  f"{len(code)} codewords, read from the network's score layer")


def _codewords(layer) -> list[tuple]:
    """The codewords p of a score layer x ↦ (2p·x − |p|²)_p, in order."""
    W, b = layer.W, layer.b
    code = [tuple(W[i, j] / 2 for j in range(W.ncols())) for i in range(W.nrows())]
    if any(b[i, 0] != -sum(v * v for v in p) for i, p in enumerate(code)):
        raise KernelError("the score layer is not x ↦ 2p·x − |p|² for its codewords p")
    return code


def numbers(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
            evidence: dict, cert: dict) -> Bounds:
    """A claim about numbers (the network plays no part): every entry of claim.pieces computes
    its ``lo`` from the statement and claims ``value``; the error is the largest difference."""
    need_kind(evidence, "pieces")
    rows = statement_boxes(stmt, env, 1)
    worst = max((abs(lo[0] - v) for lo, _, value in rows for v in value[:1]), default=fmpq(0))
    if any(len(value) != 1 for _, _, value in rows):
        raise KernelError("a numbers claim gives one value per entry")
    return Bounds(arb(worst), arb(worst), f"statement's {len(rows)} numbers, computed exactly")


MAX_BAND_CUTS = 1 << 14


def neuron_band(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                evidence: dict, cert: dict) -> Bounds:
    """|C − printed| over half a unit of its last printed digit, for the row of
    ``claim.constants`` that the statement's one parameter picks: C = scale · sup over y of
    sign·(ReLU(y) + shift − ρ(y)) for the single neuron ρ built here from the row (the network
    plays no part).  On [−R, R] (``claim.box``) the evidence's cuts, 0 among them so that ReLU
    is one line on each interval, give Taylor bounds (:func:`smooth.series_max`), beyond R the
    row's tail lemma; a row with a closed form takes it as C.  Both lemmas are the statement's."""
    (name,) = stmt.parameters  # its values are checked against the domain already
    choice = cert["params"][name]
    row = (stmt.claim.get("constants") or {}).get(choice)
    if not isinstance(row, dict):
        raise KernelError(f"the statement has no row of constants for {choice!r}")
    printed = _decimal(row["printed"])
    if "closed" in row:
        need_kind(evidence, "closed-form")
        value = stmt.formula(row["closed"], env, "closed form")
        lo = hi = ball(value)
        lemma, what = "g monotone in |y| with that limit", f"the closed form {row['closed']}"
    else:
        need_kind(evidence, "line")
        (a, R), cuts = region(stmt, env, 1)[0], real_cuts(evidence)
        if len(cuts) > MAX_BAND_CUTS:
            raise Undecided(f"more than {MAX_BAND_CUTS} cuts")
        if a != -R or cuts[0] != a or cuts[-1] != R or 0 not in cuts:
            raise KernelError(f"neuron-band cuts must run from {a} to {R}, 0 among them")
        act = ":".join([row["activation"], *map(str, row.get("parameters", {}).values())])
        one, zero = fmpq_mat([[1]]), fmpq_mat([[0]])
        shift = ball(stmt.formula(row.get("shift", "0"), env, "shift"))
        up, low, boxes = smooth.series_max((plain_layer(one, zero, (act,)), plain_layer(one, zero, ())),
                                    lambda a, b, n: smooth.linear(shift, int(a >= 0))(a, b, n), cuts,
                                    int(row.get("sign", 1)))
        scale = arb(rational(row.get("scale", "1"), "scale"))
        tail = ball(stmt.formula(row["tail"], dict(env, R=R), "tail"))
        lo, hi, value = low * scale, up.max(tail) * scale, None
        lemma, what = f"|g(y)| ≤ {row['tail']} for |y| ≥ R = {R}", \
            f"Taylor forms of order ≤ 4 on the evidence's {len(cuts) - 1} intervals of [{a}, {R}]" + \
            (f" ({boxes} after halving wide ones)" if boxes > len(cuts) - 1 else "") + ", the tail beyond"
    C, half = arb(lo.lower()).union(arb(hi.upper())), fmpq(1, 2 * 10 ** int(row.get("digits", 0)))
    # fewer than 4 certified digits shows nothing; a value printed exactly must be C exactly
    if not C.rad() <= arb(fmpq(1, 10 ** 4)) * abs(C.mid()) or \
            "digits" not in row and not (isinstance(value, fmpq) and value == printed):
        upper, lower = smooth.WHOLE, arb(0)
    elif "digits" not in row:
        upper = lower = arb(0)
    else:
        upper, lower = arb((abs(C - printed) / half).upper()), arb((abs(C - printed) / half).lower())
    return Bounds(upper, lower, f"row {choice}: C = {C.str(10)} by {what}, printed {row['printed']}",
                  trusted=(f"the lemma of {choice}: {lemma} (the statement's)",))


def _decimal(text: str) -> fmpq:
    whole, _, frac = str(text).partition(".")
    if not (whole + frac).isdigit() or len(text) > 40:
        raise KernelError(f"printed value {text!r} is not a decimal")
    return fmpq(int(whole + frac), 10 ** len(frac))


def gram_rank(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
              evidence: dict, cert: dict) -> Bounds:
    """n − rank G for the Gram matrix on [−1, 1] of the network's hidden ReLU features."""
    need_kind(evidence, "gram")
    G = gram.gram(gram.features(net.layers))
    deficiency = arb(G.nrows() - G.rank())
    return Bounds(deficiency, deficiency, f"exact Gram matrix of the {G.nrows()} features")


def gram_condition(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                   evidence: dict, cert: dict) -> Bounds:
    """n³ λ_min/λ_max of that Gram matrix, its spectrum's ends bracketed at the evidence's
    rationals by exact positive-definiteness tests."""
    need_kind(evidence, "gram")
    feats = gram.features(net.layers)
    if len(feats) > gram.MAX_FEATURES:
        raise Undecided(f"more than {gram.MAX_FEATURES} features")
    G = gram.gram(feats)
    lo1, hi1, lon, hin = gram.extreme_eigenvalues(G, evidence)
    n3 = fmpq(G.nrows()) ** 3
    if lo1 <= 0 or lon < 0:
        raise KernelError("the eigenvalue brackets do not bound the condition number")
    return Bounds(arb(n3 * hin / lo1), arb(n3 * lon / hi1), "exact Gram matrix, λ_max and "
                  "λ_min bracketed by positive-definiteness tests")


def root_intervals(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                   evidence: dict, cert: dict) -> Bounds:
    """Exactly one root of tan w tanh w = s in each stated interval (claim.pieces: lo, hi in
    units of π, value s = ±1); the scalar counts the intervals not shown (upper) and those
    shown to hold another number of roots (lower)."""
    need_kind(evidence, "pieces")
    counts = [roots.count(lo[0], hi[0], int(s[0])) for lo, hi, s in _root_claims(stmt, env)]
    return Bounds(arb(sum(c != 1 for c, _ in counts)), arb(sum(c not in (1, None) for c, _ in counts)),
                  f"root counts in the {len(counts)} stated intervals, in arb")


def root_gaps(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
              evidence: dict, cert: dict) -> Bounds:
    """The corollary's inequality at the one root of each stated interval, from the evidence's
    point r beyond (s = 1) or before (s = −1) the root; the scalar counts the roots not shown."""
    need_kind(evidence, "brackets")
    claims, points = _root_claims(stmt, env), evidence.get("r")
    if not isinstance(points, list) or len(points) != len(claims):
        raise KernelError("bracket evidence needs one point r per stated interval")
    shown = [roots.corollary(lo[0], hi[0], int(s[0]), rational(r, "bracket evidence"))
             for (lo, hi, s), r in zip(claims, points)]
    return Bounds(arb(shown.count(False)), arb(0), f"inequality at {len(shown)} roots, in arb")


def _root_claims(stmt: Statement, env: dict) -> list:
    rows = statement_boxes(stmt, env, 1)
    if any(len(s) != 1 or s[0] not in (1, -1) or not 0 < lo[0] < hi[0] for lo, hi, s in rows):
        raise KernelError("a root claim needs 0 < lo < hi and s = ±1 per interval")
    return rows


def _points(cert: dict, k: int) -> list:
    """The witnesses' points, exact, in [0, 1]^k."""
    out = []
    for w in (cert.get("witnesses") or [])[:MAX_WITNESSES]:
        x = [rational(v, "witness") for v in (w.get("x") if isinstance(w, dict) else None) or []]
        if len(x) != k or not all(0 <= v <= 1 for v in x):
            raise KernelError(f"witness {str(w)[:80]} is not a point of [0, 1]^{k}")
        out.append(x)
    return out


MAX_POWER_FEATURES = 64  # features raised to a power are integrated polynomial by polynomial


def gram_entries(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                 evidence: dict, cert: dict) -> Bounds:
    """A closed form of the Gram matrix on [−1, 1] (``claim.gram.entry``, a formula of two
    features' breakpoints x, y and input weights wx, wy = ±1) against the exact integrals of the
    stored network's ReLU features raised to ``claim.gram.power`` over its factorial; the error
    is the largest difference over all entries."""
    need_kind(evidence, "gram")
    spec, feats = stmt.claim.get("gram") or {}, gram.features(net.layers)
    power = stmt.formula(str(spec.get("power", "1")), env, "gram power")
    if not (isinstance(power, fmpq) and power.q == 1 and 1 <= power <= 16):
        raise KernelError(f"gram power {power} is not an integer in [1, 16]")
    if power > 1 and len(feats) > MAX_POWER_FEATURES:
        raise Undecided(f"more than {MAX_POWER_FEATURES} features raised to a power")
    points = [(-c / w, w) for w, c in feats]
    if any(abs(w) != 1 or not -1 <= t <= 1 for t, w in points):
        raise KernelError("the closed forms speak about input weights ±1 and breakpoints in [−1, 1]")
    G, worst = gram.gram(feats, int(power.p)), fmpq(0)
    for i, (x, wx) in enumerate(points):
        for j, (y, wy) in enumerate(points):
            closed = stmt.formula(spec["entry"], dict(env, x=x, y=y, wx=wx, wy=wy), "gram entry")
            if not isinstance(closed, fmpq):
                raise KernelError(f"the closed form at ({x}, {y}) is not an exact rational")
            worst = max(worst, abs(closed - G[i, j]))
    return Bounds(arb(worst), arb(worst), f"closed form against the {len(points)}² exact "
                  "integrals of the stored features")


def smooth_sup(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
               evidence: dict, cert: dict) -> Bounds:
    """sup |φ − value| over the boxes of claim.pieces (value a polynomial of degree ≤ 2 in the
    input x, per output) for a network of smooth activations, by second-order Taylor forms in
    arb (:mod:`certify.kernel.smooth`)."""
    need_kind(evidence, "pieces")
    d = net.input_dim
    if net.layers[-1].rows != 1 or d > 4:
        raise KernelError("smooth-sup speaks about networks of at most 4 inputs and one output")
    if sum(layer.nonzeros for layer in net.layers) > smooth.MAX_WEIGHTS:
        raise Undecided(f"more than {smooth.MAX_WEIGHTS} weights for the Taylor forms")
    bound = ball(stmt.formula(str(stmt.claim.get("bound", "0")), env, "bound"))
    upper, lower, boxes, above = arb(0), arb(0), 0, 0
    for lo, hi, (value,) in statement_boxes(stmt, env, d, degree=2):
        up, low, n, a = smooth.sup_error(net.layers, smooth.polynomial(value, d), list(zip(lo, hi)),
                                         bound)
        upper, lower, boxes, above = upper.max(up), lower.max(low), boxes + n, above + a
    # boxes left above the bound at the limit: the Taylor form there may just be too coarse
    return Bounds(upper, lower, f"second-order Taylor forms in arb on {boxes} boxes", loose=above)


def gram_spectrum(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                  evidence: dict, cert: dict) -> Bounds:
    """max_k |λ_k − (n/2)μ_k| (Theorem 3): every eigenvalue λ_k of the Gram matrix of the stored
    ReLU features bracketed at the evidence's rationals by exact negative counts, and
    μ_k = w_k^(−4) with w_k the one root of tan w tanh w = ±1 in the statement's k-th interval,
    placed inside the evidence's bracket by its signs."""
    need_kind(evidence, "gram")
    feats = gram.features(net.layers)
    n = len(feats)
    if n > gram.MAX_FEATURES:
        raise Undecided(f"more than {gram.MAX_FEATURES} features")
    if any(w != 1 for w, _ in feats):
        raise KernelError("the spectrum's kernel speaks about features σ(x − b), input weight 1")
    try:
        lows, highs = ([rational(v, "eigenvalue bracket") for v in evidence[key]] for key in ("lower", "upper"))
        brackets = [(rational(a, "root bracket"), rational(b, "root bracket")) for a, b in evidence["roots"]]
    except (KeyError, TypeError, ValueError):
        raise KernelError("the evidence needs lower, upper and roots brackets") from None
    intervals = _root_claims(stmt, env)
    if not len(lows) == len(highs) == len(brackets) == len(intervals) == n:
        raise KernelError("the evidence needs one bracket per eigenvalue and per root")
    below = gram.negative_counts(feats, gram.gram(feats), lows + highs)
    upper, lower, half = arb(0), arb(0), arb(n) / 2
    for k, (l, u, (r_lo, r_hi), (lo, hi, s)) in enumerate(zip(lows, highs, brackets, intervals), 1):
        if below[l] is None or below[l] > n - k or below[u] is None or below[u] < n - k + 1:
            raise KernelError(f"the bracket [{l}, {u}] of λ_{k} does not hold")
        if not roots.bracket(lo[0], hi[0], int(s[0]), r_lo, r_hi):
            raise KernelError(f"the bracket of w_{k} does not hold")
        mu_lo, mu_hi = half * arb(r_hi) ** -4, half * arb(r_lo) ** -4  # (n/2) μ_k lies between
        upper = upper.max(arb((arb(u) - mu_lo).max(mu_hi - arb(l)).upper()))
        gap = (arb(l) - mu_hi).max(mu_lo - arb(u))
        lower = lower.max(arb(gap.lower())) if gap > 0 else lower
    return Bounds(upper, lower, f"{n} eigenvalues bracketed by exact negative counts, {n} roots "
                  "bracketed in arb")


def operator_norm(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                  evidence: dict, cert: dict) -> Bounds:
    """The leading eigenvalue μ of a symmetric kernel G on [−1, 1]², given below the diagonal by
    ``claim.operator`` (a polynomial in x, y and the entry's parameter a = lo of each entry of
    claim.pieces), claimed in [value₀, value₁]: μ = ‖K‖ ≥ ‖K1‖/‖1‖ and μ ≤ (∫∫G²)^(1/2), both
    squares exact integrals; the scalar per entry is max(value₀² − ‖K1‖²/2, ∫∫G² − value₁²)
    (≤ 0: the claim holds there), its lower end max(value₀² − ∫∫G², ‖K1‖²/2 − value₁²)."""
    need_kind(evidence, "pieces")
    x, y = fmpq_mpoly_ctx.get(("x", 2)).gens()
    one = x - x + 1

    def across(F, lo, hi):  # ∫_lo^hi F dy, lo and hi polynomials in x
        G = F.integral(1)
        return G.compose(x, hi) - G.compose(x, lo)

    def total(F):  # ∫_{-1}^{1} F dx of a polynomial in x alone
        G = F.integral(0)
        return G(fmpq(1), fmpq(0)) - G(fmpq(-1), fmpq(0))

    upper = lower = None
    for (a,), _, claimed in statement_boxes(stmt, env, 1):
        if len(claimed) != 2:
            raise KernelError("an operator claim gives the interval [lower, upper] per entry")
        below = stmt.formula(stmt.claim["operator"], dict(env, x=x, y=y, a=a), "operator")
        below = below * one if isinstance(below, fmpq) else below
        above = below.compose(y, x)  # the symmetric kernel above the diagonal
        v = across(below, -one, x) + across(above, x, one)
        lower_sq, hs_sq = total(v * v) / 2, 2 * total(across(below * below, -one, x))
        lo2, hi2 = claimed[0] ** 2, claimed[1] ** 2
        u, low = max(lo2 - lower_sq, hs_sq - hi2), max(lo2 - hs_sq, lower_sq - hi2)
        upper, lower = (u, low) if upper is None else (max(upper, u), max(lower, low))
    if upper is None:
        raise KernelError("an operator claim needs at least one entry")
    return Bounds(arb(upper), arb(lower), "exact integrals of the kernel and of its square")


MAX_RELATION_BITS = 8192
MAX_RELATION_COUNT = 64


def no_relation(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                evidence: dict, cert: dict) -> Bounds:
    """No integer relation Σ c_k a_k = 0, 0 < max|c_k| ≤ H, among the statement's real numbers
    a_k (claim.relation; the network plays no part): 0 when shown, else undecided.

    With N = 2^bits (the evidence's) and integers r_k, |N a_k − r_k| ≤ 1, a relation c gives the
    vector (c, Σ c_k r_k) of the lattice spanned by the rows (e_k, r_k), of squared length at most
    K H² + K² H² (|Σ c_k r_k| = |Σ c_k (r_k − N a_k)| ≤ K H).  Every non-zero lattice vector is at
    least as long as the shortest Gram–Schmidt vector of any basis: flint's LLL basis, its
    Gram–Schmidt vectors computed exactly.  Where that does not exclude every relation nothing is
    shown (upper bound ∞)."""
    need_kind(evidence, "relation")
    spec = stmt.claim["relation"]
    K = int(_whole(stmt.formula(spec["count"], env, "relation count")))
    H = _whole(stmt.formula(spec["height"], env, "relation height"))
    bits = evidence.get("bits")
    if not (isinstance(bits, int) and 1 <= bits <= MAX_RELATION_BITS and 1 <= K <= MAX_RELATION_COUNT):
        raise KernelError(f"relation evidence needs bits in [1, {MAX_RELATION_BITS}] for at most "
                          f"{MAX_RELATION_COUNT} numbers")
    N, rows = 2 ** bits, []
    with ctx.workprec(bits + 64):
        for k in range(K):
            a = ball(stmt.formula(spec["value"], dict(env, **{spec["index"]: fmpq(k)}), "relation value"))
            r = (a * N).mid().floor().unique_fmpz()
            if not abs(a * N - r) <= 1:
                raise Undecided(f"the number a_{k} is not known to 2^-{bits}")
            rows.append([int(j == k) for j in range(K)] + [int(r)])
    basis = fmpz_mat(rows).lll()
    gs, norms = [], []
    for i in range(K):
        v = [fmpq(int(basis[i, j])) for j in range(K + 1)]
        for g, n in zip(gs, norms):
            mu = sum((x * y for x, y in zip(v, g)), fmpq(0)) / n
            v = [x - mu * y for x, y in zip(v, g)]
        gs.append(v)
        norms.append(sum((x * x for x in v), fmpq(0)))
    if not min(norms) > K * H * H + K * K * H * H:  # nothing shown, nor a relation found
        return Bounds(arb("inf"), arb(0), f"the lattice at 2^{bits}: relations of height ≤ {H} "
                      "not excluded")
    return Bounds(arb(0), arb(0), f"LLL and exact Gram–Schmidt: no relation of height ≤ {H} among "
                  f"the statement's {K} numbers")


def _whole(v) -> int:
    v = rational(str(v), "relation")
    if v.q != 1 or v < 1:
        raise KernelError(f"{v} is not a positive integer")
    return int(v.p)


def emulation_sup(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                  evidence: dict, cert: dict) -> Bounds:
    """sup |φ − R| over the statement's box, φ the stored ρ-network and R the ReLU network the
    evidence names, φ shown to be R with each neuron replaced by the evidence's gadget
    (:mod:`certify.kernel.emulation`); the lower bound from |φ − R| at the witnesses, φ in arb."""
    need_kind(evidence, "emulation")
    relu, gadget, M, aim = emulation.parts(evidence)
    h = emulation.target(evidence)
    if (relu.input_dim, relu.layers[-1].rows) != (net.input_dim, net.layers[-1].rows):
        raise KernelError("the ReLU network and the stored network differ in their inputs or outputs")
    box = region(stmt, env, net.input_dim)
    # a network that is not R with each neuron replaced by the gadget gets no upper bound
    if gadget is None or not emulation.same(net, emulation.expected_layers(relu, gadget)):
        upper, what = arb("inf"), "the stored network is not the ReLU network with its gadgets"
    else:
        tau, boxes = emulation.band(gadget, M, aim, h)
        upper = arb(emulation.propagate(relu, box, tau, M, h).upper())
        what = (f"band τ ≤ {arb(tau.upper()).str(3)} of the gadget ({boxes} Taylor intervals) "
                f"propagated through the {'ReLU' if h is None else f'{h[0]}^({h[1]})'} network")
    points = [[rational(v, "witness") for v in w["x"]] for w in (cert.get("witnesses") or [])[:64]
              if isinstance(w, dict) and isinstance(w.get("x"), list) and len(w["x"]) == net.input_dim]
    points = [x for x in points if all(a <= v <= b for v, (a, b) in zip(x, box))]
    lower = arb(0)  # (against ρ^(k) neurons no exact value: the lower bound stays 0)
    if points and net.layers[-1].rows == 1 and h is None:
        exact = [y[0] for y in relu.run(points, signs=False)[0]]
        for x, y in zip(points, exact):
            gap = abs(smooth.enclose(net.layers, [arb(v) for v in x]) - arb(y))
            lower = lower.max(arb(gap.lower())) if gap > 0 else lower
    return Bounds(upper, lower, what, trusted=_which_relu(stmt, relu))


def _which_relu(stmt: Statement, relu: StoredNetwork) -> tuple:
    """Nothing to trust when the evidence's ReLU network is the statement's named one (the
    instance of a run without --network); otherwise that it is the instance meant."""
    name = stmt.claim.get("relu")
    if name is not None:
        ref = named_networks().get(name)
        if ref is None:
            raise KernelError(f"the statement names the network {name!r}, which no claims file has")
        ref = decode(ref)
        if (relu.input_dim, relu.layers) == (ref.input_dim, ref.layers):
            return ()
    return ("the emulated network's affine maps are the ones the evidence stores (check --rebuild "
            "compares them with the builder's)",)


MAX_LEVELS = 16


def sigma_sup_levels(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                     evidence: dict, cert: dict) -> Bounds:
    """eps · max_j upper_j/eps_j over the networks of the evidence's levels, eps_j = eps·2^(n−1−j)
    (n = the parameter ``levels``): each level's network of the same width and depth as the
    stored one (the finest level), its sup error bounded as ``sigma-sup`` with that level's cuts."""
    need_kind(evidence, "levels")
    eps, n = rational(str(env["eps"]), "eps"), int(rational(str(env["levels"]), "levels"))
    rows = evidence.get("levels")
    if not isinstance(rows, list) or len(rows) != n or not 1 <= n <= MAX_LEVELS:
        raise KernelError(f"levels evidence needs one entry per level ({n})")
    shape = net.measure()
    upper, lower, loose = arb(0), arb(0), 0
    for j, row in enumerate(rows):
        level = decode(row.get("network") if isinstance(row, dict) else None)
        e = eps * 2 ** (n - 1 - j)
        if (level.measure()["width"], level.measure()["depth"]) != (shape["width"], shape["depth"]):
            raise KernelError(f"level {j} has another architecture than the stored network")
        if j == n - 1 and level.layers != net.layers:
            raise KernelError("the finest level is not the stored network")
        b = sigma_sup(stmt, env, level, target, {"kind": "line", "cuts": row.get("cuts")}, cert)
        upper, lower = upper.max(b.upper * eps / e), lower.max(b.lower * eps / e)
        loose += b.loose
    return Bounds(upper, lower, f"exact cells of the {n} levels' networks (as sigma-sup), each "
                  "error scaled by eps/eps_j", loose=loose)


def relu_identity(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                  evidence: dict, cert: dict) -> Bounds:
    """φ = the ReLU network the evidence stores, or the statement's ``claim.reference`` formula,
    on all of R^d: both have the same normal form (:mod:`certify.kernel.normal`); otherwise
    nothing is shown but the exact differences at the witnesses (a lower bound)."""
    forms = normal.Forms()
    points = [[rational(v, "witness") for v in w["x"]] for w in (cert.get("witnesses") or [])[:MAX_WITNESSES]
              if isinstance(w, dict) and isinstance(w.get("x"), list) and len(w["x"]) == net.input_dim]
    mine = net.run(points, signs=False)[0] if points else []
    if "reference" in stmt.claim:  # a formula of the statement, one output
        names = {f"x{i + 1}" for i in range(net.input_dim)}
        tree = parse(stmt.claim["reference"], names, "claim.reference")
        if net.layers[-1].rows != 1:
            raise KernelError("a reference formula speaks about networks of one output")
        same = forms.outputs(net) == [forms.of_formula(tree)]
        theirs = [[Evaluator({f"x{i + 1}": v for i, v in enumerate(x)}).value(tree)] for x in points]
        trusted, other_name = (), "the statement's formula"
    else:
        need_kind(evidence, "network")
        other = decode(evidence.get("network"))
        if (other.input_dim, other.layers[-1].rows) != (net.input_dim, net.layers[-1].rows):
            raise KernelError("the two networks differ in their inputs or outputs")
        same = forms.outputs(net) == forms.outputs(other)
        theirs = other.run(points, signs=False)[0] if points else []
        trusted = ("the other network is the one the evidence stores (check --rebuild compares it "
                   "with the builder's)",)
        other_name = "the other network"
    gap = max((abs(u - v) for a, b in zip(mine, theirs) for u, v in zip(a, b)), default=fmpq(0))
    if same:
        return Bounds(arb(0), arb(gap), f"one normal form of the network and {other_name} "
                      f"({len(forms.atoms)} ReLU atoms)", trusted=trusted)
    return Bounds(arb("inf"), arb(gap), "different normal forms (nothing shown)", trusted=trusted)


MAX_CODEC_WEIGHTS = 1 << 16
ENC_SLACK, F32_ROUND, F64_ROUND = fmpq(1, 1 << 40), fmpq(1, 1 << 24), fmpq(1, 1 << 52)


def codec_roundtrip(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                    evidence: dict, cert: dict) -> Bounds:
    """max over the stored weights w of (|w − v| − 2^-40 s)/(s R), v = lo + s·p_θ the exact decode
    of w's block (lo, span s) and code θ with the codewords p of the network's score layer, R the
    covering radius of those codewords on [0, 1]^k (k = 1 sorted gaps, k = 2 clipped cells, both
    exact); nothing is shown unless the codec's float output ŵ is v up to its rounding
    (|ŵ − v| ≤ 2^-24|ŵ| + 2^-52|v|)."""
    need_kind(evidence, "codec")
    k = net.input_dim
    if len(net.layers) != 1 or k > 2:
        raise Undecided("codec-roundtrip follows one score layer of k = 1 or 2 inputs")
    code = _codewords(net.layers[0])
    # R² from above and below (exact for k = 1; for k = 2 equal when the cells' evidence is complete)
    r_hi, r_lo = (cover.radius_1d([p[0] for p in code], False) ** 2,) * 2 if k == 1 else \
        cover.radius_2d_sq(code, evidence.get("neighbours"), False)
    try:
        w, got, lo, span = ([rational(v, f"codec {key}") for v in evidence[key]]
                            for key in ("weights", "decoded", "lo", "span"))
        codes, block = evidence["codes"], evidence["block"]
    except (KeyError, TypeError):
        raise KernelError("codec evidence needs weights, decoded, lo, span, codes and block") from None
    if not (isinstance(block, int) and block > 0 and len(w) == len(got) <= MAX_CODEC_WEIGHTS
            and len(lo) == len(span) == -(-len(w) // block) and isinstance(codes, list)
            and len(codes) == -(-len(w) // k) and all(isinstance(t, int) and 0 <= t < len(code) for t in codes)):
        raise KernelError("codec evidence arrays do not fit together (weights, blocks, codes)")
    worst, decoded_ok = fmpq(0), True
    for i, (wi, gi) in enumerate(zip(w, got)):
        s = span[i // block]
        v = lo[i // block] + s * code[codes[i // k]][i % k]
        decoded_ok &= abs(gi - v) <= F32_ROUND * abs(gi) + F64_ROUND * abs(v)
        excess = abs(wi - v) - ENC_SLACK * s
        if excess > 0:
            if s == 0:
                return Bounds(arb("inf"), arb("inf"), "a block of span 0 with a weight off its decode")
            worst = max(worst, (excess / s) ** 2)
    upper, lower = arb(worst / r_lo).sqrt(), arb(worst / r_hi).sqrt()
    if not decoded_ok:
        return Bounds(arb("inf"), arb(lower.lower()), "the codec's output is not its exact decode up to rounding")
    return Bounds(arb(upper.upper()), arb(lower.lower()), f"exact decode of {len(w)} weights against "
                  f"the exact covering radius of the score layer's {len(code)} codewords",
                  trusted=("the weights and the codec's output are the ones the evidence stores (check "
                           "--rebuild compares them with the builder's)",))
