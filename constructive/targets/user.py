"""User targets: a formula in x1..xd whose modulus is checked by bounding ‖∇f‖₂ on the cube.

:func:`user_target` parses the formula safely, refuses it where it is provably not real, and
checks (or computes) the Lipschitz/Hölder constant by best-first bisection with strict arb ball
arithmetic (:func:`_gradient_bound`).  A constant that could not be checked is kept as an
``"assumption: ..."``, which range enclosures never use.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from typing import Any, Optional

import sympy as sp
from flint import arb, fmpq

from constructive.errors import UserError
from constructive.numbers import LiteralTooLarge, as_fmpq, precision
from constructive.targets.compile import compile_expr, is_rational_expr
from constructive.targets.contexts import ArbContext, Flags, Unsupported, int_pow
from constructive.targets.parse import parse, symbols_for
from constructive.targets.rationals import arb_to_fmpq_bounds, dec, round_up_nice
from constructive.targets.target import Target


class _Undefined(Exception):
    """f is provably not real (or divides by zero) at the exact point ``args[0]``."""


@dataclass
class _GradResult:
    status: str  # "bounded", "violated", "undefined", "unknown"
    bound: Optional[fmpq] = None  # upper bound of sup ‖∇f‖₂ ("bounded")
    lower: Optional[fmpq] = None  # lower bound at a witness ("violated")
    point: Optional[list[fmpq]] = None
    boxes: int = 0
    reason: str = ""


def _gradient_bound(expr: sp.Expr, dim: int, target: Optional[fmpq], max_boxes: int = 3000,
                    time_budget: float = 3.0, prec: int = 64) -> _GradResult:
    """Bound sup ‖∇f‖₂ on [0,1]^d by best-first bisection with strict ball arithmetic.

    Soundness: f is built from functions that are continuous where finite (Piecewise is
    refused), so f is locally Lipschitz wherever every box evaluation is finite, and the
    (Clarke) generalised gradient at every point of a box lies in the ball box of the derivative
    formula, where sign(u) and Heaviside(u) are replaced by [−1,1] and [0,1] when u's ball
    contains 0 (the chain rule for |u|, min, max).  The Lebourg mean value theorem then gives
    |f(x) − f(y)| ≤ max ‖ζ‖₂ ‖x − y‖₂.  f itself is evaluated strictly on each box too, so a
    box counts only when f is provably real there.

    A violation is reported only at an exact box centre where no sign/Heaviside argument
    straddles 0 (f is C¹ nearby) and the gradient norm ball lies entirely above ``target``.
    """
    if expr.has(sp.Piecewise):
        return _GradResult("unknown", reason="Piecewise: continuity across pieces is not checked")
    syms = symbols_for(dim)
    flags = Flags()
    try:
        fn = compile_expr(expr, dim, ArbContext(strict=True, flags=flags))
        grads = [compile_expr(sp.diff(expr, s), dim, ArbContext(strict=True, flags=flags)) for s in syms]
    except Unsupported as exc:
        return _GradResult("unknown", reason=f"derivative not supported ({exc})")
    start = time.monotonic()

    def balls(box: list[tuple[fmpq, fmpq]]) -> list[arb]:
        out = []
        for a, b in box:
            x = arb((a + b) / 2, (b - a) / 2)
            out.append(x.nonnegative_part() if a >= 0 else x)
        return out

    def upper(box: list[tuple[fmpq, fmpq]]) -> Optional[fmpq]:
        env = balls(box)
        if not fn(env).is_finite():
            return None
        s = arb(0)
        for g in grads:
            v = g(env)
            if not v.is_finite():
                return None
            s = s + int_pow(v.abs_upper(), 2)
        return arb_to_fmpq_bounds(s.sqrt())[1]

    def centre_lower(box: list[tuple[fmpq, fmpq]]) -> tuple[Optional[fmpq], list[fmpq]]:
        c = [(a + b) / 2 for a, b in box]
        env = [arb(v) for v in c]
        flags.kink = flags.outside = False
        if not fn(env).is_finite():
            if flags.outside:
                raise _Undefined(c)
            return None, c
        s = arb(0)
        for g in grads:
            v = g(env)
            if not v.is_finite():
                return None, c
            s = s + int_pow(v.abs_lower(), 2)
        if flags.kink:
            return None, c
        return arb_to_fmpq_bounds(s.nonnegative_part().sqrt())[0], c

    best_lower = fmpq(0)
    counter = 0
    heap: list[tuple[Any, int, list[tuple[fmpq, fmpq]]]] = []
    inf_key = (0, fmpq(0))  # sort: non-finite boxes first

    def push(box: list[tuple[fmpq, fmpq]]) -> None:
        nonlocal counter
        u = upper(box)
        key = inf_key if u is None else (1, -u)
        heapq.heappush(heap, (key, counter, box, u))
        counter += 1

    def loop() -> _GradResult:
        nonlocal best_lower
        push([(fmpq(0), fmpq(1))] * dim)
        while True:
            key, _, box, u = heap[0]
            if target is not None and u is not None and u <= target:
                return _GradResult("bounded", bound=u, boxes=counter)
            lw, c = centre_lower(box)
            if lw is not None:
                if target is not None and lw > target:
                    return _GradResult("violated", lower=lw, point=c, boxes=counter)
                best_lower = max(best_lower, lw)
            if target is None and u is not None and (u - best_lower <= u / 64 or u - best_lower <= fmpq(1, 2**20)):
                return _GradResult("bounded", bound=u, boxes=counter)
            if counter + 2 > max_boxes or time.monotonic() - start > time_budget:
                if u is not None and target is None:
                    return _GradResult("bounded", bound=u, boxes=counter)
                why = "a box where the gradient is unbounded or f is not provably real" if u is None \
                    else f"gradient bound {dec(u, down=False)} after {counter} boxes"
                return _GradResult("unknown", boxes=counter, reason=why)
            heapq.heappop(heap)
            j = max(range(dim), key=lambda i: box[i][1] - box[i][0])
            a, b = box[j]
            m = (a + b) / 2
            for part in ((a, m), (m, b)):
                nb = list(box)
                nb[j] = part
                push(nb)

    with precision(prec):
        try:
            return loop()
        except _Undefined as exc:
            return _GradResult("undefined", point=list(exc.args[0]), boxes=counter)


def user_target(expression: str, dim: int, lipschitz: Optional[str] = None,
                holder: Optional[tuple[str, str]] = None, *, max_boxes: int = 3000,
                time_budget: float = 3.0) -> Target:
    """A target from a formula in x1..xd, with its modulus checked where it can be.

    * ``lipschitz="L"`` (or ``holder=("L", "1")``): bisection bounds sup ‖∇f‖₂ ≤ L → "checked";
      a point where ‖∇f(x)‖₂ is provably > L → UserError; otherwise "assumption".
    * ``holder=("L", "a")`` with a < 1: checked when sup ‖∇f‖₂ · d^((1−a)/2) ≤ L (since
      ‖x − y‖₂ ≤ √d on the cube); otherwise "assumption".
    * neither: λ is computed (sup ‖∇f‖₂ rounded up to 3 significant digits) or UserError.

    Abs/Min/Max are handled through their generalised gradients (sign ∈ [−1,1], Heaviside ∈
    [0,1] on boxes where the argument may vanish); Piecewise expressions are accepted but never
    checked (continuity across pieces is not verified).
    """
    symbols_for(dim)
    expr = parse(expression, dim)
    if lipschitz is not None and holder is not None:
        raise UserError("give either a Lipschitz constant or a Hölder pair (lambda, alpha), not both")
    lam: Optional[fmpq] = None
    alpha = fmpq(1)
    if lipschitz is not None:
        lam = _user_rat("Lipschitz constant", lipschitz)
    elif holder is not None:
        if not isinstance(holder, (tuple, list)) or len(holder) != 2:
            raise UserError(f"Hölder modulus {holder!r} must be a pair (lambda, alpha)")
        lam = _user_rat("Hölder constant", holder[0])
        alpha = _user_rat("Hölder exponent", holder[1])
        if not (0 < alpha <= 1):
            raise UserError(f"Hölder exponent {holder[1]!r} is not allowed; use 0 < alpha <= 1")
    if lam is not None and lam < 0:
        raise UserError(f"declared constant {lam} is negative; use a rational >= 0")
    name = f"user:{expr}"
    rv = is_rational_expr(expr)
    _check_defined(expr, dim, expression)
    if lam is None:
        res = _gradient_bound(expr, dim, None, max_boxes, time_budget)
        _raise_undefined(res, expression)
        if res.status != "bounded" or res.bound is None:
            raise UserError(f"could not compute a Lipschitz constant for {expression!r} "
                            f"({res.reason}); declare one with --lipschitz or --holder")
        lam = round_up_nice(res.bound)
        cert = (f"checked: sup ||grad f||_2 <= {dec(res.bound, down=False)} <= {lam} "
                f"by arb bisection over {res.boxes} boxes")
        return Target(name, dim, expr, lam, alpha, cert, rv)
    # declared constant: check it
    if alpha == 1:
        res = _gradient_bound(expr, dim, lam, max_boxes, time_budget)
        _raise_undefined(res, expression)
        if res.status == "violated":
            pt = "(" + ", ".join(map(str, res.point or [])) + ")"
            raise UserError(f"declared Lipschitz constant λ={lam} is wrong: "
                            f"|∇f| >= {dec(res.lower or fmpq(0), down=True)} at x={pt}")
        if res.status == "bounded":
            cert = (f"checked: sup ||grad f||_2 <= {dec(res.bound, down=False)} <= {lam} "
                    f"by arb bisection over {res.boxes} boxes")
        else:
            cert = f"assumption: declared Lipschitz constant {lam} not checked ({res.reason})"
        return Target(name, dim, expr, lam, alpha, cert, rv)
    res = _gradient_bound(expr, dim, None, max_boxes, time_budget)
    _raise_undefined(res, expression)
    if res.status == "bounded" and res.bound is not None:
        with precision(64):
            factor = (arb(1 - alpha) / 2 * arb(dim).log()).exp()
            need = arb_to_fmpq_bounds(arb(res.bound) * factor)[1]
        if need <= lam:
            cert = (f"checked: sup ||grad f||_2 <= {dec(res.bound, down=False)} and "
                    f"L*d^((1-a)/2) <= {dec(need, down=False)} <= {lam}")
            return Target(name, dim, expr, lam, alpha, cert, rv)
    cert = f"assumption: declared Hölder modulus {lam} r^{alpha} not checked"
    return Target(name, dim, expr, lam, alpha, cert, rv)


def _user_rat(what: str, value: Any) -> fmpq:
    try:
        return as_fmpq(value)
    except LiteralTooLarge as exc:
        raise UserError(f"{what}: {exc}") from None
    except (TypeError, ValueError, ZeroDivisionError):
        raise UserError(f"{what} {value!r} is not an exact rational (write e.g. 3/2)") from None


def _raise_undefined(res: _GradResult, expression: str) -> None:
    if res.status == "undefined":
        pt = "(" + ", ".join(map(str, res.point or [])) + ")"
        raise UserError(f"target expression {expression!r} is not real-valued (or divides by zero) "
                        f"at x={pt} in [0,1]^d")


def _check_defined(expr: sp.Expr, dim: int, expression: str, prec: int = 128) -> None:
    """UserError when f is provably undefined at the centre or a corner of the cube."""
    flags = Flags()
    fn = compile_expr(expr, dim, ArbContext(strict=False, flags=flags))
    pts = [[fmpq(1, 2)] * dim]
    if dim <= 8:
        pts += [[fmpq((k >> i) & 1) for i in range(dim)] for k in range(2**dim)]
    with precision(prec):
        for p in pts:
            flags.outside = False
            fn([arb(v) for v in p])
            if flags.outside:
                _raise_undefined(_GradResult("undefined", point=p), expression)
