"""Sweeps on a process pool or on Dask distributed, with results cached by content.

``certify table`` hands its jobs (plain data: theorem id, parameter strings, target spec) to
:func:`run_jobs`, which runs them serially, on a local process pool (``--workers``), or on a
Dask cluster (``--scheduler local`` starts a :class:`distributed.LocalCluster`; ``tcp://HOST:PORT``
joins a running scheduler).  Jobs and rows cross process and machine boundaries as JSON data:
every python-flint number is a string there (:func:`run_job` refuses a row holding anything else).

A finished row is stored under :func:`content_key`: the SHA-256 of the theorem's TOML entry, the
instance's parameters with defaults filled in, the target, the tool's version and a digest of the
code that certifies it.  A repeated or interrupted sweep therefore reuses every row whose
statement and code are unchanged, and never one certified by other code or another statement.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import logging
import os
import re
import tomllib
from contextlib import contextmanager
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Optional

from certify import rows as sweep_rows
from certify import sweep
from certify.registry import Theorem, default_registry, proofs_directory
from constructive.errors import UserError

__all__ = ["content_key", "run_job", "run_jobs", "open_scheduler", "default_cache_dir",
           "SCHEDULER_FORMS"]

SCHEDULER_FORMS = "'local' (a LocalCluster on this machine) or tcp://HOST:PORT (a running scheduler)"
_ADDRESS_RE = re.compile(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})\Z")
CONNECT_TIMEOUT_S = 10  # a scheduler that does not answer in this time is reported as unreachable
ROOT = Path(__file__).resolve().parent.parent


def default_cache_dir() -> str:
    """Where ``--scheduler`` keeps finished rows unless ``--cache-dir``/``--cache`` says otherwise:
    ``$CERTIFY_CACHE_DIR``, else the user's cache directory (never the working directory)."""
    if os.environ.get("CERTIFY_CACHE_DIR"):
        return os.environ["CERTIFY_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nn-certify", "sweeps")


# --------------------------------------------------------------------------------------------
# content keys


