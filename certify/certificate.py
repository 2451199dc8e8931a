"""Certificates: plain JSON with exact rationals as strings.

``run_theorem`` is the whole pipeline — parse parameters against the TOML domains, make the
target, build, measure the architecture, bound the error with the entry's method, certify the
gadget specifications relied on, decide the verdict — and returns the certificate as a dict.
``write_certificate`` writes atomically (temporary file + rename), so an interrupted run never
leaves a half-written certificate.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from typing import Any, Optional

import sympy
from flint import arb, fmpq

from certify.analysis.boxes import bisect_widest
from certify.analysis.gadget_certs import certify_gadgets
from certify.evidence import stored_network
from certify.method import PREC, ErrorReport, bound_value, compare, to_arb
from certify.registry import Theorem, default_registry
from constructive import architecture as arch
from constructive.errors import UserError
from constructive.ir import Node
from constructive.jsonfile import read_json_file
from constructive.numbers import as_fmpq, precision
from constructive.targets import make_target, user_target

SCHEMA_VERSION = 1
# the stored limits keep a certificate below ~20 MB (certify.evidence); a larger file is refused
# before it is read
MAX_CERTIFICATE_BYTES = 128 * 2**20
TOOL_VERSION = "0.1.0"


def _text(v: Any) -> str:
    if isinstance(v, arb):
        return v.str(20, radius=True)
    return str(v)


def make_target_for(thm: Theorem, params: dict, spec: Optional[str], lipschitz: Optional[str] = None):

    dim_expr = thm.target.get("dim", "1")
    dim = int(thm.substitute(str(dim_expr), params)) if dim_expr else 1
    if spec is not None and not spec.strip():  # an unset shell variable, most likely
        raise UserError("the target is empty: give a known target's name or an expression in "
                        "x1, x2, … (leave the option out for the theorem's default)")
    spec = spec or thm.target.get("default", "abs")
    if lipschitz is not None or any(ch in spec for ch in "()+*-/^") and ":" not in spec:
        return user_target(spec, dim, lipschitz=lipschitz)
    return make_target(spec, dim)


def _check_target_range(thm: Theorem, target: Any) -> None:
    want = thm.target.get("range")
    if not want:
        return
    lo, hi = as_fmpq(want[0]), as_fmpq(want[1])
    # subdivide the cube until the enclosure is decided
    boxes = [[(fmpq(0), fmpq(1))] * target.dim]
    for _ in range(12):
        bad = []
        for box in boxes:
            a, b = target.enclose(box)
            if a >= lo and b <= hi:
                continue
            bad.append(box)
        if not bad:
            return
        boxes = [half for box in bad for half in bisect_widest(box)]
        if len(boxes) > 4096:
            break
    raise UserError(f"target {target.name!r} is not provably within [{want[0]}, {want[1]}] on "
                    f"[0,1]^{target.dim}, which {thm.id} requires (rescale it or pick another target)")


def measure_claims(thm: Theorem, params: dict, target: Any, net: Node,
                   builder: Any, measured: arch.Architecture) -> tuple[list, Optional[dict]]:
    claims = []
    intrinsic = None
    for name, spec in thm.claim.get("architecture", {}).items():
        relation, formula = next(iter(spec.items()))
        claimed = thm.substitute(str(formula), params, target)
        if name == "intrinsic":
            intrinsic = measure_intrinsic(thm, params, target, net, builder)
            value = intrinsic["counted"]
        elif name.startswith("gadget:") or "+" in name:
            value = 0
            for part in name.split("+"):
                gname, _, field = part.removeprefix("gadget:").partition(".")
                value += measured.gadgets.get(gname, {}).get(field or "params", 0)
        else:
            value = getattr(measured, name)
        claimed = sympy.simplify(claimed)
        ok = bool(value <= claimed) if relation == "le" else bool(sympy.Eq(value, claimed))
        claims.append({"name": name, "relation": relation, "formula": str(formula),
                       "claimed": str(claimed), "measured": value, "ok": ok})
    return claims, intrinsic


INTRINSIC_PROBES = ("sine:k=1", "affine", "abs:c=2/3", "square", "sine:k=3", "dist", "sine:k=2")


def _probes(target: Any) -> list:
    """Library targets (other shapes: other packed bits) and the target itself rescaled and
    shifted (other s and b, same bits), with moduli close enough to keep sizes equal."""

    def scaled(c: str) -> Any:
        lam = str(as_fmpq(c) * target.lam)
        holder = None if target.alpha == 1 else (lam, str(target.alpha))
        return lambda: user_target(f"{c}*({target.expr}) + 1/7", target.dim,
                                   lipschitz=lam if holder is None else None, holder=holder)

    return [scaled("9/8"), scaled("7/8")] + list(INTRINSIC_PROBES)


def measure_intrinsic(thm: Theorem, params: dict, target: Any, net: Node, builder: Any,
                      builds: int = 4) -> dict:
    """Build for further targets and count the parameter positions whose values differ.

    Several probes are used because two targets can agree by chance on a whole bit plane (then
    that a_ℓ would not show as differing), and targets with equal moduli share s = 2ω(√d); only
    builds with the same layer shapes compare.  Positions that differ are only a lower count
    (another target might move one more), so a claim is held to ``counted``: the positions the
    builder tags as depending on f, with any that differ untagged (then the tags are in doubt,
    and a HOLDS is not given).
    """

    views = [arch.layers(net)]
    shapes = [(l.rows, l.cols) for l in views[0]]
    others = []
    for spec in _probes(target):
        try:
            t = spec() if callable(spec) else make_target(spec, target.dim)
            if thm.target.get("range"):
                _check_target_range(thm, t)
        except UserError:
            continue
        if t.expr == target.expr:
            continue
        other = builder(params, t)
        view = arch.layers(other)
        if [(l.rows, l.cols) for l in view] != shapes:
            continue  # the size depends on the target's modulus: not comparable
        others.append(other)
        views.append(view)
        if len(others) == builds:
            break
    m = arch.measure_intrinsic([net] + others, views)
    return {"differing": m.differing, "tagged": m.tagged, "counted": m.counted,
            "builds": 1 + len(others), "tags_agree": m.agree}


def run_theorem(theorem_id: str, raw_params: dict[str, str], target_spec: Optional[str] = None,
                lipschitz: Optional[str] = None) -> dict:
    registry = default_registry()
    thm = registry.get(theorem_id)
    params = thm.parse_params(raw_params)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    target = make_target_for(thm, params, target_spec, lipschitz)
    _check_target_range(thm, target)
    builder = thm.builder()
    net = builder(params, target)
    timings["build"] = time.perf_counter() - t0
    cert = certify_network(thm, params, target, net, builder, timings, t0)
    cert["target_request"] = {"spec": target_spec or thm.target.get("default", "abs"),
                              "lipschitz": lipschitz}
    cert["hash"] = content_hash(cert)
    return cert


def certify_network(thm: Theorem, params: dict, target: Any, net: Node, builder: Any,
                    timings: Optional[dict] = None, t0: Optional[float] = None) -> dict:
    """Certify ``net`` as an instance of ``thm`` (the network as given: the mutation suite
    hands in broken ones); ``builder`` only serves the intrinsic-parameter probes."""
    timings = {} if timings is None else timings
    t0 = time.perf_counter() if t0 is None else t0
    t1 = time.perf_counter()
    method = thm.certification()
    # a method may supply its own measurement (e.g. a repeated block counted once)
    measured = method.measure(net)
    claims, intrinsic = measure_claims(thm, params, target, net, builder, measured)
    timings["architecture"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    report: ErrorReport = method.bound(thm, params, target, net)
    timings["error"] = time.perf_counter() - t2
    gadget_certs = certify_gadgets(net, report.gadgets_used)
    bound = bound_value(thm, params, target)
    check_consistent(thm.id, report.lower, report.upper)
    verdict, reasons = decide(report, bound, claims, gadget_certs, target,
                              strict=bool(thm.claim.get("strict", False)))
    if intrinsic is not None and not intrinsic["tags_agree"]:
        # the count rests on the tags (a lower count from builds alone proves no upper bound):
        # a position that depends on f untagged leaves the tags, and so the count, in doubt
        reasons.append("parameters differ between builds outside the builder's intrinsic tags")
        verdict = "INCONCLUSIVE" if verdict == "HOLDS" else verdict
    with precision(128):
        ratio = None
        b = to_arb(bound)
        if b > 0:
            ratio = _text(arb(report.upper) / b if not isinstance(report.upper, arb) else report.upper / b)
        bound_text = str(bound) if sympy.sympify(bound).is_Rational else _text(b)
    timings["total"] = time.perf_counter() - t0
    cert = {
        "schema": SCHEMA_VERSION,
        "tool_version": TOOL_VERSION,
        "theorem": thm.id,
        "source": {"paper": thm.paper, "citation": thm.citation, "version": thm.version,
                   "number": thm.number, "page": thm.page, "file": thm.source_file},
        "params": {k: str(v) for k, v in params.items()},
        "target": target.to_dict(),
        "network": network_record(net, thm.construction, layered=method.measures_layers),
        "architecture": {"measured": measured.to_dict(), "claims": claims, "intrinsic": intrinsic},
        "error": {"norm": thm.claim.get("norm"), "region": thm.claim.get("region"),
                  "lower": _text(report.lower), "upper": _text(report.upper),
                  "bound_formula": thm.claim.get("bound"), "bound": bound_text, "ratio": ratio,
                  **({"strict": True} if thm.claim.get("strict") else {})},
        "verdict": verdict,
        "reasons": reasons,
        "witnesses": report.witnesses,
        "gadgets": gadget_certs,
        "evidence": report.evidence,
        "details": _plain(report.details),
        "notes": thm.notes,
        "timings": {k: round(v, 4) for k, v in timings.items()},
        "target_request": None,
    }
    cert["hash"] = content_hash(cert)
    return cert


class ContradictionError(Exception):
    """The certifier's own rigorous bounds contradict each other: a bug, never a verdict."""


