"""The 17 activations of Zhang–Lu–Zhao, "Beyond ReLU" (and two 𝒜₂ examples), with class witnesses.

Every activation is written **once** as a formula against a small operations namespace
(:class:`_Ops`); the same formula then gives

* an arb ball kernel (``ball``), sound on wide balls (branches of piecewise definitions are
  joined with ``arb.union`` when a ball straddles the break point);
* Taylor coefficients as balls through ``arb_series`` (:func:`derivatives`): ϱ', ϱ'' enclosures
  on a whole interval, used by the certifier's mean-value forms;
* mpmath, numpy (float64, overflow-safe forms) and torch kernels.

Exact kernels exist where the function maps rationals to rationals: ReLU, LeakyReLU, ReLU²,
Softsign (and x·Softsign).

Class witnesses (:func:`witness`) are *verified*, not asserted: limits at ±∞ by sympy's exact
limit algorithm (Gruntz), non-vanishing derivatives by an arb ball that excludes 0, kink jumps
by the one-sided Taylor coefficients of the two branches (exact balls at rational points), and
continuity of the lower derivatives at a kink by comparing the branches' coefficients.

Erratum E1 of the note: ReLU² is (max{0, x})², not max{0, x²}.  Erratum E2: SRS(α, β) is only
bounded when α/β > 1/e (the denominator x/α + e^{−x/β} has minimum (β/α)(1 + ln(α/β))); other
parameters raise :class:`UserError`.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable, Optional

import mpmath
import numpy as np
import sympy
from flint import arb, arb_series, fmpq

from constructive.activations import RELU, ActivationFunction, register
from constructive.errors import UserError
from constructive.numbers import as_fmpq

#: the 17 activations named in the final paper, in its order
NAMES = ("relu", "leaky_relu", "relu2", "elu", "celu", "selu", "softplus", "gelu", "silu",
         "swish", "mish", "sigmoid", "tanh", "arctan", "softsign", "dsilu", "srs")
#: 𝒜₂ ∖ 𝒜̃₂ examples of Theorem 8 (not among the 17)
EXTRA = ("xsoftsign", "xarctan")
#: the three Table 2 rows (final version, p. 9) that are not among the 17: x·dSiLU(x),
#: x·(Softsign(x)/2 + 1/2), x·(Arctan(x)/π + 1/2)
TABLE2_EXTRA = ("xdsilu", "xsoftsign01", "xarctan01")

# ---------------------------------------------------------------------------------------------
# operation namespaces


class _Ops(abc.ABC):
    """Elementary functions for one number system; ``branch`` joins piecewise definitions.

    Each number system (arb balls, Taylor series, mpmath, numpy, torch) supplies the primitives
    below; the activations' formulas are written once against them.
    """

    @abc.abstractmethod
    def exp(self, x): ...

    @abc.abstractmethod
    def log(self, x): ...

    @abc.abstractmethod
    def atan(self, x): ...

    @abc.abstractmethod
    def erf(self, x): ...

    @abc.abstractmethod
    def const(self, q): ...

    @abc.abstractmethod
    def pi(self): ...

    @abc.abstractmethod
    def sqrt2(self): ...

    @abc.abstractmethod
    def branch(self, x, point, left, right): ...

    def sigmoid(self, x):
        return 1 / (1 + self.exp(-x))

    def tanh(self, x):
        return 1 - 2 / (self.exp(2 * x) + 1)

    def softplus(self, x):
        return self.log(1 + self.exp(x))

    def abs(self, x):
        return self.branch(x, 0, lambda v: -v, lambda v: v)

    def softsign(self, x):
        return x / (1 + self.abs(x))

    def srs(self, x, a, b):
        return x / (x / self.const(a) + self.exp(-x / self.const(b)))


class _ArbOps(_Ops):
    def log(self, x): return x.log()
    def atan(self, x): return x.atan()
    def erf(self, x): return x.erf()
    def const(self, q): return arb(as_fmpq(q))
    def pi(self): return arb.pi()
    def sqrt2(self): return arb(2).sqrt()
    # monotone functions: evaluate at the two ends of the ball (tight and NaN-free on wide balls)
    @staticmethod
    def _mono(x, f):
        if x.rad() == 0:
            return f(x)
        lo, hi = arb(x.lower()), arb(x.upper())
        return f(lo).union(f(hi))

    def tanh(self, x):
        return self._mono(x, lambda v: v.tanh())

    def sigmoid(self, x):
        def f(v):
            if v >= 0:
                return 1 / (1 + (-v).exp())
            e = v.exp()
            return e / (1 + e)
        return self._mono(x, f)

    def softplus(self, x):
        # log(1 + e^x) = x + log(1 + e^-x): accurate for large positive x as well
        def f(v):
            if v > 0:
                return v + (-v).exp().log1p()
            return v.exp().log1p()
        return self._mono(x, f)

    def exp(self, x):
        return self._mono(x, lambda v: v.exp())

    def softsign(self, x):
        # increasing on R: the ends of the ball give the exact range (no x/(1+|x|) dependency)
        return self._mono(x, lambda v: v / (1 + abs(v)))

    def srs(self, x, a, b):
        """x/(x/α + e^{−x/β}): f' = e^{−x/β}(1 + x/β)/D², so f decreases on (−∞, −β] and
        increases on [−β, ∞); D > 0 everywhere when α/β > 1/e (checked at construction).  The
        range on a ball comes from point evaluations at its ends and at −β, where D is a
        point ball bounded away from 0 — never from D on the whole ball."""
        A, B = self.const(a), self.const(b)
        f = lambda v: v / (v / A + (-v / B).exp())
        if x.rad() == 0:
            return f(x)
        lo, hi = arb(x.lower()), arb(x.upper())
        out = f(lo).union(f(hi))
        if not (hi <= -B or lo >= -B):  # −β may lie inside: include the minimum
            out = out.union(f(-B))
        return out

    def branch(self, x, point, left, right):
        p = arb(as_fmpq(point))
        if x >= p:
            return right(x)
        if x <= p:
            return left(x)
        return left(x).union(right(x))


class _SeriesOps(_Ops):
    """Truncated Taylor series with ball coefficients (arb_series)."""

    def __init__(self, length: int) -> None:
        self.length = length

    def exp(self, x): return x.exp()
    def log(self, x): return x.log()
    def atan(self, x): return x.atan()
    def erf(self, x): return x.erf()
    def const(self, q): return arb(as_fmpq(q))
    def pi(self): return arb.pi()
    def sqrt2(self): return arb(2).sqrt()

    def _coeffs(self, s) -> list:
        c = list(s.coeffs()) if isinstance(s, arb_series) else [arb(s)]
        return c + [arb(0)] * (self.length - len(c))

    def branch(self, x, point, left, right):
        x0 = self._coeffs(x)[0]
        p = arb(as_fmpq(point))
        if x0 >= p:
            return right(x)
        if x0 <= p:
            return left(x)
        a, b = self._coeffs(left(x)), self._coeffs(right(x))
        return arb_series([u.union(v) for u, v in zip(a, b)], prec=self.length)

    # stable forms: no huge/huge quotients on wide balls far from 0
    def _c0(self, x):
        return self._coeffs(x)[0]

    def sigmoid(self, x):
        if self._c0(x) >= 0:
            return 1 / (1 + (-x).exp())
        e = x.exp()
        return e / (1 + e)

    def tanh(self, x):
        if self._c0(x) >= 0:
            e = (-2 * x).exp()
            return 1 - 2 * e / (1 + e)
        e = (2 * x).exp()
        return -1 + 2 * e / (1 + e)

    def softplus(self, x):
        if self._c0(x) > 0:
            return x + (1 + (-x).exp()).log()
        return (1 + x.exp()).log()


class _MpOps(_Ops):
    def exp(self, x): return mpmath.exp(x)
    def log(self, x): return mpmath.log(x)
    def atan(self, x): return mpmath.atan(x)
    def erf(self, x): return mpmath.erf(x)
    def const(self, q): return mpmath.mpf(Fraction(str(q)).numerator) / Fraction(str(q)).denominator
    def pi(self): return mpmath.pi
    def sqrt2(self): return mpmath.sqrt(2)
    def tanh(self, x): return mpmath.tanh(x)
    def softplus(self, x): return mpmath.log1p(mpmath.exp(x)) if x < 0 else x + mpmath.log1p(mpmath.exp(-x))
    def branch(self, x, point, left, right): return right(x) if x >= self.const(point) else left(x)


class _NpOps(_Ops):
    def exp(self, x): return np.exp(x)
    def log(self, x): return np.log(x)
    def atan(self, x): return np.arctan(x)

    def erf(self, x):
        from scipy.special import erf  # pragma: no cover - scipy may be absent
        return erf(x)

    def const(self, q): return float(Fraction(str(q)))
    def pi(self): return math.pi
    def sqrt2(self): return math.sqrt(2.0)
    def tanh(self, x): return np.tanh(x)
    def sigmoid(self, x): return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))
    def softplus(self, x): return np.logaddexp(0.0, x)

    def branch(self, x, point, left, right):
        x = np.asarray(x, dtype=np.float64)
        p = self.const(point)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np.where(x >= p, right(np.where(x >= p, x, p)), left(np.where(x < p, x, p)))


class _NpErfOps(_NpOps):
    def erf(self, x):
        try:
            from scipy.special import erf
            return erf(x)
        except ImportError:
            return np.vectorize(lambda v: math.erf(v), otypes=[np.float64])(x)


class _TorchOps(_Ops):
    def __init__(self) -> None:
        import torch

        self.t = torch

    def exp(self, x): return self.t.exp(x)
    def log(self, x): return self.t.log(x)
    def atan(self, x): return self.t.atan(x)
    def erf(self, x): return self.t.erf(x)
    def const(self, q): return float(Fraction(str(q)))
    def pi(self): return math.pi
    def sqrt2(self): return math.sqrt(2.0)
    def tanh(self, x): return self.t.tanh(x)
    def sigmoid(self, x): return self.t.sigmoid(x)
    def softplus(self, x): return self.t.nn.functional.softplus(x)

    def branch(self, x, point, left, right):
        p = self.const(point)
        return self.t.where(x >= p, right(self.t.where(x >= p, x, self.t.full_like(x, p))),
                            left(self.t.where(x < p, x, self.t.full_like(x, p))))


ARB, MP, NP = _ArbOps(), _MpOps(), _NpErfOps()


@lru_cache(maxsize=1)
def _torch_ops() -> _TorchOps:
    return _TorchOps()


# ---------------------------------------------------------------------------------------------
# formulas (one per activation, against the ops namespace)


def _q(v: Any) -> fmpq:
    return as_fmpq(v)


def _formulas(name: str, p: dict) -> tuple[Callable, Optional[Callable], Callable]:
    """(formula(x, ops), exact kernel or None, sympy expression builder(x))."""
    S = sympy
    if name == "relu":
        return (lambda x, o: o.branch(x, 0, lambda v: 0 * v, lambda v: v),
                lambda x: x if x > 0 else fmpq(0), lambda x: S.Max(0, x))
    if name == "leaky_relu":
        a = p["alpha"]
        return (lambda x, o: o.branch(x, 0, lambda v: o.const(a) * v, lambda v: v),
                lambda x: x if x >= 0 else a * x,
                lambda x: S.Piecewise((x, x >= 0), (_sq(a) * x, True)))
    if name == "relu2":
        return (lambda x, o: o.branch(x, 0, lambda v: 0 * v, lambda v: v * v),
                lambda x: x * x if x > 0 else fmpq(0), lambda x: S.Max(0, x) ** 2)
    if name in ("elu", "selu", "celu"):
        a = p["alpha"]
        lam = p.get("lam", fmpq(1))
        s = 1 / a if name == "celu" else fmpq(1)
        return (lambda x, o: o.const(lam) * o.branch(
                    x, 0, lambda v: o.const(a) * (o.exp(o.const(s) * v) - 1), lambda v: v),
                None,
                lambda x: _sq(lam) * S.Piecewise((x, x >= 0), (_sq(a) * (S.exp(_sq(s) * x) - 1), True)))
    if name == "softplus":
        return (lambda x, o: o.softplus(x), None, lambda x: S.log(1 + S.exp(x)))
    if name == "gelu":
        mu, sg = p["mu"], p["sigma"]
        return (lambda x, o: x * (1 + o.erf((x - o.const(mu)) / (o.const(sg) * o.sqrt2()))) / 2, None,
                lambda x: x * (1 + S.erf((x - _sq(mu)) / (_sq(sg) * S.sqrt(2)))) / 2)
    if name == "silu":
        return (lambda x, o: x * o.sigmoid(x), None, lambda x: x / (1 + S.exp(-x)))
    if name == "swish":
        b = p["beta"]
        return (lambda x, o: x * o.sigmoid(o.const(b) * x), None,
                lambda x: x / (1 + S.exp(-_sq(b) * x)))
    if name == "mish":
        return (lambda x, o: x * o.tanh(o.softplus(x)), None,
                lambda x: x * S.tanh(S.log(1 + S.exp(x))))
    if name == "sigmoid":
        return (lambda x, o: o.sigmoid(x), None, lambda x: 1 / (1 + S.exp(-x)))
    if name == "tanh":
        return (lambda x, o: o.tanh(x), None, lambda x: S.tanh(x))
    if name == "arctan":
        return (lambda x, o: o.atan(x), None, lambda x: S.atan(x))
    if name == "softsign":
        return (lambda x, o: o.softsign(x), lambda x: x / (1 + abs(x)),
                lambda x: x / (1 + S.Abs(x)))
    if name == "dsilu":
        return (lambda x, o: o.sigmoid(x) * (1 + x * (1 - o.sigmoid(x))), None,
                lambda x: (1 + S.exp(-x) + x * S.exp(-x)) / (1 + S.exp(-x)) ** 2)
    if name == "srs":
        a, b = p["alpha"], p["beta"]
        return (lambda x, o: o.srs(x, a, b), None,
                lambda x: x / (x / _sq(a) + S.exp(-x / _sq(b))))
    if name == "xsoftsign":
        return (lambda x, o: x * x / (1 + o.abs(x)), lambda x: x * x / (1 + abs(x)),
                lambda x: x ** 2 / (1 + S.Abs(x)))
    if name == "xarctan":
        return (lambda x, o: x * o.atan(x), None, lambda x: x * S.atan(x))
    if name == "xdsilu":
        return (lambda x, o: x * (o.sigmoid(x) * (1 + x * (1 - o.sigmoid(x)))), None,
                lambda x: x * (1 + S.exp(-x) + x * S.exp(-x)) / (1 + S.exp(-x)) ** 2)
    if name == "xsoftsign01":
        return (lambda x, o: x * (o.softsign(x) / 2 + o.const(fmpq(1, 2))),
                lambda x: x * (x / (1 + abs(x)) / 2 + fmpq(1, 2)),
                lambda x: x * (x / (1 + S.Abs(x)) / 2 + S.Rational(1, 2)))
    if name == "xarctan01":
        return (lambda x, o: x * (o.atan(x) / o.pi() + o.const(fmpq(1, 2))), None,
                lambda x: x * (S.atan(x) / S.pi + S.Rational(1, 2)))
    raise UserError(f"unknown activation {name!r}; known: {', '.join(NAMES + EXTRA + TABLE2_EXTRA)}")


def _sq(q: Any) -> sympy.Rational:
    q = as_fmpq(q)
    return sympy.Rational(int(q.p), int(q.q))


DEFAULTS: dict[str, dict[str, str]] = {
    "leaky_relu": {"alpha": "1/100"},
    "elu": {"alpha": "1"},
    "celu": {"alpha": "1"},
    # the usual SELU constants, as decimals (rationals)
    "selu": {"lam": "1.0507009873554804934193349852946", "alpha": "1.6732632423543772848170429916717"},
    "gelu": {"mu": "0", "sigma": "1"},
    "swish": {"beta": "3/2"},
    "srs": {"alpha": "5", "beta": "3"},
}

LIPSCHITZ = {"relu": 1, "leaky_relu": None, "softplus": 1, "sigmoid": fmpq(1, 4), "tanh": 1,
             "arctan": 1, "softsign": 1}


def make_activation(name: str, **params: Any) -> ActivationFunction:
    """An activation of the catalogue with the given parameters (rationals)."""
    if name not in NAMES + EXTRA + TABLE2_EXTRA:
        raise UserError(f"unknown activation {name!r}; known: {', '.join(NAMES + EXTRA + TABLE2_EXTRA)}")
    defaults = DEFAULTS.get(name, {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise UserError(f"activation {name} has no parameter {unknown[0]!r}; "
                        f"parameters: {', '.join(defaults) or 'none'}")
    p = {k: as_fmpq(params.get(k, v)) for k, v in defaults.items()}
    _check_params(name, p)
    if name == "relu" and not params:
        return RELU
    formula, exact, _ = _formulas(name, p)
    ops_t = _torch_ops
    lip = LIPSCHITZ.get(name)
    if name == "leaky_relu":
        lip = max(fmpq(1), abs(p["alpha"]))
    return ActivationFunction(
        name=name,
        exact=exact,
        ball=lambda x, f=formula: f(x, ARB),
        mp=lambda x, f=formula: f(x, MP),
        float=lambda x, f=formula: f(np.asarray(x, dtype=np.float64), NP),
        params=tuple((k, str(v)) for k, v in p.items()),
        lipschitz=None if lip is None else as_fmpq(lip),
        piecewise_linear=name in ("relu", "leaky_relu"),
        breakpoints=(fmpq(0),) if name in ("relu", "leaky_relu", "relu2", "elu", "celu", "selu",
                                           "softsign", "xsoftsign") else (),
        torch=lambda x, f=formula: f(x, ops_t()),
    )


def _check_params(name: str, p: dict) -> None:
    if name == "srs":
        a, b = p["alpha"], p["beta"]
        if a <= 0 or b <= 0:
            raise UserError(f"SRS needs alpha > 0 and beta > 0, got alpha={a}, beta={b}")
        # bounded (no pole) iff min of x/α + e^{−x/β} = (β/α)(1 + ln(α/β)) > 0 iff α/β > 1/e
        ok = (arb(a / b).log() + 1)
        if not ok > 0:
            raise UserError(f"SRS(alpha={a}, beta={b}) is unbounded: alpha/beta = {a / b} must exceed "
                            "1/e ≈ 0.3679 (erratum E2: otherwise x/alpha + exp(-x/beta) vanishes)")
    if name == "celu" and p["alpha"] <= 0:
        raise UserError(f"CELU needs alpha > 0, got {p['alpha']}")
    if name == "gelu" and p["sigma"] <= 0:
        raise UserError(f"GELU needs sigma > 0, got {p['sigma']}")
    if name == "swish" and p["beta"] <= 0:
        raise UserError(f"Swish needs beta > 0, got {p['beta']}")
    if name == "selu" and p["lam"] <= 0:
        raise UserError(f"SELU needs lambda > 0, got {p['lam']}")


def parse_activation(spec: str) -> ActivationFunction:
    """``"srs"`` or ``"srs:alpha=5,beta=3"`` → an activation."""
    name, _, rest = spec.strip().partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        k, sep, v = item.partition("=")
        if not sep:
            raise UserError(f"activation parameter {item!r} is not of the form NAME=VALUE")
        try:
            params[k.strip()] = as_fmpq(v.strip())
        except (ValueError, ZeroDivisionError):
            raise UserError(f"activation parameter {item!r} is not a rational number") from None
    return make_activation(name, **params)


def formula_of(act: ActivationFunction) -> Callable:
    return _formulas(act.name, {k: as_fmpq(v) for k, v in act.params})[0]


def sympy_of(act: ActivationFunction) -> Callable:
    return _formulas(act.name, {k: as_fmpq(v) for k, v in act.params})[2]


def derivatives(act: ActivationFunction, x: arb, order: int) -> list[arb]:
    """Balls enclosing ϱ(ξ), ϱ'(ξ), …, ϱ^{(order)}(ξ) for every ξ in the ball ``x``."""
    ops = _SeriesOps(order + 1)
    try:
        s = formula_of(act)(arb_series([x, 1], prec=order + 1), ops)
    except (ValueError, ZeroDivisionError):  # a denominator ball contains 0: no information
        return [arb("0 +/- inf")] * (order + 1)
    c = ops._coeffs(s)
    return [c[k] * math.factorial(k) for k in range(order + 1)]


