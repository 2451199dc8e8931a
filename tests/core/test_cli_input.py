"""Bad command-line input is refused before any work: one line on stderr, exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from certify.cli import main
from certify.registry import RegistryError, default_registry, load
from constructive.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


def refused(capsys, argv: list[str], *words: str) -> str:
    """Run the CLI, expect exit 2 with one line ``certify: error: ...`` naming ``words``."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("certify: error:") and "\n" not in err, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, (w, err)
    return err


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a theorem run or a process pool starts."""
    import concurrent.futures

    import certify.certificate as cc

    def boom(*a, **k):
        raise AssertionError("work started before the input was checked")

    monkeypatch.setattr(cc, "run_theorem", boom)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", boom)


# ----------------------------------------------------------------------------- bounded domains


def test_loader_refuses_an_unbounded_numeric_parameter(tmp_path):
    entry = ('[[theorem]]\nid="x-a"\ntitle="t"\npaper="p"\ncitation="c"\nversion="v"\nnumber="1"\n'
             'page=1\nkind="lemma"\nconstruction="m:f"\nmethod="cells-lp"\n'
             '[theorem.parameters.p]\nkind="rational"\ndefault="2"\nmin="1"\n'
             '[theorem.claim]\nbound="1"\n')
    (tmp_path / "intrinsic").mkdir()
    (tmp_path / "intrinsic" / "claims.toml").write_text(entry)
    with pytest.raises(RegistryError, match="p .*needs both min and max"):
        load(tmp_path)
    (tmp_path / "intrinsic" / "claims.toml").write_text(entry.replace('min="1"\n', 'min="1"\nmax="64"\n'))
    assert load(tmp_path).get("x-a").parameters["p"].max == 64


def test_every_numeric_parameter_of_the_catalogue_is_bounded():
    for thm in default_registry().theorems.values():
        for p in thm.parameters.values():
            if p.kind in ("int", "rational"):
                assert p.min is not None and p.max is not None, (thm.id, p.name)


@pytest.mark.parametrize("value", ["1e400", "1e100000000", "65", "1" * 101])
def test_huge_exponent_is_outside_the_domain(value):
    thm = default_registry().get("syz-intrinsic-lp")
    with pytest.raises(UserError, match="domain"):
        thm.parse_params({"p": value})


def test_huge_value_is_one_line(capsys, no_work):
    refused(capsys, ["run", "syz-intrinsic-lp", "-p", "p=1e400"], "p=1e400", "1 ≤ p ≤ 64")


def test_run_calls_the_methods_precheck_before_building(capsys, monkeypatch):
    """Work above a stated budget is refused before the builder runs."""
    import dataclasses
    import importlib

    thm = default_registry().get("syz-cpwl-one-layer")
    table = importlib.import_module(f"proofs.{thm.package}.check").METHODS
    module, _, name = thm.construction.partition(":")
    builders = importlib.import_module(module)

    def over_budget(params):
        raise UserError(f"instance n={params['n']} is over the budget")

    def build(*a, **k):
        raise AssertionError("built before the precheck")

    monkeypatch.setitem(table, thm.method, dataclasses.replace(table[thm.method], precheck=over_budget))
    monkeypatch.setattr(builders, name, build)
    refused(capsys, ["run", thm.id, "-p", "n=5"], "over the budget")


# ----------------------------------------------------------------------------- combinations


@pytest.mark.parametrize("argv,words", [
    (["run", "syz-cpwl-one-layer", "-p", "n=4", "-p", "n=5"], ["'n'", "twice"]),
    (["run", "--all", "syz-cpwl-one-layer"], ["--all", "syz-cpwl-one-layer"]),
    (["run", "--all", "-p", "n=4"], ["--all", "-p"]),
    (["run", "syz-cpwl-one-layer", "--engine", "torch", "--json", "c.json"], ["torch", "--json"]),
    (["run", "syz-cpwl-one-layer", "--network", "net.json"], ["--network", "syz-cpwl-one-layer"]),
    (["run", "zlz-cor4-cpwl-architecture", "--network", "net.json"], ["--network"]),
    (["run", "syz-cpwl-one-layer", "--device", "cuda"], ["--device", "torch"]),
    (["table", "syz-cpwl-one-layer", "--sweep", "n=2..3", "--workers", "-3"], ["--workers -3"]),
    (["table", "syz-cpwl-one-layer", "--sweep", "n=2..3", "--workers", "0"], ["--workers 0"]),
    (["table", "syz-cpwl-one-layer", "--sweep", "n=2..3", "--workers", "100000"], ["--workers"]),
])
def test_conflicting_or_out_of_range_options(capsys, no_work, argv, words):
    refused(capsys, argv, *words)


def test_table_refuses_a_repeated_parameter(capsys):
    refused(capsys, ["table", "syz-intrinsic-lp", "--sweep", "n=1..2", "-p", "d=1", "-p", "d=2"], "'d'")


def test_table_sweep_product_is_bounded(capsys):
    refused(capsys, ["table", "syz-intrinsic-lp", "--sweep", "n=1..1000", "--sweep", "p=1..1000"],
            "instances")


# ----------------------------------------------------------------------------- files


def test_json_to_a_missing_directory_is_refused_before_work(capsys, no_work, tmp_path):
    target = tmp_path / "absent" / "cert.json"
    refused(capsys, ["run", "syz-cpwl-one-layer", "--json", str(target)], "--json", "does not exist")
    refused(capsys, ["run", "syz-cpwl-one-layer", "--json", str(tmp_path)], "is a directory")


def test_table_outputs_are_checked_before_work(capsys, no_work, tmp_path):
    bad = str(tmp_path / "absent" / "t.md")
    for option in ("--output", "--plot", "--cache"):
        refused(capsys, ["table", "syz-cpwl-one-layer", "--sweep", "n=2..3", option, bad], option)


def test_network_with_a_final_relu_is_refused(capsys, no_work, tmp_path):
    net = tmp_path / "net.json"
    net.write_text(json.dumps({"layers": [
        {"type": "linear", "W": [[1, -1], [1, 1]], "b": [0, "1/2"]}, {"type": "relu"},
        {"type": "linear", "W": [[1, -1]], "b": [0]}, {"type": "relu"}]}))
    refused(capsys, ["run", "zlz-relu-emulation-3n2l", "-p", "rho=softsign", "--network", str(net)],
            "last layer is a ReLU", str(net))


def test_missing_network_file_is_one_line(capsys, no_work, tmp_path):
    refused(capsys, ["run", "zlz-relu-emulation-3n2l", "--network", str(tmp_path / "absent.json")],
            "absent.json")


def _deep(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)  # Python's decoder gives up with RecursionError
    return path


@pytest.mark.parametrize("argv, words", [
    (lambda p: ["check", str(p)], ["certificate", "nested too deeply"]),
    (lambda p: ["check", str(p.parent)], ["certificate", "Is a directory"]),
    (lambda p: ["run", "zlz-relu-emulation-3n2l", "--network", str(p)], ["network file", "nested too deeply"]),
    (lambda p: ["network", str(p), "--target", "sine", "--tol", "1/10"], ["network file", "nested too deeply"]),
    (lambda p: ["network", str(p.parent), "--target", "sine", "--tol", "1/10"], ["Is a directory"]),
])
def test_unreadable_json_files_are_one_line(capsys, no_work, tmp_path, argv, words):
    """A directory, or JSON nested deeper than Python's decoder goes, was a traceback."""
    refused(capsys, argv(_deep(tmp_path)), *words)


