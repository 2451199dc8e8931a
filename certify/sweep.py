"""Parameter sweeps over any :class:`concurrent.futures.Executor`, resumable and interruptible.

* :func:`parse_sweep` reads one command-line sweep spec (``"n=1..8"``, ``"r=4..4096:x2"``, ...).
* :func:`expand` takes the cartesian product of sweeps over a base parameter dict.
* :func:`run_sweep` runs a task per instance, serially or on an executor (a process pool, Dask's
  ``client.get_executor()``, Ray's executor ...), with a rich progress bar, results in input
  order, a cache for resuming (an append-only JSON-lines file, :class:`JsonLinesCache`, or a
  directory of one atomically written file per result, :class:`DirectoryCache`), and a clean
  Ctrl-C (:class:`SweepInterrupted` carries the finished rows).

Tasks and results are plain data (they may cross process or machine boundaries and are written
as JSON).  No theorem-specific logic lives here: the caller supplies the task and, if it wants
the key to include the theorem id and its version, the ``key`` function.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import itertools
import json
import os
import re
import tempfile
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from constructive.errors import UserError

__all__ = ["parse_sweep", "expand", "run_sweep", "default_key", "read_cache", "JsonLinesCache",
           "DirectoryCache", "SweepInterrupted", "MAX_SWEEP_VALUES"]

#: A single sweep spec may not expand to more values than this (catches typos like 1..10**9).
MAX_SWEEP_VALUES = 100_000

_FORMS = ("accepted forms: NAME=A..B (inclusive integer range), NAME=A..B:+S (step S), "
          "NAME=A..B:xK (geometric, factor K), NAME=V1,V2,... (integers, rationals like 1/10, "
          "decimals, inf)")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INT_RE = re.compile(r"[-+]?\d+\Z")
_RANGE_RE = re.compile(r"([-+]?\d+)\.\.([-+]?\d+)(?::([x+])(\d+))?\Z")
_MAX_TOKEN = 100  # characters of one value: a longer literal (1e100000000) is a typo
_EXPONENT_RE = re.compile(r"[eE]([-+]?\d+)")


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_sweep`.

    ``rows`` holds the finished result rows (from the cache and from this run) in input order;
    ``params`` the matching instances.  Every one of them is already in the cache file.
    """

    def __init__(self, rows: list[dict], params: list[dict] | None = None):
        super().__init__(f"sweep interrupted with {len(rows)} finished row(s)")
        self.rows = rows
        self.params = params if params is not None else []


# --------------------------------------------------------------------------------------------
# specs


def _bad(spec: str, why: str) -> UserError:
    return UserError(f"malformed sweep {spec!r}: {why}; {_FORMS}")


def _value(token: str, spec: str) -> int | str:
    t = token.strip()
    if not t:
        raise _bad(spec, "empty value")
    exp = _EXPONENT_RE.search(t)
    if len(t) > _MAX_TOKEN or (exp and abs(int(exp.group(1))) > _MAX_TOKEN):
        raise _bad(spec, f"{t[:40]!r} is too long (over {_MAX_TOKEN} characters or exponent)")
    if _INT_RE.match(t):
        return int(t)
    if t.lower() in ("inf", "+inf", "infinity", "oo"):
        return "inf"
    try:
        q = Fraction(t)
    except (ValueError, ZeroDivisionError):
        raise _bad(spec, f"{t!r} is not an integer, rational or decimal") from None
    return q.numerator if q.denominator == 1 else str(q)


