"""Floor obligations discharged by Lemmas C.2 and C.3 when a floor's weights are the lemma's own.

The gap evaluator (:mod:`proofs.nestnet.check`) records obligations "the floor network f is ≡ ℓ
on [ℓ, ℓ+1−gap]" and proves each one by running f's body on the interval.  For a height-3 floor
at n = 12 that is ~2·10⁴ intervals per height, each pushed through ~24 layers of ~14000-bit
numbers: the plain proof grows with the network.  Here each obligation is instead read off the
lemma that the floor's construction proves, *after* checking exactly that the body is that
construction: :func:`lemma_of` rebuilds the body from the gadget's own parameters
(:func:`~proofs.nestnet.gadgets.floor_c2` / :func:`~proofs.nestnet.gadgets.floor_c3`) and compares
every weight and bias (``fmpq_mat`` equality) and every activation (by identity, so a nested
floor must be the very same network).  Any difference — one weight moved by 2⁻⁴⁰ — returns None
and the caller runs the body as before.

**Lemma C.2 (project weights).**  Let gap ∈ (0, 1), δ̃ = gap/2ⁿ and f = floor_c2(n, gap).  For
every integer 0 ≤ ℓ < 2ⁿ, f ≡ ℓ on [ℓ, ℓ+1−gap].
*Proof.*  Write ℓ = Σ_j b_j 2^j and x ∈ [ℓ, ℓ+1−gap].  Hidden layer j (j = n−1, …, 0) holds
(σ(x), σ(S_j), σ(u_j−1+δ̃), σ(u_j−1)) with S_{n−1} = 0, u_j = (x − S_j)/2^j, z_j = (σ(u_j−1+δ̃) −
σ(u_j−1))/δ̃ and S_{j−1} = S_j + 2^j z_j (the row [0, 1, w, −w], w = 2^j/δ̃; the first layer has
no S row since S_{n−1} = 0).  Induction on j from n−1 down: suppose S_j = Σ_{i>j} b_i 2^i
(true for j = n−1 since ℓ < 2ⁿ), so x − S_j ∈ [r, r+1−gap] with r = ℓ mod 2^{j+1}.
If b_j = 1 then r ≥ 2^j, u_j ≥ 1, both ReLU arguments are ≥ 0 and z_j = δ̃/δ̃ = 1.  If b_j = 0
then r ≤ 2^j − 1, u_j ≤ 1 − gap/2^j ≤ 1 − δ̃ (j ≤ n−1), both arguments are ≤ 0 and z_j = 0.
So z_j = b_j and S_{j−1} = Σ_{i≥j} b_i 2^i; σ(x) = x and σ(S) = S as both are ≥ 0.  The output
row [0, 1, 1/δ̃, −1/δ̃] gives S_0 + z_0 = ℓ for every x of the interval.  ∎

**Lemma C.3 (project weights).**  Let g be a floor network with count m and gap δ_g, n ≥ 2,
gap = m^n δ_g < 1 and f = floor_c3(g, n).  For every integer 0 ≤ ℓ < m^n with base-m digits
ℓ = Σ_j d_j m^j, if g ≡ d on [d, d+1−δ_g] for every digit d = d_j, then f ≡ ℓ on [ℓ, ℓ+1−gap].
*Proof.*  Hidden layer j holds (σ(x), σ(S_j), g((x − S_j)/m^j)) (no S for j = n−1, S_{n−1} = 0)
and S_{j−1} = S_j + m^j G_j (row [0, 1, w], w = m^j), output S_0 + G_0.  Suppose S_j = Σ_{i>j} d_i m^i;
then x − S_j ∈ [r, r+1−gap] with r = ℓ mod m^{j+1} = d_j m^j + r', 0 ≤ r' < m^j, so
(x − S_j)/m^j ∈ [d_j, d_j + (r'+1)/m^j − m^{n−j} δ_g] ⊆ [d_j, d_j + 1 − δ_g] (m^{n−j} ≥ m ≥ 1,
(r'+1)/m^j ≤ 1).  By hypothesis G_j = d_j, so S_{j−1} = Σ_{i≥j} d_i m^i, and the output is
S_0 + d_0 = ℓ.  ∎  The hypotheses on g are returned as new obligations (one per distinct digit),
so they are discharged like every other one (by this module again where g is itself a lemma's
network, else by running g).

Both proofs are checked against the plain run by ``tests/proofs/nestnet/test_floor_lemmas.py``
(hypothesis), and ``tests/mutants/test_nestnet_mutants.py`` moves one weight of a nested floor so
that a shortcut ignoring the weights would certify a wrong network.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from flint import fmpq

from constructive.errors import UserError
from constructive.ir import Activation, Affine, Gadget, Network, Node
from constructive.numbers import QMatrix
from proofs.nestnet import gadgets as G


def _same_nodes(a: list[Node], b: list[Node]) -> bool:
    """Exactly the same weights and biases, and the same activations (nested ones by identity)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, Affine) and isinstance(y, Affine):
            if x.W.nrows() != y.W.nrows() or x.W.ncols() != y.W.ncols() or x.W != y.W or x.b != y.b:
                return False
        elif isinstance(x, Activation) and isinstance(y, Activation):
            if len(x.functions) != len(y.functions) or any(
                    u is not v for u, v in zip(x.functions, y.functions)):
                return False
        else:
            return False
    return True


