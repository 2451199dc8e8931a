"""ReLU networks emulated by ρ-networks ("Beyond ReLU", Proposition 10), re-derived.

The evidence names the ReLU network R (layers W_ℓ, b_ℓ) and a one-input gadget G (a small
ρ-network).  The stored network must be R with every ReLU neuron replaced by a copy of G: the
kernel composes R's affine maps with block-diagonal copies of G's layers itself and requires
the stored layers to be exactly these.  Then, with τ ≥ sup |G − ReLU| on [−M, M] (Taylor forms
of G on [−M, 0] against 0 and on [0, M] against t, :mod:`certify.kernel.smooth`) and ReLU
1-Lipschitz, the pre-activation errors obey e_1 = 0, e_{ℓ+1} = |W_{ℓ+1}|(τ + e_ℓ), valid while
every perturbed pre-activation stays in [−M, M] (R's own ranges on the box by exact interval
arithmetic, widened by e_ℓ); the output error is at most max e_{L+1}.
"""

from __future__ import annotations

from typing import Optional

from flint import arb, fmpq, fmpq_mat

from certify.kernel import smooth
from certify.kernel.claims import rational
from certify.kernel.errors import KernelError, Undecided
from certify.kernel.network import StoredNetwork, block_diagonal
from certify.kernel.stored import decode

MAX_NEURONS = 4096  # hidden ReLU neurons of R
ORDER = 8
MAX_ORDER = 4  # of a derivative ρ^(k) as the emulated activation
EXACT = fmpq(1, 2 ** 128)  # the aim for a gadget the certifier found exact (rounding only)


def parts(evidence: dict) -> tuple[StoredNetwork, object, fmpq, fmpq]:
    """(R, G or None, M, the bisection's aim for τ) from the evidence, checked for shape; G is
    None where the certifier found no gadget (then nothing is shown)."""
    relu = decode(evidence.get("relu"))
    if not relu.plain or any(a != "relu" for layer in relu.layers[:-1] for a in layer.acts):
        raise KernelError("the emulated network must be a ReLU network")
    if sum(layer.rows for layer in relu.layers[:-1]) > MAX_NEURONS:
        raise Undecided(f"more than {MAX_NEURONS} ReLU neurons")
    if evidence.get("gadget") is None:
        return relu, None, fmpq(0), fmpq(0)
    gadget = decode(evidence["gadget"])
    M, aim = rational(evidence.get("M"), "emulation M"), rational(evidence.get("tau"), "emulation tau")
    if gadget.input_dim != 1 or gadget.layers[-1].rows != 1 or M <= 0 or aim < 0:
        raise KernelError("the gadget must map R to R, with M > 0 and tau >= 0")
    return relu, gadget, M, max(aim, EXACT)


def target(evidence: dict) -> Optional[tuple]:
    """None (the emulated network is R itself), or (ρ, k): R's affine maps with ρ^(k) neurons."""
    t = evidence.get("target")
    if t is None:
        return None
    if not (isinstance(t, dict) and smooth.smooth_forms(str(t.get("activation"))) is not None
            and isinstance(t.get("order"), int) and not isinstance(t.get("order"), bool)
            and 1 <= t["order"] <= MAX_ORDER):
        raise KernelError(f"the emulated activation must be ρ^(k) for a smooth ρ and 1 <= k <= {MAX_ORDER}")
    return t["activation"], t["order"]


def expected_layers(relu: StoredNetwork, gadget: StoredNetwork) -> list[tuple]:
    """(W, b, activations) of R with each ReLU neuron replaced by G, affine maps composed."""
    g, out = gadget.layers, []
    carry = None  # the last gadget layer, to be composed with the next affine map of R
    for k, layer in enumerate(relu.layers):
        W, b = layer.W, layer.b
        if carry is not None:
            W, b = W * carry[0], W * carry[1] + b
        if k == len(relu.layers) - 1:
            out.append((W, b, ()))
            break
        n = layer.rows
        first = block_diagonal([g[0].W] * n)
        out.append((first * W, first * b + _tiled(g[0].b, n), tuple(g[0].acts) * n))
        out += [(block_diagonal([h.W] * n), _tiled(h.b, n), tuple(h.acts) * n) for h in g[1:-1]]
        carry = (block_diagonal([g[-1].W] * n), _tiled(g[-1].b, n))
    return out


def _tiled(b: fmpq_mat, n: int) -> fmpq_mat:
    return fmpq_mat([[v] for _ in range(n) for v in b.entries()])