def test_an_empty_target_is_refused(capsys):
    """--target '' ran the theorem's default target, silently."""
    refused(capsys, ["run", "syz-cpwl-one-layer", "--target", " "], "target is empty")


def test_a_huge_literal_is_refused_before_it_is_built(capsys):
    """Fraction("1e400000000") builds a 400-million-digit integer: the run hung."""
    refused(capsys, ["run", "syz-cpwl-interpolation", "-p", "n=5", "--target", "sin(x1)",
                     "--lipschitz", "1e400000000"], "Lipschitz constant", "too large a literal")
    refused(capsys, ["network", "absent.json", "--target", "sine", "--tol", "1e-400000000"], "--tol")


def test_a_target_past_the_float_range_gets_a_verdict(capsys, tmp_path):
    """sin(x1)·10^1000: the witness search steered hypothesis with an infinite float, a
    traceback; the steering is guidance only and is now clipped to the float range."""
    assert main(["run", "syz-cpwl-interpolation", "-p", "n=5", "--target", "sin(x1)*10**1000"]) == 0
    assert "verdict: HOLDS" in capsys.readouterr().out


def test_a_certificate_over_the_size_limit_is_refused_before_it_is_read(capsys, monkeypatch, tmp_path):
    from certify import certificate

    monkeypatch.setattr(certificate, "MAX_CERTIFICATE_BYTES", 10)
    path = tmp_path / "c.json"
    path.write_text('{"schema": 1, "padding": "........"}')
    refused(capsys, ["check", str(path)], "at most 10 are read")


# ----------------------------------------------------------------------------- devices