def parse_sweep(spec: str) -> tuple[str, list]:
    """Parse ``NAME=VALUES`` into ``(name, values)``.

    Forms: ``n=1..8`` (inclusive integer range), ``n=1..9:+2`` (integer step), ``r=4..4096:x2``
    (geometric: A, A*K, A*K^2, ... up to B inclusive; A >= 1, K >= 2), ``n=1,2,5`` and
    ``eps=1/10,1/50`` (lists).  Values are ints, or normalised ``Fraction`` strings (``"1/10"``;
    decimals become rationals, ``0.5`` -> ``"1/2"``; a rational with denominator 1 becomes an
    int), or ``"inf"``.  Duplicates are dropped (first kept).  Anything else raises
    :class:`UserError` naming the spec and the accepted forms.
    """
    if not isinstance(spec, str) or "=" not in spec:
        raise _bad(str(spec), "expected NAME=VALUES")
    name, _, body = spec.partition("=")
    name, body = name.strip(), body.strip().replace(" ", "")
    if not _NAME_RE.match(name):
        raise _bad(spec, f"{name!r} is not a parameter name")
    if not body:
        raise _bad(spec, "no values")
    values: list
    if ".." in body:
        m = _RANGE_RE.match(body)
        if not m or len(body) > 2 * _MAX_TOKEN:
            raise _bad(spec, "a range needs integer ends")
        a, b = int(m.group(1)), int(m.group(2))
        kind, k = m.group(3), int(m.group(4)) if m.group(4) else 1
        if a > b:
            raise _bad(spec, f"range start {a} exceeds end {b}")
        if kind == "x":
            if k < 2 or a < 1:
                raise _bad(spec, "a geometric range needs start >= 1 and factor >= 2")
            values, v = [], a
            while v <= b:
                values.append(v)
                v *= k
        else:
            if k < 1:
                raise _bad(spec, "the step must be >= 1")
            if (b - a) // k + 1 > MAX_SWEEP_VALUES:
                raise _bad(spec, f"more than {MAX_SWEEP_VALUES} values")
            values = list(range(a, b + 1, k))
    elif "," in body and all(_NAME_RE.match(t) and t.lower() not in ("inf", "infinity", "oo")
                             for t in body.split(",")):
        values = body.split(",")  # a comma list of names (e.g. activations)
    else:
        values = [_value(t, spec) for t in body.split(",")]
    if len(values) > MAX_SWEEP_VALUES:
        raise _bad(spec, f"more than {MAX_SWEEP_VALUES} values")
    seen: set = set()
    unique = []
    for v in values:
        if v not in seen:
            seen.add(v)
            unique.append(v)
    return name, unique


def expand(base: dict, sweeps: list[tuple[str, list]]) -> list[dict]:
    """The cartesian product of the sweeps over ``base`` (the last sweep varies fastest).

    A swept name overrides the same key of ``base``.  A name swept twice, or a sweep with no
    values, raises :class:`UserError`.  With no sweeps the result is ``[dict(base)]``.
    """
    names = [n for n, _ in sweeps]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise UserError(f"parameter swept more than once: {', '.join(sorted(dup))}")
    for n, vals in sweeps:
        if not vals:
            raise UserError(f"sweep of {n!r} has no values")
    total = 1
    for _, vals in sweeps:
        total *= len(vals)
    if total > MAX_SWEEP_VALUES:  # checked before the product is built
        raise UserError(f"the sweeps make {total} instances; at most {MAX_SWEEP_VALUES} are allowed")
    out = []
    for combo in itertools.product(*(vals for _, vals in sweeps)):
        inst = dict(base)
        inst.update(zip(names, combo))
        out.append(inst)
    return out


# --------------------------------------------------------------------------------------------
# cache


def default_key(params: dict) -> str:
    """The default cache key: ``json.dumps(params, sort_keys=True)`` (non-JSON values via str)."""
    return json.dumps(params, sort_keys=True, default=str)


