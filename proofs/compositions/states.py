"""The state classes of the ZLZ proofs, stepped through L2 ∘ g^{∘R} ∘ L1 with the engine of
:mod:`proofs.compositions.engine` (O(R) small exact steps instead of K^d · R).

*Counters are exact constants*, the same for every input (L1 sets them; Φ maps t to t−2), so at
each of the R steps one path of branches is active for all cells at once.  Only the active leaf
(floor block, ĝ, bit-sum pair, ĝ′, clamp) is evaluated.  *State classes follow the proofs'
invariants*, so a step costs O(3^d) engine calls, not K^d:

* Lemma C.1 (steps k = 1..r−1): per axis the state is (k y, k², k, y, S) with y the L1 form
  (checked on L1) and S a per-cell register.  Classes ℓ < k, ℓ = k, ℓ > k (cells by index ℓ)
  with boxes y ∈ hull of the class's y-ranges and S ∈ hull of its registers.  The output must be
  ((k+1)y, (k+1)², k+1, y, S + Δ) with Δ = 0 off the class ℓ = k; Δ is recorded as S(ℓ = k).
  Induction over k gives every cell's exact state s_r.
* transition ĝ: one class; the output must be (j−1, C, 0, j−1, D, 0) with j−1 affine in the
  registers and free of y; j is read off per cell.
* Lemma D.1 (steps t = 0..2r−2): state (z, C_t, P, z, D_t, Q) with z = j−1−t; classes z ≥ 1,
  z = 0, z ≤ −1; P, Q in the hull of prefix sums (monotone: increments checked ≥ 0).  The output
  must be (z−1, C_{t+1}, P + θ_t, z−1, D_{t+1}, Q + φ_t) with θ_t = φ_t = 0 for z ≤ −1 and equal
  increments on the other two classes.  So P(j) = Σ_{t < min(2r−1, j)} θ_t.
* ĝ′ (one class in (z, P, Q)) and the clamp (classes of output values, split until the step is
  affine; memoised by value).  Coordinates outside the registers must be one exact constant for
  all classes (counters, C_t, D_t, padding zeros).

Every cell's output is then an exact rational (:func:`compositional_values`).  For L^p the
trifling region uses one loose run over [0,1]^d with affine forms in x through the same active
leaves (counters stay exact), giving a rigorous range of φ on the whole cube (:func:`global_range`).
"""

from __future__ import annotations

import bisect
import itertools

from flint import fmpq

from constructive.errors import UserError
from constructive.ir import Network, Node
from proofs.compositions.engine import (Engine, Forms, StepFailure, box_forms, fold_row, form_row,
                                        shared_consts)


