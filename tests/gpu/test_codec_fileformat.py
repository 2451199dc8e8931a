"""The compressed container: round trip, and rejection of missing or corrupted fields."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from constructive.errors import UserError  # noqa: E402
from gpu.hyperfunction import fileformat  # noqa: E402
from gpu.hyperfunction.codec import CODEC_METHODS, get_codec  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def container(tmp_path):
    """A container with one tensor per method plus a raw one; returns its path."""
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(40, 64, generator=gen) * 0.02
    encoded = [get_codec(m).encode(w, 5, name=f"{m}.weight") for m in CODEC_METHODS]
    encoded.append(get_codec("raw").encode(torch.arange(5.0), name="bias"))
    path = tmp_path / "model.hfc"
    fileformat.save_encoded(path, encoded, {"origin": "test"})
    return path, w


def rewrite(src, dst, *, metadata=None, tensors=None):
    """Copy a safetensors file with edited metadata and/or tensors."""
    with safe_open(str(src), framework="pt") as f:
        meta = dict(f.metadata())
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    if metadata:
        metadata(meta)
    if tensors:
        tensors(arrays)
    save_file(arrays, str(dst), metadata=meta)
    return dst


def test_roundtrip_through_file(container):
    path, w = container
    loaded = fileformat.load_encoded(path)
    assert [t.name for t in loaded.tensors] == [f"{m}.weight" for m in CODEC_METHODS] + ["bias"]
    assert loaded.source_metadata == {"origin": "test"}
    for enc in loaded.tensors:
        out = get_codec(enc.method).decode(enc)
        if enc.method == "raw":
            assert torch.equal(out, torch.arange(5.0))
        else:
            direct = get_codec(enc.method).decode(get_codec(enc.method).encode(w, 5, name=enc.name))
            assert torch.equal(out, direct)
    assert fileformat.list_tensors(path)[-1] == "bias"


def test_every_decode_parameter_is_in_the_file(container):
    path, _ = container
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    entry = json.loads(meta["tensor:lattice.weight"])
    assert {"side", "far", "centre_x", "centre_y", "m", "rings", "width"} <= set(entry["params"])
    winding = json.loads(meta["tensor:winding.weight"])
    assert {"direction_fixed", "frac_bits", "k", "block", "width"} <= set(winding["params"])
    assert meta["format_version"] == str(fileformat.FORMAT_VERSION)


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda m: m.pop("format_version"), "format_version"),
        (lambda m: m.update(format_version="99"), "unsupported format_version"),
        (lambda m: m.update(format="other"), "not a hyperfunction-codec file"),
        (lambda m: m.pop("tensor:rtn.weight"), "missing metadata entry"),
        (lambda m: m.update({"tensor:rtn.weight": "{not json"}), "corrupted metadata entry"),
        (lambda m: m.update(tensors="[1, 2"), "tensors"),
    ],
)
def test_rejects_missing_or_corrupted_metadata(container, tmp_path, edit, message):
    path, _ = container
    bad = rewrite(path, tmp_path / "bad.hfc", metadata=edit)
    with pytest.raises(UserError, match=message):
        fileformat.load_encoded(bad)


@pytest.mark.parametrize("field", ["method", "bits", "shape", "dtype", "params", "arrays", "digest"])
def test_rejects_missing_entry_field(container, tmp_path, field):
    path, _ = container

    def drop(meta):
        entry = json.loads(meta["tensor:winding.weight"])
        del entry[field]
        meta["tensor:winding.weight"] = json.dumps(entry)

    with pytest.raises(UserError, match=f"missing field '{field}'"):
        fileformat.load_encoded(rewrite(path, tmp_path / "bad.hfc", metadata=drop))


@pytest.mark.parametrize(
    "tensor,key,value",
    [
        ("winding.weight", "frac_bits", 40),
        ("winding.weight", "direction_fixed", [1]),
        ("lattice.weight", "side", 0.2),
        ("rtn.weight", "group", 64),
    ],
)
def test_changed_parameter_is_caught_by_the_digest(container, tmp_path, tensor, key, value):
    path, _ = container

    def change(meta):
        entry = json.loads(meta[f"tensor:{tensor}"])
        entry["params"][key] = value
        meta[f"tensor:{tensor}"] = json.dumps(entry)

    with pytest.raises(UserError, match="digest mismatch"):
        fileformat.load_encoded(rewrite(path, tmp_path / "bad.hfc", metadata=change))


def test_missing_parameter_is_rejected_even_without_digest_check(container, tmp_path):
    path, _ = container

    def drop(meta):
        entry = json.loads(meta["tensor:lattice.weight"])
        del entry["params"]["side"]
        meta["tensor:lattice.weight"] = json.dumps(entry)

    with pytest.raises(UserError, match="missing parameter 'side'"):
        fileformat.load_encoded(rewrite(path, tmp_path / "bad.hfc", metadata=drop), verify=False)


def test_flipped_code_byte_is_rejected(container, tmp_path):
    path, _ = container

    def flip(arrays):
        codes = arrays["winding.weight::codes"].clone()
        codes[3] ^= 0x10
        arrays["winding.weight::codes"] = codes

    with pytest.raises(UserError, match="digest mismatch"):
        fileformat.load_encoded(rewrite(path, tmp_path / "bad.hfc", tensors=flip))


def test_missing_array_is_rejected(container, tmp_path):
    path, _ = container
    bad = rewrite(path, tmp_path / "bad.hfc", tensors=lambda a: a.pop("rtn.weight::scale"))
    with pytest.raises(UserError, match="'scale'.*missing"):
        fileformat.load_encoded(bad)


def test_truncated_codes_rejected_by_validation(container, tmp_path):
    path, _ = container
    bad = rewrite(
        path,
        tmp_path / "bad.hfc",
        tensors=lambda a: a.update({"rtn.weight::codes": a["rtn.weight::codes"][:-1].clone()}),
    )
    with pytest.raises(UserError, match="elements, expected"):
        fileformat.load_encoded(bad, verify=False)


def test_not_safetensors(tmp_path):
    junk = tmp_path / "junk.hfc"
    junk.write_bytes(b"this is not a safetensors file at all")
    with pytest.raises(UserError, match="not a readable safetensors file"):
        fileformat.load_encoded(junk)
    with pytest.raises(UserError, match="no such file"):
        fileformat.load_encoded(tmp_path / "absent.hfc")


def test_plain_safetensors_is_not_a_container(tmp_path):
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2, 2)}, str(plain))
    with pytest.raises(UserError, match="not a hyperfunction-codec file"):
        fileformat.load_encoded(plain)


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.hfc"
    with pytest.raises(RuntimeError):
        with fileformat.atomic_output(target) as tmp:
            open(tmp, "wb").write(b"partial")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- the tensor list and source metadata


def _drop_from_list(meta):
    names = json.loads(meta["tensors"])
    names.remove("rtn.weight")
    meta["tensors"] = json.dumps(names)


def _drop_everything_of_rtn(meta):
    _drop_from_list(meta)
    meta.pop("tensor:rtn.weight")


@pytest.mark.parametrize(
    "edit,message",
    [
        (_drop_from_list, "not in the tensor list"),
        (lambda m: m.update(tensors=json.dumps(list(reversed(json.loads(m["tensors"]))))), "file digest mismatch"),
        (lambda m: m.update(source_metadata=json.dumps({"origin": "edited"})), "file digest mismatch"),
        (lambda m: m.update(source_metadata="{}"), "file digest mismatch"),
        (lambda m: m.pop("file_digest"), "missing metadata field 'file_digest'"),
        (lambda m: m.update(format_version="1"), "unsupported format_version '1'"),
    ],
)
def test_tensor_list_and_source_metadata_are_under_the_digest(container, tmp_path, edit, message):
    path, _ = container
    with pytest.raises(UserError, match=message):
        fileformat.load_encoded(rewrite(path, tmp_path / "bad.hfc", metadata=edit))


def test_a_tensor_removed_with_its_entry_is_still_caught(container, tmp_path):
    path, _ = container
    bad = rewrite(path, tmp_path / "bad.hfc", metadata=_drop_everything_of_rtn)
    with pytest.raises(UserError, match="belongs to no listed tensor"):
        fileformat.load_encoded(bad)
    both = rewrite(
        path,
        tmp_path / "bad2.hfc",
        metadata=_drop_everything_of_rtn,
        tensors=lambda a: [a.pop(k) for k in list(a) if k.startswith("rtn.weight::")],
    )
    with pytest.raises(UserError, match="file digest mismatch"):
        fileformat.load_encoded(both)


def test_an_invalid_tensor_is_never_written(tmp_path):
    from dataclasses import replace

    enc = get_codec("lattice").encode(torch.randn(8, 8) * 0.02, 4, name="w")
    bad = replace(enc, params={**enc.params, "side": float("inf")})
    target = tmp_path / "out.hfc"
    with pytest.raises(UserError, match="side"):
        fileformat.save_encoded(target, [bad])
    assert list(tmp_path.iterdir()) == []
