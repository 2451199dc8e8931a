"""Tables and plots of certification result rows.

A *row* is the plain-data summary of one certificate (JSON-able; exact rationals as strings)::

    {"theorem": "syz-intrinsic-lp", "params": {"d": 1, "n": 3, "p": "2"},
     "verdict": "HOLDS", "error_lower": "1/64", "error_upper": "5/128", "bound": "5/8",
     "ratio": "1/16",                       # upper/bound, optional (computed for display if absent)
     "architecture": {"measured": {...},
                      "claims": [{"name": "params:phi1", "measured": 60, "claimed": "256",
                                  "relation": "le", "ok": true}, ...]},
     "seconds": 0.41}

This module only *displays* rows; it never recomputes a verdict.  Exact rational strings are
formatted exactly (scientific notation, 4 significant digits, round-half-even on the exact value);
anything that is not a rational string (an arb ball text such as ``"[0.0123 +/- 1e-20]"``) is shown
from its midpoint, for display only.  No theorem-specific logic lives here.

Public API: :func:`table`, :func:`rich_table`, :func:`plot`, :func:`write_atomic`.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

from constructive.errors import UserError

__all__ = ["table", "rich_table", "plot", "write_atomic", "format_sci", "TABLE_FORMATS",
           "PLOT_FORMATS"]

TABLE_FORMATS = ("md", "csv", "latex")
#: File extensions :func:`plot` writes (matplotlib's Agg, PDF, SVG and PS backends).
PLOT_FORMATS = ("png", "pdf", "svg", "eps", "ps", "jpg", "jpeg")
SIG_DIGITS = 4

_RELATION = {"le": "≤", "lt": "<", "ge": "≥", "gt": ">", "eq": "=", "ne": "≠"}
_RELATION_TEX = {"le": r"$\le$", "lt": "$<$", "ge": r"$\ge$", "gt": "$>$", "eq": "$=$",
                 "ne": r"$\ne$"}
_VERDICT_STYLE = {"HOLDS": "bold green", "VIOLATED": "bold red", "INCONCLUSIVE": "bold yellow",
                  "CONDITIONAL": "bold cyan"}
_VALUE_KEYS = (("error_lower", "error lower"), ("error_upper", "error upper"),
               ("bound", "bound"), ("ratio", "ratio"))
_FLOAT_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf(?:inity)?", re.I)


# --------------------------------------------------------------------------------------------
# atomic writing


def write_atomic(path: str | os.PathLike[str], text: str | bytes) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory + ``os.replace``.

    An interrupt (Ctrl-C) or error leaves either the old file or the new one, never half of one.
    A missing directory raises :class:`UserError`.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UserError(f"cannot write {path!r}: directory {directory!r} does not exist")
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


# --------------------------------------------------------------------------------------------
# numbers


def _exact(value: Any) -> Fraction | None:
    """The exact rational a row value denotes, or None (absent, arb text, infinity, garbage)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            return None
    return None


def _approx(value: Any) -> float | None:
    """A float for display/plotting: exact rationals converted, arb text by its midpoint."""
    q = _exact(value)
    if q is not None:
        try:
            return float(q)
        except OverflowError:
            return math.inf if q > 0 else -math.inf
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        m = _FLOAT_RE.search(value)
        if m:
            try:
                return float(m.group(0))
            except ValueError:
                return None
    return None


def format_sci(value: Any, digits: int = SIG_DIGITS) -> str:
    """Scientific notation with ``digits`` significant digits, e.g. ``"3.906e-03"``.

    Exact rationals (``Fraction``, int, or strings like ``"5/128"``) are rounded exactly
    (half-even); arb texts and floats use their midpoint.  Returns ``""`` for a missing value.
    """
    q = _exact(value)
    if q is None:
        f = _approx(value)
        if f is None:
            return "" if value is None else str(value)
        if math.isinf(f) or math.isnan(f):
            return str(f)
        return f"{f:.{digits - 1}e}"
    if q == 0:
        return "0"
    sign = "-" if q < 0 else ""
    a = abs(q)
    e = len(str(a.numerator)) - len(str(a.denominator))
    while a >= Fraction(10) ** (e + 1):
        e += 1
    while a < Fraction(10) ** e:
        e -= 1
    m = round(a / Fraction(10) ** (e - digits + 1))
    if m >= 10 ** digits:  # rounding carried into a new digit: 9.9995 -> 1.000e+01
        m //= 10
        e += 1
    s = str(m)
    mant = s[0] + ("." + s[1:] if len(s) > 1 else "")
    return f"{sign}{mant}e{e:+03d}"


