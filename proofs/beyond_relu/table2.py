"""Table 2 of "Beyond ReLU" (final version, p. 9): the single-neuron constants C1 … C9, enclosed
rigorously (closed forms, or branch and bound on [−40, 40] plus analytic tails)."""

from __future__ import annotations

import heapq
import time
from functools import lru_cache
from typing import Any, Callable, Optional

from flint import arb, fmpq

from certify.method import ErrorReport, to_arb
from certify.registry import default_registry, parse_formula
from constructive.activations.catalogue import derivatives, make_activation
from constructive.ir import Node
from constructive.numbers import as_fmpq, precision
from proofs.beyond_relu.bands import hull as _hull
from proofs.beyond_relu.bands import order_key as _key
from proofs.beyond_relu.bands import q_upper as _q_upper

THEOREM = "zlz-table2-single-neuron-band"


@lru_cache(maxsize=1)
def table2_rows() -> dict[str, dict]:
    """The rows of Table 2 as the statement gives them (``claim.constants`` of the claims file,
    the one source the kernel reads too): per constant the activation and its parameters, the
    shift b₁, the sign (+1: sup g, −1: sup −g), the scale, the printed value and its digits,
    and a closed form or the tail bound."""
    return default_registry().get(THEOREM).claim["constants"]


def table2_activation(row: dict) -> Any:
    return make_activation(row["activation"], **row.get("parameters", {}))


def table2_shift(row: dict) -> arb:
    """b₁, the constant the row's g adds back (0 unless the row names one)."""
    return to_arb(parse_formula(row.get("shift", "0"), (), THEOREM))


def _tail(name: str, R: arb, params: dict) -> arb:
    """Upper bound of |g(y)| for |y| ≥ R (g(y) = ReLU(y) − ϱ(y)), from monotone majorants:
    GELU (σ=1): |g| = |y|(1 − Φ(|y|)) ≤ φ(|y|) (Mills) ≤ φ(R);
    SiLU: |g| = |y|σ(−|y|) ≤ |y|e^{−|y|} ≤ R e^{−R} (decreasing for y ≥ 1);
    Swish(β): |g(y)| = |g_SiLU(βy)|/β ≤ R e^{−βR} (βR ≥ 1);
    Mish: y > 0: y(1 − tanh(sp y)) ≤ 2y e^{−2 sp y} ≤ 2y e^{−2y}; y < 0: |y| tanh(sp y) ≤ |y| sp y ≤ |y|e^{y};
    x·dSiLU: 1 − dSiLU(y) = (1 − σ)(1 − yσ) ⇒ |g| ≤ y(1 + y)e^{−y} for y > 0 and
    |y dSiLU(y)| ≤ |y|(1 + |y|)e^{−|y|} for y < 0, decreasing for |y| ≥ 2."""
    if name == "gelu":
        return (-(R * R) / 2).exp() / (2 * arb.pi()).sqrt()
    if name == "silu":
        return R * (-R).exp()
    if name == "swish":
        return R * (-arb(as_fmpq(params["beta"])) * R).exp()
    if name == "mish":
        return (2 * R * (-2 * R).exp()).max(R * (-R).exp())
    if name == "xdsilu":
        return R * (1 + R) * (-R).exp()
    raise KeyError(name)