def derivative(act: ActivationFunction, x: arb, k: int = 1) -> arb:
    return derivatives(act, x, k)[k]


# ---------------------------------------------------------------------------------------------
# class witnesses


@dataclass(frozen=True)
class Witness:
    """Verified membership data of one activation (all numbers as text; balls with radius)."""

    name: str
    classes: tuple                      # of "A10", "A11", "A2", "A2~", "A3", "A2v1"
    kink: Optional[dict] = None         # {"x0", "k", "L1", "L2"}
    h_form: Optional[dict] = None       # {"b0", "b1", "h", "lim_minus", "lim_plus"}
    s_limits: Optional[dict] = None     # {"L1", "L2"} limits of ϱ at ∓∞
    second: Optional[dict] = None       # {"x0", "value"}: ϱ''(x0) ≠ 0
    first: Optional[dict] = None        # {"x1", "value"}: ϱ'(x1) ≠ 0
    v1_step: Optional[dict] = None      # {"T0", "L1", "L2"}: limits of ϱ(x+T0) − ϱ(x)
    checks: tuple = field(default=())   # what was verified, in words


def _sym_limit(expr: sympy.Expr, x: sympy.Symbol, where: Any) -> sympy.Expr:
    val = sympy.limit(expr, x, where)
    return sympy.nsimplify(val) if val.is_number else val


