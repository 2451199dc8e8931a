"""A stored network as plain data: exact evaluation, pre-activation signs, intervals, size.

The certificate stores the plain layered network (consecutive affine maps merged, parallel parts
block-diagonal, repeats unrolled): ``{"input_dim": d, "layers": [{"rows", "cols", "W": [[i, j,
"p/q"], …], "b": [[i, "p/q"], …], "act": [["relu", count], …]}, …]}`` with ``act`` absent on the
last layer.  A network L2 ∘ g^{∘m} ∘ L1 may store its block g once (``"repeat": {"start": i,
"layers": k, "times": m}``: layers i..i+k−1 are g, its last layer identity neurons, so g's
input dimension stays visible); the kernel unrolls it and measures g itself.  The kernel follows
ReLU and the identity only; any other activation makes the network one the kernel does not
evaluate (its checks then say so).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional, Sequence

from flint import fmpq, fmpq_mat

from certify.kernel.claims import rational
from certify.kernel.errors import KernelError, Undecided

# euaf (and peuaf:w) the sigma checks follow (smooth-sup on (−∞, 0] only); the smooth ones smooth-sup
ACTIVATIONS = {"relu", "identity", "euaf", "sigmoid", "tanh", "arctan", "softplus", "silu", "gelu",
               "softsign", "xsoftsign"}
MAX_ENTRIES = 2_000_000
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
    def affine(self) -> fmpq_mat:
        """[W | b]: the layer's affine map on inputs followed by a 1."""
        return fmpq_mat([r + [c] for r, c in zip(self.W.tolist(), self.b.entries())])

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
        levels = self.levels if self.levels is not None else _level_measure(list(self.layers), [])
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
        n = len(points)
        masks: list[list[tuple]] = [[] for _ in range(n)]
        taint, found = [0] * len(boxes), [[] for _ in boxes]
        if not n:
            return [], masks, found
        for k, (rows, pos, neg) in enumerate(self._layers(points, signs)):
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
                    if all(row[c] == row[first] for r, row in enumerate(rows) if r != i for c in corners):
                        found[b].append((k, i, [row[first] for row in rows]))
        raise KernelError("the stored network has no last layer")

    def _layers(self, points: Sequence[Sequence[fmpq]], signs: bool):
        """Layer by layer at the points: the values after the activation (a row per neuron) and
        per point the masks of the ReLUs with positive and with negative pre-activation; last,
        the outputs (no masks)."""
        if not self.plain:
            raise KernelError("a network with σ neurons is followed by the sigma checks only")
        n, zero = len(points), fmpq(0)
        ones = [fmpq(1)] * n  # inputs carry a row of ones, so [W | b]·X is the layer's affine map
        prev = [[p[i] for p in points] for i in range(self.input_dim)]
        for layer in self.layers:
            rows: list = [None] * layer.rows
            for block, cols, Wb in layer.blocks:
                for i, row in zip(block, (Wb * fmpq_mat([prev[j] for j in cols] + [ones])).tolist()):
                    rows[i] = row
            if not layer.relu:
                yield rows, None, None
                return
            pos, neg = [0] * n, [0] * n
            for i, is_relu in enumerate(layer.relu):
                if not is_relu:
                    continue
                row, bit = rows[i], 1 << i
                kept = [v if v.p > 0 else zero for v in row]  # one sign per entry (v.p: 4x a comparison)
                if signs:  # kept[j] is zero itself where v <= 0; a non-zero v there is negative
                    for j, (v, k) in enumerate(zip(row, kept)):
                        if k is not zero:
                            pos[j] |= bit
                        elif v:
                            neg[j] |= bit
                rows[i] = kept
            yield rows, pos, neg
            prev = rows

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
                 affine: Optional[list] = None) -> list[tuple[fmpq, fmpq]]:
        """Exact bounds of every output on the box, from an affine lower and upper form in x per
        neuron: a ReLU that keeps one sign on the box passes its forms on unchanged (so a part of
        the network that is affine on the box is bounded exactly, and copies that agree there
        stay equal), one that may change sign is bounded by the constants 0 and its upper bound.
        ``hidden`` collects every hidden layer's bounds after its activation, ``affine`` per
        hidden layer which pre-activations have equal forms (are that affine map on the box,
        so their bounds after the activation are their exact ranges)."""
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
            if affine is not None:
                affine.append([a == b for a, b in zip(Lr, Ur)])
            for i, is_relu in enumerate(layer.relu):
                if not is_relu or lo[i] >= 0:
                    continue
                lo[i], hi[i] = fmpq(0), max(hi[i], fmpq(0))
                Lr[i] = [fmpq(0)] * (d + 1)
                Ur[i] = [fmpq(0)] * d + [hi[i]]
            if hidden is not None:
                hidden.append(list(zip(lo, hi)))
        raise KernelError("the stored network has no last layer")

    def range_on(self, box: Sequence[tuple[fmpq, fmpq]], whole: bool = True) -> tuple[fmpq, fmpq, bool]:
        """Bounds of the first output on the box, and whether they are tight (φ's exact range):
        where one neuron of a hidden layer carries all the uncertainty (a copy in its strip
        beside copies that are exact, before a median, which defeats interval propagation), the
        network is cut after that layer and the rest, a function of that one value, is followed
        exactly from kink to kink (:meth:`walk`), cutting ever earlier while its kinks stay few.
        Any cut is sound: the rest's inputs lie in the box of their bounds; those bounds are
        interval propagation's, so the range is exact (tight) only where the free neuron's
        pre-activation is one affine form on the box.  A network of one input is walked whole,
        exactly, when no cut is exact (``whole``; not over a whole grid, whose kinks are many).
        Elsewhere: :meth:`interval`."""
        hidden: list = []
        forms: list = []
        (lo, hi), = self.interval(box, hidden, forms)[:1]
        free = [sum(a != c for a, c in b) for b in hidden]
        tight = False
        for k in reversed([k for k, f in enumerate(free) if f == 1]):
            i = free_index(hidden[k])
            try:
                t_lo, t_hi = self.after(k).walk(hidden[k], i)
            except Undecided:
                break
            # exact where the free neuron's pre-activation is affine on the box: its bounds
            # are then its range, and the others are constant
            lo, hi, tight = max(lo, t_lo), min(hi, t_hi), tight or forms[k][i]
            if max(free[k + 1:], default=0) > 1:
                break  # the rest holds the layers where the forms lost: the median is behind
        if not tight and whole and self.input_dim == 1:
            try:  # one input: the whole network can be walked, if its kinks on the box are few
                t_lo, t_hi = self.walk(box, 0)
            except Undecided:  # more kinks than a walk follows: the interval bound stands
                return lo, hi, False
            lo, hi, tight = max(lo, t_lo), min(hi, t_hi), True
        return lo, hi, tight

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


