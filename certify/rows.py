"""One instance of a sweep as a plain-data table row: the unit of work of every scheduler (a
process pool, Dask workers), which import it by name, so it lives apart from the Python API."""

from __future__ import annotations

from certify import certificate
from certify.method import AnalysisFailed
from certify.registry import default_registry
from constructive.tuning import TuningError


def sweep_row(job: dict) -> dict:
    """One instance of a sweep as a table row (module level: a process pool can pickle it)."""
    try:
        # looked up at call time, so a run patched or replaced on the module is the one used
        cert = certificate.run_theorem(job["theorem"], job["params"], job.get("target"))
    except (AnalysisFailed, TuningError) as exc:  # an instance the analysis cannot handle: a row
        return {"theorem": job["theorem"], "params": job["params"], "verdict": "INCONCLUSIVE",
                "extra": {}, "error_lower": None, "error_upper": None, "bound": None, "ratio": None,
                "architecture": {}, "seconds": None, "reason": f"the analysis cannot proceed: {exc}"}
    columns = default_registry().get(job["theorem"]).analysis.get("columns", [])
    return {"theorem": cert["theorem"], "params": job["params"], "verdict": cert["verdict"],
            "extra": {k: cert["details"].get(k) for k in columns},
            "error_lower": cert["error"]["lower"], "error_upper": cert["error"]["upper"],
            "bound": cert["error"]["bound"], "ratio": cert["error"]["ratio"],
            "architecture": cert["architecture"], "seconds": cert["timings"]["total"]}
