"""A stored network (parsed by :mod:`certify.kernel.stored`): exact evaluation, pre-activation
signs, intervals, exact ranges, size.  The kernel follows ReLU and the identity only; any other
activation makes the network one the kernel does not evaluate (its checks then say so).
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional, Sequence

from flint import fmpq, fmpq_mat, fmpz_mat

from certify.kernel.errors import KernelError, Undecided

MAX_ENTRIES = 2_000_000
# exact evaluations of one network at once: points × non-zero weights (syz-intrinsic-lp at n = 10,
# 2049 points through 132 224 weights of ~2^10-bit numbers, is 2.7·10^8 and takes ~2.5 minutes)
MAX_WORK = 400_000_000
# a block g repeated m times (L2 ∘ g^{∘m} ∘ L1): its width, depth, dimension, and m
BLOCK_MEASURES = ("g_width", "g_depth", "g_dim", "compositions")
# NestNet's counts: a statement that claims one of these is measured level by level
NEST_MEASURES = ("height", "nest_params", "outer_params", "activations")


@dataclass(frozen=True)
class Layer:
    W: fmpq_mat
    b: fmpq_mat
    relu: tuple  # per output neuron: True for ReLU, False for the identity; () on the last layer
    nonzeros: int
    acts: tuple = ()  # per output neuron: the activation's name; () on the last layer

    @property
    def rows(self) -> int:
        return self.W.nrows()

    @cached_property
    def fanout(self) -> list[int]:
        """Per input, the mask of the neurons it feeds (a non-zero weight)."""
        out = [0] * self.W.ncols()
        for i, row in enumerate(self.W.tolist()):
            for j, v in enumerate(row):
                if v:
                    out[j] |= 1 << i
        return out

    @cached_property
    def blocks(self) -> list[tuple[list[int], list[int], fmpq_mat]]:
        """The layer cut where it is block-diagonal: per block its neurons, the inputs they read
        and [W | b] on those.  The stored networks are sparse (parallel parts, carried values),
        so a product per block does a fraction of the dense product's arithmetic."""
        parent = list(range(self.rows))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for mask in self.fanout:  # the neurons one input feeds are in one block
            first = None
            while mask:
                low = mask & -mask
                mask ^= low
                r = root(low.bit_length() - 1)
                if first is None:
                    first = r
                elif r != first:
                    parent[r] = first
        groups: dict = {}
        for i in range(self.rows):
            groups.setdefault(root(i), []).append(i)
        W, b = self.W.tolist(), self.b.entries()
        out = []
        for rows in groups.values():
            mask = sum(1 << i for i in rows)
            cols = [j for j, m in enumerate(self.fanout) if m & mask]
            out.append((rows, cols, fmpq_mat([[W[i][j] for j in cols] + [b[i]] for i in rows])))
        return out

    @cached_property
    def split(self) -> fmpq_mat:
        """[W⁺ | W⁻], W's positive and negative entries side by side (the rest zero): interval
        propagation's split, made on first use."""
        rows = self.W.tolist()
        return fmpq_mat([[v if v > 0 else 0 for v in r] + [v if v < 0 else 0 for v in r] for r in rows])