def max_bb(fv: Callable[[arb], arb], fd: Callable[[arb], arb], cuts: list, tol: fmpq,
           cap: int = 20000) -> tuple[arb, arb, int, list]:
    """Rigorous (upper, lower) of sup f over [cuts[0], cuts[-1]] (signed, not |f|): each box is
    bounded by min(naive, mean-value form f(m) + f'(T)(T − m)); the box of largest upper bound
    is bisected until upper − lower ≤ tol or ``cap`` boxes were evaluated.  Also returns the
    boxes evaluated and the leaves' ends (the kernel's evidence: it bounds f on each leaf)."""
    def bound(a: fmpq, b: fmpq) -> arb:
        T = _hull(a, b)
        best = fv(T).upper()
        m = (a + b) / 2
        mv = (fv(arb(m)) + fd(T) * _hull(a - m, b - m)).upper()
        if mv.is_finite() and (not best.is_finite() or mv < best):
            best = mv
        return best

    lower = None
    heap: list = []
    n = 0
    for a, b in zip(cuts, cuts[1:]):
        for x in (a, (a + b) / 2, b):
            v = fv(arb(x)).lower()
            lower = v if lower is None or v > lower else lower
        u = bound(a, b)
        n += 1
        heapq.heappush(heap, (-_key(u), n, a, b, u))
    while heap and n < cap:
        _, _, a, b, u = heap[0]
        if u.is_finite() and u - lower <= arb(tol):
            break
        heapq.heappop(heap)
        m = (a + b) / 2
        v = fv(arb(m)).lower()
        if v > lower:
            lower = v
        for lo, hi in ((a, m), (m, b)):
            uu = bound(lo, hi)
            n += 1
            heapq.heappush(heap, (-_key(uu), n, lo, hi, uu))
    upper = max((h[4] for h in heap), key=_key)
    return upper, lower, n, sorted({end for h in heap for end in h[2:4]})


def table2_constant(key: str, prec: int = 128, claim: Optional[dict] = None) -> dict:
    """A rigorous enclosure [lo, hi] of one Table 2 constant, with the argument used.

    g(y) = ReLU(y) − (ϱ(y) − b₁), and ReLU(x) − (ϱ(Kx) − b₁)/K = g(Kx)/K, so the band of the
    one-neuron gadget is [inf g, sup g]/K for every K > 0 and x ∈ ℝ.
    * closed forms (C1, C2, C8, C9): g is monotone in |y| with an explicit limit —
      ELU: g = α(1 − e^{y}) on y < 0, 0 on y ≥ 0, increasing to α as y → −∞ (C1 = 1);
      Softplus: g = ln 2 − ln(1 + e^{−|y|}) ↑ ln 2;  x·(Softsign/2 + ½): g = |y|/(2(1 + |y|)) ↑ ½;
      x·(Arctan/π + ½): g = |y|·arctan(1/|y|)/π ↑ 1/π (arctan(t)/t decreases in t > 0).
      The enclosure is the limit; a point value at |y| = 2^40 is given as a lower bound.
    * the others: branch and bound of ±g on [−R, R] (R = 40, cuts at the integers, 0 among them
      so ReLU is affine on every box) plus the analytic tail bound of :func:`_tail`.
    ``claim``: the statement's claim table (default: the installed one).
    """
    claim = claim or default_registry().get(THEOREM).claim

    row = claim["constants"][key]
    name, sign, closed = row["activation"], row.get("sign", 1), row.get("closed")
    act = table2_activation(row)
    t0 = time.perf_counter()
    cuts: list = []
    with precision(prec):
        shift = table2_shift(row)

        def g(T: arb) -> arb:
            r = T if T >= 0 else (arb(0) if T <= 0 else T.nonnegative_part())
            return sign * (r - act.ball(T) + shift)

        def dg(T: arb) -> arb:
            r1 = arb(1) if T > 0 else (arb(0) if T < 0 else arb(0).union(arb(1)))
            return sign * (r1 - derivatives(act, T, 1)[1])

        if closed is not None:
            value = to_arb(parse_formula(closed, (), THEOREM))
            far = fmpq(2 ** 40)
            point = g(arb(-far)).max(g(arb(far)))
            lo, hi, evals = value, value, 2
            how = (f"closed form {closed}: g monotone in |y| with this limit (see docstring); "
                   f"g(±2^40) ≥ {point.lower().str(12, radius=False)}")
            lower_pt = point.lower()
        else:
            R = int(as_fmpq(claim["box"][1]))
            cuts = [fmpq(k) for k in range(-R, R + 1)]
            up, lo_b, evals, cuts = max_bb(g, dg, cuts, fmpq(1, 10 ** 10))
            tail = _tail(name, arb(R), row.get("parameters", {})).upper()
            hi = up.max(tail)
            lo, lower_pt = lo_b, lo_b
            how = (f"branch and bound of {'+' if sign > 0 else '−'}g on [−{R}, {R}] ({evals} boxes) "
                   f"+ analytic tail ≤ {tail.str(3, radius=False)} for |y| ≥ {R}")
        enclosure = lo.union(hi)
        if "scale" in row:  # Swish's row reads C5/(βK): C5 = β·sup g (and equals C4 by scaling)
            scale = arb(as_fmpq(row["scale"]))
            enclosure, hi, lower_pt = enclosure * scale, hi * scale, lower_pt * scale
            how += f"; times {row['scale']} (the row's band is C5/(βK))"
        printed = row["printed"]
        p = arb(as_fmpq(printed))
        # agreement: |C − printed| ≤ half a unit of the last printed digit (0 when printed exactly)
        half = fmpq(1, 2 * 10 ** row["digits"]) if "digits" in row else fmpq(0)
        dist_hi = abs(enclosure - p).upper()
        dist_lo = abs(enclosure - p).lower()
        extra = {}
        if key in ("C4", "C5"):
            w = (1 / arb(1).exp()).lambertw()
            extra["W(1/e)"] = w.str(15, radius=True)
            extra["agrees_with_W(1/e)"] = bool(w.overlaps(enclosure))
        rel = enclosure.rad() / abs(enclosure.mid()) if not enclosure.mid().is_zero() else arb(0)
        digits = certified_digits(rel)
        return {"constant": key, "activation": act.key, "enclosure": enclosure.str(12, radius=True),
                "lower": lower_pt, "upper": hi, "printed": printed, "half_unit": half,
                "distance_upper": dist_hi, "distance_lower": dist_lo, "digits": digits, "method": how,
                "evaluations": evals, "seconds": round(time.perf_counter() - t0, 3), "cuts": cuts,
                **extra}