def decode(data: Any) -> StoredNetwork:
    """Parse the stored network, checking every shape, index and number; a repeated block is
    parsed once and unrolled here (the same layer objects, ``times`` over), and networks used as
    activations are stored once each and flattened here (:func:`_flatten`)."""
    if not isinstance(data, dict) or not {"input_dim", "layers"} <= set(data) <= \
            {"input_dim", "layers", "repeat", "activations"}:
        raise KernelError("the stored network needs the fields input_dim and layers (and repeat, "
                          "if a block of its layers is repeated, activations, if it nests networks)")
    if "activations" in data and "repeat" in data:
        raise KernelError("the stored network either repeats a block or nests networks, not both")
    nested = _nested(data["activations"]) if "activations" in data else []
    dim, layers = _level(data, nested, "stored network")
    if nested:
        levels = _level_measure(layers, nested)
        layers = _flatten(layers, nested)
        if sum(l.W.nrows() * l.W.ncols() for l in layers) > MAX_ENTRIES:
            raise KernelError(f"the flattened network has more than {MAX_ENTRIES} dense entries")
        return StoredNetwork(dim, tuple(layers), None, levels)
    if "repeat" not in data:
        return StoredNetwork(dim, tuple(layers))
    total = sum(l.W.nrows() * l.W.ncols() for l in layers)
    start, count, times = _repeat(data["repeat"], layers)
    block = layers[start:start + count]
    unrolled = total + (times - 1) * sum(l.W.nrows() * l.W.ncols() for l in block)
    if unrolled > MAX_ENTRIES:
        raise KernelError(f"the stored network, its block repeated {times} times, has more than "
                          f"{MAX_ENTRIES} dense entries")
    return StoredNetwork(dim, tuple(layers[:start] + block * times + layers[start + count:]),
                         (start, count, times))


