"""Exact σ (EUAF) gadgets of Shen, Yang, Zhang (JMLR 2022), explicit weights.

Each builder returns a ``Network`` (a ``Gadget`` node with its specification); the exact
identities they claim are certified in ``certify.analysis.sigma_cells`` (exact cell analysis) and
tested at rational points in ``tests/test_euaf_gadgets.py``.

* identity padding     2Mσ((x+M)/(2M)) − M = x on [−M, M]                 (txt p. 4)
* square (Lemma 17)    x² = 12σ(1 − 12σ(−x−1) + 12σ(−x−2)) + 11σ((6−5x)/11) on [−1, 1]
* product (Lemma 16)   xy = 2M²(s((x+y)/2M) − s(x/2M) − s(y/2M)) on [−M, M]², s = square
* index map (Eq. 18)   ψ(2Kx)/2 + 1 = k on I_k = [(2k−2)/2K, (2k−1)/2K], ψ(y) = y − σ(y)
* softsign index       σ(−α − Kx + σ(2Kx)/2) + 1 = 1/(α+k) on I_k
* partition of unity   ψ̂(y) = σ(y + 1 − σ(y + 1)); Σ_{i=1}^4 ψ̂(y + i/2) = 1 for y ≥ 0
* odd rounding         y + 1/2 − σ(y + 3/2) = 2k + 1 when |2k + 1 − y| ≤ 1/2, k ≥ 0
"""

from __future__ import annotations

from typing import Any

from flint import fmpq

from constructive.activations.euaf import SIGMA
from constructive.errors import UserError
from constructive.ir import GadgetSpec, Network, activation, affine, gadget, network, parallel
from constructive.numbers import as_fmpq


def sig(width: int):
    return activation(width, SIGMA)


def positive(name: str, v: Any, integer: bool = False) -> Any:
    try:
        q = as_fmpq(v)
    except (TypeError, ValueError, ZeroDivisionError):
        raise UserError(f"{name}={v!r} is not an exact rational") from None
    if q <= 0:
        raise UserError(f"{name}={q} is not allowed; use {name} > 0")
    if integer:
        if q.q != 1:
            raise UserError(f"{name}={q} must be an integer >= 1")
        return int(q.p)
    return q


def identity_pad(M: Any = 1) -> Network:
    """2Mσ((x+M)/(2M)) − M = x on [−M, M]: one hidden σ neuron."""
    M = positive("M", M)
    body = network(affine([[1 / (2 * M)]], [fmpq(1, 2)]), sig(1), affine([[2 * M]], [-M]))
    spec = GadgetSpec("2M σ((x+M)/2M) − M = x on [−M, M]", reference=lambda v: v[0],
                      domain=((-M, M),), source="JMLR 2022 §1.1, p. 4")
    return network(gadget("euaf-identity", body, spec, M=str(M)))


def square() -> Network:
    """Lemma 17: x² on [−1, 1] with width 3, depth 2."""
    body = network(
        affine([[-1], [-1], [fmpq(1, 2)]], [-1, -2, fmpq(1, 2)]), sig(3),
        affine([[-12, 12, 0], [0, 0, fmpq(-10, 11)]], [1, 1]), sig(2),
        affine([[12, 11]], [0]))
    spec = GadgetSpec("x² = 12σ(1−12σ(−x−1)+12σ(−x−2)) + 11σ((6−5x)/11) on [−1, 1]",
                      reference=lambda v: v[0] ** 2, domain=((fmpq(-1), fmpq(1)),),
                      source="JMLR 2022 Lemma 17, p. 43")
    return network(gadget("euaf-square", body, spec))


def product(M: Any = 1) -> Network:
    """Lemma 16: xy on [−M, M]² with width 9, depth 2 (three squares side by side)."""
    M = positive("M", M)
    s = square()
    c = 1 / (2 * M)
    body = network(affine([[c, c], [c, 0], [0, c]], [0, 0, 0]), parallel(s, s, s),
                   affine([[2 * M * M, -2 * M * M, -2 * M * M]], [0]))
    spec = GadgetSpec("xy = 2M²(s((x+y)/2M) − s(x/2M) − s(y/2M)) on [−M, M]²",
                      reference=lambda v: v[0] * v[1], domain=((-M, M), (-M, M)),
                      source="JMLR 2022 Lemma 16, p. 40")
    return network(gadget("euaf-product", body, spec, M=str(M)))


