"""Error bounds re-derived on a grid of boxes: the kernel's one analysis.

The evidence is a list of cut points per axis; their product grid covers the region by
construction.  The network is evaluated exactly at every grid vertex, once.  On a box where no
ReLU pre-activation takes strictly opposite signs at two vertices, the network is affine (layer
one is affine in x; by induction each later layer is affine on the box and keeps its sign), so its
range there is spanned by the vertex values; elsewhere exact interval propagation bounds it.
The target is enclosed on the box by walking its expression with balls.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Optional, Sequence

from flint import arb, fmpq

from certify.kernel.claims import rational
from certify.kernel.errors import KernelError, Undecided
from certify.kernel.formula import Evaluator, ball, parse
from certify.kernel.network import StoredNetwork, same_signs

MAX_VERTICES = 400_000


class TargetExpression:
    """f from the certificate's target record, walked with exact points or boxes of balls.
    ``frame``: a box [lo, hi]^d whose points are mapped onto the cube first, f(x) = t((x − lo)/(hi − lo))
    (a statement whose target is given on [0, 1]^d and whose region is that box)."""

    def __init__(self, text: str, dim: int, frame: Optional[Sequence[tuple[fmpq, fmpq]]] = None):
        self.dim, self.text, self.frame = dim, text, frame
        self.names = [f"x{i + 1}" for i in range(dim)]
        self.tree = parse(text, set(self.names), "target expression")

    def framed(self, frame: Sequence[tuple[fmpq, fmpq]]) -> "TargetExpression":
        return TargetExpression(self.text, self.dim, frame)

    def _to_cube(self, x: Sequence[fmpq]) -> list:
        if self.frame is None:
            return list(x)
        return [(v - lo) / (hi - lo) for v, (lo, hi) in zip(x, self.frame)]

    def value(self, x: Sequence[fmpq]) -> object:
        """f(x): an exact fmpq when the expression stays rational at x, a ball otherwise."""
        return Evaluator(dict(zip(self.names, self._to_cube(x)))).value(self.tree)

    def at(self, x: Sequence[fmpq]) -> arb:
        return ball(self.value(x))

    def on(self, box: Sequence[tuple[fmpq, fmpq]]) -> tuple:
        """lo ≤ f ≤ hi on the box: balls, or exact rationals where f is constant there."""
        env = {}
        cube = zip(self._to_cube([a for a, _ in box]), self._to_cube([b for _, b in box]))
        for name, (a, b) in zip(self.names, cube):  # the map onto the cube is increasing
            x = arb((a + b) / 2, (b - a) / 2) if a != b else arb(a)
            env[name] = x.nonnegative_part() if a >= 0 and a != b else x
        v = Evaluator(env).value(self.tree)
        if isinstance(v, fmpq):
            return v, v  # f does not vary on the box (a constant target): kept exact
        v = ball(v)
        if not v.is_finite():
            raise KernelError(f"the target is not enclosed on the box {box}")
        return arb(v.lower()), arb(v.upper())


@dataclass
class BoxBound:
    box: list
    affine: bool
    sup: arb      # upper bound of |f − φ| on the box
    inf: arb      # lower bound of |f − φ| on the box
    tight: bool = True  # False: φ's range on the box may be wider than shown (interval bounds)
    shortcut: bool = False  # bounded by a cheaper pass than box by box (see Grid.box_bounds)


def parse_cuts(raw: object, region: Sequence[tuple[fmpq, fmpq]]) -> list[list[fmpq]]:
    """Per axis, strictly increasing cuts from the region's start to its end."""
    if not isinstance(raw, list) or len(raw) != len(region):
        raise KernelError(f"grid evidence needs one list of cuts per axis ({len(region)})")
    cuts = []
    for axis, (values, (lo, hi)) in enumerate(zip(raw, region)):
        if not isinstance(values, list) or len(values) < 2:
            raise KernelError(f"grid evidence axis {axis}: fewer than two cuts")
        c = [rational(v, f"grid evidence axis {axis}") for v in values]
        if c[0] != lo or c[-1] != hi or any(a >= b for a, b in zip(c, c[1:])):
            raise KernelError(f"grid evidence axis {axis}: cuts must increase from {lo} to {hi}")
        cuts.append(c)
    return cuts


COARSE, WALKS, BOX_BY_BOX = 0, 1, 2  # how a box where φ is not affine is bounded, cheapest first