def _int_log(count: int, base: int) -> Optional[int]:
    """e ≥ 1 with base^e = count, else None."""
    if base < 2:
        return None
    e, v = 0, 1
    while v < count:
        v *= base
        e += 1
    return e if v == count and e >= 1 else None


def lemma_of(f: Network) -> Optional[tuple[str, Optional[Network], int]]:
    """("C.2", None, n) or ("C.3", g, n) when the body of the floor gadget network ``f`` is exactly
    floor_c2(n, gap) / floor_c3(g, n) for its own parameters; None otherwise."""
    if not G._is(f, G.FLOOR):
        return None
    gad = f.nodes[0]
    prm = dict(gad.params)
    gap, count, height = prm.get("gap"), prm.get("count"), prm.get("height")
    if not isinstance(gap, fmpq) or not isinstance(count, int) or not isinstance(height, int):
        return None
    nodes = list(gad.body.nodes)
    try:
        if height == 1:
            n = _int_log(count, 2)
            if n is None:
                return None
            return ("C.2", None, n) if _same_nodes(nodes, list(G.floor_c2(n, gap).nodes[0].body.nodes)) \
                else None
        first = next((a for a in nodes if isinstance(a, Activation)), None)
        g = first.functions[-1] if first is not None else None
        if not G._is(g, G.FLOOR) or dict(g.nodes[0].params)["height"] != height - 1:
            return None
        n = _int_log(count, dict(g.nodes[0].params)["count"])
        if n is None or n < 2:
            return None
        built = G.floor_c3(g, n).nodes[0]
        if dict(built.params)["gap"] != gap or dict(built.params)["count"] != count:
            return None
        return ("C.3", g, n) if _same_nodes(nodes, list(built.body.nodes)) else None
    except UserError:
        return None


def _digits(ell: int, m: int, n: int) -> list[int]:
    out = []
    for _ in range(n):
        ell, d = divmod(ell, m)
        out.append(d)
    return out


def discharge_by_lemma(ob: "object", k: int, todo: list) -> bool:
    """Prove the pending obligations ``todo`` of floor network ``ob.nets[k]`` by its lemma (adding
    the digit obligations of Lemma C.3 for the nested floor); False (nothing done) when the
    network is not exactly a lemma's, or some obligation is not of the lemma's form."""
    f = ob.nets[k]
    lemma = lemma_of(f)
    if lemma is None:
        return False
    kind, g, n = lemma
    prm = dict(f.nodes[0].params)
    gap, count = prm["gap"], prm["count"]
    for key in todo:
        a, b, want = ob.items[k][key]
        if not (a.q == 1 and a == want and 0 <= a < count and b == a + 1 - gap):
            return False
    for key in todo:
        a = ob.items[k][key][0]
        if kind == "C.3":
            gp = dict(g.nodes[0].params)
            for d in set(_digits(int(a.p), gp["count"], n)):
                ob.add(g, fmpq(d), fmpq(d + 1) - gp["gap"], fmpq(d))
        ob.done[k].add(key)
    return True


