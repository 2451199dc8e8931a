"""max, min and mid of ReLU networks (Lu et al. Lemma 3.1; common-gadgets note §3–4).

max(x, y) = ½[σ(x+y) − σ(−x−y) + σ(x−y) + σ(y−x)], min likewise with the last two signs
flipped.  mid(x1, x2, x3) = s − max3 − min3 with s = x1+x2+x3 carried as σ(s) − σ(−s); the
network has widthvec [14, 10] and no biases.
"""

from __future__ import annotations

from flint import fmpq

from constructive.ir import GadgetSpec, Network, activation, affine, gadget, network

H = fmpq(1, 2)


def _median(v):
    return [sorted(v)[1]]


def _median_box(lo, hi):
    """The median is monotone in every argument, so it maps boxes to [mid(lo), mid(hi)]."""
    return [sorted(lo)[1]], [sorted(hi)[1]]


def mid_gadget() -> Network:
    """mid(x1, x2, x3), the middle value, exact on R^3 (widthvec [14, 10]).

    >>> from constructive.evaluate import evaluate
    >>> evaluate(mid_gadget(), [[3], [-1], ["1/2"]])
    [[1/2]]
    """
    # hidden layer 1: max pair (x1, x2) [4], carry x3 [2]; min pair [4], carry x3 [2]; s [2]
    pair = [[1, 1, 0], [-1, -1, 0], [1, -1, 0], [-1, 1, 0]]
    carry3 = [[0, 0, 1], [0, 0, -1]]
    total = [[1, 1, 1], [-1, -1, -1]]
    W1 = pair + carry3 + pair + carry3 + total
    # hidden layer 2: max(m12, x3) [4], min(n12, x3) [4], s carried [2];
    # m12 = ½(a − b + c + d), n12 = ½(a − b − c − d), x3 = e − f over the first-layer outputs
    m12 = [H, -H, H, H, 0, 0]
    n12 = [H, -H, -H, -H, 0, 0]
    x3 = [0, 0, 0, 0, 1, -1]
    z6 = [0] * 6

    def comb(u, su, v, sv):
        return [su * a + sv * b for a, b in zip(u, v)]

    max_rows = [comb(m12, 1, x3, 1), comb(m12, -1, x3, -1), comb(m12, 1, x3, -1), comb(m12, -1, x3, 1)]
    min_rows = [comb(n12, 1, x3, 1), comb(n12, -1, x3, -1), comb(n12, 1, x3, -1), comb(n12, -1, x3, 1)]
    W2 = [r + z6 + [0, 0] for r in max_rows] + [z6 + r + [0, 0] for r in min_rows] + \
         [z6 + z6 + [1, 0], z6 + z6 + [0, 1]]
    # output: s − max3 − min3, with max3 = ½(a − b + c + d) and min3 = ½(a − b − c − d)
    W3 = [[-H, H, -H, -H, -H, H, H, H, 1, -1]]
    body = network(affine(W1, [0] * 14), activation(14), affine(W2, [0] * 10), activation(10),
                   affine(W3, [0]))
    spec = GadgetSpec(statement="mid(x1, x2, x3) is the median of the three inputs on R^3",
                      reference=_median, domain=((None, None),) * 3, interval=_median_box,
                      source="Lu et al. Lemma 3.1")
    return network(gadget("mid", body, spec))


def build_mid(params: dict, target=None) -> Network:
    """Registry entry (syz-mid-gadget)."""
    return mid_gadget()
