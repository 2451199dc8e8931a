"""Certificates for the kernel-evidence tests: one cached run per instance, and a stored weight
moved (the hash recomputed, as a forger would)."""

from __future__ import annotations

import copy
import json
from functools import lru_cache

from flint import fmpq

from certify.certificate import content_hash, run_theorem


@lru_cache(maxsize=None)
def _json(tid: str, params: tuple = ()) -> str:
    return json.dumps(run_theorem(tid, dict(params)))


def cert(tid: str, **params: str) -> dict:
    """A fresh copy of the certificate of ``tid`` at ``params`` (the run is cached)."""
    return json.loads(_json(tid, tuple(sorted(params.items()))))


def moved(cert: dict, layer: int, key: str, amount: fmpq) -> dict:
    """The certificate with the first stored W (or b) entry of ``layer`` moved by ``amount``."""
    forged = copy.deepcopy(cert)
    entry = forged["network"]["layers"]["layers"][layer][key][0]
    entry[-1] = str(fmpq(*map(int, (entry[-1] + "/1").split("/")[:2])) + amount)
    forged["hash"] = content_hash(forged)
    return forged
