"""Readings of the setup behind Table 1 of Zhang–Zhao–Zhong–Zhou (arXiv 2306.17301, p. 17) that the
paper leaves unstated: how the Gram matrix and the right-hand side are formed, which samples, which
pseudo-inverse routine, which extra columns.  Helper of ``shallow_least_squares.py`` (its docstring
has the survey result).  Floats only, nothing certified.

A reading is four strings:
  * gram:    ``sampled`` (G = AᵀWA, r = AᵀWy from the samples, in the working precision) or
             ``exact`` (the closed form (4), p. 8, for ReLUs, the tridiagonal mass matrix for hats,
             r_j = ∫ f φ_j from the antiderivatives of arctan(25x)·(affine); evaluated in float64
             from biases rounded to the working precision, then rounded to it) or ``exact-wp``
             (the same closed forms evaluated in the working precision);
  * samples: ``midpoint:K`` (K midpoint points per node interval, weights = the interval share),
             ``grid:M`` (M equispaced points on [−1, 1], equal weights), ``random:M:SEED``
             (M uniform random points, equal weights); ``sampled`` and the ``A-*`` solvers use them;
  * solver:  on G — ``eigh:C`` (eigenvalues > C ε λ₁ kept; C a number or ``n``), ``svd:C``
             (numpy.linalg.pinv, |λ| compared), ``np-pinv`` (numpy's default rcond 1e-15),
             ``torch-pinv`` / ``torch-pinvh`` (torch.linalg.pinv, default rtol max(m, n) ε,
             hermitian False / True), ``solve`` (LU, no cut), ``torch-lstsq:DRIVER`` (gelsy, gelsd,
             gelss with their default rcond); on the √W-weighted sample matrix A — ``A-lstsq``
             (numpy), ``A-torch-lstsq:DRIVER``, ``A-pinv`` (numpy, default rcond),
             ``A-torch-pinv`` (default rtol);
  * columns: ReLU basis σ(x − b_j) plus ``const`` (1, the default), ``none`` or ``const+linear``.
"""

from __future__ import annotations

import numpy as np

SLOPE = 25.0  # f(x) = arctan(25x)


def target(x: np.ndarray) -> np.ndarray:
    return np.arctan(SLOPE * x)


def _moment0(x: np.ndarray) -> np.ndarray:
    """An antiderivative of arctan(a x)."""
    return x * np.arctan(SLOPE * x) - np.log1p((SLOPE * x) ** 2) / (2 * SLOPE)


def _moment1(x: np.ndarray) -> np.ndarray:
    """An antiderivative of x arctan(a x)."""
    return (x * x / 2) * np.arctan(SLOPE * x) - x / (2 * SLOPE) + np.arctan(SLOPE * x) / (2 * SLOPE ** 2)


def _integrals(lo, hi):
    """(∫ f, ∫ x f) over [lo, hi] in float64."""
    return _moment0(hi) - _moment0(lo), _moment1(hi) - _moment1(lo)