def compositional_values(net: Network, d: int, r: int, K: int, delta: fmpq, tail: bool,
                         engine: Engine) -> tuple[list, dict]:
    """Exact constant value of ``net`` = L2 ∘ g^{∘R} ∘ L1 on every cell Q_β (β in product order
    with the last coordinate fastest, as :func:`certify.analysis.trifling.trifling_cells`), following the
    state classes of the proof (see the module docstring)."""
    L1, rep, L2 = net.nodes
    g = rep.body
    n = g.in_dim
    R = rep.times
    R_expect = 3 * r + 1 if tail else 3 * r - 1
    if R != R_expect:
        raise StepFailure(f"{R} compositions, the construction has {R_expect}")
    engine.T = 2 * R + 8
    one, zero = fmpq(1), fmpq(0)
    # --- L1 on the cube: rows 5i, 5i+3 = y_i(x_i) increasing; 5i+1 = 5i+2 = 1; 5i+4 = 0
    X0 = box_forms([[one if j == i else zero for j in range(d)] + [zero] for i in range(d)],
                [zero] * d, [one] * d)
    S0 = engine.affine(L1, X0)
    ya, yb = [], []
    for i in range(d):
        r0, r3 = form_row(S0, 5 * i), form_row(S0, 5 * i + 3)
        if r0 != r3 or any(r0[j] != 0 for j in range(d) if j != i) or not r0[i] > 0 or \
                form_row(S0, 5 * i + 1) != [zero] * d + [one] or form_row(S0, 5 * i + 2) != [zero] * d + [one] \
                or form_row(S0, 5 * i + 4) != [zero] * (d + 1):
            raise StepFailure("L1 is not x ↦ (y, 1, 1, y, 0) per coordinate")
        ya.append(r0[i])
        yb.append(r0[d])
    shared_rows = list(range(5 * d, n))
    shared = shared_consts([S0], shared_rows)
    axis = [(fmpq(k, K), fmpq(k + 1, K) - (delta if k <= K - 2 else 0)) for k in range(K)]
    ylo = [[ya[i] * a + yb[i] for a, _ in axis] for i in range(d)]
    yhi = [[ya[i] * b + yb[i] for _, b in axis] for i in range(d)]
    S = [[zero] * K for _ in range(d)]          # S_i(ℓ) once recorded (Lemma C.1 register)
    Smin = [[zero] * K for _ in range(d)]       # prefix hulls of S_i over ℓ' ≤ ℓ
    Smax = [[zero] * K for _ in range(d)]
    stats = {"classes": 0, "steps": 0}

    def floor_forms(k: int, cls: tuple, ext: list) -> Forms:
        np_ = 2 * d
        rows = [[zero] * (np_ + 1) for _ in range(n)]
        blo, bhi = [], []
        for i in range(d):
            rows[5 * i][i] = fmpq(k)
            rows[5 * i + 1][np_] = fmpq(k * k)
            rows[5 * i + 2][np_] = fmpq(k)
            rows[5 * i + 3][i] = one
            rows[5 * i + 4][d + i] = one
        for j, v in zip(shared_rows, ext):
            rows[j][np_] = v
        for i in range(d):
            a, b = cls[i][1], cls[i][2]
            blo.append(ylo[i][a])
            bhi.append(yhi[i][b])
        for i in range(d):
            kind, a, b = cls[i]
            blo.append(Smin[i][b] if kind == "lt" else zero)
            bhi.append(Smax[i][b] if kind == "lt" else zero)
        return box_forms(rows, blo, bhi)

    # --- phase 1: the iterated floor, k = 1 .. r−1 (Lemma C.1 invariant, three classes per axis)
    for k in range(1, r):
        per_axis = []
        if min(k, K) >= 1:
            per_axis.append(("lt", 0, min(k, K) - 1))
        if k <= K - 1:
            per_axis.append(("eq", k, k))
        if k + 1 <= K - 1:
            per_axis.append(("gt", k + 1, K - 1))
        outs = []
        deltas: dict = {}
        for cls in itertools.product(per_axis, repeat=d):
            X = floor_forms(k, cls, shared)
            Y = engine.apply(g, X, True)
            outs.append(Y)
            expect = floor_forms(k + 1, cls, shared)
            for i in range(d):
                dlt = form_row(Y, 5 * i + 4)[-1] - form_row(X, 5 * i + 4)[-1]
                if cls[i][0] != "eq" and dlt != 0:
                    raise StepFailure("floor register changes off its own cell")
                if cls[i][0] == "eq" and deltas.setdefault(i, dlt) != dlt:
                    raise StepFailure("floor register update depends on the other axes")
                for j in range(5):
                    want = form_row(expect, 5 * i + j)
                    if j == 4:
                        want = want[:-1] + [want[-1] + dlt]
                    if form_row(Y, 5 * i + j) != want:
                        raise StepFailure(f"floor step {k} does not match Lemma C.1 (row {5 * i + j})")
        shared = shared_consts(outs, shared_rows)
        stats["classes"] += len(outs)
        if k <= K - 1:
            for i in range(d):
                S[i][k] = deltas[i]
        # prefix hulls for the next step
        for i in range(d):
            if k <= K - 1:
                Smin[i][k] = min(Smin[i][k - 1], S[i][k])
                Smax[i][k] = max(Smax[i][k - 1], S[i][k])
    for i in range(d):
        for l in range(1, K):
            Smin[i][l] = min(Smin[i][l - 1], S[i][l])
            Smax[i][l] = max(Smax[i][l - 1], S[i][l])
    # --- transition ĝ: one class over all cells
    X = floor_forms(r, tuple(("lt", 0, K - 1) for _ in range(d)), shared)
    Y = engine.apply(g, X, True)
    r0 = form_row(Y, 0)
    if r0 != form_row(Y, 3) or any(r0[j] != 0 for j in range(d)) or Y.exact_const(2) != 0 or \
            Y.exact_const(5) != 0:
        raise StepFailure("the transition is not floor registers ↦ (j−1, C, 0, j−1, D, 0)")
    pf_shared_rows = [1, 4] + list(range(6, n))
    pf_shared = shared_consts([Y], pf_shared_rows)
    cells = list(itertools.product(range(K), repeat=d))
    z0 = [sum(r0[d + i] * S[i][b[i]] for i in range(d)) + r0[-1] for b in cells]
    if any(v.q != 1 for v in z0):
        raise StepFailure("counter registers are not integers")
    z0i = [int(v.p) for v in z0]
    zs = sorted(set(z0i))
    # --- phase 2: the two iterated bit sums, t = 0 .. 2r−2 (Lemma D.1, classes by the sign of z)
    theta = [[], []]
    pref = [[zero], [zero]]

    def pf_forms(cls: tuple, ext: list) -> Forms:
        rows = [[zero] * 4 for _ in range(n)]
        rows[0][0] = rows[3][0] = one
        rows[2][1] = one
        rows[5][2] = one
        for j, v in zip(pf_shared_rows, ext):
            rows[j][3] = v
        return box_forms(rows, cls[0], cls[1])

    steps2 = 2 * r - 1
    for t in range(steps2):
        lo_i = bisect.bisect_left(zs, t)
        hi_i = bisect.bisect_right(zs, t)
        groups = []  # (name, z0 min, z0 max)
        if lo_i > 0:
            groups.append(("neg", zs[0], zs[lo_i - 1]))
        if hi_i > lo_i:
            groups.append(("zero", t, t))
        if hi_i < len(zs):
            groups.append(("pos", zs[hi_i], zs[-1]))
        outs, dl = [], {}
        for name, a, b in groups:
            blo = [fmpq(a - t)]
            bhi = [fmpq(b - t)]
            for c in range(2):
                blo.append(pref[c][min(t, a + 1)])
                bhi.append(pref[c][min(t, b + 1)])
            X = pf_forms((blo, bhi), pf_shared)
            Y = engine.apply(g, X, True)
            outs.append(Y)
            want0 = fold_row([one, zero, zero, fmpq(-1)], X.blo, X.bhi)
            if form_row(Y, 0) != want0 or form_row(Y, 3) != want0:
                raise StepFailure(f"bit-sum step {t}: counter is not z − 1")
            for c, (row, col) in enumerate(((2, 1), (5, 2))):
                got = form_row(Y, row)
                base = [zero] * 4
                base[col] = one
                base = fold_row(base, X.blo, X.bhi)
                got = [g_ - b_ if k_ < 3 else g_ - base[3] for k_, (g_, b_) in enumerate(zip(got, base))]
                if any(got[:3]):
                    raise StepFailure(f"bit-sum step {t}: sum register is not S + const")
                if name == "neg":
                    if got[3] != 0:
                        raise StepFailure(f"bit-sum step {t}: finished counter still adds")
                elif dl.setdefault(c, got[3]) != got[3]:
                    raise StepFailure(f"bit-sum step {t}: the added bit depends on the cell")
        pf_shared = shared_consts(outs, pf_shared_rows)
        for c in range(2):
            th = dl.get(c, zero)
            if th < 0:
                raise StepFailure("negative bit")
            theta[c].append(th)
            pref[c].append(pref[c][-1] + th)
        stats["classes"] += len(outs)
    # per-cell registers after phase 2
    Pc = [[pref[c][min(steps2, z + 1)] for z in z0i] for c in range(2)]
    zend = [z - steps2 for z in z0i]
    if not tail:
        state_rows = lambda j: [zend[j], pf_shared[0], Pc[0][j], zend[j], pf_shared[1], Pc[1][j]] + \
            list(pf_shared[2:])
        W, b = L2.W.entries(), L2.b.entries()[0]
        vals = [sum((w * s for w, s in zip(W, state_rows(j)) if w != 0), zero) + b
                for j in range(len(cells))]
        stats["steps"] = R
        return vals, stats
    # --- tail 1: ĝ' (core output map), one class over all cells
    blo = [fmpq(min(zend)), min(Pc[0]), min(Pc[1])]
    bhi = [fmpq(max(zend)), max(Pc[0]), max(Pc[1])]
    rows = [[zero] * 4 for _ in range(n)]
    rows[0][0] = rows[3][0] = one
    rows[2][1] = one
    rows[5][2] = one
    for j, v in zip(pf_shared_rows, pf_shared):
        rows[j][3] = v
    Y = engine.apply(g, box_forms(rows, blo, bhi), True)
    vrow = form_row(Y, 0)
    if vrow[0] != 0:
        raise StepFailure("core output depends on the counter register")
    tail_rows = list(range(1, n))
    ext = shared_consts([Y], tail_rows)
    v = [vrow[1] * Pc[0][j] + vrow[2] * Pc[1][j] + vrow[3] for j in range(len(cells))]
    # --- tail 2: the clamp, on classes of output values split until the step is affine
    memo: dict = {}
    uniq = sorted(set(v))

    def solve(vals: list) -> None:
        rows = [[one, zero]] + [[zero, e] for e in ext]
        try:
            Y = engine.apply(g, box_forms(rows, [vals[0]], [vals[-1]]), True)
        except StepFailure:
            if len(vals) == 1:
                raise
            solve(vals[:len(vals) // 2])
            solve(vals[len(vals) // 2:])
            return
        w = form_row(Y, 0)
        for u in vals:
            memo[u] = w[0] * u + w[1]
        outs.append(Y)

    outs = []
    solve(uniq)
    fin = shared_consts(outs, tail_rows)
    W, b = L2.W.entries(), L2.b.entries()[0]
    vals = [sum((w * s for w, s in zip(W, [memo[u]] + fin) if w != 0), zero) + b for u in v]
    stats["classes"] += 1 + len(outs)
    stats["steps"] = R
    return vals, stats


def global_range(net: Network, d: int, engine: Engine) -> tuple[fmpq, fmpq]:
    """Rigorous range of the network over [0,1]^d: loose affine forms in x through every step,
    with the clock specification (counters are exact constants for every x)."""
    L1, rep, L2 = net.nodes
    zero, one = fmpq(0), fmpq(1)
    X = box_forms([[one if j == i else zero for j in range(d)] + [zero] for i in range(d)],
               [zero] * d, [one] * d)
    X = engine.affine(L1, X)
    for _ in range(rep.times):
        X = engine.apply(rep.body, X, False)
    Y = engine.affine(L2, X)
    los, his = Y.bounds()
    return los[0], his[0]


def cell_boxes(d: int, K: int, delta: fmpq) -> list:
    axis = [(fmpq(k, K), fmpq(k + 1, K) - (delta if k <= K - 2 else 0)) for k in range(K)]
    return [[axis[b] for b in beta] for beta in itertools.product(range(K), repeat=d)]


def run_compositional(net: Node, d: int, r: int, K: int, delta: fmpq, tail: bool) -> tuple:
    engine = Engine()
    try:
        vals, stats = compositional_values(net, d, r, K, delta, tail, engine)
        rng = global_range(net, d, engine) if tail else None
        stats["discarded_branch_checks"] = engine.check_discarded()
    except StepFailure as exc:
        raise UserError(f"compositional certification failed: {exc}") from None
    stats["clock_specs"] = len(engine.clocks)
    return vals, rng, stats, engine.used