def check_consistent(theorem_id: str, lower: Any, upper: Any) -> None:
    """lower ≤ upper, rigorously; otherwise a loud internal error (never a HOLDS)."""
    with precision(PREC):
        lo = lower if isinstance(lower, arb) else arb(lower)
        up = upper if isinstance(upper, arb) else arb(upper)
        if lo > up:
            raise ContradictionError(
                f"{theorem_id}: the certified lower bound {_text(lower)} exceeds the certified "
                f"upper bound {_text(upper)}; one of the analyses is unsound for this network")


def decide(report: ErrorReport, bound: Any, claims: list, gadget_certs: list,
           target: Any, strict: bool = False) -> tuple[str, list]:
    """The verdict and its reasons from the rigorous bounds, the claims and what was relied on;
    ``strict``: the claim is "error < bound" (see :func:`certify.method.compare`)."""
    verdict = compare(report.upper, report.lower, bound, strict)
    reasons: list[str] = []
    if verdict == "VIOLATED" and report.hypothesis_ok is False:
        verdict = "INCONCLUSIVE"
        reasons.append("the instance is outside the theorem's hypothesis ("
                       f"{report.details.get('hypothesis', 'refuted')}), so the theorem claims "
                       "nothing here")
    assumed = target is not None and str(target.certified).startswith("assumption")
    if verdict == "VIOLATED" and assumed:
        verdict = "INCONCLUSIVE"
        reasons.append("the bound uses the target's declared modulus, which is not verified "
                       f"({target.certified}); exceeding it shows nothing about the theorem")
    if not all(c["ok"] for c in claims):
        verdict = "VIOLATED"
        reasons.append("a measured architecture count exceeds its claim")
    elif verdict == "HOLDS" and report.range_ok is False:
        verdict = "INCONCLUSIVE"
        reasons.append("the claimed output range could not be shown")
    if verdict == "HOLDS" and not all(g["holds"] for g in gadget_certs):
        verdict = "INCONCLUSIVE"
        reasons.append("a gadget specification relied on could not be certified")
    if verdict == "HOLDS" and assumed:
        verdict = "CONDITIONAL"
        reasons.append(f"the bound is met, but it rests on an unverified assumption: "
                       f"{target.certified}")
    if verdict == "INCONCLUSIVE" and not reasons:
        reasons.append("the rigorous upper bound exceeds the claim but no witness does")
    return verdict, reasons


