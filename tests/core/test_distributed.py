"""Sweeps on Dask distributed and the content-keyed cache (certify/distributed.py)."""

from __future__ import annotations

import json
import os

import pytest
from flint import fmpq

from certify import cli, distributed, sweep
from constructive.errors import UserError

THM = "syz-intrinsic-lp"


def _jobs(ns, target=None):
    return [{"theorem": THM, "params": {"d": "1", "p": "2", "n": str(n)}, "target": target}
            for n in ns]


def _timeless(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_local_cluster_matches_serial_and_second_run_reuses_every_row(tmp_path):
    serial, stats = distributed.run_jobs(_jobs((1, 2)), progress=False)
    assert stats == {"reused": 0, "computed": 2, "total": 2}
    cache = str(tmp_path / "cache")
    said = []
    rows, stats = distributed.run_jobs(_jobs((1, 2)), scheduler="local", workers=2,
                                       cache_dir=cache, progress=False, report=said.append)
    assert _timeless(rows) == _timeless(serial)
    assert stats["reused"] == 0 and stats["computed"] == 2
    assert said == [f"reused 0/2 rows from {cache}"]
    again, stats = distributed.run_jobs(_jobs((1, 2)), scheduler="local", cache_dir=cache,
                                        progress=False, report=said.append)
    assert again == rows and stats == {"reused": 2, "computed": 0, "total": 2}
    assert said[-1] == f"reused 2/2 rows from {cache}"
    # every cached row is one whole JSON file; no temporary file is left behind
    files = [os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs]
    assert len(files) == 2 and all(f.endswith(".json") and "/.row-" not in f for f in files)


def test_content_key_fills_defaults_and_separates_what_differs():
    base = {"theorem": THM, "params": {"d": "1", "p": "2", "n": "3"}, "target": None}
    key = distributed.content_key(base)
    # the default n=4, p=2 given or omitted, and the default target named or not: one key
    assert distributed.content_key({**base, "params": {"n": "4"}}) == \
        distributed.content_key({**base, "params": {"n": "4", "d": "1", "p": "2"},
                                 "target": "abs"})
    assert distributed.content_key({**base, "params": {"d": "1", "p": "2", "n": "4"}}) != key
    assert distributed.content_key({**base, "target": "sine:k=1"}) != key
    assert distributed.content_key({**base, "theorem": "syz-intrinsic-linf",
                                    "params": {"d": "1", "n": "3"}}) != key


def test_content_key_changes_with_the_statement_and_the_code(monkeypatch):
    job = _jobs((3,))[0]
    key = distributed.content_key(job)
    monkeypatch.setattr(distributed, "entry_digest", lambda thm: "edited statement")
    assert distributed.content_key(job) != key
    monkeypatch.undo()
    monkeypatch.setattr(distributed, "code_digest", lambda package: "other code")
    assert distributed.content_key(job) != key


def test_directory_cache_ignores_corrupt_and_foreign_files(tmp_path):
    cache = sweep.DirectoryCache(str(tmp_path / "c"))
    cache.open()
    cache.store("k1", {"v": "1/2"})
    cache.store("k2", {"v": "1/4"})
    assert cache.lookup(["k1", "k2", "k3"]) == {"k1": {"v": "1/2"}, "k2": {"v": "1/4"}}
    with open(cache._path("k1"), "w") as fh:
        fh.write('{"key": "k1", "ro')                 # cut short
    with open(cache._path("k2"), "w") as fh:
        json.dump({"key": "other", "row": {"v": "9"}}, fh)  # not this key's row
    assert cache.lookup(["k1", "k2"]) == {}
    calls = []

    def task(p):
        calls.append(p)
        return {"v": str(fmpq(1, 2 ** p["n"]))}

    rows = sweep.run_sweep(task, [{"n": 1}, {"n": 2}], cache=cache, progress=False,
                           key=lambda p: f"k{p['n']}")
    assert rows == [{"v": "1/2"}, {"v": "1/4"}] and len(calls) == 2
    assert cache.lookup(["k1", "k2"]) == {"k1": {"v": "1/2"}, "k2": {"v": "1/4"}}


def test_rows_must_be_plain_data(monkeypatch):
    import certify.rows

    monkeypatch.setattr(certify.rows, "sweep_row", lambda job: {"upper": fmpq(1, 3)})
    with pytest.raises(TypeError, match="row.upper is a fmpq"):
        distributed.run_job(_jobs((1,))[0])


def test_cli_table_cache_dir_reports_reuse(tmp_path, capsys):
    args = ["table", THM, "--sweep", "n=1..2", "-p", "d=1", "--format", "csv",
            "--cache-dir", str(tmp_path / "c")]
    assert cli.main(args) == 0
    first = capsys.readouterr()
    assert "reused 0/2 rows" in first.err
    assert cli.main(args) == 0
    second = capsys.readouterr()
    assert "reused 2/2 rows" in second.err
    strip = [line.rsplit(",", 1)[0] for line in first.out.splitlines()]  # seconds column last
    assert strip == [line.rsplit(",", 1)[0] for line in second.out.splitlines()]


@pytest.mark.parametrize("address, message", [
    ("tcp://127.0.0.1:9", "no Dask scheduler answers there"),
    ("udp://127.0.0.1:8786", "is not allowed"),
    ("tcp://host:70000", "outside 1..65535"),
])
def test_bad_scheduler_is_one_line_exit_2(address, message, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT_S", 1)
    code = cli.main(["table", THM, "--sweep", "n=1..2", "--scheduler", address,
                     "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_option_combinations_refused(tmp_path):
    with pytest.raises(UserError, match="not both"):
        distributed.run_jobs(_jobs((1,)), cache_file=str(tmp_path / "a.jsonl"),
                             cache_dir=str(tmp_path / "d"))
    with pytest.raises(UserError, match="its own workers"):
        distributed.run_jobs(_jobs((1,)), scheduler="tcp://127.0.0.1:9", workers=3)
    with pytest.raises(UserError, match="workers=0"):
        distributed.run_jobs(_jobs((1,)), workers=0)


def test_api_table_with_a_cache_dir_reuses_rows(tmp_path):
    from certify import table

    first = table(THM, {"n": [1, 2]}, d=1, cache_dir=str(tmp_path / "c"))
    again = table(THM, {"n": [1, 2]}, d=1, cache_dir=str(tmp_path / "c"))
    assert again.rows == first.rows and len(first) == 2  # the same rows, times included: reused
    assert _timeless(first.rows) == _timeless(table(THM, {"n": [1, 2]}, d=1).rows)
