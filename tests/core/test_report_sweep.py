"""Tests for certify.report (tables, plots, atomic writes) and certify.sweep (specs, runs)."""

from __future__ import annotations

import concurrent.futures as cf
import csv
import io
import json
import os
from fractions import Fraction

import pytest
from rich.console import Console

from certify.report import format_sci, plot, rich_table, table, write_atomic
from certify.sweep import SweepInterrupted, default_key, expand, parse_sweep, read_cache, run_sweep
from constructive.errors import UserError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _row(n: int, s: int = 1, verdict: str = "HOLDS", **extra) -> dict:
    row = {
        "theorem": "syz-intrinsic-lp",
        "params": {"d": 1, "n": n, "s": s, "p": "2"},
        "verdict": verdict,
        "error_lower": f"1/{2 ** (n + 3)}",
        "error_upper": f"5/{2 ** (n + 4)}",
        "bound": "5/8",
        "architecture": {
            "measured": {"depth": 24, "width": 14, "params": 203},
            "claims": [
                {"name": "params:phi1", "measured": 60, "claimed": "256", "relation": "le",
                 "ok": True},
                {"name": "depth", "measured": 24 + n, "claimed": "25", "relation": "le",
                 "ok": n <= 1},
            ],
        },
        "seconds": 0.41,
    }
    row.update(extra)
    return row


ROWS = [_row(1), _row(3, verdict="VIOLATED", ratio="1/16"),
        _row(2, s=2, verdict="INCONCLUSIVE", error_upper="[0.0123 +/- 1e-20]")]


# ------------------------------------------------------------------------------------ formatting

@pytest.mark.parametrize("value,text", [
    ("1/64", "1.562e-02"),          # 0.015625: exact half -> even
    ("5/128", "3.906e-02"),         # 0.0390625
    ("99995/10000", "1.000e+01"),   # carry into a new digit (half-even: 9999.5 -> 10000)
    ("-3", "-3.000e+00"),
    ("0", "0"),
    (Fraction(1, 3), "3.333e-01"),
    ("1/" + str(10 ** 40), "1.000e-40"),
    ("[0.0123 +/- 1e-20]", "1.230e-02"),
    (None, ""),
])
def test_format_sci(value, text):
    assert format_sci(value) == text


# ------------------------------------------------------------------------------------ tables

def test_markdown_table_contains_values():
    md = table(ROWS, "md")
    lines = md.strip().splitlines()
    assert len(lines) == 2 + len(ROWS)
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert head[:4] == ["d", "n", "s", "p"]
    assert "verdict" in head and "seconds" in head
    # n=1: lower 1/16, upper 5/32, bound 5/8, ratio computed for display = 1/4
    assert "| 6.250e-02 | 1.562e-01 | 6.250e-01 | 2.500e-01 |" in lines[2]
    # n=3: lower 1/64 (exact half -> even), upper 5/128, the row's own ratio 1/16
    assert "| 1.562e-02 | 3.906e-02 | 6.250e-01 | 6.250e-02 |" in lines[3]
    assert "params:phi1 60≤256 ✓" in lines[2]
    assert "depth 25≤25 ✓" in lines[2]
    assert "depth 27≤25 ✗" in lines[3]
    assert "VIOLATED" in lines[3] and "INCONCLUSIVE" in lines[4]
    assert "1.230e-02" in lines[4]                                  # arb midpoint
    assert "0.41" in lines[2]


