"""The compositional engine: exact affine forms on parameter boxes, and the clock specification.

1. *Engine.* States are exact affine forms A·p + c over a parameter box (plus, in loose mode, an
   interval remainder) (:class:`Forms`).  In strict mode every ReLU must have one weak sign on the
   box; then the network is affine on the box and the output form is exact (the forms are
   compared after folding degenerate box directions into the constant, where forms are not
   unique: :func:`fold_row`, :func:`form_row`).
2. *Clock specification, certified once per instance* (Lemmas E.1, E.2).  For the clock gadget
   Φ(x, t) = ψ(pad(b1(x)), pad(b2(x)), p0(t)), the fan-out is checked to be (x, x, t) exactly,
   and the shell (pads, counter, selector) is analysed as an exact affine map on the two boxes
   u1, u2 ∈ [−M, M]^d, t ∈ [3, T] and t ∈ [−T, 1] (M read from the selector's weights).  It
   returns (u1, t−2), resp. (u2, t−2).  Hence Φ(x, t) = (b1(x), t−2) for t ∈ [3, T] and
   (b2(x), t−2) for t ∈ [−T, 1], *provided* b1(x), b2(x) ∈ [−M, M]^d.
3. *Discarded branches.*  The counters are exact constants, so only the active branch of a clock
   is evaluated; its output is checked within [−M, M].  For the discarded branch the hull of its
   inputs is accumulated (keyed by the exact counters inside that branch), and
   :meth:`Engine.check_discarded` bounds it by M with one interval run per key, so every side
   condition of step 2 is verified for every state that occurs.

The proof-specific stepping (state classes of Lemmas C.1 and D.1) is in
:mod:`proofs.compositions.states`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from flint import fmpq, fmpq_mat

from certify.analysis.ranges import monotone_enclosure
from constructive.activations import IDENTITY
from constructive.evaluate import NodeInterpreter
from constructive.ir import Activation, Affine, Gadget, Network, Node
from constructive.numbers import as_fmpq


class StepFailure(Exception):
    """A step of the compositional engine that cannot be shown (not a verdict)."""


_SPLIT: dict = {}


def _wsplit(node: Affine) -> tuple:
    key = id(node)
    hit = _SPLIT.get(key)
    if hit is None or hit[2] is not node:
        W = node.W
        r, c = W.nrows(), W.ncols()
        ent = W.entries()
        pos = fmpq_mat(r, c, [v if v > 0 else 0 for v in ent])
        neg = fmpq_mat(r, c, [v if v < 0 else 0 for v in ent])
        hit = _SPLIT[key] = (pos, neg, node)
    return hit


@dataclass
class Forms:
    """States A·p + c + [lo, hi] for p in a box: F = [A | c] (n × (np+1)); rem = (lo, hi) or None."""
    F: fmpq_mat
    blo: list
    bhi: list
    rem: Any = None
    cached: Any = None  # (lo list, hi list) once computed or derived

    @property
    def n(self) -> int:
        return self.F.nrows()

    @property
    def np(self) -> int:
        return self.F.ncols() - 1

    def rows(self, a: int, b: int) -> "Forms":
        m = self.np + 1
        ent = self.F.entries()[a * m:b * m]
        rem = None
        if self.rem is not None:
            lo, hi = self.rem
            rem = (fmpq_mat(b - a, 1, lo.entries()[a:b]), fmpq_mat(b - a, 1, hi.entries()[a:b]))
        out = Forms(fmpq_mat(b - a, m, ent), self.blo, self.bhi, rem)
        if self.cached is not None:
            out.cached = (self.cached[0][a:b], self.cached[1][a:b])
        return out

    def bounds(self) -> tuple[list, list]:
        """Exact min and max of every row over the box (remainder included)."""
        if self.cached is None:
            self.cached = self._bounds()
        return self.cached

    def _bounds(self) -> tuple[list, list]:
        m = self.np + 1
        ent = self.F.entries()
        lo_r = self.rem[0].entries() if self.rem is not None else None
        hi_r = self.rem[1].entries() if self.rem is not None else None
        los, his = [], []
        for i in range(self.n):
            row = ent[i * m:(i + 1) * m]
            lo = hi = row[-1]
            for a, pl, ph in zip(row, self.blo, self.bhi):
                if a > 0:
                    lo += a * pl
                    hi += a * ph
                elif a < 0:
                    lo += a * ph
                    hi += a * pl
            if lo_r is not None:
                lo += lo_r[i]
                hi += hi_r[i]
            los.append(lo)
            his.append(hi)
        return los, his

    def exact_const(self, i: int) -> Optional[fmpq]:
        m = self.np + 1
        row = self.F.entries()[i * m:(i + 1) * m]
        if any(a != 0 for a in row[:-1]):
            return None
        if self.rem is not None and (self.rem[0][i, 0] != 0 or self.rem[1][i, 0] != 0):
            return None
        return row[-1]


def _vstack(parts: list[Forms]) -> Forms:
    m = parts[0].np + 1
    ent: list = []
    for p in parts:
        ent += p.F.entries()
    n = sum(p.n for p in parts)
    rem = None
    if any(p.rem is not None for p in parts):
        lo: list = []
        hi: list = []
        for p in parts:
            if p.rem is None:
                lo += [fmpq(0)] * p.n
                hi += [fmpq(0)] * p.n
            else:
                lo += p.rem[0].entries()
                hi += p.rem[1].entries()
        rem = (fmpq_mat(n, 1, lo), fmpq_mat(n, 1, hi))
    out = Forms(fmpq_mat(n, m, ent), parts[0].blo, parts[0].bhi, rem)
    if all(p.cached is not None for p in parts):
        out.cached = ([v for p in parts for v in p.cached[0]], [v for p in parts for v in p.cached[1]])
    return out


def _const_forms(values: list, like: Forms) -> Forms:
    m = like.np + 1
    ent = []
    for v in values:
        ent += [fmpq(0)] * (m - 1) + [v]
    return Forms(fmpq_mat(len(values), m, ent), like.blo, like.bhi, None, (list(values), list(values)))


class Engine:
    """Exact affine-form evaluation of the IR on parameter boxes.

    ``strict``: every ReLU must have one weak sign on the whole box (then the network is affine
    there and the result is exact); otherwise a ``StepFailure``.  Loose mode turns an undecided
    ReLU into the remainder interval [0, max] (sound interval arithmetic).  ``plain`` evaluates
    clock gadgets as ordinary networks; otherwise their specification (Lemma E.1, certified per
    instance by :meth:`certify_clock`) is used: only the branch chosen by the (exact) counter is
    evaluated, the other one's input hull is recorded for a bound check at the end.
    """

    def __init__(self) -> None:
        self.clocks: dict = {}      # id -> (gadget, M, T)
        self.hulls: dict = {}       # (clock id, branch, counter key) -> (lo list, hi list)
        self.used: set = set()
        self.T = 0
        self.steps = 0
        self._cc: dict = {}

    # primitive nodes ---------------------------------------------------------------------------
    def affine(self, node: Affine, X: Forms) -> Forms:
        m = X.np + 1
        F = node.W * X.F
        if node.b.nrows():
            bcol = node.b.entries()
            ent = F.entries()
            for i, v in enumerate(bcol):
                if v != 0:
                    ent[i * m + m - 1] += v
            F = fmpq_mat(F.nrows(), m, ent)
        rem = None
        if X.rem is not None:
            pos, neg, _ = _wsplit(node)
            lo, hi = X.rem
            rem = (pos * lo + neg * hi, pos * hi + neg * lo)
        return Forms(F, X.blo, X.bhi, rem)

    def activation(self, node: Activation, X: Forms, strict: bool) -> Forms:
        for f in node.functions:
            if isinstance(f, Network) or f.name not in ("relu", "identity"):
                raise StepFailure("only ReLU/identity activations are supported")
        los, his = X.bounds()
        m = X.np + 1
        ent = X.F.entries()
        rlo = X.rem[0].entries() if X.rem is not None else None
        rhi = X.rem[1].entries() if X.rem is not None else None
        out_lo, out_hi = [], []
        loose = False
        zero = fmpq(0)
        for i, f in enumerate(node.functions):
            a, b = (rlo[i], rhi[i]) if rlo is not None else (zero, zero)
            if f is IDENTITY or los[i] >= 0:
                out_lo.append(a)
                out_hi.append(b)
                continue
            if his[i] <= 0:
                ent[i * m:(i + 1) * m] = [zero] * m
                out_lo.append(zero)
                out_hi.append(zero)
                continue
            if strict:
                raise StepFailure("a ReLU changes sign on a parameter box")
            ent[i * m:(i + 1) * m] = [zero] * m
            out_lo.append(zero)
            out_hi.append(his[i])
            loose = True
        rem = None
        if rlo is not None or loose:
            rem = (fmpq_mat(len(out_lo), 1, out_lo), fmpq_mat(len(out_hi), 1, out_hi))
        return Forms(fmpq_mat(X.n, m, ent), X.blo, X.bhi, rem)

    def apply(self, node: Node, X: Forms, strict: bool, plain: bool = False) -> Forms:
        """``node`` on the states ``X`` (see the class docstring for ``strict`` and ``plain``)."""
        return _Apply(self, strict, plain).run(node, X)

    def _clip(self, Y: Forms, a: fmpq, b: fmpq) -> Forms:
        los, his = Y.bounds()
        if all(lo >= a and hi <= b for lo, hi in zip(los, his)):
            return Y
        # the image of [l, h] under the monotone clamp to [a, b] (also the intersection with a
        # certified enclosure [a, b] whenever the two overlap, as valid enclosures do)
        lo = [min(max(v, a), b) for v in los]
        hi = [max(min(v, b), a) for v in his]
        Z = _const_forms([fmpq(0)] * Y.n, Y)
        Z.rem = (fmpq_mat(Y.n, 1, lo), fmpq_mat(Y.n, 1, hi))
        Z.cached = (lo, hi)  # 0 + [lo, hi]: _const_forms cached the bounds of the zero forms
        return Z

    # the clock (Lemma E.1 with the selector of Lemma E.2) ---------------------------------------
    @staticmethod
    def parts(node: Gadget) -> tuple:
        body = node.body.nodes
        fan, par = body[0], body[1]
        p1, p2, p0 = par.parts
        b1, b2 = p1.nodes[0], p2.nodes[0]
        if not (isinstance(b1, Gadget) and b1.name == "zlz-branch" and isinstance(b2, Gadget)
                and b2.name == "zlz-branch"):
            raise StepFailure("clock gadget without marked branches")
        return fan, b1, p1.nodes[1:], b2, p2.nodes[1:], p0, body[2:]

    def certify_clock(self, node: Gadget) -> None:
        """Φ(x, t) = (b1(x), t−2) for t ∈ [3, T] and (b2(x), t−2) for t ∈ [−T, 1] whenever
        b1(x), b2(x) ∈ [−M, M]^d: exact affine analysis of pads, counter and selector on the
        boxes u1, u2 ∈ [−M, M]^d, t in either range, and an exact check of the fan-out."""
        if id(node) in self.clocks:
            return
        fan, b1, tail1, b2, tail2, p0, psi = self.parts(node)
        d = b1.in_dim
        M = psi[0].W[0, 2 * d]  # the selector's level, read from its weights (Lemma E.2)
        if not M > 0:
            raise StepFailure("selector level is not positive")
        want = [[1 if j == i else 0 for j in range(d + 1)] for i in range(d)] * 2 + \
               [[0] * d + [1]]
        if fan.W != fmpq_mat(2 * d + 1, d + 1, [v for r in want for v in r]) or \
                any(v != 0 for v in fan.b.entries()):
            raise StepFailure("clock fan-out is not (x, x, t)")
        T = self.T
        np_ = 2 * d + 1
        eye = [[fmpq(1) if j == i else fmpq(0) for j in range(np_)] + [fmpq(0)] for i in range(np_)]
        for t_lo, t_hi, pick in ((fmpq(3), fmpq(T), 0), (fmpq(-T), fmpq(1), 1)):
            blo = [-M] * (2 * d) + [t_lo]
            bhi = [M] * (2 * d) + [t_hi]
            X = Forms(fmpq_mat(np_, np_ + 1, [v for r in eye for v in r]), blo, bhi)
            U1 = X.rows(0, d)
            U2 = X.rows(d, 2 * d)
            for n in tail1:
                U1 = self.apply(n, U1, True, True)
            for n in tail2:
                U2 = self.apply(n, U2, True, True)
            Tt = self.apply(p0, X.rows(2 * d, 2 * d + 1), True, True)
            Y = _vstack([U1, U2, Tt])
            for n in psi:
                Y = self.apply(n, Y, True, True)
            expect = [list(r) for r in eye[pick * d:(pick + 1) * d]] + \
                     [eye[2 * d][:-1] + [fmpq(-2)]]
            if Y.F != fmpq_mat(d + 1, np_ + 1, [v for r in expect for v in r]) or Y.rem is not None:
                raise StepFailure("clock shell does not select its branch exactly")
        self.clocks[id(node)] = (node, M, T)

    def clock(self, node: Gadget, X: Forms, strict: bool) -> Forms:
        self.certify_clock(node)
        _, M, T = self.clocks[id(node)]
        _, b1, _, b2, _, _, _ = self.parts(node)
        d = b1.in_dim
        t = X.exact_const(d)
        if t is None:
            raise StepFailure("clock counter is not an exact constant")
        if 3 <= t <= T:
            active, other, which = b1, b2, 1
        elif -T <= t <= 1:
            active, other, which = b2, b1, 0
        else:
            raise StepFailure(f"clock counter {t} outside the certified range")
        x = X.rows(0, d)
        Y = self.apply(active.body, x, strict)
        los, his = Y.bounds()
        if any(v < -M for v in los) or any(v > M for v in his):
            raise StepFailure("active branch leaves [−M, M]")
        # the discarded branch: record the input hull, keyed by the exact counters inside it
        xl, xh = x.bounds()
        cc = self._cc.get(id(other))
        if cc is None:
            cc = self._cc[id(other)] = counter_coords(other.body)
        key = (id(node), which, tuple(xl[i] for i in cc if xl[i] == xh[i]))
        old = self.hulls.get(key)
        if old is None:
            self.hulls[key] = (other, M, list(xl), list(xh))
        elif old[2] != xl or old[3] != xh:
            self.hulls[key] = (other, M, [min(a, b) for a, b in zip(old[2], xl)],
                               [max(a, b) for a, b in zip(old[3], xh)])
        return _vstack([Y, _const_forms([t - 2], Y)])

    def check_discarded(self) -> int:
        """Interval bound of every discarded branch over the hull of its inputs: ⊆ [−M, M]."""
        for key, (branch, M, xl, xh) in self.hulls.items():
            X = Forms(fmpq_mat(len(xl), 1, [fmpq(0)] * len(xl)), [], [],
                      (fmpq_mat(len(xl), 1, xl), fmpq_mat(len(xh), 1, xh)))
            Y = self.apply(branch.body, X, False, True)
            los, his = Y.bounds()
            if any(v < -M for v in los) or any(v > M for v in his):
                raise StepFailure("a discarded clock branch may leave [−M, M]")
        return len(self.hulls)


class _Apply(NodeInterpreter):
    """The walk of :meth:`Engine.apply` over the IR on :class:`Forms` in one mode (``strict``,
    ``plain``): affine maps and activations are the engine's, gadgets may use their
    specifications; networks, repeats and parallel blocks are NodeInterpreter's."""

    def __init__(self, engine: Engine, strict: bool, plain: bool) -> None:
        self.engine, self.strict, self.plain = engine, strict, plain

    def affine(self, node: Affine, X: Forms) -> Forms:
        return self.engine.affine(node, X)

    def activation(self, node: Activation, X: Forms) -> Forms:
        return self.engine.activation(node, X, self.strict)

    def gadget(self, node: Gadget, X: Forms) -> Forms:
        # the clock by its specification, the clamp and the median by their certified ranges in
        # loose mode, any other gadget as its body
        engine = self.engine
        if node.name == "zlz-clock-step" and not self.plain:
            return engine.clock(node, X, self.strict)
        Y = self.run(node.body, X)
        if node.name == "zlz-clamp" and not self.strict and node.spec is not None:
            Y = engine._clip(Y, *node.spec.range)
            engine.used.add(node.name)
        elif node.name == "mid" and not self.strict and node.spec is not None and \
                node.spec.interval is not None and Y.rem is not None:
            # the median is monotone: its certified interval extension (Lemma 3.1 of Lu et
            # al., checked by region enumeration in the certificate) keeps the enclosure
            # between the two good copies of Thm 1.3 instead of the loose one of the body
            los, his = X.bounds()
            a, b = monotone_enclosure(node, [list(los)], [list(his)])
            Y = engine._clip(Y, a[0][0], b[0][0])
            engine.used.add(node.name)
        return Y

    def slice(self, X: Forms, start: int, stop: int) -> Forms:
        return X.rows(start, stop)

    def join(self, parts: list) -> Forms:
        return _vstack(parts)