def _level(data: Any, nested: list, where: str) -> tuple[int, list]:
    """One level's input dimension and layers (a neuron may name one of ``nested``: net:i)."""
    dim, raw_layers = data["input_dim"], data["layers"]
    if not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= 64:
        raise KernelError(f"the {where}'s input_dim is not an integer in [1, 64]")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise KernelError(f"the {where} has no layers")
    layers = []
    cols = dim
    total = 0
    for k, raw in enumerate(raw_layers):
        layer = _layer(raw, k, cols, k == len(raw_layers) - 1, len(nested))
        total += layer.W.nrows() * cols
        if total > MAX_ENTRIES:
            raise KernelError(f"the {where} has more than {MAX_ENTRIES} dense entries")
        layers.append(layer)
        cols = layer.rows
    return dim, layers


@dataclass(frozen=True)
class _Nested:
    """A network used as an activation: its flattened steps and its NestNet counts."""
    layers: tuple
    nest_params: int
    height: int
    reach: frozenset  # every nested network it uses, at any depth


def _nested(raw: Any) -> list[_Nested]:
    """The stored activation networks, in order; the i-th may use only those before it (so the
    nesting is finite), and each maps R to R."""
    out: list[_Nested] = []
    total = 0
    for i, data in enumerate(_list(raw, "activations")):
        where = f"activation network {i}"
        if not isinstance(data, dict) or set(data) != {"input_dim", "layers"}:
            raise KernelError(f"{where} needs exactly the fields input_dim and layers")
        dim, layers = _level(data, out, where)
        if dim != 1 or layers[-1].rows != 1:
            raise KernelError(f"{where} must map R to R")
        measure = _level_measure(layers, out)
        flat = tuple(_flatten(layers, out))
        total += sum(l.W.nrows() * l.W.ncols() for l in flat)
        if total > MAX_ENTRIES:
            raise KernelError(f"the activation networks have more than {MAX_ENTRIES} dense entries")
        out.append(_Nested(flat, measure["nest_params"], measure["height"], frozenset(measure["reach"])))
    return out


def _refs(layers: list) -> set:
    return {int(a[4:]) for layer in layers for a in layer.acts if a.startswith("net:")}


def _level_measure(layers: list, nested: list) -> dict[str, Any]:
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


def _flatten(layers: list, nested: list) -> list[Layer]:
    """The level as a plain layered network: each layer with nested neurons becomes the k neurons'
    networks side by side (block-diagonal; a shorter one, or a plain neuron, led by identity
    neurons), its first map composed with the layer's own and its last with the next layer."""
    one, zero = fmpq_mat([[1]]), fmpq_mat([[0]])
    steps: list = []  # (W, b, acts); acts () for a map without activation
    for layer in layers:
        if not any(a.startswith("net:") for a in layer.acts):
            steps.append((layer.W, layer.b, layer.acts))
            continue
        seqs = [[(l.W, l.b, l.acts) for l in nested[int(a[4:])].layers] if a.startswith("net:")
                else [(one, zero, (a,)), (one, zero, ())] for a in layer.acts]
        depth = max(len(q) for q in seqs)
        seqs = [[(one, zero, ("identity",))] * (depth - len(q)) + q for q in seqs]
        for t in range(depth):
            parts = [q[t] for q in seqs]
            W = block_diagonal([P for P, _, _ in parts])
            b = fmpq_mat([[v] for _, c, _ in parts for v in c.entries()])
            acts = () if t == depth - 1 else tuple(a for _, _, ap in parts for a in ap)
            steps.append((W * layer.W, W * layer.b + b, acts) if t == 0 else (W, b, acts))
    out: list[Layer] = []
    pending = None
    for k, (W, b, acts) in enumerate(steps):
        if pending is not None:  # a map without activation before this one: compose
            W, b = W * pending[0], W * pending[1] + b
        pending = (W, b) if not acts and k < len(steps) - 1 else None
        if pending is None:
            out.append(plain_layer(W, b, acts))
    return out


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


