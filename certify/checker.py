"""Independent re-verification of a certificate file.

Without running the builder: the content hash, the theorem entry and its parameter domains,
the bound recomputed exactly from the TOML formula and the stored target, the verdict recomputed
from the stored rigorous bounds, and every architecture claim recomputed from its formula.
With ``rebuild=True`` the network is rebuilt, its digest compared, and every witness
re-evaluated exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy
from flint import arb

from certify.certificate import content_hash, read_certificate
from certify.error import bound_value, compare, _witness_errors
from certify.errors import UserError
from certify.registry import default_registry
from constructive.numbers import as_fmpq, precision


@dataclass
class CheckResult:
    ok: bool
    problems: list = field(default_factory=list)
    checks: list = field(default_factory=list)


def _number(text: str):
    """An exact rational, or an arb ball parsed from arb's own text form."""
    try:
        return as_fmpq(text)
    except (ValueError, TypeError, ZeroDivisionError):
        return arb(text)


def check_certificate(path: str, rebuild: bool = False) -> CheckResult:
    from certify.targets import Target

    cert = read_certificate(path)
    res = CheckResult(True)

    def fail(msg: str) -> None:
        res.ok = False
        res.problems.append(msg)

    if cert.get("hash") != content_hash(cert):
        fail("content hash does not match: the file was modified after it was written")
    res.checks.append("content hash")
    thm = default_registry().get(cert.get("theorem", ""))
    params = thm.parse_params(cert.get("params", {}))
    res.checks.append("theorem id and parameter domains")
    try:
        target = Target.from_dict(cert["target"])
    except (KeyError, ValueError, TypeError) as exc:
        raise UserError(f"certificate {path!r} has a malformed target: {exc}") from None
    bound = bound_value(thm, params, target)
    with precision(128):
        stored = cert["error"]["bound"]
        if sympy.sympify(bound).is_Rational:
            if as_fmpq(stored) != as_fmpq(str(bound)):
                fail(f"stated bound {stored} differs from the recomputed {bound}")
        else:
            from certify.error import to_arb

            if not arb(stored).overlaps(to_arb(bound)):
                fail(f"stated bound {stored} does not enclose the recomputed one")
    res.checks.append("bound recomputed from the TOML formula")
    lower, upper = _number(cert["error"]["lower"]), _number(cert["error"]["upper"])
    verdict = compare(upper, lower, bound)
    claims_ok = True
    for c in cert["architecture"]["claims"]:
        claimed = sympy.simplify(thm.substitute(c["formula"], params, target))
        ok = bool(c["measured"] <= claimed) if c["relation"] == "le" else bool(sympy.Eq(c["measured"], claimed))
        if ok != c["ok"]:
            fail(f"architecture claim {c['name']}: stored ok={c['ok']} but {c['measured']} "
                 f"{c['relation']} {claimed} is {ok}")
        claims_ok &= ok
    res.checks.append("architecture claims recomputed")
    if verdict == "HOLDS" and not claims_ok:
        verdict = "VIOLATED"
    stored_verdict = cert.get("verdict")
    if stored_verdict == "HOLDS" and verdict != "HOLDS":
        fail(f"verdict HOLDS does not follow from the stored bounds (recomputed: {verdict})")
    if stored_verdict == "VIOLATED" and verdict == "HOLDS":
        fail("verdict VIOLATED contradicts the stored upper bound")
    res.checks.append("verdict recomputed from the stored bounds")
    if rebuild:
        net = thm.builder()(params, target)
        if net.digest != cert["network"]["digest"]:
            fail("the rebuilt network has a different digest")
        pts = [[as_fmpq(v) for v in w["x"]] for w in cert.get("witnesses", []) if len(w["x"]) == target.dim]
        with precision(192):
            for x, err in _witness_errors(net, target, pts) if thm.method not in ("bit-extraction",) else []:
                if upper is not None and err.lower() > (upper if isinstance(upper, arb) else arb(upper)):
                    fail(f"witness {x} exceeds the certified upper bound")
        res.checks.append("network rebuilt and witnesses re-evaluated")
    return res