class Grid:
    """The network evaluated once on the grid of the cuts: exactly at every vertex, with its
    ReLU signs there, and for each box (that ``keep`` accepts) its corners and the layers where
    one neuron alone bends on it; :meth:`box_bounds` then bounds |f − φ| box by box at any level
    of care, reusing all of it."""

    def __init__(self, net: StoredNetwork, cuts: list[list[fmpq]], keep: Optional[callable] = None):
        d, total = len(cuts), 1
        for c in cuts:
            total *= len(c)
        if total > MAX_VERTICES:
            raise Undecided(f"grid evidence has {total} vertices; the kernel checks at most {MAX_VERTICES}")
        self.hull = [(c[0], c[-1]) for c in cuts]
        self.net = net.folded(self.hull)  # the prefix the whole grid leaves affine, once
        vertices = [list(reversed(v)) for v in itertools.product(*reversed(cuts))]
        strides = [1] * d
        for i in range(1, d):
            strides[i] = strides[i - 1] * len(cuts[i - 1])
        corners = [sum(s for s, bit in zip(strides, bits) if bit)
                   for bits in itertools.product((0, 1), repeat=d)]
        self.boxes = []
        for index in itertools.product(*[range(len(c) - 1) for c in reversed(cuts)]):
            index = tuple(reversed(index))
            box = [(cuts[i][k], cuts[i][k + 1]) for i, k in enumerate(index)]
            if keep is None or keep(box):
                base = sum(s * k for s, k in zip(strides, index))
                self.boxes.append((box, [base + c for c in corners]))
        self.outputs, self.masks, self.free = self.net.run_on_boxes(vertices, [at for _, at in self.boxes])
        self._bounds: Optional[list] = None  # every hidden layer's bounds on the whole grid
        self._ranges: dict = {}  # range_on of a box, kept for the next level

    def box_bounds(self, target: TargetExpression, how: int = WALKS, claim: Optional[arb] = None
                   ) -> list[BoxBound]:
        """|f − φ| bounded on every box.  Where φ is not affine on a box: ``COARSE``, its range
        on the whole grid (one ``range_on``) stands for its range on the box (enough for an L^p
        bound whose non-affine boxes are thin strips); ``WALKS``, where one neuron alone bends
        on the box, the rest of the network is followed exactly over that neuron's bounds on the
        whole grid; ``BOX_BY_BOX`` (and elsewhere), ``range_on`` the box.  A box bounded by
        either shortcut is marked, so that a bound that does not decide the claim can be redone
        at the next level.  The boxes that need ``range_on`` come last; with a sup ``claim``,
        the first whose bound is not tight and exceeds it ends the pass: no level and no later
        box can make the sup decide the claim then, and every exact gap is taken already."""
        net = self.net
        whole = net.range_on(self.hull, hull=True)[:2] if how == COARSE else None
        out, later = [], []
        for b, ((box, at), free_cuts) in enumerate(zip(self.boxes, self.free)):
            if same_signs([self.masks[v] for v in at]):
                ys = [self.outputs[v][0] for v in at]
                out.append(_bound(box, target, min(ys), max(ys), True, True, False))
            elif how == COARSE:
                out.append(_bound(box, target, *whole, False, False, True))
            else:
                walks = []
                if how == WALKS and free_cuts:  # one neuron alone bends: followed over its grid bounds
                    if self._bounds is None:
                        self._bounds = []
                        net.interval(self.hull, self._bounds)
                    walks = [w for w in (net.walk_cut(c, self._bounds) for c in free_cuts) if w is not None]
                if walks:  # each walk encloses φ on the box: their intersection does too
                    lo, hi = max(w[0] for w in walks), min(w[1] for w in walks)
                    out.append(_bound(box, target, lo, hi, False, True, True))
                else:
                    later.append(b)
        for b in later:
            box = self.boxes[b][0]
            if b not in self._ranges:
                self._ranges[b] = net.range_on(box)
            lo, hi, tight = self._ranges[b]
            out.append(_bound(box, target, lo, hi, False, tight, False))
            if claim is not None and not tight and out[-1].sup > claim:
                break
        return out


def _bound(box: list, target: TargetExpression, lo: fmpq, hi: fmpq, affine: bool, tight: bool,
           shortcut: bool) -> BoxBound:
    """|f − φ| on a box where φ's values lie in [lo, hi] (its range there when ``tight``)."""
    flo, fhi = target.on(box)
    if isinstance(flo, fmpq):  # exact throughout
        sup, gap = max(fhi - lo, hi - flo), max(flo - hi, lo - fhi)
        return BoxBound(box, affine, arb(sup), arb(max(gap, fmpq(0))), tight, shortcut)
    sup = (fhi - arb(lo)).max(arb(hi) - flo)
    gap = (flo - arb(hi)).max(arb(lo) - fhi)
    return BoxBound(box, affine, arb(sup.upper()), arb(gap.lower()) if gap > 0 else arb(0), tight,
                    shortcut)


def volume(box: Sequence[tuple[fmpq, fmpq]]) -> fmpq:
    v = fmpq(1)
    for a, b in box:
        v *= b - a
    return v