def read_cache(path: str) -> dict[str, dict]:
    """``{key: row}`` from a JSON-lines cache (later lines win).

    A trailing line without its newline (a write cut short) is ignored, and so is any line that
    is not a ``{"key": ..., "row": ...}`` object.  A missing file is an empty cache.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise UserError(f"cannot read sweep cache {path!r}: {e.strerror}") from None
    out: dict[str, dict] = {}
    lines = data.split(b"\n")
    for raw in lines[:-1]:  # the last piece is empty or a partial line
        try:
            rec = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue
        if isinstance(rec, dict) and isinstance(rec.get("key"), str) and "row" in rec:
            out[rec["key"]] = rec["row"]
    return out


class _CacheWriter:
    """Append-only JSON lines; one ``os.write`` per line (looped only on a short write)."""

    def __init__(self, path: str):
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as e:
            raise UserError(f"cannot open sweep cache {path!r}: {e.strerror}") from None
        # drop a partial trailing line left by an earlier crash, so appends start on a new line
        size = os.fstat(self.fd).st_size
        if size:
            tail_len = min(size, 1 << 16)
            pos = size
            while pos > 0:
                start = max(0, pos - tail_len)
                chunk = os.pread(self.fd, pos - start, start)
                nl = chunk.rfind(b"\n")
                if nl >= 0:
                    cut = start + nl + 1
                    break
                pos = start
            else:
                cut = 0
            if cut != size:
                os.ftruncate(self.fd, cut)

    def write(self, key: str, row: Any) -> None:
        try:
            line = json.dumps({"key": key, "row": row}, separators=(",", ":")) + "\n"
        except (TypeError, ValueError) as e:
            raise TypeError(f"sweep result for {key} is not plain JSON data: {e}") from None
        data = line.encode("utf-8")
        while data:
            n = os.write(self.fd, data)
            data = data[n:]

    def close(self) -> None:
        os.close(self.fd)


class JsonLinesCache:
    """A resume file: one ``{"key": ..., "row": ...}`` JSON line per finished instance."""

    def __init__(self, path: str):
        self.path = path
        self._writer: _CacheWriter | None = None

    def lookup(self, keys: list[str]) -> dict[str, Any]:
        cached = read_cache(self.path)
        return {k: cached[k] for k in keys if k in cached}

    def store(self, key: str, row: Any) -> None:
        if self._writer is None:
            self._writer = _CacheWriter(self.path)
        self._writer.write(key, row)

    def open(self) -> None:
        """Open (and repair) the file before any work, so a bad path fails first."""
        if self._writer is None:
            self._writer = _CacheWriter(self.path)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class DirectoryCache:
    """One JSON file per result under ``root`` (named by the SHA-256 of its key), each written
    whole (temporary file + rename), so concurrent or interrupted sweeps never see half a row
    and any number of sweeps can share the directory."""

    def __init__(self, root: str):
        self.root = root

    def _path(self, key: str) -> str:
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return os.path.join(self.root, name[:2], name + ".json")

    def open(self) -> None:
        try:
            os.makedirs(self.root, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create the sweep cache directory {self.root!r}: "
                            f"{e.strerror}") from None
        if not os.access(self.root, os.W_OK):
            raise UserError(f"the sweep cache directory {self.root!r} is not writable")

    def lookup(self, keys: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in keys:
            try:
                with open(self._path(k), "rb") as fh:
                    rec = json.loads(fh.read())
            except (OSError, ValueError, UnicodeDecodeError, RecursionError):
                continue  # absent or unreadable: computed again
            # the stored key is compared too: a hash collision or a stray file is no hit
            if isinstance(rec, dict) and rec.get("key") == k and "row" in rec:
                out[k] = rec["row"]
        return out

    def store(self, key: str, row: Any) -> None:
        try:
            data = json.dumps({"key": key, "row": row}, separators=(",", ":"))
        except (TypeError, ValueError) as e:
            raise TypeError(f"sweep result for {key} is not plain JSON data: {e}") from None
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".row-", suffix=".json", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------------------------
# running


def _describe(params: dict) -> str:
    text = " ".join(f"{k}={v}" for k, v in params.items())
    return text if len(text) <= 60 else text[:57] + "..."


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, *a, **k):
        return 0

    def update(self, *a, **k):
        pass


def _progress(enabled: bool):
    if not enabled:
        return _NoProgress()
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    return Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"),
                    BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=False)


def run_sweep(task: Callable[[dict], dict], instances: list[dict],
              executor: cf.Executor | None = None, cache_path: str | None = None,
              progress: bool = True, key: Callable[[dict], str] | None = None,
              cache: JsonLinesCache | DirectoryCache | None = None,
              stats: dict | None = None) -> list[dict]:
    """Run ``task(params)`` for every instance; return the result rows in input order.

    * ``executor``: ``None`` runs serially in this process; any :class:`concurrent.futures.
      Executor` (thread or process pool, Dask ``client.get_executor()``, Ray ...) runs the
      pending instances concurrently.  The task must then be picklable (a module-level
      function) and take and return plain data.
    * ``cache_path``: results are appended as JSON lines ``{"key": ..., "row": ...}`` as each
      finishes (one write per line); instances whose key is already there are not recomputed.
      ``cache`` instead takes a cache object (:class:`JsonLinesCache`, :class:`DirectoryCache`).
    * ``stats``: if given, filled with ``reused`` (distinct instances found in the cache),
      ``computed`` and ``total`` (distinct instances).
    * ``key``: the cache key of an instance (default :func:`default_key`, the sorted JSON of the
      params; pass one including the theorem id and version to share a cache between theorems).
      Instances with equal keys are computed once.
    * ``progress``: a rich progress bar on stderr showing the current instance.

    Ctrl-C (``KeyboardInterrupt``, in the task or while waiting) cancels the pending futures and
    raises :class:`SweepInterrupted` with the finished rows, all of them already in the cache.
    An exception raised by a task cancels the pending futures and propagates unchanged.
    """
    instances = list(instances)
    keyf = key or default_key
    keys = [keyf(p) for p in instances]
    if cache is not None and cache_path is not None:
        raise ValueError("give cache_path or cache, not both")
    if cache_path is not None:
        cache = JsonLinesCache(cache_path)
    results: dict[str, Any] = {}
    if cache is not None:
        results.update(cache.lookup(keys))
    todo: dict[str, dict] = {}
    for k, p in zip(keys, instances):
        if k not in results and k not in todo:
            todo[k] = p
    if stats is not None:
        stats.update(reused=len(results), computed=len(todo), total=len(set(keys)))
    writer = cache
    if writer is not None:
        writer.open()

    def record(k: str, row: Any) -> None:
        if writer is not None:
            writer.store(k, row)
        results[k] = row

    def finished() -> tuple[list[dict], list[dict]]:
        pairs = [(results[k], p) for k, p in zip(keys, instances) if k in results]
        return [r for r, _ in pairs], [p for _, p in pairs]

    n_total = len(set(keys))
    try:
        with _progress(progress) as bar:
            tid = bar.add_task("sweep", total=n_total, completed=n_total - len(todo))
            if executor is None:
                for k, p in todo.items():
                    bar.update(tid, description=_describe(p))
                    record(k, task(p))
                    bar.update(tid, advance=1)
            else:
                futures: dict[cf.Future, str] = {}
                try:
                    for k, p in todo.items():
                        futures[executor.submit(task, p)] = k
                    for fut in cf.as_completed(futures):
                        k = futures[fut]
                        record(k, fut.result())
                        bar.update(tid, advance=1, description=_describe(todo[k]))
                except BaseException:
                    for fut in futures:
                        fut.cancel()
                    # keep what already finished but was not yet collected
                    for fut, k in futures.items():
                        if k not in results and fut.done() and not fut.cancelled() \
                                and fut.exception() is None:
                            try:
                                record(k, fut.result())
                            except (TypeError, OSError):
                                pass
                    raise
    except KeyboardInterrupt as e:
        rows, params = finished()
        raise SweepInterrupted(rows, params) from e
    finally:
        if writer is not None:
            writer.close()
    return [results[k] for k in keys]