def parse_samples(spec: str, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    kind, *rest = spec.split(":")
    if kind == "midpoint":
        k = int(rest[0]) if rest else 10
        lo, hi = b[:-1], b[1:]
        t = (np.arange(k) + 0.5) / k
        x = (lo[:, None] + (hi - lo)[:, None] * t[None, :]).ravel()
        return x, np.repeat((hi - lo) / k, k)
    m = int(rest[0])
    if not 10 <= m <= 2_000_000:
        raise ValueError(f"samples {spec!r}: the count must lie in 10..2000000")
    if kind == "grid":
        x = np.linspace(-1.0, 1.0, m)
    elif kind == "random":
        x = np.sort(np.random.default_rng(int(rest[1]) if len(rest) > 1 else 0).uniform(-1.0, 1.0, m))
    else:
        raise ValueError(f"samples {spec!r}: allowed midpoint:K, grid:M, random:M:SEED")
    return x, np.full(m, 2.0 / m)


def relu_columns(x: np.ndarray, b: np.ndarray, columns: str = "const") -> np.ndarray:
    extra = {"none": [], "offset-free": [], "const": [np.ones_like(x)],
             "const+linear": [np.ones_like(x), x]}[columns]
    relus = np.maximum(x[:, None] - b[None, :], x.dtype.type(0))
    return np.column_stack(extra + [relus]) if extra else relus


def hat_columns(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros((len(x), len(b)))
    j = np.clip(np.searchsorted(b, x, side="right") - 1, 0, len(b) - 2)
    t = (x - b[j]) / (b[j + 1] - b[j])
    rows = np.arange(len(x))
    out[rows, j] = 1 - t
    out[rows, j + 1] = t
    return out


def relu_gram_exact(b: np.ndarray, columns: str, xp=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Formula (4), p. 8, on D = [−1, 1] (plus the constant / linear columns), and r_j = ∫ f φ_j,
    with the arithmetic of the Gram formula done in ``xp``."""
    bb = b.astype(xp)
    s, d = xp(2) - bb[:, None] - bb[None, :], np.abs(bb[:, None] - bb[None, :])
    G = (s - d) ** 2 * (s + 2 * d) / xp(24)
    i0, i1 = _integrals(b.astype(np.float64), np.ones(len(b)))
    r = list(i1 - b.astype(np.float64) * i0)
    if columns == "offset-free":  # r_j for f − f(−1)
        r = list(np.array(r) - float(target(np.array(-1.0))) * (1 - b.astype(np.float64)) ** 2 / 2)
    one = xp(1)
    rows = []  # (∫ e·e', ∫ e·σ(x − b_j), ∫ f e) for the extra columns e
    if columns in ("const", "const+linear"):
        rows.append(("1", (one - bb) ** 2 / 2, _integrals(-1.0, 1.0)[0]))
    if columns == "const+linear":
        rows.append(("x", one / 3 - bb / 2 + bb ** 3 / 6, _integrals(-1.0, 1.0)[1]))
    k = len(rows)
    full = np.zeros((k + len(b), k + len(b)), dtype=xp)
    full[k:, k:] = G
    inner = {("1", "1"): 2.0, ("x", "x"): 2.0 / 3, ("1", "x"): 0.0, ("x", "1"): 0.0}
    for i, (ni, ci, _) in enumerate(rows):
        full[i, k:] = full[k:, i] = ci
        for j, (nj, _, _) in enumerate(rows):
            full[i, j] = inner[(ni, nj)]
    return full, np.array([row[2] for row in rows] + r)


def hat_gram_exact(b: np.ndarray, xp=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The P1 mass matrix and r_j = ∫ f φ_j (exact moments in float64)."""
    h = np.diff(b.astype(xp))
    n = len(b)
    G = np.zeros((n, n), dtype=xp)
    idx = np.arange(n - 1)
    G[idx, idx] += h / 3
    G[idx + 1, idx + 1] += h / 3
    G[idx, idx + 1] = G[idx + 1, idx] = h / 6
    b64 = b.astype(np.float64)
    i0, i1 = _integrals(b64[:-1], b64[1:])
    hh = np.diff(b64)
    r = np.zeros(n)
    r[:-1] += (b64[1:] * i0 - i1) / hh   # φ_j on [b_j, b_{j+1}]: (b_{j+1} − x)/h
    r[1:] += (i1 - b64[:-1] * i0) / hh   # φ_{j+1} on [b_j, b_{j+1}]: (x − b_j)/h
    return G, r


def _torch():
    import torch
    return torch


def solve_gram(G: np.ndarray, r: np.ndarray, solver: str) -> np.ndarray:
    """Solve G a = r in G's precision by the named routine (module docstring)."""
    dt = G.dtype.type
    eps = np.finfo(dt).eps
    name, _, arg = solver.partition(":")
    if name in ("eigh", "svd"):
        scale = G.shape[0] if arg == "n" else float(arg or 1)
        if name == "svd":
            return np.linalg.pinv(G, rcond=scale * eps) @ r
        lam, Q = np.linalg.eigh(G)
        keep = lam > scale * eps * lam[-1]
        return Q[:, keep] @ ((Q[:, keep].T @ r) / lam[keep])
    if name == "np-pinv":
        return np.linalg.pinv(G) @ r
    if name == "solve":
        return np.linalg.solve(G, r)
    torch = _torch()
    Gt, rt = torch.from_numpy(np.ascontiguousarray(G)), torch.from_numpy(np.ascontiguousarray(r))
    if name in ("torch-pinv", "torch-pinvh"):
        return (torch.linalg.pinv(Gt, hermitian=name == "torch-pinvh") @ rt).numpy()
    if name == "torch-lstsq":
        return torch.linalg.lstsq(Gt, rt[:, None], driver=arg or "gelsy").solution[:, 0].numpy()
    raise ValueError(f"solver {solver!r} unknown")


def solve_samples(A: np.ndarray, y: np.ndarray, solver: str) -> np.ndarray:
    """Least squares on the (weighted) sample matrix, no Gram matrix."""
    name, _, arg = solver.partition(":")
    if name == "A-lstsq":
        return np.linalg.lstsq(A, y, rcond=None)[0]
    if name == "A-pinv":
        return np.linalg.pinv(A) @ y
    torch = _torch()
    At, yt = torch.from_numpy(np.ascontiguousarray(A)), torch.from_numpy(np.ascontiguousarray(y))
    if name == "A-torch-lstsq":
        return torch.linalg.lstsq(At, yt[:, None], driver=arg or "gelsy").solution[:, 0].numpy()
    if name == "A-torch-pinv":
        return (torch.linalg.pinv(At) @ yt).numpy()
    raise ValueError(f"solver {solver!r} unknown")


CHUNK = 1 << 16  # samples per block of the blocked normal-equation accumulation


def sampled_normal_equations(method: str, b: np.ndarray, samples: str, columns: str, shift: float, dt,
                             block: int = CHUNK):
    """G = AᵀWA and r = AᵀW(f − shift) over the samples in the working precision ``dt``: one BLAS
    product per block of ``block`` samples (0: a single product over all samples), the blocks summed
    in ``dt``.  A and y are formed in ``dt`` (the samples rounded to it).  Equal weights (grid,
    random samples) are applied after the product, as in (2/M)·AᵀA."""
    x, w = parse_samples(samples, b)
    equal = bool(np.all(w == w[0]))
    step = len(x) if block == 0 else block
    G = r = None
    for lo in range(0, len(x), step):
        xs, ws = x[lo:lo + step].astype(dt), w[lo:lo + step].astype(dt)
        if method == "NN":
            A = relu_columns(xs, b.astype(dt), columns)
        else:
            A = hat_columns(xs.astype(np.float64), b).astype(dt)
        y = (target(xs.astype(np.float64)) - shift).astype(dt)
        if equal:
            dG, dr = A.T @ A, A.T @ y
        else:
            Aw = A * ws[:, None]
            dG, dr = A.T @ Aw, Aw.T @ y
        del A
        G, r = (dG, dr) if G is None else (G + dG, r + dr)
    return (G * dt(w[0]), r * dt(w[0])) if equal else (G, r)


def fit(method: str, b: np.ndarray, dtype: str, gram: str = "sampled", samples: str = "midpoint:10",
        solver: str = "eigh:1", columns: str = "const", rhs_noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Coefficients (float64) of the least-squares fit of arctan(25x) in the working precision.
    ``rhs_noise`` δ > 0 multiplies every r_j by 1 + δ·ε·N(0, 1) (seeded; ε of the working
    precision): a model of the rounding that an accumulation over many samples leaves in r, not a
    reading of the paper."""
    dt = np.float32 if dtype == "float32" else np.float64
    bw = b.astype(dt).astype(np.float64)  # biases stored in the working precision
    if method == "NN" and columns == "offset":
        # c = f(−1) fixed (p. 5: h = c + vx + Σ a_i σ(x − b_i), c = f(−1) inside D), no constant column
        c0 = float(target(np.array(-1.0)))
        a = fit(method, b, dtype, gram, samples, solver, "offset-free", rhs_noise, seed)
        return np.concatenate([[c0], a])
    shift = float(target(np.array(-1.0))) if columns == "offset-free" else 0.0
    if solver.startswith("A-"):
        x, w = parse_samples(samples, b)
        A = relu_columns(x, bw, columns) if method == "NN" else hat_columns(x, bw)
        sw = np.sqrt(w)
        return solve_samples((A * sw[:, None]).astype(dt), ((target(x) - shift) * sw).astype(dt),
                             solver).astype(np.float64)
    if gram in ("sampled", "sampled-oneshot"):
        G, r = sampled_normal_equations(method, bw, samples, columns, shift, dt,
                                        0 if gram == "sampled-oneshot" else CHUNK)
    else:
        xp = dt if gram == "exact-wp" else np.float64
        G, r = relu_gram_exact(bw, columns, xp) if method == "NN" else hat_gram_exact(bw, xp)
        G, r = G.astype(dt), r.astype(dt)
    if rhs_noise:
        kick = rhs_noise * np.finfo(dt).eps * np.random.default_rng(seed).standard_normal(len(r))
        r = (r.astype(np.float64) * (1 + kick)).astype(dt)
    return np.asarray(solve_gram(G, r, solver), dtype=np.float64)


def fit_errors(method: str, b: np.ndarray, coef: np.ndarray, columns: str = "const",
               points: np.ndarray | None = None) -> tuple[float, float]:
    """MAX and MSE of the fit against f, on 20001 equispaced points of [−1, 1] (or ``points``)."""
    xt = np.linspace(-1, 1, 20001) if points is None else points
    A = relu_columns(xt, b, columns) if method == "NN" else hat_columns(xt, b)
    err = A @ coef - target(xt)
    return float(np.max(np.abs(err))), float(np.mean(err ** 2))
