"""Time to emulate and certify the default width-8 depth-3 ReLU network for all 17 activations.

    PYTHONPATH=. python benchmarks/beyond_relu.py [eps] [version ...]

Prints per activation: gadget kind, measured width/depth and the factors width/N, depth/L
(N = 8, L = 3 measured from the ReLU network), the certifier's sup error bound (re-derived from
the network), the ratio certified/eps, the builder's tuning rounds, build seconds (parameter
choice + tightening until the rigorous band meets eps) and certification seconds; the total per
version at the end.  Versions default to both ``final`` and ``v1``.
"""

import sys
import time

from flint import fmpq

from constructive.activations.catalogue import NAMES
from constructive.numbers import as_fmpq
from proofs.beyond_relu.build import default_relu_network, emulate
from proofs.beyond_relu.check import certify_emulation, relu_size


def main() -> None:
    eps = as_fmpq(sys.argv[1]) if len(sys.argv) > 1 else fmpq(1, 10 ** 6)
    versions = sys.argv[2:] or ["final", "v1"]
    layers = default_relu_network()
    N, L = relu_size(layers)
    for version in versions:
        run(layers, eps, version, N, L)


def run(layers, eps, version, N, L) -> None:
    total = time.perf_counter()
    worst = fmpq(0)
    print(f"eps = {eps}, version = {version}, ReLU net width {N} depth {L} on [-2,2]^2")
    print(f"{'activation':12s} {'gadget':6s} {'width':>5s} {'depth':>5s} {'w/N':>5s} {'d/L':>5s} "
          f"{'certified':>12s} {'ratio':>8s} {'rounds':>6s} {'build s':>8s} {'cert s':>8s} verdict")
    for name in NAMES:
        t0 = time.perf_counter()
        em = emulate(layers, name, eps, 2, version)  # scales tightened until the band meets eps
        t1 = time.perf_counter()
        c = certify_emulation(em.net, layers, em.box)  # re-derived from the network
        t2 = time.perf_counter()
        ok = c.ok and c.error_upper <= eps
        worst = max(worst, c.error_upper / eps)
        # display only: floats print the exact rationals
        print(f"{name:12s} {em.plan.kind:6s} {em.net.width:5d} {em.net.depth:5d} "
              f"{em.net.width / N:5.2f} {em.net.depth / L:5.2f} "
              f"{float(c.error_upper):12.4e} {float(c.error_upper / eps):8.4f} {em.rounds:6d} "
              f"{t1 - t0:8.2f} {t2 - t1:8.2f} {'HOLDS' if ok else 'INCONCLUSIVE'}")
    print(f"total {time.perf_counter() - total:.1f} s ({version}); largest certified/eps {float(worst):.4f}")


if __name__ == "__main__":
    main()