def same(net: StoredNetwork, expected: list[tuple]) -> bool:
    return len(net.layers) == len(expected) and all(
        layer.W == W and layer.b == b and tuple(layer.acts) == acts
        for layer, (W, b, acts) in zip(net.layers, expected))


def band(gadget: StoredNetwork, M: fmpq, aim: fmpq, target: Optional[tuple] = None) -> tuple[arb, int]:
    """τ ≥ sup |G(t) − h(t)| on [−M, M], h = ReLU or the ``target`` ρ^(k), and the intervals it
    took: Taylor forms of order 8
    (the gadget's transition is ~10⁻⁵ wide and its product weights ~10¹⁷, where second-order
    forms would need ~10⁵ intervals)."""
    if target is not None:  # a smooth ρ^(k): one interval
        return smooth.series_sup(gadget.layers, smooth.derivative(*target), -M, M, arb(aim), ORDER)
    below = smooth.series_sup(gadget.layers, smooth.linear(fmpq(0), fmpq(0)), -M, fmpq(0), arb(aim), ORDER)
    above = smooth.series_sup(gadget.layers, smooth.linear(fmpq(0), fmpq(1)), fmpq(0), M, arb(aim), ORDER)
    return below[0].max(above[0]), below[1] + above[1]


def propagate(relu: StoredNetwork, box: list, tau: arb, M: fmpq, target: Optional[tuple] = None) -> arb:
    """max e_{L+1}, e_{ℓ+1} = |W_{ℓ+1}|(τ + Lip·e_ℓ) with Lip = 1 for ReLU, sup |h'| on [−M, M]
    for h = ρ^(k); Undecided if a perturbed pre-activation may leave [−M, M] (the target
    network's own pre-activations enclosed by interval arithmetic, exactly for ReLU)."""
    h = None if target is None else smooth.derivative(*target)
    lip = arb(1) if h is None else _sup_slope(h, M)
    lo, hi = [arb(a) for a, _ in box], [arb(b) for _, b in box]
    e = None
    for k, layer in enumerate(relu.layers):
        W = layer.W
        if e is None:
            e = [arb(0)] * layer.rows
        else:
            e = [sum((abs(arb(W[i, j])) * (tau + lip * e[j]) for j in range(W.ncols()) if W[i, j] != 0),
                     arb(0)) for i in range(layer.rows)]
        if k == len(relu.layers) - 1:
            return max(e, key=lambda v: v.upper()) if e else arb(0)
        pre = [_range(W, layer.b, i, lo, hi) for i in range(layer.rows)]
        if any(not (abs(a).max(abs(c)) + ei <= M) for (a, c), ei in zip(pre, e)):
            raise Undecided(f"a perturbed pre-activation of layer {k + 1} may leave [-{M}, {M}]")
        if h is None:
            lo, hi = [a.max(arb(0)) for a, _ in pre], [c.max(arb(0)) for _, c in pre]
        else:
            lo, hi = zip(*(_ends(h, a, c) for a, c in pre))
    raise KernelError("the emulated network has no layers")


def _range(W: fmpq_mat, b: fmpq_mat, i: int, lo: list, hi: list) -> tuple[arb, arb]:
    a = c = arb(b[i, 0])
    for j in range(W.ncols()):
        w = arb(W[i, j])
        a, c = (a + w * lo[j], c + w * hi[j]) if W[i, j] >= 0 else (a + w * hi[j], c + w * lo[j])
    return a, c


def _ends(h, a: arb, c: arb, pieces: int = 32) -> tuple[arb, arb]:
    """Lower and upper ends of h over [a, c], from its enclosures on ``pieces`` equal parts."""
    lo_q, hi_q = _rational(a.lower()), _rational(c.upper())
    cuts = [lo_q + (hi_q - lo_q) * fmpq(i, pieces) for i in range(pieces + 1)]
    vs = [h(u, v, 1).coeffs()[0] for u, v in zip(cuts, cuts[1:])] if lo_q < hi_q else [h(lo_q, lo_q, 1).coeffs()[0]]
    return arb(min(v.lower() for v in vs)), arb(max(v.upper() for v in vs))


def _rational(x: arb) -> fmpq:
    m, e = x.mid().man_exp()
    return fmpq(int(m)) * fmpq(2) ** int(e)


def _sup_slope(h, M: fmpq, pieces: int = 256) -> arb:
    """sup |h'| on [−M, M], from h's series over ``pieces`` equal intervals."""
    best = arb(0)
    for i in range(pieces):
        a, b = -M + 2 * M * fmpq(i, pieces), -M + 2 * M * fmpq(i + 1, pieces)
        best = best.max(abs(smooth._coeffs(h(a, b, 2), 2)[1]))
    return arb(best.upper())