def index_map(K: int) -> Network:
    """ψ(2Kx)/2 + 1 = K x − σ(2Kx)/2 + 1 on x ∈ [0, 1] (x passed as σ(x) = x): = k on I_k."""
    K = positive("K", K, integer=True)
    body = network(affine([[2 * K], [1]], [0, 0]), sig(2), affine([[fmpq(-1, 2), K]], [1]))
    spec = GadgetSpec("ψ(2Kx)/2 + 1 = k on I_k = [(2k−2)/2K, (2k−1)/2K]",
                      domain=((fmpq(0), fmpq(1)),), source="JMLR 2022 Eq. (18), p. 37")
    return network(gadget("euaf-index", body, spec, K=K))


def softsign_index(K: int, alpha: Any) -> Network:
    """σ(−α − Kx + σ(2Kx)/2) + 1 = 1/(α + k) on I_k (x ∈ [0, 1])."""
    K = positive("K", K, integer=True)
    alpha = positive("alpha", alpha)
    body = network(affine([[2 * K], [1]], [0, 0]), sig(2),
                   affine([[fmpq(1, 2), -K]], [-alpha]), sig(1), affine([[1]], [1]))
    spec = GadgetSpec("σ(−α − Kx + σ(2Kx)/2) + 1 = 1/(α+k) on I_k",
                      domain=((fmpq(0), fmpq(1)),), source="JMLR 2022 p. 39")
    return network(gadget("euaf-softsign-index", body, spec, K=K, alpha=str(alpha)))


def psi_hat(K: int) -> Network:
    """ψ̂(y) = σ(y + 1 − σ(y + 1)) for y ∈ [−1, 2K], with y + 1 = (2K+1)σ((y+1)/(2K+1))."""
    K = positive("K", K, integer=True)
    c = fmpq(1, 2 * K + 1)
    body = network(affine([[c], [1]], [c, 1]), sig(2), affine([[2 * K + 1, -1]], [0]), sig(1))
    spec = GadgetSpec("ψ̂(y) = σ(y + 1 − σ(y + 1)) on [−1, 2K]", domain=((fmpq(-1), fmpq(2 * K)),),
                      range=(fmpq(0), fmpq(1)), source="JMLR 2022 p. 41")
    return network(gadget("euaf-psi-hat", body, spec, K=K))


def partition_of_unity(K: int) -> Network:
    """Σ_{i=1}^4 ψ̂(y + i/2) on y ∈ [0, 2K − 2] (claimed ≡ 1)."""
    K = positive("K", K, integer=True)
    p = psi_hat(K)
    body = network(affine([[1]] * 4, [fmpq(i, 2) for i in range(1, 5)]), parallel(p, p, p, p),
                   affine([[1, 1, 1, 1]], [0]))
    spec = GadgetSpec("Σ_{i=1}^4 ψ̂(y + i/2) = 1", domain=((fmpq(0), fmpq(2 * K - 2)),),
                      source="JMLR 2022 p. 41")
    return network(gadget("euaf-partition-of-unity", body, spec, K=K))


def odd_rounding(M: Any) -> Network:
    """y + 1/2 − σ(y + 3/2) for 0 ≤ y ≤ M, with y = Mσ(y/M): width 2, one hidden layer."""
    M = positive("M", M)
    body = network(affine([[1 / M], [1]], [0, fmpq(3, 2)]), sig(2), affine([[M, -1]], [fmpq(1, 2)]))
    spec = GadgetSpec("y + 1/2 − σ(y + 3/2) = 2k+1 when |2k+1 − y| ≤ 1/2",
                      domain=((fmpq(0), M),), source="JMLR 2022 proof of Thm 4, p. 35")
    return network(gadget("euaf-round-odd", body, spec, M=str(M)))


# ------------------------------------------------------------------------------------------
# specifications for the certifier: (network, cells with the claimed rational function)
