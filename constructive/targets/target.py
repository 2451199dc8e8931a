"""The :class:`Target`: a function f : [0,1]^d → R with a certified modulus and enclosures.

The expression is compiled once per number context: arb balls for every target, exact
rationals and exact rational intervals for rational-valued ones (see
:mod:`constructive.targets.compile`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import sympy as sp
from flint import arb, fmpq

from constructive.errors import UserError
from constructive.numbers import as_fmpq, precision
from constructive.targets.compile import compile_expr, is_rational_expr
from constructive.targets.contexts import EXACT, INTERVAL, ArbContext, Flags, Interval, Unsupported
from constructive.targets.parse import parse, symbols_for
from constructive.targets.rationals import arb_to_fmpq_bounds, sym_q


def _points(point: Sequence[Any], dim: int) -> list[fmpq]:
    try:
        pts = [as_fmpq(v) for v in point]
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise UserError(f"point {point!r} is not a sequence of exact rationals: {exc}") from None
    if len(pts) != dim:
        raise UserError(f"point {point!r} has {len(pts)} coordinates; the target needs {dim}")
    return pts


@dataclass(frozen=True)
class Target:
    """A function f : [0,1]^dim → R with a certified modulus bound ω̄(r) = lam · r^alpha."""

    name: str
    dim: int
    expr: sp.Expr
    lam: fmpq
    alpha: fmpq
    certified: str
    rational_valued: bool
    _arb: Callable[[Sequence[arb]], arb] = field(init=False, repr=False, compare=False, hash=False)
    _exact: Optional[Callable[[Sequence[fmpq]], fmpq]] = field(
        init=False, repr=False, compare=False, hash=False)
    _interval: Optional[Callable[[Sequence[Interval]], Interval]] = field(
        init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        syms = symbols_for(self.dim)
        for k in ("lam", "alpha"):
            v = getattr(self, k)
            if not isinstance(v, fmpq):
                object.__setattr__(self, k, as_fmpq(v))
        if not (0 < self.alpha <= 1):
            raise UserError(f"Hölder exponent alpha={self.alpha} is not allowed; use 0 < alpha <= 1")
        if self.lam < 0:
            raise UserError(f"modulus constant lambda={self.lam} is negative; use lambda >= 0")
        if not isinstance(self.expr, sp.Expr) or not self.expr.free_symbols <= set(syms):
            raise UserError(f"target expression {self.expr} must be a formula in x1..x{self.dim}")
        try:
            fn = compile_expr(self.expr, self.dim, ArbContext(strict=False, flags=Flags()))
        except Unsupported as exc:
            raise UserError(f"target expression {self.expr} cannot be evaluated in ball "
                            f"arithmetic: unsupported {exc}") from None
        object.__setattr__(self, "_arb", fn)
        ex = None
        if self.rational_valued:
            if not is_rational_expr(self.expr):
                raise UserError(f"target {self.name!r} is marked rational_valued but {self.expr} "
                                "is not a rational-arithmetic formula")
            ex = compile_expr(self.expr, self.dim, EXACT)
        object.__setattr__(self, "_exact", ex)
        object.__setattr__(self, "_interval",
                           compile_expr(self.expr, self.dim, INTERVAL) if ex is not None else None)

    # values ------------------------------------------------------------------------------------
    def exact(self, point: Sequence[fmpq]) -> fmpq:
        """The exact value f(point); ValueError unless the target is ``rational_valued``."""
        if self._exact is None:
            raise ValueError(f"target {self.name!r} is not rational-valued; use ball()")
        return self._exact(_points(point, self.dim))

    def ball(self, point: Sequence[Any], prec: int = 128) -> arb:
        """A rigorous arb enclosure of f at an exact rational point."""
        pts = _points(point, self.dim)
        with precision(prec):
            return self._arb([arb(p) for p in pts])

    def _box_balls(self, box: Sequence[tuple[fmpq, fmpq]]) -> list[arb]:
        out = []
        for a, b in box:
            m, r = (a + b) / 2, (b - a) / 2
            x = arb(m, r) if r != 0 else arb(m)
            out.append(x.nonnegative_part() if a >= 0 and r != 0 else x)
        return out

    def _check_box(self, box: Sequence[Sequence[Any]]) -> list[tuple[fmpq, fmpq]]:
        if len(box) != self.dim:
            raise UserError(f"box has {len(box)} intervals; the target needs {self.dim}")
        out = []
        for iv in box:
            try:
                a, b = (as_fmpq(v) for v in iv)
            except (TypeError, ValueError, ZeroDivisionError) as exc:
                raise UserError(f"box interval {iv!r} is not a pair of exact rationals: {exc}") from None
            if not (0 <= a <= b <= 1):
                raise UserError(f"box interval [{a}, {b}] is not allowed; need 0 <= lo <= hi <= 1")
            out.append((a, b))
        return out

    def enclose(self, box: Sequence[tuple[fmpq, fmpq]], prec: int = 128) -> tuple[fmpq, fmpq]:
        """Exact rationals lo ≤ f(x) ≤ hi for every x in the closed box (a sub-box of the cube).

        Intersection of (a) the expression evaluated on the box — exact rational interval
        arithmetic for rational-valued targets, arb balls otherwise — and (b) the modulus bound
        f(c) ± λ‖h‖₂^α around the centre c with half-widths h (only when the modulus is not an
        assumption).
        """
        bx = self._check_box(box)
        lo: Optional[fmpq] = None
        hi: Optional[fmpq] = None
        if self._interval is not None:
            try:
                lo, hi = self._interval(bx)
            except ZeroDivisionError:
                lo = hi = None
        with precision(prec):
            v = self._arb(self._box_balls(bx)) if lo is None else arb.nan()
            if v.is_finite():
                lo, hi = arb_to_fmpq_bounds(v, prec)
            if not self.certified.startswith("assumption"):
                centre = [(a + b) / 2 for a, b in bx]
                fc = self._arb([arb(c) for c in centre])
                if fc.is_finite():
                    s = sum(((b - a) / 2) ** 2 for a, b in bx)
                    w = self.omega_ball(arb(s).sqrt()) if s != 0 else arb(0)
                    flo, fhi = arb_to_fmpq_bounds(fc, prec)
                    _, wu = arb_to_fmpq_bounds(w, prec) if w.is_finite() else (None, None)
                    if wu is not None:
                        lo = flo - wu if lo is None else max(lo, flo - wu)
                        hi = fhi + wu if hi is None else min(hi, fhi + wu)
        if lo is None or hi is None:
            raise UserError(f"target {self.name!r} could not be enclosed on box {bx}: "
                            "it is not finite there")
        return lo, hi

    # modulus -----------------------------------------------------------------------------------
    def omega(self, r: Any) -> sp.Expr:
        """ω̄(r) = λ r^α as an exact sympy expression; r a rational, a sympy expression, or a
        symbol name (made a nonnegative symbol)."""
        rr: sp.Expr
        if isinstance(r, str) and r.strip().isidentifier():
            rr = sp.Symbol(r.strip(), nonnegative=True)
        elif isinstance(r, (fmpq, str, int)) or hasattr(r, "denominator"):
            try:
                rr = sym_q(as_fmpq(r))
            except (TypeError, ValueError, ZeroDivisionError):
                raise UserError(f"radius {r!r} is not a rational number or a symbol name") from None
        elif isinstance(r, sp.Expr):
            rr = r
        else:
            raise UserError(f"radius {r!r} is not a rational number or a sympy expression")
        if self.lam == 0:
            return sp.Integer(0)
        return sym_q(self.lam) * rr ** sym_q(self.alpha)

    def omega_ball(self, r: arb) -> arb:
        """ω̄(r) on a ball r ≥ 0 (its negative part is ignored): monotone, so endpoint-exact."""
        if self.lam == 0:
            return arb(0)
        r = arb(r)
        if not r.is_finite():
            return arb.nan()
        lam = arb(self.lam)
        if self.alpha == 1:
            return lam * r.nonnegative_part()

        def pw(t: arb) -> arb:
            if t <= 0:
                return arb(0)
            return (arb(self.alpha) * t.log()).exp()

        return lam * pw(r.lower()).union(pw(r.upper())).nonnegative_part()

    # serialisation -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data for certificates; exact rationals as strings."""
        return {
            "name": self.name,
            "dim": self.dim,
            "expr": str(self.expr),
            "lam": str(self.lam),
            "alpha": str(self.alpha),
            "certified": self.certified,
            "rational_valued": self.rational_valued,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Target":
        """Inverse of :meth:`to_dict` (the expression goes through the safe parser)."""
        keys = {"name", "dim", "expr", "lam", "alpha", "certified", "rational_valued"}
        if not isinstance(d, dict) or set(d) != keys:
            got = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise UserError(f"target record has fields {got}; expected {sorted(keys)}")
        dim = d["dim"]
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise UserError(f"target record: dim {dim!r} is not an integer >= 1")
        if not isinstance(d["rational_valued"], bool) or not isinstance(d["certified"], str) \
                or not isinstance(d["name"], str):
            raise UserError("target record: name/certified must be strings, rational_valued a bool")
        expr = parse(d["expr"], dim, what="target record expression")
        try:
            lam, alpha = as_fmpq(d["lam"]), as_fmpq(d["alpha"])
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            raise UserError(f"target record: lam/alpha {d['lam']!r}, {d['alpha']!r} are not "
                            f"exact rationals: {exc}") from None
        return Target(d["name"], dim, expr, lam, alpha, d["certified"], d["rational_valued"])