# where the witnesses sit (points are the project's choices; the verification is not)
_POINTS = {
    # name: (x0 for ϱ'' ≠ 0, x1 for ϱ' ≠ 0)
    "relu2": (None, 1), "elu": (-1, 1), "celu": (-1, 1), "selu": (-1, 1), "softplus": (0, 0),
    "gelu": (0, 1), "silu": (0, 1), "swish": (0, 1), "mish": (0, 1),
    "sigmoid": ("1.31696", 0), "tanh": ("0.65848", 0), "arctan": ("-0.57735", 0),
    "softsign": (1, 0), "dsilu": (1, 0), "srs": (0, 0), "xsoftsign": (1, 1), "xarctan": (0, 1),
}


def _ball_text(v: arb) -> str:
    return v.str(12, radius=True)


@lru_cache(maxsize=None)
def _witness_cached(key: str) -> Witness:
    name, _, rest = key.partition("|")
    act = parse_activation(name + (":" + rest if rest else ""))
    return _compute_witness(act)


def witness(act: ActivationFunction) -> Witness:
    """Class membership of ``act`` with every witness verified (cached per activation)."""
    rest = ",".join(f"{k}={v}" for k, v in act.params)
    return _witness_cached(act.name + ("|" + rest if rest else ""))


def _compute_witness(act: ActivationFunction) -> Witness:
    name = act.name
    x = sympy.Symbol("x", real=True)
    rho = sympy_of(act)(x)
    checks: list[str] = []
    classes: list[str] = []
    kink = h_form = s_lim = second = first = v1 = None

    # kinks: one-sided Taylor coefficients of the two branches at x0 = 0
    if name in ("relu", "leaky_relu", "relu2", "elu", "celu", "selu"):
        # evaluate each branch's series exactly at 0 (the branches are analytic there)
        lc = _branch_series(act, "left")
        rc = _branch_series(act, "right")
        k = 0
        while k < 3 and _branches_agree(act, k, lc[k], rc[k]):
            k += 1
        k -= 1  # ϱ ∈ C^k at 0, the (k+1)-th one-sided derivatives differ
        if k >= 0 and not (lc[k + 1] - rc[k + 1]).is_zero() and not (lc[k + 1] - rc[k + 1]).contains(0):
            L1, L2 = lc[k + 1], rc[k + 1]
            kink = {"x0": "0", "k": k, "L1": _ball_text(L1), "L2": _ball_text(L2)}
            classes.append(f"A1{k}")
            checks.append(f"kink of order {k} at 0: branch derivatives agree exactly up to order {k}, "
                          f"one-sided limits L1={_ball_text(L1)} ≠ L2={_ball_text(L2)} (disjoint balls)")

    # the 𝒜₂ form ϱ = (x + b0) h + b1 with h S-shaped
    b1 = {"softplus": sympy.log(2)}.get(name, sympy.Integer(0))
    if name in ("elu", "celu", "selu", "softplus", "gelu", "silu", "swish", "mish", "xsoftsign",
                "xarctan", "relu", "leaky_relu"):
        h = sympy.simplify((rho - b1) / x) if name not in ("elu", "celu", "selu", "leaky_relu", "relu") \
            else None
        if h is None:  # piecewise: limits of the branches
            lim_m = sympy.limit(_branch_sympy(act, "left")(x) / x, x, -sympy.oo)
            lim_p = sympy.limit(_branch_sympy(act, "right")(x) / x, x, sympy.oo)
            htxt = "ϱ(x)/x"
        else:
            lim_m = sympy.limit(h, x, -sympy.oo)
            lim_p = sympy.limit(h, x, sympy.oo)
            htxt = str(h)
        if lim_m != lim_p and lim_m.is_finite and lim_p.is_finite:
            tilde = lim_m == 0 or lim_p == 0
            h_form = {"b0": "0", "b1": str(b1), "h": htxt, "lim_minus": str(lim_m),
                      "lim_plus": str(lim_p)}
            if name not in ("relu", "leaky_relu") or tilde:
                classes.append("A2~" if tilde else "A2")
            checks.append(f"h = {htxt}: exact limits {lim_m} at -oo and {lim_p} at +oo (sympy)")

    # S-shaped: limits of ϱ itself
    if name in ("sigmoid", "tanh", "arctan", "softsign", "dsilu", "srs"):
        L1 = sympy.limit(rho, x, -sympy.oo)
        L2 = sympy.limit(rho, x, sympy.oo)
        if L1 != L2 and L1.is_finite and L2.is_finite:
            s_lim = {"L1": str(L1), "L2": str(L2)}
            checks.append(f"S-shaped: exact limits {L1} at -oo and {L2} at +oo (sympy); "
                          "continuous with finite limits, hence bounded")
    # v1 𝒜₂ᵛ¹: limits of ϱ(x + T0) − ϱ(x), T0 = 1
    if name in ("elu", "celu", "selu", "softplus", "gelu", "silu", "swish", "mish", "xsoftsign", "xarctan"):
        # ϱ(x + T0) − ϱ(x) = T0·ϱ'(ξ): its limits are T0 times the limits of ϱ' (exact, sympy)
        lm = sympy.limit(sympy.diff(_branch_sympy(act, "left")(x), x), x, -sympy.oo)
        lp = sympy.limit(sympy.diff(_branch_sympy(act, "right")(x), x), x, sympy.oo)
        if lm != lp and lm.is_finite and lp.is_finite:
            v1 = {"T0": "1", "L1": str(lm), "L2": str(lp)}
            checks.append(f"v1 A2: ϱ' → {lm} at -oo, {lp} at +oo (sympy), so ϱ(x+1) − ϱ(x) has "
                          "these limits (mean value theorem)")

    x0, x1 = _POINTS.get(name, (None, None))
    if x0 is not None:
        d2 = derivative(act, arb(as_fmpq(x0)), 2)
        if not d2.contains(0):
            second = {"x0": str(as_fmpq(x0)), "value": _ball_text(d2)}
            checks.append(f"ϱ''({as_fmpq(x0)}) = {_ball_text(d2)} ≠ 0 (ball excludes 0)")
    if x1 is not None:
        d1 = derivative(act, arb(as_fmpq(x1)), 1)
        if not d1.contains(0):
            first = {"x1": str(as_fmpq(x1)), "value": _ball_text(d1)}
            checks.append(f"ϱ'({as_fmpq(x1)}) = {_ball_text(d1)} ≠ 0 (ball excludes 0)")
    if s_lim is not None and second is not None:
        classes.append("A3")
    if v1 is not None and second is not None:
        classes.append("A2v1")
    return Witness(name, tuple(classes), kink, h_form, s_lim, second, first, v1, tuple(checks))


