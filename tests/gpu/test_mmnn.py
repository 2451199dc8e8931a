"""The torch MMNN: frozen (W, b), trained (A, c), seeds, parameter counts of the note's table,
the residual variant, the Linear/ReLU export and the matched FCNN (CPU)."""

from __future__ import annotations

import pytest
import torch
from flint import fmpq

from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.network_files import network_from_module
from gpu.mmnn import (MMNN, fcnn, fcnn_parameter_count, matched_fcnn_width, parameter_counts, size_triple,
                      to_sequential, train)

# (d_in, w, r, l) → (frozen, trainable), from the paper note §6 (official code convention)
NOTE_TABLE = [
    ((1, 666, 36, 6), (124542, 120727)),
    ((2, 666, 36, 8), (174492, 168751)),
    ((4, 666, 36, 8), (175824, 168751)),
    ((1, 800, 400, 15), (4492800, 4486401)),
    ((1, 800, 40, 15), (460800, 449361)),
    ((2, 500, 20, 8), (75000, 70641)),
]


@pytest.mark.parametrize("size, counts", NOTE_TABLE)
def test_parameter_counts_match_the_note(size, counts):
    d, w, r, l = size
    assert parameter_counts(*size_triple(d, 1, w, r, l)) == counts


def test_module_counts_and_frozen_split():
    m = MMNN(*size_triple(1, 1, 666, 36, 6), seed=0)
    assert (m.frozen_count(), m.trainable_count()) == (124542, 120727)
    assert all(not p.requires_grad for lin in m.inner for p in lin.parameters())
    assert all(p.requires_grad for lin in m.outer for p in lin.parameters())


@pytest.fixture
def one_thread():
    """Small matrices: one torch thread is much faster on a shared machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_training_moves_only_a_and_c(one_thread):
    m = MMNN(*size_triple(1, 1, 16, 4, 3), seed=1)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    x = torch.linspace(-1, 1, 64).reshape(-1, 1)
    hist = train(m, x, torch.sin(3 * x), x, torch.sin(3 * x), epochs=1, batch=32, report_every=1)
    assert len(hist.cpu_seconds) == len(hist.seconds) == 1 and hist.cpu_seconds[0] >= 0
    after = m.state_dict()
    for j in range(m.depth):
        assert torch.equal(before[f"fcs.{2 * j}.weight"], after[f"fcs.{2 * j}.weight"])
        assert torch.equal(before[f"fcs.{2 * j}.bias"], after[f"fcs.{2 * j}.bias"])
        assert not torch.equal(before[f"fcs.{2 * j + 1}.weight"], after[f"fcs.{2 * j + 1}.weight"])


def test_seed_is_recorded_and_reproducible():
    a, b, c = (MMNN(*size_triple(2, 1, 20, 4, 3), seed=s) for s in (7, 7, 8))
    assert a.describe()["seed"] == 7
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.fcs[0].weight, c.fcs[0].weight)


@pytest.mark.parametrize("resnet", [False, True])
def test_sequential_export_is_the_same_function(resnet):
    m = MMNN(*size_triple(2, 1, 24, 5, 4), seed=3, resnet=resnet)
    seq = to_sequential(m)
    x = torch.rand(50, 2) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(seq(x), m(x), atol=1e-5)
    # and the exact import agrees with a float64 replay
    net = network_from_module(seq)
    p = [fmpq(1, 3), fmpq(-2, 5)]
    with torch.no_grad():
        want = m.double()(torch.tensor([[1 / 3, -2 / 5]], dtype=torch.float64)).item()
    assert abs(float(evaluate(net, [[v] for v in p])[0][0]) - want) < 1e-10


def test_residual_adds_the_layer_input():
    m = MMNN([2, 3, 3, 3, 1], [8, 8, 8, 8], seed=2, resnet=True)
    assert [m.residual(j) for j in range(4)] == [False, True, True, False]
    x = torch.rand(4, 3)
    with torch.no_grad():
        y = m.fcs[3](torch.relu(m.fcs[2](x)))
        step = y + x
        # layer 1 alone, through the forward loop's rule
        k = 3
        manual = torch.cat([y[:, :k] + x[:, :k], y[:, k:]], dim=1)
    assert torch.allclose(step, manual)


def test_matched_fcnn_has_about_the_same_trained_count():
    trainable = parameter_counts(*size_triple(1, 1, 666, 36, 6))[1]
    w = matched_fcnn_width(trainable, 1, 1, 6)
    n = fcnn_parameter_count(1, 1, w, 6)
    assert abs(n - trainable) / trainable < 0.01
    net = fcnn(1, 1, w, 6)
    assert sum(p.numel() for p in net.parameters()) == n


@pytest.mark.parametrize("bad", [(0, 1, 10, 2, 3), (1, 1, 10, 2, 0), (1, 1, -5, 2, 3)])
def test_bad_sizes_refused(bad):
    with pytest.raises(UserError):
        size_triple(*bad)


@pytest.mark.slow
def test_example_script_smoke(tmp_path, monkeypatch, one_thread):
    """The experiment script end to end on a tiny setting: JSON, plot and a certifiable file."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "experiments" / "mmnn_examples.py"
    spec = importlib.util.spec_from_file_location("mmnn_examples", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setitem(mod.EXAMPLES["1d"], "quick", (1, mod.f1d, (8, 2, 2), 40, 20, 2, 1, 30, 1e-3))
    res = mod.main(["--example", "1d", "--scale", "quick", "--seed", "3", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "1d_quick.json").read_text())
    assert saved["seed"] == 3 and saved["models"]["MMNN"]["trainable"] == res["models"]["MMNN"]["trainable"]
    assert (tmp_path / "1d_quick.png").stat().st_size > 0
    from constructive.network_files import load_network

    assert load_network(str(tmp_path / "1d_quick_mmnn.pt")).in_dim == 1


@pytest.mark.slow
def test_two_processes_train_the_same_as_one(tmp_path, monkeypatch, one_thread):
    """--jobs 2 (MMNN and FCNN in two spawned processes) reproduces the sequential run exactly."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "experiments" / "mmnn_examples.py"
    spec = importlib.util.spec_from_file_location("mmnn_examples", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setitem(mod.EXAMPLES["1d"], "quick", (1, mod.f1d, (8, 2, 2), 40, 20, 3, 1, 30, 1e-3))
    one = mod.run("1d", "quick", 5, str(tmp_path / "one"), quiet=True, jobs=1)
    two = mod.run("1d", "quick", 5, str(tmp_path / "two"), quiet=True, jobs=2)
    for name in ("MMNN", "FCNN"):
        assert one["models"][name]["history"]["test_max"] == two["models"][name]["history"]["test_max"]
    a = torch.load(tmp_path / "one" / "1d_quick_mmnn.pt")
    b = torch.load(tmp_path / "two" / "1d_quick_mmnn.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