def counter_coords(node: Node) -> list[int]:
    """Input coordinates of ``node`` that are counters of the clock gadgets it is made of."""
    inner = node.nodes if isinstance(node, Network) and len(node.nodes) == 1 else (node,)
    g = inner[0]
    if len(inner) == 1 and isinstance(g, Gadget) and g.name == "zlz-clock-step":
        fan, b1, _, b2, _, _, _ = Engine.parts(g)
        d = b1.in_dim
        return sorted({d} | set(counter_coords(b1.body)) | set(counter_coords(b2.body)))
    return []


def fold_row(row: list, blo: list, bhi: list) -> list:
    """A form on a box is unique only up to its degenerate directions: fold those into the
    constant (p_j = blo_j = bhi_j there)."""
    row = [as_fmpq(v) for v in row]
    for j, (a, b) in enumerate(zip(blo, bhi)):
        if a == b and row[j] != 0:
            row[-1] += row[j] * a
            row[j] = fmpq(0)
    return row


def box_forms(rows: list[list], blo: list, bhi: list) -> Forms:
    m = len(rows[0])
    rows = [fold_row(r, blo, bhi) for r in rows]
    return Forms(fmpq_mat(len(rows), m, [v for r in rows for v in r]), list(blo), list(bhi))


def form_row(F: Forms, i: int) -> list:
    m = F.np + 1
    return fold_row(F.F.entries()[i * m:(i + 1) * m], F.blo, F.bhi)


def shared_consts(outs: list[Forms], rows: list[int]) -> list:
    vals = []
    for i in rows:
        v = {o.exact_const(i) for o in outs}
        if len(v) != 1 or None in v:
            raise StepFailure(f"state coordinate {i} is not one exact constant for all cells")
        vals.append(v.pop())
    return vals
