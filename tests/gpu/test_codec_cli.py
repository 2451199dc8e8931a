"""Bad input and the compress / decompress / codec-report subcommands on a small synthetic file."""

from __future__ import annotations

import argparse
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from constructive.errors import UserError  # noqa: E402
from gpu.hyperfunction import cli  # noqa: E402
from gpu.hyperfunction.codec import CODEC_METHODS, get_codec  # noqa: E402
from gpu.hyperfunction.report import relative_frobenius  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def parser():
    p = argparse.ArgumentParser(prog="certify")
    sub = p.add_subparsers(dest="command", required=True)
    cli.register(sub)
    return p


def run(*argv):
    args = parser().parse_args([str(a) for a in argv])
    return args.func(args)


@pytest.fixture
def model(tmp_path):
    gen = torch.Generator().manual_seed(3)
    tensors = {
        "layer.0.weight": torch.randn(48, 128, generator=gen) * 0.02,
        "layer.0.bias": torch.randn(48, generator=gen) * 0.01,
        "layer.1.weight": (torch.randn(16, 48, generator=gen) * 0.05).to(torch.bfloat16),
    }
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt", "note": "synthetic"})
    return path, tensors


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("method", CODEC_METHODS)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_inf_rejected_naming_the_tensor(method, bad):
    w = torch.zeros(4, 8)
    w[1, 2] = bad
    with pytest.raises(UserError, match="tensor 'blk.w'.*NaN or Inf"):
        get_codec(method).encode(w, 4, name="blk.w")


@pytest.mark.parametrize("method", CODEC_METHODS)
def test_unsupported_dtype_rejected(method):
    with pytest.raises(UserError, match="tensor 'ids'.*unsupported dtype int64"):
        get_codec(method).encode(torch.arange(10), 4, name="ids")


@pytest.mark.parametrize("method,bits", [("winding", 0), ("winding", 9), ("lattice", 1), ("rtn", 9), ("rtn", 1)])
def test_bits_out_of_range(method, bits):
    with pytest.raises(UserError, match=r"tensor 'w': bits=.* out of range"):
        get_codec(method).encode(torch.zeros(4, 4), bits, name="w")


def test_other_bad_inputs():
    with pytest.raises(UserError, match="empty"):
        get_codec("rtn").encode(torch.zeros(0, 4), 4, name="w")
    with pytest.raises(UserError, match="fp16"):
        get_codec("winding").encode(torch.full((2, 2), 1e6), 4, name="huge")
    with pytest.raises(UserError, match="unknown codec method"):
        get_codec("zip")
    with pytest.raises(UserError, match="k·bits"):
        get_codec("winding", k=3).encode(torch.zeros(3, 3), 5, name="w")


def test_user_errors_are_one_line():
    try:
        get_codec("rtn").encode(torch.tensor([1.0, float("nan")]), 4, name="x")
    except UserError as exc:
        assert "\n" not in str(exc)
    else:  # pragma: no cover
        pytest.fail("no error")


# ----------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("method", CODEC_METHODS)
def test_compress_decompress_report(model, tmp_path, method, capsys):
    path, tensors = model
    packed = tmp_path / f"{method}.hfc"
    restored = tmp_path / f"{method}.safetensors"
    report = tmp_path / f"{method}.json"
    assert run("compress", path, "-o", packed, "--method", method, "--bits", "5") == 0
    assert run("decompress", packed, "-o", restored) == 0
    assert run("codec-report", path, packed, "--json", report) == 0

    out = load_file(str(restored))
    assert set(out) == set(tensors)
    for name, original in tensors.items():
        assert out[name].dtype == original.dtype and out[name].shape == original.shape
    assert torch.equal(out["layer.0.bias"], tensors["layer.0.bias"])  # 1-D kept raw
    assert relative_frobenius(tensors["layer.0.weight"], out["layer.0.weight"]) < 0.1
    with safe_open(str(restored), framework="pt") as f:
        assert f.metadata() == {"format": "pt", "note": "synthetic"}

    data = json.loads(report.read_text())
    rows = {t["name"]: t for t in data["tensors"]}
    assert rows["layer.0.weight"]["method"] == method
    assert rows["layer.0.bias"]["method"] == "raw"
    assert 4.9 < rows["layer.0.weight"]["bits_per_weight"] < 5.3
    assert data["rel_frobenius"] > 0
    assert "overall" in capsys.readouterr().out
    assert not list(tmp_path.glob("*.tmp"))


def test_all_tensors_flag_encodes_1d(model, tmp_path):
    path, _ = model
    packed = tmp_path / "all.hfc"
    run("compress", path, "-o", packed, "--method", "rtn", "--bits", "4", "--all-tensors")
    with safe_open(str(packed), framework="pt") as f:
        entry = json.loads(f.metadata()["tensor:layer.0.bias"])
    assert entry["method"] == "rtn"


