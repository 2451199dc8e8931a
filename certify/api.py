"""The Python interface for notebooks and scripts: ``from certify import run, table``.

>>> from certify import run
>>> cert = run("syz-cpwl-one-layer", n=5)
>>> cert.verdict, cert.upper
('HOLDS', '0')

``run`` returns a :class:`Certificate` (the certificate's plain data with a readable ``repr``, a
rich and an HTML display, ``check()`` through the independent kernel, ``save(path)``);
``table`` sweeps parameters and returns a :class:`Table` of plain rows with ``to_markdown()``.
Bad input raises :class:`constructive.errors.UserError` with the same one-line message the
command line prints.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

from certify import report, sweep
from certify.certificate import run_theorem, write_certificate
from certify.checker import CheckResult, check_data
from certify.registry import default_registry
from certify.rows import sweep_row
from constructive.errors import UserError


@dataclass(frozen=True)
class Certificate:
    """One certificate: ``data`` is exactly what ``certify run --json`` writes."""

    data: dict

    @property
    def theorem(self) -> str:
        return self.data["theorem"]

    @property
    def params(self) -> dict:
        return self.data["params"]

    @property
    def verdict(self) -> str:
        return self.data["verdict"]

    @property
    def lower(self) -> str:
        return self.data["error"]["lower"]

    @property
    def upper(self) -> str:
        return self.data["error"]["upper"]

    @property
    def bound(self) -> str:
        return self.data["error"]["bound"]

    @property
    def reasons(self) -> list:
        return self.data["reasons"]

    def check(self, rebuild: bool = False) -> CheckResult:
        """Re-verify through the checker and its kernel (``rebuild``: certify again, compare)."""
        return check_data(json.loads(json.dumps(self.data)), rebuild=rebuild, where=self.theorem)

    def save(self, path: str) -> None:
        """Write the certificate (atomically) as ``certify check`` reads it."""
        write_certificate(self.data, path)

    def _rows(self) -> list[tuple[str, str]]:
        rows = [("verdict", self.verdict), ("error", f"{self.data['error']['norm']} on "
                                                       f"{self.data['error']['region']}"),
                ("lower", self.lower), ("upper", self.upper),
                ("bound", f"{self.bound} = {self.data['error']['bound_formula']}")]
        rows += [(f"{c['name']}", f"{c['measured']} {'≤' if c['relation'] == 'le' else '='} "
                                  f"{c['claimed']} {'✓' if c['ok'] else '✗'}")
                 for c in self.data["architecture"]["claims"]]
        rows += [("reason", r) for r in self.reasons]
        return rows

    def __repr__(self) -> str:
        params = " ".join(f"{k}={v}" for k, v in self.params.items())
        return (f"<Certificate {self.theorem}{' ' + params if params else ''}: {self.verdict}, "
                f"upper {_short(self.upper)}, bound {_short(self.bound)}>")

    def _repr_html_(self) -> str:
        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                        f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
                        for k, v in self._rows())
        return f"<table><caption>{html.escape(repr(self))}</caption>{cells}</table>"

    def __rich__(self) -> Any:
        from rich.table import Table as RichTable

        out = RichTable(title=f"{self.theorem} {self.params}", show_header=False)
        for k, v in self._rows():
            out.add_row(k, str(v))
        return out


@dataclass(frozen=True)
class Table:
    """The rows of a sweep, as plain data (one dict per instance, as ``certify table`` makes)."""

    theorem: str
    rows: tuple

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.rows)

    def to_markdown(self) -> str:
        return report.table(list(self.rows), "md")

    def to_csv(self) -> str:
        return report.table(list(self.rows), "csv")

    def plot(self, x: str, path: str) -> dict:
        """Achieved vs. proven error over parameter ``x``, written to ``path``; fitted slopes."""
        return report.plot(list(self.rows), x, path, title=self.theorem)

    def __repr__(self) -> str:
        verdicts = [r["verdict"] for r in self.rows]
        counts = ", ".join(f"{verdicts.count(v)} {v}" for v in dict.fromkeys(verdicts))
        return f"<Table {self.theorem}: {len(self.rows)} rows ({counts})>"

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.to_markdown()) + "</pre>"

    def __rich__(self) -> Any:
        return report.rich_table(list(self.rows), title=self.theorem)


def run(theorem_id: str, target: Optional[str] = None, lipschitz: Optional[str] = None,
        **params: Any) -> Certificate:
    """Build, measure and certify one instance (parameters as keyword arguments)."""
    thm = default_registry().get(theorem_id)
    raw = {k: str(v) for k, v in params.items()}
    precheck = thm.certification().precheck
    if precheck is not None:  # work over a stated budget is refused before it starts
        precheck(thm.parse_params(raw))
    return Certificate(json.loads(json.dumps(run_theorem(theorem_id, raw, target, lipschitz))))


def table(theorem_id: str, sweep_over: Optional[dict[str, Sequence[Any]]] = None,
          target: Optional[str] = None, progress: bool = False, workers: int = 1,
          scheduler: Optional[str] = None, cache_dir: Optional[str] = None,
          **params: Any) -> Table:
    """Certify every instance of the sweep (``{"n": [2, 3, 4]}``: the cartesian product over
    the given names) on top of the fixed keyword parameters; one row per instance.

    ``workers`` > 1 runs a process pool; ``scheduler`` ("local" or "tcp://HOST:PORT") runs on
    Dask, reusing rows cached by content in ``cache_dir`` (see :mod:`certify.distributed`)."""
    thm = default_registry().get(theorem_id)
    sweeps = [(name, list(values)) for name, values in (sweep_over or {}).items()]
    for name, _ in sweeps:
        if name not in thm.parameters:
            raise UserError(f"cannot sweep {name!r}: {thm.id} has parameters {', '.join(thm.parameters)}")
    instances = sweep.expand({k: str(v) for k, v in params.items()}, sweeps)
    precheck = thm.certification().precheck
    for inst in instances:  # every instance validated before any work
        parsed = thm.parse_params({k: str(v) for k, v in inst.items()})
        if precheck is not None:
            precheck(parsed)
    jobs = [{"theorem": thm.id, "params": {k: str(v) for k, v in inst.items()}, "target": target}
            for inst in instances]
    if workers == 1 and scheduler is None and cache_dir is None:
        rows = sweep.run_sweep(sweep_row, jobs, progress=progress,
                               key=lambda j: json.dumps(j, sort_keys=True))
    else:
        from certify.distributed import run_jobs

        rows, _ = run_jobs(jobs, workers=workers, scheduler=scheduler, cache_dir=cache_dir,
                           progress=progress)
    return Table(thm.id, tuple(rows))


def _short(text: Any) -> str:
    """A ball's text as its midpoint to 6 digits; rationals and other text unchanged."""
    text = str(text)
    if text.startswith("[") and "+/-" in text:
        return text[1:].split(" ")[0][:8]
    return text if len(text) <= 24 else text[:21] + "…"


__all__ = ["run", "table", "Certificate", "Table", "sweep_row"]
