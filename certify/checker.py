"""``certify check``: re-verify a certificate file.

The file is untrusted data.  It is parsed as JSON, its fields checked against the schema, and
handed to the kernel (``certify.kernel``), which re-derives the bounds from the evidence and the
statement from the installed claims.  Around the kernel, two checks that need the analysis code:
the target record is re-derived from the request that made it (so its modulus λ is the one the
target library or the gradient check gives, not an edited one), and with ``rebuild=True`` the
builder runs again and its network must be the stored one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from certify.certificate import FIELDS, SCHEMA_VERSION, content_hash, make_target_for, \
    network_record, read_certificate
from certify.errors import UserError
from certify.kernel import KernelReport, check_certificate_data
from certify.registry import default_registry


@dataclass
class CheckResult:
    ok: bool
    verdict: Optional[str] = None
    problems: list = field(default_factory=list)
    checks: list = field(default_factory=list)    # what was re-derived
    trusted: list = field(default_factory=list)   # what still had to be trusted


def check_certificate(path: str, rebuild: bool = False) -> CheckResult:
    cert = read_certificate(path)
    return check_data(cert, rebuild=rebuild, where=path)


def check_data(cert: Any, rebuild: bool = False, where: str = "certificate") -> CheckResult:
    res = CheckResult(True)
    if not isinstance(cert, dict) or set(cert) != FIELDS:
        got = sorted(cert) if isinstance(cert, dict) else type(cert).__name__
        raise UserError(f"{where} does not have the certificate fields: unknown "
                        f"{sorted(set(got) - FIELDS)}, missing {sorted(FIELDS - set(got))}")
    if cert.get("schema") != SCHEMA_VERSION:
        raise UserError(f"{where} has schema {cert.get('schema')!r}; this tool reads {SCHEMA_VERSION}")
    if cert.get("hash") != content_hash(cert):
        res.problems.append("content hash does not match: the file was modified after it was written")
    res.checks.append("content hash (integrity only: anyone can recompute it)")
    kernel: KernelReport = check_certificate_data(cert)
    res.verdict = kernel.verdict
    res.problems += [f"kernel: {p}" for p in kernel.problems]
    res.checks += [f"kernel: {c}" for c in kernel.rederived]
    res.trusted += kernel.trusted
    if kernel.ok:
        _target_and_rebuild(cert, rebuild, res)
    res.ok = not res.problems
    return res


def _target_and_rebuild(cert: dict, rebuild: bool, res: CheckResult) -> None:
    thm = default_registry().get(cert["theorem"])
    params = thm.parse_params(cert["params"])
    request = cert.get("target_request")
    if not isinstance(request, dict) or set(request) != {"spec", "lipschitz"} or \
            not isinstance(request["spec"], str) or not isinstance(request["lipschitz"], (str, type(None))):
        res.problems.append("the target request is missing or malformed")
        return
    target = make_target_for(thm, params, request["spec"], request["lipschitz"])
    if target.to_dict() != cert["target"]:
        res.problems.append("the target record differs from the target re-derived from its request "
                            f"({request['spec']!r}): expression, modulus or its certification edited")
        return
    res.checks.append("target record re-derived from its request (modulus checked by the target library)")
    res.trusted[:] = [t for t in res.trusted if "re-derived by check outside the kernel" not in t]
    if not rebuild:
        return
    net = thm.builder()(params, target)
    record = network_record(net, thm.construction)
    if record["digest"] != cert["network"].get("digest"):
        res.problems.append("the rebuilt network has a different digest")
    if record["layers"] != cert["network"].get("layers"):
        res.problems.append("the rebuilt network differs from the stored one")
    res.checks.append("network rebuilt: digest and stored layers equal")
    if record["layers"] is None:
        _witnesses_on(net, target, cert, res)


def _witnesses_on(net: Any, target: Any, cert: dict, res: CheckResult) -> None:
    """Without a stored network the kernel could not re-evaluate the witnesses: do it on the
    rebuilt one, exactly, against the stored upper bound."""
    from flint import arb

    from certify.error import PREC, _witness_errors
    from certify.kernel.check import _number
    from certify.kernel.errors import KernelError
    from constructive.numbers import as_fmpq, precision

    points = []
    for w in cert.get("witnesses") or []:
        x = w.get("x") if isinstance(w, dict) else None
        if not isinstance(x, list) or len(x) != target.dim:
            res.problems.append(f"witness {w!r} is not a point of dimension {target.dim}")
            return
        try:
            points.append([as_fmpq(v) for v in x])
        except (TypeError, ValueError, ZeroDivisionError):
            res.problems.append(f"witness {w!r} has a coordinate that is not a rational")
            return
    if cert["error"]["norm"] != "Linf" or not points:
        return
    try:
        upper = _number(cert["error"]["upper"], "error.upper")
    except KernelError as exc:
        res.problems.append(str(exc))
        return
    with precision(PREC):
        for x, err in _witness_errors(net, target, points):
            if err.lower() > arb(upper):
                res.problems.append(f"witness {[str(v) for v in x]} exceeds the stored upper bound")
    res.checks.append("witnesses re-evaluated exactly on the rebuilt network")