def test_winding_options_reach_the_file(model, tmp_path):
    path, _ = model
    packed = tmp_path / "w.hfc"
    run("compress", path, "-o", packed, "--method", "winding", "--bits", "4", "--k", "1", "--block", "64", "--direction", "pi")
    with safe_open(str(packed), framework="pt") as f:
        params = json.loads(f.metadata()["tensor:layer.0.weight"])["params"]
    assert (params["k"], params["block"], params["direction"]) == (1, 64, "pi")


def test_compress_rejects_non_safetensors_and_keeps_no_output(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_text("hello")
    out = tmp_path / "out.hfc"
    with pytest.raises(UserError, match="not a readable safetensors file"):
        run("compress", junk, "-o", out, "--method", "rtn", "--bits", "4")
    assert not out.exists()


def test_compress_rejects_bad_tensor_and_writes_nothing(tmp_path):
    src = tmp_path / "bad.safetensors"
    save_file({"a": torch.ones(4, 4), "b": torch.tensor([[1.0, float("nan")]])}, str(src))
    out = tmp_path / "out.hfc"
    with pytest.raises(UserError, match="tensor 'b'"):
        run("compress", src, "-o", out, "--method", "winding", "--bits", "4")
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))
    ints = tmp_path / "ints.safetensors"
    save_file({"pos": torch.arange(6).reshape(2, 3)}, str(ints))
    with pytest.raises(UserError, match="tensor 'pos'.*unsupported dtype"):
        run("compress", ints, "-o", out, "--method", "rtn", "--bits", "4")


def test_bits_range_checked_before_reading(model, tmp_path):
    path, _ = model
    with pytest.raises(UserError, match="--bits 12 out of range"):
        run("compress", path, "-o", tmp_path / "x.hfc", "--method", "lattice", "--bits", "12")


def test_decompress_rejects_plain_file(model, tmp_path):
    path, _ = model
    with pytest.raises(UserError, match="not a hyperfunction-codec file"):
        run("decompress", path, "-o", tmp_path / "x.safetensors")


def test_report_rejects_mismatched_original(model, tmp_path):
    path, _ = model
    packed = tmp_path / "m.hfc"
    run("compress", path, "-o", packed, "--method", "rtn", "--bits", "4")
    other = tmp_path / "other.safetensors"
    save_file({"layer.0.weight": torch.zeros(3, 3)}, str(other))
    with pytest.raises(UserError, match="tensor 'layer.0.bias': in .* but not in"):
        run("codec-report", other, packed)
    tensors = load_file(str(path))
    tensors["layer.0.weight"] = torch.zeros(3, 3)
    save_file(tensors, str(other))
    with pytest.raises(UserError, match="tensor 'layer.0.weight': shape"):
        run("codec-report", other, packed)


# ----------------------------------------------------------------------------- --side and --device


@pytest.mark.parametrize("side", ["inf", "nan", "-1", "0", "1e30", "1e-300"])
def test_side_outside_its_range_is_refused_before_work(model, tmp_path, side):
    path, _ = model
    out = tmp_path / "packed.hfc"
    with pytest.raises(UserError, match="side"):
        run("compress", path, "-o", out, "--method", "lattice", "--bits", "4", "--side", side)
    assert not out.exists()


def test_side_wider_than_the_weights_is_refused(model, tmp_path):
    path, _ = model
    out = tmp_path / "packed.hfc"
    with pytest.raises(UserError, match="too wide"):
        run("compress", path, "-o", out, "--method", "lattice", "--bits", "4", "--side", "1000")
    assert not out.exists()


def test_side_only_with_lattice(model, tmp_path):
    path, _ = model
    with pytest.raises(UserError, match="--side applies to --method lattice"):
        run("compress", path, "-o", tmp_path / "p.hfc", "--method", "rtn", "--bits", "4", "--side", "1")


def test_a_valid_fixed_side_round_trips(model, tmp_path):
    path, tensors = model
    packed, restored = tmp_path / "p.hfc", tmp_path / "r.safetensors"
    assert run("compress", path, "-o", packed, "--method", "lattice", "--bits", "5", "--side", "0.1") == 0
    assert run("decompress", packed, "-o", restored) == 0
    out = load_file(str(restored))
    assert relative_frobenius(tensors["layer.0.weight"], out["layer.0.weight"]) < 0.2


def test_missing_output_directory_is_refused_before_work(model, tmp_path):
    path, _ = model
    with pytest.raises(UserError, match="does not exist"):
        run("compress", path, "-o", tmp_path / "absent" / "p.hfc", "--method", "rtn", "--bits", "4")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("command", ["compress", "decompress", "codec-report"])
def test_cuda_without_cuda_is_a_user_error(model, tmp_path, command):
    path, _ = model
    packed = tmp_path / "p.hfc"
    assert run("compress", path, "-o", packed, "--method", "rtn", "--bits", "4") == 0
    argv = {
        "compress": ["compress", path, "-o", tmp_path / "q.hfc", "--method", "rtn", "--bits", "4"],
        "decompress": ["decompress", packed, "-o", tmp_path / "r.safetensors"],
        "codec-report": ["codec-report", path, packed],
    }[command]
    with pytest.raises(UserError, match="CUDA is not available"):
        run(*argv, "--device", "cuda")