def test_cuda_without_cuda_is_one_line(capsys, no_work):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    refused(capsys, ["run", "syz-cpwl-one-layer", "--engine", "torch", "--device", "cuda"], "CUDA")
    refused(capsys, ["run", "syz-cpwl-one-layer", "--engine", "torch", "--device", "cuda:7"], "cuda:7")
    refused(capsys, ["run", "syz-cpwl-one-layer", "--engine", "torch", "--device", "nonsense"], "nonsense")


# ----------------------------------------------------------------------------- analysis failures


def _fail_analysis(monkeypatch):
    import certify.api as api
    import certify.certificate as cc
    from certify.method import AnalysisFailed

    def cannot(*a, **k):
        raise AnalysisFailed("a piece end of σ is crossed at an irrational point in (0, 1)")

    monkeypatch.setattr(cc, "run_theorem", cannot)
    monkeypatch.setattr(api, "run_theorem", cannot)  # where sweep rows are made


def test_analysis_that_cannot_proceed_is_inconclusive_not_a_traceback(capsys, monkeypatch, tmp_path):
    _fail_analysis(monkeypatch)
    out = tmp_path / "c.json"
    assert main(["run", "syz-fixed-sigma-1d-half", "--json", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "INCONCLUSIVE" in err and "irrational point" in err and "syz-fixed-sigma-1d-half" in err
    assert not out.exists()


def test_analysis_failure_in_a_sweep_is_a_row(capsys, monkeypatch):
    _fail_analysis(monkeypatch)
    assert main(["table", "syz-fixed-sigma-1d-half", "--sweep", "K=2..3", "--format", "csv"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.out.count("INCONCLUSIVE") == 2


# ----------------------------------------------------------------------------- the user's directory


def test_run_leaves_no_hypothesis_folder(tmp_path):
    """The falsifier's steered search (hypothesis) must not create ./.hypothesis."""
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    env["PYTHONPATH"] = str(ROOT)
    res = subprocess.run([sys.executable, "-m", "certify.cli", "run", "syz-cpwl-interpolation",
                          "-p", "n=3"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert "HOLDS" in res.stdout
    assert not (tmp_path / ".hypothesis").exists()
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- verdicts and internal errors


def test_conditional_verdict_is_printed_and_not_success(capsys):
    tent = "Piecewise((x1, x1 < 1/2), (1 - x1, True))"  # Lipschitz 1, declared, not verified
    assert main(["run", "syz-intrinsic-linf", "-p", "n=2", "--target", tent, "--lipschitz", "1"]) == 1
    captured = capsys.readouterr()
    assert "CONDITIONAL" in captured.out and "Traceback" not in captured.err


def test_contradicting_bounds_exit_3_in_one_line(capsys, monkeypatch):
    import certify.certificate as cc

    def contradiction(*a, **k):
        raise cc.ContradictionError("lower 1/2 > upper 1/3")

    monkeypatch.setattr(cc, "run_theorem", contradiction)
    assert main(["run", "syz-cpwl-one-layer"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("certify: internal error") and "\n" not in err and "1/2 > upper" in err


@pytest.mark.parametrize("tid,params", [
    ("syz-intrinsic-lp", ["-p", "n=14", "-p", "p=2"]),
    ("syz-intrinsic-linf", ["-p", "n=7", "-p", "d=2"]),
    ("syz-intrinsic-aux-offtrifling", ["-p", "n=13"]),
])
def test_cell_methods_refuse_work_over_the_budget(capsys, no_work, tid, params):
    assert main(["run", tid, *params]) == 2
    err = capsys.readouterr().err
    assert "work budget" in err and "CERTIFY_MAX_CELLS" in err and "Traceback" not in err


def test_loader_refuses_a_final_relu_layer(tmp_path):
    from proofs.beyond_relu.build import load_relu_network

    path = tmp_path / "net.json"
    path.write_text(json.dumps({"layers": [{"type": "linear", "W": [[1]], "b": [0]}, {"type": "relu"}]}))
    with pytest.raises(UserError, match="last layer is a ReLU"):
        load_relu_network(str(path))


def test_run_all_expects_errata_as_printed_to_be_violated(monkeypatch, capsys):
    """--all exits 0 when every entry comes out as expected: HOLDS, or VIOLATED for an entry
    that is a known erratum as printed; a single run of such an entry still exits 1."""
    import certify.registry as registry

    reg = registry.default_registry()
    ids = ["syz-partial-bitsum", "syz-partial-bitsum-printed"]
    small = type(reg)({i: reg.theorems[i] for i in ids}, reg.graph.subgraph(ids).copy())
    monkeypatch.setattr(registry, "default_registry", lambda: small)
    assert main(["run", "--all"]) == 0
    assert "known erratum as printed" in capsys.readouterr().out
    assert main(["run", "syz-partial-bitsum-printed"]) == 1
