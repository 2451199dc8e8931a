"""Time to emulate and certify the default width-8 depth-3 ReLU network for all 17 activations.

    PYTHONPATH=. python benchmarks/beyond_relu.py [eps] [version]

Prints per activation: gadget kind, measured width/depth (vs 8, 3), certified sup error, the
ratio certified/eps, build and certification seconds; the total at the end (target < 3 min).
"""

import sys
import time

from flint import fmpq

from certify.beyond import certify_emulation
from constructive.activation_catalogue import NAMES
from constructive.beyond_relu import default_relu_network, emulate
from constructive.numbers import as_fmpq


def main() -> None:
    eps = as_fmpq(sys.argv[1]) if len(sys.argv) > 1 else fmpq(1, 10 ** 6)
    version = sys.argv[2] if len(sys.argv) > 2 else "final"
    layers = default_relu_network()
    total = time.perf_counter()
    print(f"eps = {eps}, version = {version}, ReLU net width 8 depth 3 on [-2,2]^2")
    print(f"{'activation':12s} {'gadget':6s} {'width':>5s} {'depth':>5s} {'certified':>12s} "
          f"{'ratio':>8s} {'build s':>8s} {'cert s':>8s} verdict")
    for name in NAMES:
        t0 = time.perf_counter()
        em = emulate(layers, name, eps, 2, version, check=True)  # parameters refined until certified
        t1 = time.perf_counter()
        c = certify_emulation(em.net, layers, em.box)
        t2 = time.perf_counter()
        ok = c.ok and c.error_upper <= eps
        print(f"{name:12s} {em.plan.kind:6s} {em.net.width:5d} {em.net.depth:5d} "
              f"{float(c.error_upper):12.4e} {float(c.error_upper / eps):8.4f} {t1 - t0:8.2f} "
              f"{t2 - t1:8.2f} {'HOLDS' if ok else 'INCONCLUSIVE'}")
    print(f"total {time.perf_counter() - total:.1f} s")


if __name__ == "__main__":
    main()
