"""Theorem 1 of Shen, Yang, Zhang (JMLR 2022, p. 4) for targets *given* in Kolmogorov–Arnold form.

f(x) = Σ_{i=0}^{2d} g_i( Σ_{j=1}^d h_{i,j}(x_j) ) on [0, 1]^d, with explicit continuous g_i, h_{i,j}
(each a 1-D target on [0, 1] with a certified modulus).  The KST inner functions of the theorem
exist but are not constructive (Sprecher/Köppen/Braun–Griebel versions are fractal), so the project
takes the KST data as input: this is variant (ii) of the note (fixed-neurons-euaf.md §5).

Stated range (the paper's normalisation, txt p. 30–31): every inner sum Σ_j h_{i,j}(x_j) lies in
[1/4, 3/4]; then with δ ≤ 1/4 the approximations ψ_i = Σ_j ψ_{i,j} stay in [0, 1], where σ is the
identity, and one σ layer passes them on.  A KST form whose inner sums are not provably inside
[1/4, 3/4] is refused (UserError).

Network (depth 5 + 1 + 5 = 11, width 36d(2d+1)):
  x ↦ (x_j for each (i, j)) → ∥_{i,j} ψ_{i,j} (Thm 6 on [0,1], error δ/d) → Σ_j per i → σ
    → ∥_i φ_i (Thm 6 on [0,1], error ε/(4d+2)) → Σ_i.
The builder picks δ from the moduli of the g_i; the certifier (``certify.analysis.sigma_cells``)
measures everything again and trusts none of these choices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

import sympy as sp
from flint import fmpq

from constructive.errors import UserError
from constructive.gadgets import euaf as eg
from constructive.gadgets.sigma_fit import build_thm6, check_eps, choose_K
from constructive.ir import Network, affine, network, parallel
from constructive.targets import arb_to_fmpq_bounds, symbols_for, user_target

QUARTER, THREE_QUARTERS = fmpq(1, 4), fmpq(3, 4)

# named KST instances: (g_0..g_2d, [[h_{i,1}..h_{i,d}] for i]); 1-D functions are written in t
INSTANCES: dict[str, tuple[int, list[str], list[list[str]]]] = {
    "d1-default": (1, ["sin(2*t)/2", "t**2/2", "cos(t)/2"],
                   [["1/4 + t/2"], ["1/4 + t**2/2"], ["1/2 + sin(3*t)/8"]]),
    "d2-default": (2, ["sin(2*t)/2", "t**2/2", "cos(3*t)/3", "t/2", "exp(-t)/2"],
                   [["1/8 + t/4", "1/8 + t**2/4"], ["1/4 + sin(2*t)/10", "1/8 + t/4"],
                    ["1/8 + t/4", "1/4 - t/8"], ["1/4 + t/8", "1/8 + t**2/4"],
                    ["1/4 + sin(2*t)/8", "1/4 - t**2/8"]]),
    # inner sums reach 1 + 1/2: outside [1/4, 3/4] (a bad-input instance, refused)
    "d2-out-of-range": (2, ["t/2"] * 5, [["1/2 + t/2", "1/4 + t/4"]] * 5),
}


def _t_to_x1(text: str) -> str:
    return re.sub(r"\bt\b", "x1", text)


@dataclass(frozen=True)
class KST:
    d: int
    g_text: tuple
    h_text: tuple  # tuple of tuples
    g: tuple  # 1-D Targets on [0, 1]
    h: tuple  # tuple of tuples of 1-D Targets
    inner_bounds: tuple  # per i: (lower bound of min, upper bound of max) of Σ_j h_ij, exact

    @property
    def expr(self) -> sp.Expr:
        """The composed f as a sympy expression in x1..xd."""

        xs = symbols_for(self.d)
        x1 = symbols_for(1)[0]
        total = sp.Integer(0)
        for gi, hi in zip(self.g, self.h):
            inner = sum((hij.expr.subs(x1, xs[j]) for j, hij in enumerate(hi)), sp.Integer(0))
            total += gi.expr.subs(x1, inner)
        return total

    def describe(self) -> dict:
        return {"d": self.d, "g": list(self.g_text),
                "h": [list(r) for r in self.h_text],
                "g_modulus": [f"{t.lam} r^{t.alpha} ({t.certified})" for t in self.g],
                "h_modulus": [[f"{t.lam} r^{t.alpha}" for t in r] for r in self.h],
                "inner_sum_bounds": [[str(a), str(b)] for a, b in self.inner_bounds]}


def range_bounds(t: Any, pieces: int) -> tuple[fmpq, fmpq]:
    """Rigorous lower bound of min and upper bound of max of a 1-D target over [0, 1]."""
    lo: Optional[fmpq] = None
    hi: Optional[fmpq] = None
    for k in range(pieces):
        a, b = t.enclose([(fmpq(k, pieces), fmpq(k + 1, pieces))])
        lo = a if lo is None else min(lo, a)
        hi = b if hi is None else max(hi, b)
    assert lo is not None and hi is not None
    return lo, hi


def make_kst(g: list[str], h: list[list[str]], d: Optional[int] = None) -> KST:
    """KST data from formulas in ``t`` (one variable); checks shapes and the stated range."""

    d = len(h[0]) if d is None and h else d
    if not isinstance(d, int) or d < 1:
        raise UserError(f"KST form: dimension {d!r} is not an integer >= 1")
    if len(g) != 2 * d + 1 or len(h) != 2 * d + 1 or any(len(r) != d for r in h):
        raise UserError(f"KST form for d={d} needs 2d+1={2 * d + 1} outer functions g_i and "
                        f"(2d+1) x d inner functions h_ij; got {len(g)} and "
                        f"{[len(r) for r in h]}")
    gt = tuple(user_target(_t_to_x1(s), 1) for s in g)
    ht = tuple(tuple(user_target(_t_to_x1(s), 1) for s in row) for row in h)
    bounds = []
    for i, row in enumerate(ht):
        ok = False
        for pieces in (1, 8, 64, 512):
            rb = [range_bounds(t, pieces) for t in row]
            lo, hi = sum((a for a, _ in rb), fmpq(0)), sum((b for _, b in rb), fmpq(0))
            if lo >= QUARTER and hi <= THREE_QUARTERS:
                ok = True
                break
        if not ok:
            # a witness: the sum at a grid corner outside the range, or "not provable"
            worst = None
            for k in range(65):
                x = fmpq(k, 64)
                s = sum((arb_to_fmpq_bounds(t.ball([x]))[0] for t in row), fmpq(0))
                S = sum((arb_to_fmpq_bounds(t.ball([x]))[1] for t in row), fmpq(0))
                if S < QUARTER or s > THREE_QUARTERS:
                    worst = (x, s, S)
                    break
            where = (f"at x_j = {worst[0]} for all j the sum lies in [{float(worst[1]):.4g}, "
                     f"{float(worst[2]):.4g}]") if worst else \
                f"it is only enclosed in [{float(lo):.4g}, {float(hi):.4g}]"
            raise UserError(f"KST form: the inner sum of i={i} leaves the stated range "
                            f"[1/4, 3/4] ({where}); rescale the h_ij")
        bounds.append((lo, hi))
    return KST(d, tuple(g), tuple(tuple(r) for r in h), gt, ht, tuple(bounds))


_CACHE: dict[str, KST] = {}


def kst_instance(name: str) -> KST:
    if name not in INSTANCES:
        raise UserError(f"unknown KST instance {name!r}; known: {', '.join(INSTANCES)}")
    if name not in _CACHE:
        d, g, h = INSTANCES[name]
        _CACHE[name] = make_kst(g, h, d)
    return _CACHE[name]


def kst_from_params(params: dict) -> KST:
    kst = kst_instance(str(params.get("kst", "d2-default")))
    d = int(params.get("d", kst.d))
    if d != kst.d:
        raise UserError(f"KST instance {params.get('kst')!r} has d={kst.d}, but d={d} was given")
    return kst


def budget(kst: KST, eps: fmpq) -> tuple[fmpq, fmpq]:
    """(ε/(4d+2), δ) with δ ≤ 1/4 and ω_{g_i}(δ) ≤ (9/10)·ε/(4d+2) for all i (builder's choice)."""
    from flint import arb

    e_out = eps / (4 * kst.d + 2)
    delta = QUARTER
    for gi in kst.g:
        if gi.lam == 0:
            continue
        want = e_out * fmpq(9, 10) / gi.lam  # δ^α ≤ want
        if gi.alpha == 1:
            cand = want
        else:
            v = (arb(want).log() / arb(gi.alpha)).exp()
            cand = arb_to_fmpq_bounds(v)[0] * fmpq(99, 100)
        delta = min(delta, cand)
    return e_out, delta


def _sub(eps: fmpq, t: Any, seed: int) -> Network:
    return build_thm6({"eps": eps, "a": 0, "b": 1, "K": 0, "seed": seed}, t)


def _budgets(kst: KST, eps: fmpq, e_outs: Optional[list], e_in: Optional[fmpq]
             ) -> tuple[list, fmpq]:
    e_out, delta = budget(kst, eps)
    e_in = delta / kst.d * fmpq(9, 10) if e_in is None else e_in
    return ([e_out] * (2 * kst.d + 1) if e_outs is None else e_outs), e_in


# the lattice fit of one sub-network grows steeply with its points K: K = 48 takes about a second,
# K = 94 (d2-default at eps = 1/16) more than ten minutes
MAX_FIT_POINTS = 64


def refuse_large_fits(kst: KST, eps: fmpq, e_outs: Optional[list] = None,
                      e_in: Optional[fmpq] = None, what: str = "") -> None:
    """Work over the budget is refused before it starts: every sub-network's K (Theorem 15's
    points, fitted by LLL) must be at most MAX_FIT_POINTS."""
    e_outs, e_in = _budgets(kst, eps, e_outs, e_in)
    scale = fmpq(10, 9)  # Theorem 6 on [0, 1] reads its target through x ↦ 10x/9
    K = max([choose_K(t, e_in, scale) for row in kst.h for t in row] +
            [choose_K(t, e, scale) for t, e in zip(kst.g, e_outs)])
    if K > MAX_FIT_POINTS:
        raise UserError(f"{what or f'eps={eps}'}: a sub-network would fit K={K} points, over the "
                        f"budget of {MAX_FIT_POINTS} (the lattice fit takes minutes to hours "
                        "there)" + ("" if what else "; use a larger eps"))


def assemble(kst: KST, eps: fmpq, e_outs: Optional[list] = None,
             e_in: Optional[fmpq] = None) -> Network:
    """Theorem 1's network; ``e_outs``/``e_in`` override the paper's ε/(4d+2) and δ/d split."""
    d = kst.d
    n = 2 * d + 1
    e_outs, e_in = _budgets(kst, eps, e_outs, e_in)
    psis = [_sub(e_in, kst.h[i][j], 0) for i in range(n) for j in range(d)]
    phis = [_sub(e_outs[i], kst.g[i], 0) for i in range(n)]
    select = [[1 if c == j else 0 for c in range(d)] for i in range(n) for j in range(d)]
    sums = [[1 if r // d == i else 0 for r in range(n * d)] for i in range(n)]
    return network(affine(select, [0] * (n * d)), parallel(*psis), affine(sums, [0] * n),
                   eg.sig(n), parallel(*phis), affine([[1] * n], [0]))


def build_thm1(params: dict, target: Any) -> Network:
    """Theorem 1 for the KST instance ``params['kst']`` (the target must be its composition)."""
    eps = check_eps(params["eps"])
    kst = kst_from_params(params)
    return assemble(kst, eps)
