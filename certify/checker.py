"""``certify check``: re-verify a certificate file.

The file is untrusted data.  It is parsed as JSON, its fields checked against the schema, and
handed to the kernel (``certify.kernel``), which re-derives the bounds from the evidence and the
statement from the installed claims.  Around the kernel, two checks that need the analysis code:
the target record is re-derived from the request that made it (so its modulus λ is the one the
target library or the gradient check gives, not an edited one), and with ``rebuild=True`` the
instance is built and certified again and must come out equal, field for field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional

from certify.certificate import (FIELDS, SCHEMA_VERSION, content_hash, make_target_for, read_certificate,
                                 run_theorem)
from certify.kernel import KernelReport, check_certificate_data
from certify.registry import default_registry
from constructive.errors import UserError


@dataclass
class CheckResult:
    ok: bool
    verdict: Optional[str] = None
    sharper: Optional[str] = None  # what the kernel's bounds show beyond the stored verdict
    bound_trusted: bool = False  # the verdict rests on a bound re-derived neither by the kernel nor a rebuild
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
    res.verdict, res.sharper, res.bound_trusted = kernel.verdict, kernel.sharper, kernel.bound_trusted
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
    if rebuild:
        _rerun(cert, request, res)


@lru_cache(maxsize=8)
def _fresh(theorem: str, params: str, spec: str, lipschitz: Optional[str]) -> str:

    return json.dumps(run_theorem(theorem, json.loads(params), spec, lipschitz))


def _rerun(cert: dict, request: dict, res: CheckResult) -> None:
    """Build and certify the instance again: every field but the timings must come out equal
    (the certifier is deterministic: seeded searches, exact arithmetic)."""
    fresh = json.loads(_fresh(cert["theorem"], json.dumps(cert["params"], sort_keys=True),
                              request["spec"], request["lipschitz"]))
    differ = sorted(k for k in FIELDS - {"timings", "hash"} if fresh.get(k) != cert.get(k))
    if differ:
        res.problems.append(f"rebuilt and re-certified, the fields {differ} come out different "
                            "(a certificate made with --network cannot be rebuilt)")
        return
    res.checks.append("network rebuilt and the instance re-certified: every field equal "
                      "(what the kernel trusted is thereby re-derived by the certifier)")
    res.bound_trusted = False