def _ratio(row: dict) -> Any:
    """The row's ratio upper/bound, or (display only) computed from upper and bound."""
    if row.get("ratio") is not None:
        return row["ratio"]
    up, b = _exact(row.get("error_upper")), _exact(row.get("bound"))
    if up is not None and b:
        return up / b
    fu, fb = _approx(row.get("error_upper")), _approx(row.get("bound"))
    if fu is not None and fb:
        return fu / fb
    return None


# --------------------------------------------------------------------------------------------
# tables


def _check_rows(rows: Any) -> list[dict]:
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, dict) for r in rows):
        raise UserError("report rows must be a list of result dicts")
    return list(rows)


def _param_keys(rows: Iterable[dict]) -> list[str]:
    keys: dict[str, None] = {}
    for r in rows:
        for k in (r.get("params") or {}):
            keys.setdefault(str(k), None)
    return list(keys)


def _claims(row: dict) -> list[dict]:
    arch = row.get("architecture") or {}
    return [c for c in (arch.get("claims") or []) if isinstance(c, dict)]


def _claim_names(rows: Iterable[dict]) -> list[str]:
    names: dict[str, None] = {}
    for r in rows:
        for c in _claims(r):
            names.setdefault(str(c.get("name", "?")), None)
    return list(names)


def _plain(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _ok_mark(ok: Any, tex: bool = False) -> str:
    if ok is True:
        return r"$\surd$" if tex else "✓"
    if ok is False:
        return r"$\times$" if tex else "✗"
    return "?"


def _claim_text(c: dict, tex: bool = False) -> str:
    rel = str(c.get("relation", ""))
    sym = (_RELATION_TEX if tex else _RELATION).get(rel, f" {rel} ")
    name = _tex_escape(str(c.get("name", "?"))) if tex else str(c.get("name", "?"))
    meas = _tex_escape(_plain(c.get("measured"))) if tex else _plain(c.get("measured"))
    claimed = _tex_escape(_plain(c.get("claimed"))) if tex else _plain(c.get("claimed"))
    return f"{name} {meas}{sym}{claimed} {_ok_mark(c.get('ok'), tex)}"


def _seconds(v: Any) -> str:
    f = _approx(v) if not isinstance(v, (int, float)) or isinstance(v, bool) else float(v)
    return "" if f is None else f"{f:.2f}"


def _multi_theorem(rows: Sequence[dict]) -> bool:
    return len({r.get("theorem") for r in rows}) > 1


def _display_grid(rows: list[dict], tex: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and cells for the human-readable formats (md, latex, rich)."""
    pkeys = _param_keys(rows)
    theorem = _multi_theorem(rows)
    extras = _extra_keys(rows)
    header = (["theorem"] if theorem else []) + pkeys + ["verdict"] + \
        [label for _, label in _VALUE_KEYS] + ["architecture (measured vs claimed)"] + extras + \
        ["seconds"]
    cells = []
    for r in rows:
        params = r.get("params") or {}
        line = [_plain(r.get("theorem"))] if theorem else []
        line += [_plain(params.get(k)) for k in pkeys]
        line.append(_plain(r.get("verdict")))
        for key, _ in _VALUE_KEYS:
            v = _ratio(r) if key == "ratio" else r.get(key)
            line.append(format_sci(v))
        line.append("; ".join(_claim_text(c, tex) for c in _claims(r)))
        line += [_plain((r.get("extra") or {}).get(k)) for k in extras]
        line.append(_seconds(r.get("seconds")))
        cells.append(line)
    return header, cells


def _csv_grid(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    pkeys = _param_keys(rows)
    cnames = _claim_names(rows)
    theorem = _multi_theorem(rows)
    header = (["theorem"] if theorem else []) + pkeys + ["verdict"]
    header += [key for key, _ in _VALUE_KEYS] + [f"{key}_exact" for key, _ in _VALUE_KEYS]
    for n in cnames:
        header += [f"{n}_measured", f"{n}_claimed", f"{n}_ok"]
    extras = _extra_keys(rows)
    header += extras + ["seconds"]
    cells = []
    for r in rows:
        params = r.get("params") or {}
        line = [_plain(r.get("theorem"))] if theorem else []
        line += [_plain(params.get(k)) for k in pkeys]
        line.append(_plain(r.get("verdict")))
        vals = [_ratio(r) if key == "ratio" else r.get(key) for key, _ in _VALUE_KEYS]
        line += [format_sci(v) for v in vals]
        line += [_plain(v) for v in vals]
        by_name = {str(c.get("name", "?")): c for c in _claims(r)}
        for n in cnames:
            c = by_name.get(n)
            line += ["", "", ""] if c is None else \
                [_plain(c.get("measured")), _plain(c.get("claimed")), _plain(c.get("ok"))]
        line += [_plain((r.get("extra") or {}).get(k)) for k in extras]
        line.append(_plain(r.get("seconds")))
        cells.append(line)
    return header, cells


def _extra_keys(rows: list[dict]) -> list[str]:
    """Names of the extra per-row columns (a theorem's ``analysis.columns``), first-seen order."""
    keys: list[str] = []
    for r in rows:
        for k in (r.get("extra") or {}):
            if k not in keys:
                keys.append(str(k))
    return keys


def _md_escape(s: str) -> str:
    return s.replace("|", r"\|").replace("\n", " ")


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}"}


def _tex_escape(s: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in s)


def table(rows: list[dict], fmt: str = "md") -> str:
    """Render result rows as a Markdown (``md``), ``csv`` or ``latex`` table.

    Columns: ``theorem`` (only when rows mix theorems), the union of parameter keys in first-seen
    order, verdict, error lower, error upper, bound, ratio (upper/bound; computed for display if a
    row lacks it), the architecture claims (``"params:phi1 60≤256 ✓; ..."``) and seconds.
    Values are shown in scientific notation with 4 significant digits, rounded exactly from the
    rational strings.  The CSV form is for machines: the same value columns (``error_lower``,
    ``error_upper``, ``bound``, ``ratio``) plus lossless ``<value>_exact`` columns holding the
    row's original strings, and per claim name ``<claim>_measured``, ``<claim>_claimed``,
    ``<claim>_ok`` (``true``/``false``/empty).  An unknown ``fmt`` raises :class:`UserError`.
    """
    if fmt not in TABLE_FORMATS:
        raise UserError(f"unknown table format {fmt!r}; use one of {', '.join(TABLE_FORMATS)}")
    rows = _check_rows(rows)
    if fmt == "csv":
        header, cells = _csv_grid(rows)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(cells)
        return buf.getvalue()
    if fmt == "md":
        header, cells = _display_grid(rows)
        out = ["| " + " | ".join(_md_escape(h) for h in header) + " |",
               "|" + "|".join("---" for _ in header) + "|"]
        out += ["| " + " | ".join(_md_escape(c) for c in line) + " |" for line in cells]
        return "\n".join(out) + "\n"
    # latex: the architecture column is pre-escaped (it carries math symbols); extra columns,
    # between it and the seconds, are left-aligned
    header, cells = _display_grid(rows, tex=True)
    arch = header.index("architecture (measured vs claimed)")
    first_value = header.index("verdict") + 1
    spec = "".join("r" if first_value <= i < arch or i == len(header) - 1 else "l"
                   for i in range(len(header)))
    out = [r"\begin{tabular}{" + spec + "}", r"\hline",
           " & ".join(_tex_escape(h) for h in header) + r" \\", r"\hline"]
    for line in cells:
        out.append(" & ".join(c if i == arch else _tex_escape(c) for i, c in enumerate(line))
                   + r" \\")
    out += [r"\hline", r"\end{tabular}"]
    return "\n".join(out) + "\n"


def rich_table(rows: list[dict], title: str | None = None):
    """A :class:`rich.table.Table` of the rows (same columns as the Markdown table).

    The verdict is coloured: HOLDS green, VIOLATED red, INCONCLUSIVE yellow, CONDITIONAL cyan.
    """
    from rich.table import Table
    from rich.text import Text

    rows = _check_rows(rows)
    header, cells = _display_grid(rows)
    vcol = header.index("verdict")
    t = Table(title=title)
    for i, h in enumerate(header):
        numeric = vcol < i < len(header) - 2 or i == len(header) - 1
        t.add_column(h, justify="right" if numeric else "left",
                     overflow="fold")
    for line in cells:
        out: list[Any] = [Text(c) for c in line]
        out[vcol] = Text(line[vcol], style=_VERDICT_STYLE.get(line[vcol], ""))
        t.add_row(*out)
    return t


# --------------------------------------------------------------------------------------------
# plots


def _lsq_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def _group_label(key: tuple, varying: list[str]) -> str:
    d = dict(key)
    parts = [f"{k}={d[k]}" for k in varying if k in d]
    return ", ".join(parts) if parts else "all"


def plot(rows: list[dict], x: str, path: str, title: str = "",
         slopes: dict[str, float] | None = None, axes: str | None = None) -> dict[str, float]:
    """Plot achieved error and proven bound against the swept parameter ``x``; write ``path``.

    ``axes`` forces "loglog" (rates r^-a) or "semilog" (rates 2^-an); by default the axes are
    **log-log** when every x is > 0 and max(x)/min(x) > 8; otherwise (few values, e.g.
    n = 1..8 where bounds are exponential in n) **semi-log y** with x on a linear axis.
    Each group of rows sharing the non-swept parameters (and theorem) is one curve: the upper
    error bound as filled circles, the lower bound as open triangles joined to it by a vertical
    segment, and the proven bound as a dashed line.  Non-positive values cannot appear on a log
    axis and are skipped.

    Fitted slope per group, by least squares on the rows with a positive upper bound:
    ``d log(upper) / d log(x)`` (log-log) or ``d log2(upper) / d x`` (semi-log).  It is shown in
    the legend; ``slopes`` (e.g. ``{"theory": -1.0}``) gives theoretical slopes shown beside it
    (a key equal to a group label applies to that group only, other keys to every group) and
    drawn as dotted reference lines through the first group's first point.

    Returns ``{group label: fitted slope}``; the label is ``"k=v, ..."`` over the parameters that
    vary between groups (prefixed by the theorem when rows mix theorems), ``"all"`` when there is
    a single group; groups with fewer than two usable points are omitted.  Written atomically
    (temporary file + ``os.replace``).  Raises :class:`UserError` for an unsupported extension
    (see ``PLOT_FORMATS``), no rows, or rows lacking a numeric ``x``.
    """
    ext = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if ext not in PLOT_FORMATS:
        raise UserError(f"cannot write plot {path!r}: unsupported extension "
                        f"{('.' + ext) if ext else '(none)'}; use one of "
                        + ", ".join("." + e for e in PLOT_FORMATS))
    rows = _check_rows(rows)
    if not rows:
        raise UserError("nothing to plot: no result rows")
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(directory):
        raise UserError(f"cannot write {path!r}: directory {directory!r} does not exist")

    # group rows by the non-swept parameters
    multi = _multi_theorem(rows)
    groups: dict[tuple, list[tuple[float, dict]]] = {}
    for r in rows:
        params = r.get("params") or {}
        if x not in params:
            raise UserError(f"cannot plot against {x!r}: a row has no parameter {x!r} "
                            f"(parameters: {', '.join(map(str, params)) or 'none'})")
        xv = _approx(params[x])
        if xv is None or not math.isfinite(xv):
            raise UserError(f"cannot plot against {x!r}: value {params[x]!r} is not a number")
        key = tuple(sorted((str(k), _plain(v)) for k, v in params.items() if k != x))
        if multi:
            key = (("theorem", _plain(r.get("theorem"))),) + key
        groups.setdefault(key, []).append((xv, r))
    all_keys = {k for key in groups for k, _ in key}
    varying = sorted(k for k in all_keys
                     if len({dict(key).get(k) for key in groups}) > 1)
    if "theorem" in varying:
        varying.remove("theorem")
        varying.insert(0, "theorem")

    xs_all = [xv for g in groups.values() for xv, _ in g]
    if axes not in (None, "loglog", "semilog"):
        raise UserError(f"plot axes {axes!r} unknown; use loglog or semilog")
    loglog = min(xs_all) > 0 and (axes == "loglog" or (axes is None and max(xs_all) / min(xs_all) > 8))

    # A bare Figure (no pyplot): no display, no global state; savefig picks Agg for raster files.
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(7, 4.8), layout="constrained")
    ax = fig.subplots()
    ax.set_yscale("log")
    if loglog:
        ax.set_xscale("log")
    colours = [f"C{i}" for i in range(10)]
    slopes = dict(slopes or {})
    fitted: dict[str, float] = {}
    anchor: tuple[float, float] | None = None
    labels = {key: _group_label(key, varying) for key in groups}
    for gi, (key, items) in enumerate(groups.items()):
        items.sort(key=lambda t: t[0])
        colour = colours[gi % len(colours)]
        label = labels[key]
        xu, yu, xl, yl, xb, yb, seg = [], [], [], [], [], [], []
        for xv, r in items:
            up, lo, b = (_approx(r.get(k)) for k in ("error_upper", "error_lower", "bound"))
            if up is not None and up > 0 and math.isfinite(up):
                xu.append(xv)
                yu.append(up)
            if lo is not None and lo > 0 and math.isfinite(lo):
                xl.append(xv)
                yl.append(lo)
                if up is not None and up > 0 and math.isfinite(up):
                    seg.append((xv, lo, up))
            if b is not None and b > 0 and math.isfinite(b):
                xb.append(xv)
                yb.append(b)
        if loglog:
            s = _lsq_slope([math.log(v) for v in xu], [math.log(v) for v in yu])
        else:
            s = _lsq_slope(xu, [math.log2(v) for v in yu])
        pieces = []
        if s is not None:
            fitted[label] = s
            pieces.append(f"fit {s:+.3f}")
        for name, val in slopes.items():
            if name == label or name not in labels.values():
                pieces.append(f"{name} {val:+g}")
        prefix = "" if label == "all" else f"{label}: "
        suffix = f" (slope {'; '.join(pieces)})" if pieces else ""
        if seg:
            ax.vlines([t[0] for t in seg], [t[1] for t in seg], [t[2] for t in seg],
                      colors=colour, linewidth=1, alpha=0.6)
        if xu:
            ax.plot(xu, yu, "o", color=colour, label=f"{prefix}upper{suffix}")
            if anchor is None:
                anchor = (xu[0], yu[0])
        if xl:
            ax.plot(xl, yl, "^", color=colour, markerfacecolor="none",
                    label=f"{prefix}lower")
        if xb:
            ax.plot(xb, yb, "--", color=colour, label=f"{prefix}proven bound")
    # theoretical reference lines through the first plotted upper point
    if anchor is not None and slopes:
        x0, y0 = anchor
        xmin, xmax = min(xs_all), max(xs_all)
        for name, val in slopes.items():
            if loglog:
                ys = [y0 * (xx / x0) ** val for xx in (xmin, xmax)]
            else:
                ys = [y0 * 2.0 ** (val * (xx - x0)) for xx in (xmin, xmax)]
            if all(math.isfinite(v) and v > 0 for v in ys):
                ax.plot([xmin, xmax], ys, ":", color="grey", linewidth=1)
    ax.set_xlabel(x + ("" if loglog else " (linear)"))
    ax.set_ylabel("error" + (" (log-log)" if loglog else " (semi-log y)"))
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    handles, hlabels = ax.get_legend_handles_labels()
    if slopes:
        handles.append(Line2D([], [], linestyle=":", color="grey"))
        hlabels.append("reference slope " + ", ".join(f"{k} {v:+g}" for k, v in slopes.items()))
    if handles:
        ax.legend(handles, hlabels, fontsize="small")

    buf = io.BytesIO()
    fig.savefig(buf, format=ext)
    write_atomic(path, buf.getvalue())
    return fitted
