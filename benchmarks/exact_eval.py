"""Exact evaluation of the bit-extraction network (J = 256, 1000 points): the project's Exact
context vs a plain ``fractions.Fraction`` loop vs ``mpmath.matrix`` at 600 bits, measured in one
run; then the wall time of ``certify run syz-intrinsic-lp -p d=1 -p n=10 -p p=2``.

    python benchmarks/exact_eval.py [--skip-run]
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from fractions import Fraction

import mpmath

from constructive.architecture import layers
from constructive.evaluate import evaluate
from constructive.gadgets.bits import bit_extractor, pack_bits
from constructive.numbers import Exact

J, POINTS = 256, 1000


def plain_layers(net):
    """The layered view as lists of Fractions (weights, biases) and ReLU flags."""
    out = []
    ls = layers(net)
    for k, layer in enumerate(ls):
        W = [[Fraction(0)] * layer.cols for _ in range(layer.rows)]
        b = [Fraction(0)] * layer.rows
        for pos, v, _ in layer.positions():
            val = Fraction(int(v.p), int(v.q))
            if pos[0] == "W":
                W[pos[1]][pos[2]] = val
            else:
                b[pos[1]] = val
        out.append((W, b, k < len(ls) - 1))
    return out


def fraction_loop(plain, xs):
    res = []
    for x in xs:
        v = [x]
        for W, b, relu in plain:
            v = [sum((w * a for w, a in zip(row, v)), Fraction(0)) + c for row, c in zip(W, b)]
            if relu:
                v = [a if a > 0 else Fraction(0) for a in v]
        res.append(v[0])
    return res


def mpmath_loop(plain, xs):
    mpmath.mp.prec = 600
    mats = [(mpmath.matrix([[mpmath.mpf(w.numerator) / w.denominator for w in row] for row in W]),
             mpmath.matrix([mpmath.mpf(c.numerator) / c.denominator for c in b]), relu) for W, b, relu in plain]
    res = []
    for x in xs:
        v = mpmath.matrix([mpmath.mpf(x.numerator) / x.denominator])
        for W, b, relu in mats:
            v = W * v + b
            if relu:
                v = mpmath.matrix([max(a, 0) for a in v])
        res.append(v[0])
    return res


def main() -> None:
    rng = random.Random(0)
    theta = [rng.randint(0, 1) for _ in range(J)]
    a = pack_bits(theta)
    xs = [4 ** (1 + i % J) * a for i in range(POINTS)]
    net = bit_extractor(J)
    t = time.perf_counter()
    exact = evaluate(net, [xs], Exact())[0]
    t_exact = time.perf_counter() - t
    assert [int(v) for v in exact[:J]] == theta
    plain = plain_layers(net)
    fx = [Fraction(int(x.p), int(x.q)) for x in xs]
    sub = 100  # the baselines are timed on a subsample and scaled
    t = time.perf_counter()
    fraction_loop(plain, fx[:sub])
    t_frac = (time.perf_counter() - t) * POINTS / sub
    t = time.perf_counter()
    mpmath_loop(plain, fx[:sub // 4])
    t_mp = (time.perf_counter() - t) * POINTS / (sub // 4)
    print(f"bit extraction J={J}, {POINTS} points")
    print(f"  Exact context      {t_exact:8.3f} s")
    print(f"  Fraction loop      {t_frac:8.3f} s   ratio {t_frac / t_exact:6.1f}x")
    print(f"  mpmath.matrix 600b {t_mp:8.3f} s   ratio {t_mp / t_exact:6.1f}x")
    if "--skip-run" not in sys.argv:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "certify.cli", "run", "syz-intrinsic-lp", "-p", "d=1",
                        "-p", "n=10", "-p", "p=2"], check=True, stdout=subprocess.DEVNULL)
        print(f"certify run syz-intrinsic-lp d=1 n=10 p=2: {time.perf_counter() - t:.1f} s wall")


if __name__ == "__main__":
    main()