# ------------------------------------------------------------------------------------------------
# Proposition B.1 (input clamp) on whole groups


def _step_floor(node: Gadget) -> Optional[tuple[str, Optional[Network], int]]:
    """Lemma C.2/C.3's data for the floor φ₀ inside a ``nestnet-step`` gadget whose body is
    exactly step_b1's for its own parameters: the clamp σ(x) − σ(x − J), then φ₀'s layers."""
    prm = dict(node.params)
    r, n, J, delta = prm.get("r"), prm.get("n"), prm.get("J"), prm.get("delta")
    if not (isinstance(r, int) and isinstance(n, int) and isinstance(J, int) and isinstance(delta, fmpq)):
        return None
    nodes = list(node.body.nodes)
    try:
        if r == 1:
            phi0 = G.floor_c2(n, delta)
        else:
            act = next((a for a in nodes[3:] if isinstance(a, Activation)), None)
            g = act.functions[-1] if act is not None else None
            if not G._is(g, G.FLOOR):
                return None
            phi0 = G.floor_c3(g, n)
        built = G.step_b1(r, n, delta, J, floor=phi0).nodes[0]
    except (UserError, ValueError):
        return None
    p0 = dict(phi0.nodes[0].params)
    if p0["gap"] != delta or p0["count"] != 2 ** (n ** r) or not _same_nodes(nodes, list(built.body.nodes)):
        return None
    return lemma_of(phi0)


def step_by_lemma(ev: Any, node: Gadget, X: QMatrix) -> Optional[QMatrix]:
    """The ``nestnet-step`` gadget on groups of V points by Proposition B.1, or None (run its body).

    *Proof.*  Let the body be exactly step_b1(r, n, δ, J) with φ₀ = floor_c2(n, δ) (r = 1) or
    floor_c3(g, n) (count 2^(n^r) > J, gap δ); :func:`_step_floor` checks this weight by weight.
    The body is φ₀(σ(x) − σ(x − J)).  If a group's hull lies in [ℓ, ℓ+1−δ] with 0 ≤ ℓ < J, then
    x ≥ 0 and x − J ≤ −δ < 0, so the clamp is x, and φ₀ ≡ ℓ there by Lemma C.2 (resp. C.3, given
    g ≡ d on [d, d+1−δ_g] for the base-m digits d of ℓ: recorded as obligations).  If the hull
    lies in [J, J+1], the clamp is J on it and φ₀(J) = J the same way (J < count).  Every ReLU of
    the body keeps one sign on such a group (clamp: shown above; φ₀: in the lemmas' proofs), so
    the plain run accepts exactly these groups and returns the same values.  Any other group, a
    failed group, or a body that is not the template: None, and the caller runs the body.  ∎
    """
    if node.name != "nestnet-step" or not getattr(ev, "step_lemma", True) or X.shape[0] != 1 \
            or X.num.size == 0:
        return None
    if ev.bad is not None and ev.bad.any():
        return None
    lemma = _step_floor(node)
    if lemma is None:
        return None
    prm = dict(node.params)
    J, delta = prm["J"], prm["delta"]
    V, den = ev.V, X.den
    cube = X.num.reshape(-1, V)
    dp, dq = int(delta.p), int(delta.q)
    vals = []
    for row in cube:
        lo, hi = min(row), max(row)
        ell = lo // den
        if 0 <= ell < J and hi * dq <= (ell + 1) * den * dq - dp * den:
            vals.append(int(ell))
        elif lo >= J * den and hi <= (J + 1) * den:
            vals.append(J)
        else:
            return None
    kind, g, nn = lemma
    if kind == "C.3":
        gp = dict(g.nodes[0].params)
        for d in {d for v in set(vals) for d in _digits(v, gp["count"], nn)}:
            ev.ob.add(g, fmpq(d), fmpq(d + 1) - gp["gap"], fmpq(d))
    out = np.empty((1, len(vals) * V), dtype=object)
    out[0, :] = [v for v in vals for _ in range(V)]
    return QMatrix(out, 1)