def test_csv_table_parses():
    text = table(ROWS, "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3
    r = rows[1]
    assert r["n"] == "3" and r["p"] == "2" and r["verdict"] == "VIOLATED"
    assert r["error_upper_exact"] == "5/128" and Fraction(r["error_lower_exact"]) == Fraction(1, 64)
    assert r["error_upper"] == "3.906e-02" and r["ratio_exact"] == "1/16"
    assert r["params:phi1_measured"] == "60" and r["params:phi1_claimed"] == "256"
    assert r["params:phi1_ok"] == "true" and r["depth_ok"] == "false"
    assert r["depth_measured"] == "27"
    assert rows[2]["error_upper_exact"] == "[0.0123 +/- 1e-20]"
    assert float(r["seconds"]) == pytest.approx(0.41)


def test_latex_table():
    tex = table(ROWS, "latex")
    assert tex.startswith(r"\begin{tabular}{")
    assert r"\end{tabular}" in tex
    assert "3.906e-02" in tex and "VIOLATED" in tex
    assert r"params:phi1 60$\le$256 $\surd$" in tex
    assert r"error upper" in tex
    body = tex.splitlines()
    # every body row has as many cells as the header
    ncols = body[2].count("&")
    assert all(line.count("&") == ncols for line in body if line.endswith(r"\\"))


def test_table_mixed_theorems_and_missing():
    rows = [_row(1), {"theorem": "other-thm", "params": {"k": 2}, "verdict": "HOLDS"}]
    md = table(rows, "md")
    assert md.splitlines()[0].startswith("| theorem |")
    assert "other-thm" in md
    out = list(csv.reader(io.StringIO(table(rows, "csv"))))
    assert len({len(line) for line in out}) == 1
    assert "k" in out[0]


def test_table_errors():
    with pytest.raises(UserError, match="html"):
        table(ROWS, "html")
    with pytest.raises(UserError):
        table("not rows", "md")


def test_rich_table_colours():
    t = rich_table(ROWS)
    vcol = [c.header for c in t.columns].index("verdict")
    cells = list(t.columns[vcol].cells)
    assert [str(c) for c in cells] == ["HOLDS", "VIOLATED", "INCONCLUSIVE"]
    assert "green" in str(cells[0].style) and "red" in str(cells[1].style)
    assert "yellow" in str(cells[2].style)
    console = Console(file=io.StringIO(), width=250)
    console.print(t)
    assert "3.906e-02" in console.file.getvalue()


# ------------------------------------------------------------------------------------ plots

def test_plot_semilog_slope(tmp_path):
    rows = [{"params": {"n": n, "s": s}, "verdict": "HOLDS",
             "error_upper": f"{s}/{2 ** n}", "error_lower": f"{s}/{2 ** (n + 1)}",
             "bound": f"{4 * s}/{2 ** n}"} for s in (1, 3) for n in range(1, 9)]
    path = tmp_path / "semi.png"
    slopes = plot(rows, "n", str(path), title="semi", slopes={"theory": -1.0})
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert set(slopes) == {"s=1", "s=3"}
    for v in slopes.values():
        assert v == pytest.approx(-1.0, abs=1e-9)
    assert [p.name for p in tmp_path.iterdir()] == ["semi.png"]   # no temp file left


def test_plot_loglog_slope(tmp_path):
    rs = [4 * 2 ** k for k in range(11)]
    rows = [{"params": {"r": r}, "error_upper": f"1/{r}", "error_lower": f"1/{3 * r}",
             "bound": f"2/{r}", "verdict": "HOLDS"} for r in rs]
    rows.append({"params": {"r": 5000}, "error_upper": "0", "verdict": "HOLDS"})  # skipped
    path = tmp_path / "loglog.png"
    slopes = plot(rows, "r", str(path))
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert slopes == {"all": pytest.approx(-1.0, abs=1e-9)}
    # a non-trivial slope, to make sure the fit is not a constant
    rows2 = [{"params": {"r": r}, "error_upper": str(Fraction(1, r * r))} for r in rs]
    assert plot(rows2, "r", str(tmp_path / "b.svg"))["all"] == pytest.approx(-2.0, abs=1e-9)
    assert (tmp_path / "b.svg").read_text().lstrip().startswith("<?xml")


def test_plot_errors(tmp_path):
    rows = [{"params": {"n": 1}, "error_upper": "1/2"}]
    with pytest.raises(UserError, match=r"\.png"):
        plot(rows, "n", str(tmp_path / "x.txt"))
    with pytest.raises(UserError, match="'m'"):
        plot(rows, "m", str(tmp_path / "x.png"))
    with pytest.raises(UserError):
        plot([], "n", str(tmp_path / "x.png"))
    with pytest.raises(UserError, match="does not exist"):
        plot(rows, "n", str(tmp_path / "missing" / "x.png"))


def test_write_atomic(tmp_path):
    p = tmp_path / "t.md"
    write_atomic(str(p), "one\n")
    write_atomic(str(p), "two\n")
    assert p.read_text() == "two\n"
    assert os.listdir(tmp_path) == ["t.md"]


# ------------------------------------------------------------------------------------ sweep specs

@pytest.mark.parametrize("spec,expected", [
    ("n=1..8", ("n", [1, 2, 3, 4, 5, 6, 7, 8])),
    ("n=3..3", ("n", [3])),
    ("n=-2..1", ("n", [-2, -1, 0, 1])),
    ("n=1,2,5", ("n", [1, 2, 5])),
    ("eps=1/10,1/50", ("eps", ["1/10", "1/50"])),
    ("eps=0.5,2/4,4/2", ("eps", ["1/2", 2])),
    ("r=4..4096:x2", ("r", [4 * 2 ** k for k in range(11)])),
    ("r=1..100:x10", ("r", [1, 10, 100])),
    ("k=1..9:+4", ("k", [1, 5, 9])),
    ("p=1,2,inf", ("p", [1, 2, "inf"])),
    (" n = 1 .. 3 ", ("n", [1, 2, 3])),
])
def test_parse_sweep(spec, expected):
    assert parse_sweep(spec) == expected


@pytest.mark.parametrize("spec", [
    "n", "n=", "=1..3", "1n=1..3", "n=1..", "n=a..b", "n=8..1", "n=1..8:x1", "n=0..8:x2",
    "n=1..8:y2", "n=1,,2", "n=1/0", "n=abc", "n=1.5..3", "n=1..10000000",
])
def test_parse_sweep_errors(spec):
    with pytest.raises(UserError) as e:
        parse_sweep(spec)
    msg = str(e.value)
    assert repr(spec) in msg and "A..B" in msg and "\n" not in msg


def test_expand():
    got = expand({"d": 1, "n": 0}, [parse_sweep("n=1..2"), parse_sweep("s=1,2,3")])
    assert got == [{"d": 1, "n": n, "s": s} for n in (1, 2) for s in (1, 2, 3)]
    assert expand({"d": 1}, []) == [{"d": 1}]
    with pytest.raises(UserError):
        expand({}, [("n", [1]), ("n", [2])])
    with pytest.raises(UserError):
        expand({}, [("n", [])])


# ------------------------------------------------------------------------------------ run_sweep

def square_task(params: dict) -> dict:
    """Module-level so a process pool can pickle it."""
    n = params["n"]
    return {"params": params, "value": str(Fraction(1, 2 ** n)), "pid": os.getpid()}


INSTANCES = [{"n": n} for n in (5, 1, 4, 2, 3)]


def _values(rows):
    return [r["value"] for r in rows]


EXPECTED = [str(Fraction(1, 2 ** p["n"])) for p in INSTANCES]


def test_run_sweep_serial_and_threads(tmp_path):
    assert _values(run_sweep(square_task, INSTANCES, progress=False)) == EXPECTED
    with cf.ThreadPoolExecutor(max_workers=3) as ex:
        rows = run_sweep(square_task, INSTANCES, executor=ex, progress=True,
                         cache_path=str(tmp_path / "c.jsonl"))
    assert _values(rows) == EXPECTED
    assert [r["params"] for r in rows] == INSTANCES
    assert len((tmp_path / "c.jsonl").read_text().splitlines()) == len(INSTANCES)


def test_run_sweep_process_pool():
    with cf.ProcessPoolExecutor(max_workers=2) as ex:
        rows = run_sweep(square_task, INSTANCES, executor=ex, progress=False)
    assert _values(rows) == EXPECTED
    assert all(r["pid"] != os.getpid() for r in rows)


class Counter:
    def __init__(self, fail_at: int | None = None):
        self.calls: list[dict] = []
        self.fail_at = fail_at

    def __call__(self, params):
        self.calls.append(params)
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise KeyboardInterrupt
        return square_task(params)


def test_run_sweep_resume(tmp_path):
    cache = str(tmp_path / "cache.jsonl")
    first = Counter()
    run_sweep(first, INSTANCES[:3], cache_path=cache, progress=False)
    assert len(first.calls) == 3
    second = Counter()
    rows = run_sweep(second, INSTANCES, cache_path=cache, progress=False)
    assert second.calls == INSTANCES[3:]                 # only the new ones are computed
    assert _values(rows) == EXPECTED
    third = Counter()
    assert _values(run_sweep(third, INSTANCES, cache_path=cache, progress=False)) == EXPECTED
    assert third.calls == []
    # a custom key separates caches of different theorems sharing a file
    fourth = Counter()
    run_sweep(fourth, INSTANCES[:2], cache_path=cache, progress=False,
              key=lambda p: "thm-b:" + default_key(p))
    assert len(fourth.calls) == 2


def test_run_sweep_duplicates_computed_once():
    c = Counter()
    rows = run_sweep(c, [{"n": 1}, {"n": 2}, {"n": 1}], progress=False)
    assert len(c.calls) == 2 and _values(rows) == ["1/2", "1/4", "1/2"]


def test_run_sweep_interrupt(tmp_path):
    cache = tmp_path / "cache.jsonl"
    task = Counter(fail_at=3)
    with pytest.raises(SweepInterrupted) as e:
        run_sweep(task, INSTANCES, cache_path=str(cache), progress=True)
    assert isinstance(e.value, KeyboardInterrupt)
    assert _values(e.value.rows) == EXPECTED[:2]
    assert e.value.params == INSTANCES[:2]
    lines = cache.read_bytes().split(b"\n")
    assert lines[-1] == b""                               # ends on a whole line
    recs = [json.loads(line) for line in lines[:-1]]
    assert [r["key"] for r in recs] == [default_key(p) for p in INSTANCES[:2]]
    assert [r["row"]["value"] for r in recs] == EXPECTED[:2]
    # resuming computes the rest only
    again = Counter()
    assert _values(run_sweep(again, INSTANCES, cache_path=str(cache), progress=False)) == EXPECTED
    assert again.calls == INSTANCES[2:]


def test_run_sweep_interrupt_in_pool(tmp_path):
    def task(params):
        if params["n"] == 2:
            raise KeyboardInterrupt
        return square_task(params)

    with cf.ThreadPoolExecutor(max_workers=1) as ex:
        with pytest.raises(SweepInterrupted) as e:
            run_sweep(task, INSTANCES, executor=ex, progress=False,
                      cache_path=str(tmp_path / "c.jsonl"))
    done = read_cache(str(tmp_path / "c.jsonl"))
    assert len(done) == len(e.value.rows) >= 1
    assert {r["value"] for r in e.value.rows} == {r["value"] for r in done.values()}


def test_cache_line_nested_too_deeply_is_ignored(tmp_path):
    """A stray line of deeply nested JSON made the decoder raise RecursionError, a traceback."""
    cache = tmp_path / "cache.jsonl"
    good = json.dumps({"key": default_key({"n": 5}), "row": square_task({"n": 5})})
    cache.write_text("[" * 100_000 + "]" * 100_000 + "\n" + good + "\n")
    assert list(read_cache(str(cache))) == [default_key({"n": 5})]


def test_cache_partial_line_ignored_and_repaired(tmp_path):
    cache = tmp_path / "cache.jsonl"
    good = json.dumps({"key": default_key({"n": 5}), "row": square_task({"n": 5})})
    cache.write_text(good + "\n" + '{"key": "{\\"n\\": 1}", "ro')   # cut-off trailing line
    assert list(read_cache(str(cache))) == [default_key({"n": 5})]
    c = Counter()
    rows = run_sweep(c, INSTANCES, cache_path=str(cache), progress=False)
    assert _values(rows) == EXPECTED and len(c.calls) == 4
    lines = cache.read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(line)["key"] for line in lines)


def test_task_error_propagates(tmp_path):
    def task(params):
        if params["n"] == 4:
            raise ValueError("boom")
        return square_task(params)

    with pytest.raises(ValueError, match="boom"):
        run_sweep(task, INSTANCES, cache_path=str(tmp_path / "c.jsonl"), progress=False)
    assert len(read_cache(str(tmp_path / "c.jsonl"))) == 2


def test_extra_columns_from_a_theorems_analysis_are_shown():
    rows = [{"theorem": "t", "params": {"K": 8}, "verdict": "HOLDS", "error_upper": "1/8",
             "bound": "1/4", "extra": {"w0_bits": "77"}},
            {"theorem": "t", "params": {"K": 16}, "verdict": "HOLDS", "error_upper": "1/16",
             "bound": "1/4", "extra": {"w0_bits": "171"}}]
    md = table(rows, "md")
    assert "w0_bits" in md and "| 171 |" in md
    lines = list(csv.reader(io.StringIO(table(rows, "csv"))))
    col = lines[0].index("w0_bits")
    assert [line[col] for line in lines[1:]] == ["77", "171"]
    assert "w0\\_bits" in table(rows, "latex")