def network_record(net: Node, construction: str, layered: bool = True) -> dict:
    """The digest, the plain layered network for the kernel where it can follow it, and whether
    the measured architecture is that network's (or a method's own count, e.g. a repeated
    block counted once)."""
    layers, why = stored_network(net, structured=not layered)
    record = {"digest": net.digest, "construction": construction, "layers": layers,
              "measure": "layered" if layered else "method"}
    if layers is None:
        record["why_not_stored"] = why
    return record


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (int, float, str, bool)) or obj is None:
        return obj
    return str(obj)


# every top-level field of a certificate; check refuses a file with others or fewer
FIELDS = frozenset({"schema", "tool_version", "theorem", "source", "params", "target", "network",
                    "architecture", "error", "verdict", "reasons", "witnesses", "gadgets",
                    "evidence", "details", "notes", "timings", "target_request", "hash"})


def content_hash(cert: dict) -> str:
    body = {k: v for k, v in cert.items() if k not in ("hash", "timings")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def write_certificate(cert: dict, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".cert-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(cert, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_certificate(path: str) -> dict:
    cert = read_json_file(path, "certificate", MAX_CERTIFICATE_BYTES)
    if not isinstance(cert, dict) or cert.get("schema") != SCHEMA_VERSION:
        raise UserError(f"certificate {path!r} has no schema {SCHEMA_VERSION} header")
    return cert