def certified_digits(rel: arb, cap: int = 60) -> int:
    """Decimal digits the relative radius certifies: floor of a rigorous lower bound of
    −log10(rel), at most ``cap`` (the ≥ 4 digits gate of a verdict never rests on a float)."""
    top = arb(rel.upper())
    if not top > 0:
        return cap
    v = (-(top.log() / arb(10).log())).lower().floor()
    return min(cap, int(v.unique_fmpz()))


def method_table2(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Error = |C − printed| / (half a unit of the last printed digit); the claim is ≤ 1.  For a
    constant printed exactly (C1 = 1, C8 = 0.5) the error is 0 when the enclosure is that exact
    number and 10^9 otherwise.  Fewer than 4 certified digits → no finite upper bound (10^9)."""
    key = str(params.get("constant", "C4"))
    d = table2_constant(key, claim=thm.claim)
    cuts = d.pop("cuts")
    # the kernel's evidence: the leaves of the branch and bound, on which it bounds g itself
    # (a closed form needs none: the statement gives the lemma)
    evidence = {"kind": "line", "cuts": [str(c) for c in cuts]} if cuts else {"kind": "closed-form"}
    half = d["half_unit"]
    with precision(128):
        if half == 0:
            same = d["distance_upper"] <= 0
            upper, lower = (fmpq(0), fmpq(0)) if same else (fmpq(10) ** 9, fmpq(0))
        else:
            upper = _q_upper(d["distance_upper"] / arb(half))
            lower = d["distance_lower"] / arb(half)
        if d["digits"] < 4:
            upper = fmpq(10) ** 9
    # timings stay out of the details, which must come out equal when the certificate is rebuilt
    details = {k: (v.str(12, radius=True) if isinstance(v, arb) else v) for k, v in d.items()
               if k != "seconds"}
    details["claim"] = (f"|{key} − {d['printed']}| ≤ {half} (half a unit of the printed digit), "
                        f"and ≥ 4 certified digits ({d['digits']})")
    return ErrorReport(lower, upper, [], set(), details, evidence=evidence)