class _BranchOnly:
    def __init__(self, ops, side): self.ops, self.side = ops, side
    def __getattr__(self, k): return getattr(self.ops, k)
    def branch(self, x, point, left, right): return left(x) if self.side == "left" else right(x)


def _branch_series(act: ActivationFunction, side: str) -> list[arb]:
    ops = _SeriesOps(4)
    s = formula_of(act)(arb_series([arb(0), 1], prec=4), _BranchOnly(ops, side))
    return [c * math.factorial(k) for k, c in enumerate(ops._coeffs(s))]


def _branches_agree(act: ActivationFunction, k: int, left: arb, right: arb) -> bool:
    """Whether the k-th derivatives of the two branches agree at 0: balls decide when they are
    exact or disjoint; otherwise (e.g. CELU with α = 3, whose 1/α is an inexact ball) the exact
    sympy derivatives of the branches decide."""
    d = left - right
    if d.is_zero():
        return True
    if not d.contains(0):
        return False
    x = sympy.Symbol("x", real=True)
    e = sympy.diff(_branch_sympy(act, "left")(x) - _branch_sympy(act, "right")(x), x, k).subs(x, 0)
    return sympy.simplify(e) == 0


def _branch_sympy(act: ActivationFunction, side: str) -> Callable:
    full = sympy_of(act)

    def f(x):
        e = full(x)
        if isinstance(e, sympy.Mul):
            coef, rest = e.as_independent(sympy.Piecewise)
            e = rest
        else:
            coef = 1
        if isinstance(e, sympy.Piecewise):
            (ra, _), (la, _) = e.args
            return coef * (ra if side == "right" else la)
        return coef * e
    return f


# ---------------------------------------------------------------------------------------------
# registration

for _name in NAMES[1:] + EXTRA + TABLE2_EXTRA:
    register(make_activation(_name))


def catalogue_names() -> tuple[str, ...]:
    return NAMES


__all__ = ["NAMES", "EXTRA", "TABLE2_EXTRA", "make_activation", "parse_activation", "derivatives", "derivative",
           "witness", "Witness", "formula_of", "sympy_of", "catalogue_names"]