def _tree_digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(str(path.relative_to(directory)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


@lru_cache(maxsize=None)
def code_digest(package: str) -> str:
    """A digest of the verifier, the network calculus and the paper package ``package``: a row
    certified by other code is not reused."""
    parts = [_tree_digest(ROOT / "certify"), _tree_digest(ROOT / "constructive")]
    if package:
        parts.append(_tree_digest(Path(proofs_directory()) / package))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


@lru_cache(maxsize=None)
def _entries(source_file: str) -> dict[str, str]:
    data = tomllib.loads((Path(proofs_directory()) / source_file).read_text(encoding="utf-8"))
    return {raw.get("id"): json.dumps(raw, sort_keys=True, default=str)
            for raw in data.get("theorem", [])}


def entry_digest(thm: Theorem) -> str:
    """SHA-256 of the theorem's TOML entry as written (any edit to the statement changes it)."""
    text = _entries(thm.source_file).get(thm.id)
    if text is None:  # the file changed under us: nothing may be reused
        raise UserError(f"{thm.id} is no longer in {thm.source_file}; reload and run again")
    return hashlib.sha256(text.encode()).hexdigest()


def _package_version() -> str:
    try:
        return metadata.version("nn-certify")
    except metadata.PackageNotFoundError:
        return "not installed"


def content_key(job: dict) -> str:
    """The cache key of a sweep job ``{"theorem", "params", "target"}``: equal exactly when the
    statement, the instance (defaults filled in), the target request, the versions and the code
    are equal."""
    from certify.certificate import TOOL_VERSION

    thm = default_registry().get(job["theorem"])
    params = {k: str(v) for k, v in thm.parse_params(dict(job["params"])).items()}
    material = {"theorem": thm.id, "entry": entry_digest(thm), "params": params,
                "target": job.get("target") or thm.target.get("default", "abs"),
                "tool": TOOL_VERSION, "package": _package_version(),
                "code": code_digest(thm.package)}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# one job, on whichever process or machine


def _private_hypothesis_storage() -> None:
    """The falsifier's hypothesis search must not write ./.hypothesis in a worker's directory."""
    if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
        import tempfile

        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = tempfile.mkdtemp(prefix="certify-hypothesis-")


def _plain(value: Any, where: str) -> None:
    if value is None or isinstance(value, (str, bool, int, float)):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: key {k!r} is not a string")
            _plain(v, f"{where}.{k}")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _plain(v, f"{where}[{i}]")
        return
    raise TypeError(f"{where} is a {type(value).__name__}, not plain data (exact numbers travel "
                    "as strings)")


def run_job(job: dict) -> dict:
    """One sweep row (module level, so pool and Dask workers import it by name)."""
    _private_hypothesis_storage()
    row = sweep_rows.sweep_row(job)
    _plain(row, "row")
    return row


# --------------------------------------------------------------------------------------------
# schedulers


def check_scheduler(spec: str) -> None:
    if spec != "local" and not _ADDRESS_RE.match(spec):
        raise UserError(f"--scheduler {spec!r} is not allowed; use {SCHEDULER_FORMS}")
    m = _ADDRESS_RE.match(spec)
    if m and not 0 < int(m.group(3)) < 65536:
        raise UserError(f"--scheduler {spec!r}: port {m.group(3)} is outside 1..65535")


@contextmanager
def open_scheduler(spec: str, workers: int) -> Iterator[cf.Executor]:
    """A ``concurrent.futures`` executor on Dask: a LocalCluster of ``workers`` single-threaded
    processes for ``"local"``, else the scheduler at the address.  An unreachable address is a
    :class:`UserError` (one line), raised before any work."""
    check_scheduler(spec)
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if spec == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            try:
                client = Client(spec, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise UserError(f"--scheduler {spec!r}: no Dask scheduler answers there "
                                f"({why[:160]})") from None
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


@contextmanager
def _executor(workers: int, scheduler: Optional[str]) -> Iterator[Optional[cf.Executor]]:
    if scheduler is not None:
        with open_scheduler(scheduler, workers) as ex:
            yield ex
    elif workers > 1:
        pool = cf.ProcessPoolExecutor(workers)
        try:
            yield pool
        finally:
            pool.shutdown(cancel_futures=True)
    else:
        yield None


def run_jobs(jobs: list[dict], workers: int = 1, scheduler: Optional[str] = None,
             cache_file: Optional[str] = None, cache_dir: Optional[str] = None,
             progress: bool = True, report: Any = None) -> tuple[list[dict], dict]:
    """The rows of ``jobs`` in order, and ``{"reused", "computed", "total"}``.

    ``scheduler``: None (serial, or a process pool of ``workers``), ``"local"`` (a LocalCluster
    of ``workers`` processes, 2 when ``workers`` is 1) or ``tcp://HOST:PORT``.  Cache: the JSON-lines
    file ``cache_file`` or the directory ``cache_dir``; with a scheduler and neither,
    :func:`default_cache_dir`.  ``report(text)`` receives the one-line reuse summary.
    """
    if cache_file and cache_dir:
        raise UserError("give --cache FILE.jsonl or --cache-dir DIR, not both")
    if not isinstance(workers, int) or workers < 1:
        raise UserError(f"workers={workers!r} is not allowed; use a positive number of processes")
    if scheduler is not None:
        check_scheduler(scheduler)
        if scheduler != "local" and workers != 1:
            raise UserError("--workers sizes the process pool or --scheduler local; a running "
                            "cluster at an address has its own workers")
        if scheduler == "local" and workers == 1:
            workers = 2
        if not cache_file and not cache_dir:
            cache_dir = default_cache_dir()
    cache: Any = None
    if cache_file:
        cache = sweep.JsonLinesCache(cache_file)
    elif cache_dir:
        cache = sweep.DirectoryCache(cache_dir)
    stats: dict = {}
    if scheduler in (None, "local") and cache is not None \
            and len(cache.lookup([content_key(j) for j in jobs])) == len(jobs):
        scheduler, workers = None, 1  # every row is cached: no local cluster or pool to start
    with _executor(workers, scheduler) as ex:
        try:
            rows = sweep.run_sweep(run_job, jobs, executor=ex, cache=cache, progress=progress,
                                   key=content_key, stats=stats)
        finally:
            if stats and cache is not None and report is not None:
                where = cache_file or cache_dir
                report(f"reused {stats['reused']}/{stats['total']} rows"
                       + (f" from {where}" if where else ""))
    return rows, stats