def _repeat(raw: Any, layers: list) -> tuple[int, int, int]:
    """(start, count, times): layers[start : start + count] is a block g run ``times`` over.  It
    maps R^n to R^n, ends in identity neurons (g's output is affine) and leaves the last layer
    after it."""
    if not isinstance(raw, dict) or set(raw) != {"start", "layers", "times"} or \
            not all(isinstance(v, int) and not isinstance(v, bool) for v in raw.values()):
        raise KernelError("repeat needs the integer fields start, layers and times")
    start, count, times = raw["start"], raw["layers"], raw["times"]
    if not (0 <= start and 1 <= count and start + count < len(layers) and 1 <= times <= MAX_ENTRIES):
        raise KernelError(f"repeat: layers {start}..{start + count - 1} run {times} times do not "
                          f"lie before the last of {len(layers)} layers")
    first, last = layers[start], layers[start + count - 1]
    if first.W.ncols() != last.rows:
        raise KernelError(f"repeat: the block maps R^{first.W.ncols()} to R^{last.rows}, so it "
                          "cannot follow itself")
    if any(a != "identity" for a in last.acts):
        raise KernelError("repeat: the block's last layer must be identity neurons (its output)")
    return start, count, times


def _layer(raw: Any, k: int, cols: int, last: bool, nested: int = 0) -> Layer:
    where = f"stored network layer {k}"
    keys = {"rows", "cols", "W", "b"} | (set() if last else {"act"})
    if not isinstance(raw, dict) or set(raw) != keys:
        raise KernelError(f"{where}: fields {sorted(raw) if isinstance(raw, dict) else raw!r}, "
                          f"expected {sorted(keys)}")
    rows = raw["rows"]
    if raw["cols"] != cols or not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
        raise KernelError(f"{where}: shape {raw['rows']}x{raw['cols']} does not chain")
    if rows * cols > MAX_ENTRIES:
        raise KernelError(f"the stored network has more than {MAX_ENTRIES} dense entries")
    W = fmpq_mat(rows, cols)
    nonzeros = 0
    for entry in _list(raw["W"], where):
        if not (isinstance(entry, list) and len(entry) == 3):
            raise KernelError(f"{where}: W entries are [row, col, value]")
        i, j, v = _index(entry[0], rows, where), _index(entry[1], cols, where), entry[2]
        q = rational(v, where)
        if q == 0 or W[i, j] != 0:
            raise KernelError(f"{where}: W[{i},{j}] is zero or given twice")
        W[i, j] = q
        nonzeros += 1
    b = fmpq_mat(rows, 1)
    for entry in _list(raw["b"], where):
        if not (isinstance(entry, list) and len(entry) == 2):
            raise KernelError(f"{where}: b entries are [row, value]")
        i, q = _index(entry[0], rows, where), rational(entry[1], where)
        if q == 0 or b[i, 0] != 0:
            raise KernelError(f"{where}: b[{i}] is zero or given twice")
        b[i, 0] = q
        nonzeros += 1
    relu: tuple = ()
    flags: list = []
    if not last:
        for run in _list(raw["act"], where):
            if not (isinstance(run, list) and len(run) == 2 and _activation(run[0], nested)
                    and isinstance(run[1], int) and not isinstance(run[1], bool) and run[1] > 0):
                raise KernelError(f"{where}: activation runs are [name, count] with name in "
                                  f"{sorted(ACTIVATIONS)} or peuaf:w, leaky_relu:a, elu:a (w, a > 0 rational)")
            flags += [run[0]] * run[1]
        if len(flags) != rows:
            raise KernelError(f"{where}: {len(flags)} activations for {rows} neurons")
        relu = tuple(a == "relu" for a in flags)
    return Layer(W, b, relu, nonzeros, tuple(flags))


# activations with one rational parameter after ':' (PEUAF's frequency, the negative slope or scale)
PARAMETRIZED = ("peuaf", "leaky_relu", "elu")


def _activation(name: Any, nested: int = 0) -> bool:
    """A name the kernel knows, or net:i naming one of the ``nested`` activation networks."""
    if not isinstance(name, str):
        return False
    base, colon, param = name.partition(":")
    if base == "net":
        return param.isdigit() and param == str(int(param)) and int(param) < nested
    if colon:
        try:
            return base in PARAMETRIZED and rational(param, f"{base} parameter") > 0
        except KernelError:
            return False
    return name in ACTIVATIONS


def _list(v: Any, where: str) -> list:
    if not isinstance(v, list):
        raise KernelError(f"{where}: expected a list")
    return v


def _index(v: Any, bound: int, where: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < bound:
        raise KernelError(f"{where}: index {v!r} outside [0, {bound})")
    return v