@dataclass(frozen=True)
class StoredNetwork:
    input_dim: int
    layers: tuple
    repeat: Optional[tuple] = None  # (start, count, times): layers[start:start+count] run times over
    levels: Optional[dict] = None  # NestNet's counts of the top level, where networks are nested

    @property
    def plain(self) -> bool:
        """Only ReLU and identity neurons: what the grid, piece and line checks follow."""
        return all(a in ("relu", "identity") for layer in self.layers for a in layer.acts)

    @property
    def widthvec(self) -> tuple:
        return tuple(layer.rows for layer in self.layers[:-1])

    def measure(self) -> dict[str, Any]:
        """Width, depth, widths per layer, height and parameter counts, measured here (the
        width vector as certificates print it: a long one is shortened to 32 + "…" + 8)."""
        vec = list(self.widthvec)
        return {"depth": len(vec), "width": max(vec, default=0), "widthvec": _shown(vec),
                "params": sum(layer.nonzeros for layer in self.layers),
                "dense_params": sum(l.W.nrows() * l.W.ncols() + l.W.nrows() for l in self.layers),
                "input_dim": self.input_dim, "output_dim": self.layers[-1].rows,
                "height": 1}  # no nested activations in a stored network

    def block_measure(self) -> dict[str, Any]:
        """The repeated block g of L2 ∘ g^{∘m} ∘ L1 measured: its width and depth (hidden layers,
        its last layer being its output), its dimension, m and its parameters; and the whole
        network counted with g once (depth m times g's, parameters g's and the outer maps')."""
        if self.repeat is None:
            return {}
        start, count, times = self.repeat
        block = self.layers[start:start + count]
        outer = self.layers[:start] + self.layers[start + count * times:]
        hidden = [layer.rows for layer in block[:-1]]
        # hidden layers around g: before it, all but L1's boundary layer; after it, all but the last
        around = [l.rows for l in self.layers[:max(start - 1, 0)] + self.layers[start + count * times:-1]]
        g = dict(zip(BLOCK_MEASURES, (max(hidden, default=0), len(hidden), block[0].W.ncols(), times)))
        nonzeros = sum(layer.nonzeros for layer in block)
        return {**g, "g_params": nonzeros, "depth": len(hidden) * times + len(around),
                "width": max(hidden + around, default=0),
                "widthvec": _shown(hidden), "params": nonzeros + sum(l.nonzeros for l in outer),
                "dense_params": sum(l.W.nrows() * (l.W.ncols() + 1) for l in block + outer),
                "input_dim": self.input_dim, "output_dim": self.layers[-1].rows, "height": 1}

    def level_measure(self) -> dict[str, int]:
        """NestNet's counts (§2.1) of the network as stored: its top level measured as a layered
        network is (widths, parameters, dimensions), its height, parameters with each distinct
        nested network counted once, and the distinct nested networks (a plain network: height
        1, none)."""
        levels = self.levels if self.levels is not None else measure_level(list(self.layers), [])
        return {k: v for k, v in levels.items() if k != "reach"}

    # evaluation --------------------------------------------------------------------------------
    def run(self, points: Sequence[Sequence[fmpq]], signs: bool = True
            ) -> tuple[list[list[fmpq]], list[list[tuple]]]:
        """Exact outputs at the points and, per point (when ``signs``), the (positive, negative)
        masks of the ReLU pre-activations of every hidden layer."""
        outputs, masks, _ = self.run_on_boxes(points, [], signs)
        return outputs, masks

    def run_on_boxes(self, points: Sequence[Sequence[fmpq]], boxes: list, signs: bool = True
             ) -> tuple[list[list[fmpq]], list[list[tuple]], list]:
        """:meth:`run`'s outputs and masks and, for each box (the indices of its corner points),
        the hidden layers k where one neuron alone may bend on the box and every other is
        constant there, as cuts (k, that neuron, the layer's values on the box).  A neuron may
        bend when it, or a neuron it depends on, takes strictly opposite signs at two corners;
        every other neuron is affine on the box (the argument of :func:`same_signs`, neuron by
        neuron), so one that is equal at the corners is constant."""
        n, weights = len(points), sum(layer.nonzeros for layer in self.layers)
        if n * weights > MAX_WORK:
            raise Undecided(f"{n} points through a network of {weights} weights: over the "
                            f"kernel's budget of {MAX_WORK:.0e} point-weights")
        masks: list[list[tuple]] = [[] for _ in range(n)]
        taint, found = [0] * len(boxes), [[] for _ in boxes]
        if not n:
            return [], masks, found
        for k, (rows, dens, pos, neg) in enumerate(self._layers(points, signs)):
            if pos is None:
                return [[row[j] for row in rows] for j in range(n)], masks, found
            if signs:
                for j in range(n):
                    masks[j].append((pos[j], neg[j]))
            fanout = self.layers[k].fanout
            for b, corners in enumerate(boxes):
                t, fed = taint[b], 0
                while t:  # the neurons the previous layer's bending ones feed
                    low = t & -t
                    fed |= fanout[low.bit_length() - 1]
                    t ^= low
                p = q = 0
                for c in corners:
                    p, q = p | pos[c], q | neg[c]
                t = taint[b] = fed | (p & q)
                if t and not t & (t - 1):
                    i, first = t.bit_length() - 1, corners[0]
                    # one denominator per neuron: equal integers are equal values
                    if all(row[c] == row[first] for r, row in enumerate(rows) if r != i for c in corners):
                        found[b].append((k, i, [fmpq(row[first], d) for row, d in zip(rows, dens)]))
        raise KernelError("the stored network has no last layer")

    def _layers(self, points: Sequence[Sequence[fmpq]], signs: bool):
        """Layer by layer at the points: the values after the activation (a row of integers per
        neuron over that neuron's denominator, see :func:`_affine_rows`), the denominators, and
        per point the masks of the ReLUs with positive and with negative pre-activation; last,
        the outputs as rationals (no masks)."""
        if not self.plain:
            raise KernelError("a network with σ neurons is followed by the sigma checks only")
        n = len(points)
        den = [_common_denominator({int(p[i].q) for p in points}) for i in range(self.input_dim)]
        prev = [[int(p[i].p) * (d // int(p[i].q)) for p in points] for i, d in enumerate(den)]
        for layer in self.layers:
            rows, dens = _affine_rows(layer, prev, den, n)
            if not layer.relu:
                yield [[fmpq(v, d) for v in row] for row, d in zip(rows, dens)], None, None, None
                return
            pos, neg = [0] * n, [0] * n
            for i, is_relu in enumerate(layer.relu):
                if not is_relu:
                    continue
                row, bit = rows[i], 1 << i
                if signs:
                    for j, v in enumerate(row):
                        if v > 0:
                            pos[j] |= bit
                        elif v:
                            neg[j] |= bit
                rows[i] = [v if v > 0 else 0 for v in row]
            yield rows, dens, pos, neg
            prev, den = zip(*(_reduced(row, d) for row, d in zip(rows, dens))) if rows else ((), ())

    def after(self, k: int) -> "StoredNetwork":
        """The rest of the network after hidden layer k, a function of that layer's values."""
        return StoredNetwork(self.layers[k].rows, self.layers[k + 1:])

    def walk_cut(self, cut: tuple, bounds: list) -> Optional[tuple[fmpq, fmpq]]:
        """The range of the first output over a box with the cut of :meth:`run_on_boxes`: the rest of
        the network after layer k, its one free neuron over ``bounds[k]`` (that layer's bounds
        on a region holding the box), followed from kink to kink; None past the kinks walked."""
        k, i, values = cut
        box = [(v, v) for v in values]
        box[i] = bounds[k][i]
        try:
            return self.after(k).walk(box, i, CUT_KINKS)
        except Undecided:
            return None

    def slope_signs(self, base: Sequence[fmpq], ahead: Sequence[fmpq]) -> bool:
        """Does no ReLU change sign on the ray base + t (ahead − base), t ≥ 0?  Layer by layer the
        pre-activations are affine in t while the earlier ones keep their signs, so each must
        keep the sign it has at t = 0 and move away from zero or stay."""
        X = fmpq_mat(self.input_dim, 2, [v for pair in zip(base, ahead) for v in pair])
        ones = fmpq_mat(1, 2, [1, 1])
        for layer in self.layers[:-1]:
            rows = (layer.W * X + layer.b * ones).tolist()
            for i, is_relu in enumerate(layer.relu):
                if not is_relu:
                    continue
                z0, z1 = rows[i]
                slope = z1 - z0
                if z0 >= 0 and slope >= 0:
                    continue  # non-negative along the ray: the identity piece
                if z0 <= 0 and slope <= 0:
                    rows[i] = [fmpq(0), fmpq(0)]  # non-positive along the ray: ReLU is 0
                    continue
                return False
            X = fmpq_mat(rows)
        return True

    def folded(self, box: Sequence[tuple[fmpq, fmpq]]) -> "StoredNetwork":
        """The same function on the box, its leading hidden layers merged into the first layer
        whose ReLUs are not all of one sign there: while every ReLU keeps one sign on the box
        (its exact affine form's minimum ≥ 0 or maximum ≤ 0), a layer is an exact affine map of
        x on the box, so a long prefix that the box does not bend (carried inputs, a stored
        constant decoded) is computed once instead of at every point and box."""
        if not self.plain:
            return self  # only ReLU and identity neurons are followed as affine pieces
        d = self.input_dim
        low, high = [a for a, _ in box], [b for _, b in box]
        F = fmpq_mat(d, d + 1, [int(i == j) for i in range(d) for j in range(d + 1)])
        k = 0
        for k, layer in enumerate(self.layers):
            if not layer.relu:
                break
            rows = _with_bias((layer.W * F).tolist(), layer.b)
            for i, (lo, hi) in enumerate(zip(_least(rows, low, high), _least(rows, high, low))):
                if layer.relu[i] and lo < 0:
                    if hi > 0:  # this neuron bends on the box: the prefix ends before its layer
                        return self._merged(k, F) if k else self
                    rows[i] = [fmpq(0)] * (d + 1)
            F = fmpq_mat(rows)
        return self._merged(k, F)

    def _merged(self, k: int, F: fmpq_mat) -> "StoredNetwork":
        """Layers k… with x ↦ F·(x, 1) (the first k layers' output) composed into layer k."""
        d, layer = self.input_dim, self.layers[k]
        A = fmpq_mat(F.nrows(), d, [F[i, j] for i in range(F.nrows()) for j in range(d)])
        c = fmpq_mat(F.nrows(), 1, [F[i, d] for i in range(F.nrows())])
        first = plain_layer(layer.W * A, layer.W * c + layer.b, layer.acts)
        return StoredNetwork(d, (first,) + self.layers[k + 1:])

    def interval(self, box: Sequence[tuple[fmpq, fmpq]], hidden: Optional[list] = None,
                 exact: Optional[list] = None) -> list[tuple[fmpq, fmpq]]:
        """Exact bounds of every output on the box, from an affine lower and upper form in x per
        neuron: a ReLU that keeps one sign on the box passes its forms on unchanged (so a part of
        the network that is affine on the box is bounded exactly, and copies that agree there
        stay equal), one that may change sign is bounded by the constants 0 and its upper bound.
        ``hidden`` collects every hidden layer's bounds after its activation, ``exact`` per
        hidden layer each pre-activation's affine form where its two forms are equal (it is that
        affine map of x on the box), else None."""
        d = self.input_dim
        low, high = [a for a, _ in box], [b for _, b in box]
        Lr = [[fmpq(int(i == j)) for j in range(d + 1)] for i in range(d)]
        Ur = Lr
        for layer in self.layers:
            # [W⁺ | W⁻]·[[L, U], [U, L]] = [W⁺L + W⁻U | W⁺U + W⁻L]: both forms in one product
            both = (layer.split * fmpq_mat([l + u for l, u in zip(Lr, Ur)] +
                                           [u + l for l, u in zip(Lr, Ur)])).tolist()
            Lr = _with_bias([row[:d + 1] for row in both], layer.b)
            Ur = _with_bias([row[d + 1:] for row in both], layer.b)
            lo, hi = _least(Lr, low, high), _least(Ur, high, low)
            if not layer.relu:
                return list(zip(lo, hi))
            if exact is not None:
                exact.append([a if a == b else None for a, b in zip(Lr, Ur)])
            for i, is_relu in enumerate(layer.relu):
                if not is_relu or lo[i] >= 0:
                    continue
                lo[i], hi[i] = fmpq(0), max(hi[i], fmpq(0))
                Lr[i] = [fmpq(0)] * (d + 1)
                Ur[i] = [fmpq(0)] * d + [hi[i]]
            if hidden is not None:
                hidden.append(list(zip(lo, hi)))
        raise KernelError("the stored network has no last layer")

    def range_on(self, box: Sequence[tuple[fmpq, fmpq]], hull: bool = False) -> tuple[fmpq, fmpq, bool]:
        """Bounds of the first output on the box, and whether they are tight (φ's exact range).
        Where one neuron of a hidden layer carries all the uncertainty (a copy in its strip
        beside exact copies, before a median, which defeats interval propagation), the rest
        after that layer is walked over that neuron's bounds, cutting ever earlier while its
        kinks stay few; any cut is sound, and it is exact where that neuron's pre-activation is
        one affine form of x on the box (its bounds are then its range), else its bounds are
        interval propagation's, wider.  One input, not yet exact: from the latest hidden layer
        whose varying neurons are all affine forms of x on the box, the rest is followed exactly
        as a function of x (:meth:`line`; ``CUT_KINKS`` of them where a cut has bounded the box
        already).  Elsewhere: :meth:`interval`.  ``hull``: the box is a whole grid's hull, whose
        many kinks no walk follows far: cut walks give way after ``CUT_KINKS``, no line walk."""
        hidden: list = []
        exact: list = []
        (lo, hi), = self.interval(box, hidden, exact)[:1]
        free = [sum(a != c for a, c in b) for b in hidden]
        tight = cut = False
        for k in reversed([k for k, f in enumerate(free) if f == 1]):
            i = free_index(hidden[k])
            try:
                t_lo, t_hi = self.after(k).walk(hidden[k], i, CUT_KINKS if hull else MAX_KINKS)
            except Undecided:
                break
            lo, hi, tight, cut = max(lo, t_lo), min(hi, t_hi), tight or exact[k][i] is not None, True
            if max(free[k + 1:], default=0) > 1:
                break  # the rest holds the layers where the forms lost: the median is behind
        for k in reversed(range(len(hidden)) if not (tight or hull) and self.input_dim == 1 else ()):
            line = self.line(k, hidden[k], exact[k])
            if line is not None:
                try:  # where a cut has bounded the box already, exactness is worth fewer kinks
                    t_lo, t_hi = line.walk(box, 0, CUT_KINKS if cut else MAX_KINKS)
                except Undecided:
                    break  # an earlier layer leaves more kinks still
                return max(lo, t_lo), min(hi, t_hi), True
        return lo, hi, tight

    def line(self, k: int, bounds: list, forms: list) -> Optional["StoredNetwork"]:
        """A network of one input x: hidden layer k's neurons that vary on a box (``bounds``,
        after the activation) given their exact pre-activation forms a·x + c (``forms``), the
        others their constant value, then the layers after k; the same function as this one
        on the box.  None where some varying neuron's form is not exact."""
        layer = self.layers[k]
        varying = {i for i, (a, c) in enumerate(bounds) if a != c}
        if any(forms[i] is None for i in varying):
            return None
        W = fmpq_mat(layer.rows, 1, [forms[i][0] if i in varying else 0 for i in range(layer.rows)])
        b = fmpq_mat(layer.rows, 1, [forms[i][1] if i in varying else bounds[i][0]
                                     for i in range(layer.rows)])
        return StoredNetwork(1, (plain_layer(W, b, layer.acts),) + self.layers[k + 1:])

    def walk(self, box: Sequence[tuple[fmpq, fmpq]], i: int, kinks: int = 0) -> tuple[fmpq, fmpq]:
        """The exact range of the first output as input i runs over its interval, the other
        inputs fixed at their (degenerate) bounds: from kink to kink, each pre-activation carried
        as (value, slope) under the activation pattern just ahead; the nearest zero crossing of
        any of them is the next kink (before it nothing changes sign, so the slopes are exact);
        Undecided past ``kinks`` of them (``MAX_KINKS`` unless given)."""
        t, end = box[i]
        base = [a for a, _ in box]
        values = []
        for _ in range(kinks or MAX_KINKS):
            V = fmpq_mat([[v if j != i else t, int(j == i)] for j, v in enumerate(base)])
            step = end - t
            for layer in self.layers:
                Z = (layer.W * V).tolist()
                rows = [[z[0] + c, z[1]] for z, c in zip(Z, layer.b.entries())]
                if not layer.relu:
                    break
                for r, is_relu in zip(rows, layer.relu):
                    v, s = r
                    if not is_relu:
                        continue
                    if v > 0 or (v == 0 and s > 0):   # on just ahead of t
                        if s < 0:
                            step = min(step, v / -s)
                    else:
                        if s > 0:
                            step = min(step, -v / s)
                        r[0], r[1] = fmpq(0), fmpq(0)
                V = fmpq_mat(rows)
            v, s = rows[0]
            values += [v, v + s * step]
            t += step
            if t >= end:
                return min(values), max(values)
        raise Undecided(f"more than {kinks or MAX_KINKS} kinks along one input of a network's tail")


MAX_KINKS = 256      # kinks followed along one input of a tail
CUT_KINKS = 32       # kinks a shortcut walk from a free neuron follows before giving way
DENSE = 8  # a block reading more inputs is one fmpz_mat product; fewer, plain integer sums
# the points' common denominator on one input (default certificates: at most 77 bits); the cost of
# evaluation grows with it, so past it the evaluation is refused before it starts
MAX_DENOMINATOR_BITS = 4096


def _common_denominator(denominators: set) -> int:
    common = 1
    for q in denominators:
        common = math.lcm(common, q)
        if common.bit_length() > MAX_DENOMINATOR_BITS:
            raise Undecided(f"the points' common denominator on one input exceeds "
                            f"2^{MAX_DENOMINATOR_BITS}, the kernel's limit")
    return common


def _affine_rows(layer: Layer, prev: Sequence[list], den: Sequence[int], n: int
                 ) -> tuple[list, list]:
    """The layer's affine map at n points whose inputs are rows of integers over one
    denominator each (``prev``, ``den``): per neuron its row of integers and its denominator,
    the lcm of its bias's and of every weight's denominator times its input's.  Integers over
    one denominator per neuron need no gcd per entry, which dominated rational arithmetic."""
    rows: list = [None] * layer.rows
    dens: list = [None] * layer.rows
    for block, cols, Wb in layer.blocks:
        coeffs = []
        for r, i in enumerate(block):
            terms = [(Wb[r, k], den[j]) for k, j in enumerate(cols)]
            bias = Wb[r, len(cols)]
            d = math.lcm(int(bias.q), *(int(w.q) * dj for w, dj in terms if w != 0))
            dens[i] = d
            coeffs.append([int(w.p) * (d // (int(w.q) * dj)) for w, dj in terms] +
                          [int(bias.p) * (d // int(bias.q))])
        inputs = [prev[j] for j in cols]
        if len(cols) > DENSE:
            product = fmpz_mat(coeffs) * fmpz_mat(inputs + [[1] * n])
            for i, row in zip(block, product.tolist()):
                rows[i] = [int(v) for v in row]
            continue
        for i, (*c, b) in zip(block, coeffs):
            if not c:
                rows[i] = [b] * n
            elif len(c) == 1:
                rows[i] = [c[0] * x + b for x in inputs[0]]
            elif len(c) == 2:
                rows[i] = [c[0] * x + c[1] * y + b for x, y in zip(*inputs)]
            else:
                rows[i] = [sum(a * x for a, x in zip(c, xs)) + b for xs in zip(*inputs)]
    return rows, dens


def _reduced(row: list, d: int) -> tuple[list, int]:
    """row/d with the factors common to every entry and to d divided out, where d has grown
    past 64 bits (a denominator only grows layer by layer otherwise): its odd part by one gcd,
    its power of two by shifts (most denominators here are powers of two)."""
    if d.bit_length() <= 64:
        return row, d
    odd = math.gcd(d >> ((d & -d).bit_length() - 1), *row)
    every = functools.reduce(operator.or_, row, d)  # its lowest set bit: the common power of two
    zeros = (every & -every).bit_length() - 1
    if odd > 1:
        row, d = [v // odd for v in row], d // odd
    return ([v >> zeros for v in row], d >> zeros) if zeros else (row, d)


def free_index(box: list) -> int:
    return next(i for i, (a, c) in enumerate(box) if a != c)


def _shown(vec: list) -> list:
    """A width vector as certificates print it: a long one shortened to 32 + "…" + 8."""
    return vec if len(vec) <= 64 else vec[:32] + ["…"] + vec[-8:]


def same_signs(vertex_masks: list) -> bool:
    """No ReLU takes strictly opposite signs at two of the points (then, on their convex hull,
    the network is affine: layer by layer each pre-activation is affine and keeps its sign)."""
    for layer in zip(*vertex_masks):
        pos = neg = 0
        for p, n in layer:
            pos |= p
            neg |= n
        if pos & neg:
            return False
    return True


def _with_bias(rows: list, b: fmpq_mat) -> list:
    """Affine forms (coefficients, then the constant) with the bias added to their constants."""
    for row, c in zip(rows, b.entries()):
        row[-1] += c
    return rows


def _least(rows: list, low: list, high: list) -> list[fmpq]:
    """min over the box of each affine form when ``low``/``high`` are the box's lower/upper
    corners; the max when they are swapped."""
    out = []
    for row in rows:
        v = row[-1]
        for a, lo, hi in zip(row, low, high):
            if a:
                v += a * (lo if a > 0 else hi)
        out.append(v)
    return out


def _refs(layers: list) -> set:
    return {int(a[4:]) for layer in layers for a in layer.acts if a.startswith("net:")}


def measure_level(layers: list, nested: list) -> dict[str, Any]:
    """NestNet's counts of one level (§2.1): its own dense parameters (Σ (d₁+1)d₂), plus each
    distinct network it uses as an activation counted once (recursively); the height; the
    distinct activation networks at all depths; and the level measured as a layered network."""
    own = sum(l.W.nrows() * l.W.ncols() + l.W.nrows() for l in layers)
    refs = _refs(layers)
    reach = set(refs).union(*(nested[j].reach for j in refs))
    level = StoredNetwork(layers[0].W.ncols(), tuple(layers)).measure()
    return {**level, "nest_params": own + sum(nested[j].nest_params for j in refs),
            "height": 1 + max((nested[j].height for j in refs), default=0),
            "outer_params": own, "activations": len(reach), "reach": reach}


def block_diagonal(blocks: list) -> fmpq_mat:
    M = fmpq_mat(sum(B.nrows() for B in blocks), sum(B.ncols() for B in blocks))
    r = c = 0
    for B in blocks:
        for i in range(B.nrows()):
            for j in range(B.ncols()):
                if B[i, j] != 0:
                    M[r + i, c + j] = B[i, j]
        r, c = r + B.nrows(), c + B.ncols()
    return M


def rank_one(layer: Layer) -> Optional[tuple[list, list, Layer]]:
    """(u, v, the layer with the weights u as its only column) when W = u·v, else None: the
    layer then reads its inputs h only through the number y = v·h."""
    rows = layer.W.tolist()
    v = next((r for r in rows if any(r)), None)
    if v is None:
        return None
    c = next(j for j, w in enumerate(v) if w != 0)
    u = [r[c] / v[c] for r in rows]
    if any(r[j] != ui * v[j] for r, ui in zip(rows, u) for j in range(len(v))):
        return None
    return u, v, plain_layer(fmpq_mat(len(u), 1, u), layer.b, layer.acts)


def plain_layer(W: fmpq_mat, b: fmpq_mat, acts: tuple) -> Layer:
    nonzeros = sum(1 for v in W.entries() if v != 0) + sum(1 for v in b.entries() if v != 0)
    return Layer(W, b, tuple(a == "relu" for a in acts), nonzeros, tuple(acts))
