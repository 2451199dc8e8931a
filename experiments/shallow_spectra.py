"""Spectra of ReLU Gram matrices (Zhang, Zhao, Zhong, Zhou, arXiv 2306.17301, Figs. 1 and 8):
log–log plots with fitted slopes, −4 in 1-D (Lemma 1), −(d + 3)/d = −2.5 in 2-D (Theorem 13) and
−(2m + 2) for ReLU^m/m! in 1-D (Remark 14).

    python experiments/shallow_spectra.py [--out shallow_spectra.png] [--certified]

1-D: the exact Gram matrix of eq. (4) on the quasi-even grid b_i = −1 + 2(i − 1)/n, n = 100 and
1000 (float64 eigenvalues; ``--certified`` overlays the n = 100 enclosures from exact inertia
counts, proofs/shallow_networks/spectrum.py).  2-D: features σ(w·x − b) with w on an equispaced
grid of S¹ and b on an equispaced grid of [−1, 1], Gram entries by a midpoint rule on the unit
disk (polar grid); the paper used 25600 features, the default here is 48 × 48 = 2304.  The fit
ranges avoid the first modes and the quadrature/round-off tail.  Exploration: floats only.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def gram_1d(n: int) -> np.ndarray:
    b = -1 + 2 * np.arange(n) / n
    X, Y = np.meshgrid(b, b, indexing="ij")
    d = np.abs(X - Y)
    return (2 - X - Y - d) ** 2 * (2 - X - Y + 2 * d) / 24


def gram_1d_power(n: int, m: int) -> np.ndarray:
    """ReLU^m/m! on the quasi-even grid: Σ_k C(m, k) s^(m−k) L^(m+k+1)/((m + k + 1) m!²) with
    s = |x − y|, L = 1 − max(x, y) (the closed form certified in proofs/shallow_networks/gram.py)."""
    from math import comb, factorial
    b = -1 + 2 * np.arange(n) / n
    X, Y = np.meshgrid(b, b, indexing="ij")
    s, L = np.abs(X - Y), 1 - np.maximum(X, Y)
    return sum(comb(m, k) * s ** (m - k) * L ** (m + k + 1) / (m + k + 1)
               for k in range(m + 1)) / factorial(m) ** 2


def gram_2d(angles: int, offsets: int, radial: int = 160, angular: int = 320) -> np.ndarray:
    theta = 2 * np.pi * np.arange(angles) / angles
    w = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    b = -1 + 2 * (np.arange(offsets) + 0.5) / offsets
    r = (np.arange(radial) + 0.5) / radial
    phi = 2 * np.pi * (np.arange(angular) + 0.5) / angular
    R, P = np.meshgrid(r, phi, indexing="ij")
    pts = np.stack([(R * np.cos(P)).ravel(), (R * np.sin(P)).ravel()], axis=1)
    weight = (R.ravel() / radial) * (2 * np.pi / angular)
    proj = pts @ w.T  # (points, angles)
    feats = np.maximum(proj[:, :, None] - b[None, None, :], 0.0).reshape(len(pts), -1)
    return feats.T @ (feats * weight[:, None])


def slope(eig: np.ndarray, lo: int, hi: int) -> float:
    k = np.arange(lo, hi + 1)
    return float(np.polyfit(np.log(k), np.log(eig[lo - 1:hi]), 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="shallow_spectra.png")
    ap.add_argument("--angles", type=int, default=48)
    ap.add_argument("--offsets", type=int, default=48)
    ap.add_argument("--certified", action="store_true")
    args = ap.parse_args()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    ax = axes[0]
    for n, fit in ((100, (10, 60)), (1000, (10, 300))):
        eig = np.sort(np.linalg.eigvalsh(gram_1d(n)))[::-1]
        s = slope(eig, *fit)
        k = np.arange(1, n + 1)
        ax.loglog(k, eig, ".", ms=3, label=f"n = {n}: slope {s:.3f} on k ∈ [{fit[0]}, {fit[1]}]")
        print(f"1-D n = {n}: fitted slope {s:.4f} over k in [{fit[0]}, {fit[1]}] (paper: -4)")
    if args.certified:
        from flint import fmpq

        from proofs.shallow_networks.spectrum import enclose
        enc = enclose([fmpq(-1) + fmpq(2 * i, 100) for i in range(100)], tight=set(range(1, 101)))
        mid = [float((lo + hi) / 2) for lo, hi in zip(enc.lower, enc.upper)]
        ax.loglog(np.arange(1, 101), mid, "k+", ms=4, label="n = 100 certified enclosures")
    k = np.arange(1, 1001)
    ax.loglog(k, 500 * (np.pi / 2) ** -4 * (k - 0.5) ** -4.0, "k--", lw=0.8, label="(n/2)((2k−1)π/4)^−4, n = 1000")
    ax.set(xlabel="k", ylabel="λ_k", title="1-D ReLU Gram spectrum (eq. (4))")
    ax.legend(fontsize=7)
    ax = axes[2]
    for m, fit in ((1, (10, 60)), (2, (5, 25)), (3, (4, 12))):
        eig = np.sort(np.linalg.eigvalsh(gram_1d_power(200, m)))[::-1]
        sm = slope(eig, *fit)
        ax.loglog(np.arange(1, 201), np.maximum(eig, 1e-30), ".", ms=3,
                  label=f"m = {m}: slope {sm:.2f} on k ∈ [{fit[0]}, {fit[1]}] (Remark 14: {-(2 * m + 2)})")
        print(f"1-D ReLU^{m}/{m}!, n = 200: fitted slope {sm:.3f} over k in [{fit[0]}, {fit[1]}] "
              f"(Remark 14: -{2 * m + 2})")
    ax.set(xlabel="k", ylabel="λ_k", title="1-D ReLU^m/m! (n = 200, float64)", ylim=(1e-20, None))
    ax.legend(fontsize=7)
    ax = axes[1]
    G2 = gram_2d(args.angles, args.offsets)
    eig2 = np.sort(np.linalg.eigvalsh(G2))[::-1]
    s2 = slope(eig2, 20, 400)
    print(f"2-D {args.angles}x{args.offsets} features: fitted slope {s2:.4f} over k in [20, 400] "
          "(paper: -2.5)")
    k2 = np.arange(1, len(eig2) + 1)
    pos = eig2 > 0
    ax.loglog(k2[pos], eig2[pos], ".", ms=3, label=f"slope {s2:.3f} on k ∈ [20, 400]")
    ax.loglog(k2, eig2[19] * (k2 / 20.0) ** -2.5, "k--", lw=0.8, label="slope −2.5")
    ax.set(xlabel="k", ylabel="λ_k", title=f"2-D (S¹ × [−1, 1], {len(eig2)} features)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=130)
    print(f"plot written to {args.out}")


if __name__ == "__main__":
    main()
