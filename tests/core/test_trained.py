"""`certify network`: exact import of trained ReLU networks, the certified sup error, and
refusals of bad input (one line, exit 2)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from flint import fmpq

from certify.cli import main
from certify.trained import ErrorTarget, certify_network, parse_box
from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.network_files import load_network, network_from_module


def refused(capsys, argv: list[str], *words: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("certify: error:") and "\n" not in err, err
    for w in words:
        assert w in err, (w, err)
    return err


def _json_net(path, layers) -> str:
    path.write_text(json.dumps({"layers": layers}))
    return str(path)


RELU_X = [{"type": "linear", "W": [[1]], "b": [0]}, {"type": "relu"},
          {"type": "linear", "W": [[1]], "b": [0]}]


# ---------------------------------------------------------------------------------------------
# import


def test_state_dict_and_module_import_exactly(tmp_path):
    torch.manual_seed(3)
    seq = torch.nn.Sequential(torch.nn.Linear(1, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3),
                              torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    torch.save(seq.state_dict(), tmp_path / "n.pt")
    a, b = load_network(str(tmp_path / "n.pt")), network_from_module(seq)
    assert a.digest == b.digest and a.widthvec == (5, 4)
    x = fmpq(3, 7)
    exact = evaluate(a, [[x]])[0][0]
    with torch.no_grad():
        f64 = seq.double()(torch.tensor([[3 / 7]], dtype=torch.float64)).item()
    assert abs(float(exact) - f64) < 1e-12
    # the weights are their float values exactly (dyadic rationals)
    w = float(seq[0].weight.detach()[2, 0])
    assert a.nodes[0].W[2, 0] == fmpq(*w.as_integer_ratio())


def test_official_mmnn_state_dict_layout():
    """Keys fcs.{j} of the official code: ReLU after the even (frozen W) maps only."""
    from gpu.mmnn import MMNN, size_triple

    m = MMNN(*size_triple(1, 1, 12, 3, 3), seed=5)
    from constructive.network_files import layers_from_state, to_network

    net = to_network(layers_from_state(m.state_dict(), "mmnn"), "mmnn")
    assert net.widthvec == (12, 12, 12)
    with torch.no_grad():
        want = m.double()(torch.tensor([[0.3]], dtype=torch.float64)).item()
    assert abs(float(evaluate(net, [[fmpq(3, 10)]])[0][0]) - want) < 1e-12


def test_safetensors_and_official_mmnn_file_through_the_cli(tmp_path, capsys):
    """An official-layout MMNN state dict (fcs.{j}) and its safetensors copy give one network."""
    from safetensors.torch import save_file

    from gpu.mmnn import MMNN, size_triple

    m = MMNN(*size_triple(1, 1, 10, 3, 2), seed=9)
    torch.save(m.state_dict(), tmp_path / "official.pth")
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, str(tmp_path / "m.safetensors"))
    a, b = load_network(str(tmp_path / "official.pth")), load_network(str(tmp_path / "m.safetensors"))
    assert a.digest == b.digest
    assert main(["network", str(tmp_path / "m.safetensors"), "--target", "0", "--box=-1,1",
                 "--tol", "100"]) == 0
    assert "HOLDS" in capsys.readouterr().out


@pytest.mark.parametrize("layers, words", [
    ([{"type": "linear", "W": [[1]], "b": [0]}, {"type": "tanh"}], ["tanh", "only linear and relu"]),
    ([{"type": "linear", "W": [[1], [2]], "b": [0, 0]}, {"type": "relu"},
      {"type": "linear", "W": [[1]], "b": [0]}], ["takes 1 inputs", "gives 2"]),
    ([{"type": "linear", "W": [["nan"]], "b": [0]}], ["not finite"]),
    ([{"type": "linear", "W": [[1]], "b": [0, 1]}], ["bias has 2 entries"]),
    ([{"type": "linear", "W": [[1], [1, 2]], "b": [0, 0]}], ["ragged"]),
])
def test_bad_network_files_exit_2(tmp_path, capsys, layers, words):
    f = _json_net(tmp_path / "bad.json", layers)
    refused(capsys, ["network", f, "--target", "x1", "--box=-1,1", "--tol", "1"], *words)


def test_bad_state_dicts_exit_2(tmp_path, capsys):
    bn = torch.nn.Sequential(torch.nn.Linear(1, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 1))
    torch.save(bn.state_dict(), tmp_path / "bn.pt")
    refused(capsys, ["network", str(tmp_path / "bn.pt"), "--target", "x1", "--box=-1,1", "--tol", "1"],
            "bn.pt", "running_mean")
    seq = torch.nn.Sequential(torch.nn.Linear(1, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    state = seq.state_dict()
    state["2.weight"] = state["2.weight"].clone()
    state["2.weight"][0, 1] = float("inf")
    torch.save(state, tmp_path / "inf.pt")
    refused(capsys, ["network", str(tmp_path / "inf.pt"), "--target", "x1", "--box=-1,1", "--tol", "1"],
            "not finite")
    (tmp_path / "junk.pt").write_bytes(b"\x00\x01junk")
    refused(capsys, ["network", str(tmp_path / "junk.pt"), "--target", "x1", "--box=-1,1", "--tol", "1"],
            "junk.pt")
    refused(capsys, ["network", str(tmp_path / "missing.pt"), "--target", "x1", "--box=-1,1", "--tol", "1"],
            "cannot read")


@pytest.mark.parametrize("extra, words", [
    (["--target", "x1", "--box=1,-1", "--tol", "1"], ["--box", "lo < hi"]),
    (["--target", "x1", "--box=a,1", "--tol", "1"], ["--box", "exact rationals"]),
    (["--target", "x1", "--box=0,1", "--box=0,1", "--tol", "1"], ["2 sides", "1 inputs"]),
    (["--target", "x1 +* 2", "--box=0,1", "--tol", "1"], ["--target"]),
    (["--target", "x2", "--box=0,1", "--tol", "1"], ["--target"]),
    (["--target", "x1", "--box=0,1", "--tol", "-1"], ["--tol"]),
    (["--target", "x1", "--box=0,1", "--tol", "abc"], ["--tol"]),
])
def test_bad_box_target_tol_exit_2(tmp_path, capsys, extra, words):
    f = _json_net(tmp_path / "n.json", RELU_X)
    refused(capsys, ["network", f] + extra, *words)


# ---------------------------------------------------------------------------------------------
# verdicts


def test_relu_against_abs(tmp_path, capsys):
    """relu(x) vs |x| on [−1, 1]: the sup error is exactly 1 (at x = −1)."""
    f = _json_net(tmp_path / "n.json", RELU_X)
    assert main(["network", f, "--target", "abs(x1)", "--box=-1,1", "--tol", "101/100",
                 "--json", str(tmp_path / "c.json")]) == 0
    cert = json.loads((tmp_path / "c.json").read_text())
    assert cert["result"]["verdict"] == "HOLDS"
    assert fmpq(1) <= _q(cert["result"]["certified_upper"]) <= fmpq(101, 100)
    assert main(["network", f, "--target", "abs(x1)", "--box=-1,1", "--tol", "99/100"]) == 1
    out = capsys.readouterr().out
    assert "VIOLATED" in out and "witness" in out


def _q(s: str) -> fmpq:
    from constructive.numbers import as_fmpq

    return as_fmpq(s)


def test_smooth_target_second_order_bound_is_tight():
    """x ↦ relu(x) − relu(−x) = x against sin(x1): sup |sin x − x| on [0, 1] = 1 − sin 1."""
    net = load_network_from(RELU_X)
    t = ErrorTarget("sin(x1)", 1)
    res = certify_network(net, t, parse_box(["0,1"], 1), fmpq(2, 10))
    true = 1 - math.sin(1)
    assert res.verdict == "HOLDS"
    assert float(res.lower) <= true <= float(res.upper) <= true * 1.06
    res = certify_network(net, t, parse_box(["0,1"], 1), fmpq(int(true * 10**6) - 1, 10**6))
    assert res.verdict == "VIOLATED" and float(res.lower) > true - 1e-6


def load_network_from(layers):
    from constructive.network_files import layers_from_json, to_network

    return to_network(layers_from_json({"layers": layers}, "test"), "test")


def test_two_dimensional_boxes():
    """relu(x1 + x2) against max(x1 + x2, 0) + x1/100 on [0, 1]²: sup error 1/100 at x1 = 1."""
    net = load_network_from([{"type": "linear", "W": [[1, 1]], "b": [0]}, {"type": "relu"},
                             {"type": "linear", "W": [[1]], "b": [0]}])
    t = ErrorTarget("max(x1 + x2, 0) + x1/100", 2)
    res = certify_network(net, t, parse_box(["0,1"], 2), fmpq(11, 1000))
    assert res.verdict == "HOLDS" and fmpq(1, 100) <= res.upper <= fmpq(11, 1000)
    res = certify_network(net, t, parse_box(["0,1"], 2), fmpq(9, 1000))
    assert res.verdict == "VIOLATED"


def test_api_refuses_mismatched_target_and_non_relu():
    net = load_network_from([{"type": "linear", "W": [[1, 1]], "b": [0]}, {"type": "relu"},
                             {"type": "linear", "W": [[1]], "b": [0]}])
    with pytest.raises(UserError, match="1 variables"):
        certify_network(net, ErrorTarget("x1", 1), parse_box(["0,1"], 2), fmpq(1))
    with pytest.raises(UserError, match="Linear and ReLU"):
        network_from_module(torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1)))
