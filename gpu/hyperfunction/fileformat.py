"""The compressed container: one safetensors file holding every decode parameter.

Why this shape: the reference implementation reads ℓ from a folder name and other settings from
side files; here nothing is implied.  Layout:

* safetensors metadata ``format`` = "hyperfunction-codec", ``format_version`` = "2",
  ``tensors`` = JSON list of tensor names (file order), ``source_metadata`` = JSON of the input
  file's own metadata (restored by ``decompress``), ``file_digest`` (below);
* per tensor, metadata key ``tensor:<name>`` = JSON {method, bits, shape, dtype, params,
  arrays: {role: stored tensor name}, digest, encode_seconds};
* the stored arrays (packed codes, fp16 scales, …) as ordinary safetensors tensors.

``digest`` is the SHA-256 of the canonical JSON of the decode fields plus every array's dtype,
shape and bytes; ``file_digest`` binds the tensor list, the source metadata and every tensor's
digest, so that a tensor dropped from the list (or edited metadata) is refused too: a changed
byte anywhere is rejected, never silently decoded.  Version 1 files had no ``file_digest`` and
are refused (re-compress the original).  Every tensor is validated as ``decompress`` would before
a file is written.  Writing goes to a temporary file in the target directory that replaces the
target only once complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from constructive.errors import UserError
from gpu.hyperfunction.base import EncodedTensor, dtype_name
from gpu.hyperfunction.codec import available_methods, get_codec

if TYPE_CHECKING:
    import torch

FORMAT_NAME = "hyperfunction-codec"
FORMAT_VERSION = 2
_ENTRY_PREFIX = "tensor:"
_ENTRY_KEYS = ("method", "bits", "shape", "dtype", "params", "arrays", "digest")


@dataclass(frozen=True)
class CompressedFile:
    """A loaded container: its tensors in file order and the input file's own metadata."""

    version: int
    tensors: tuple[EncodedTensor, ...]
    source_metadata: Mapping[str, str]


def _array_bytes(array: "torch.Tensor") -> bytes:
    import torch

    flat = array.detach().contiguous().reshape(-1).cpu()
    return flat.view(torch.uint8).numpy().tobytes()


def digest(encoded: EncodedTensor) -> str:
    """SHA-256 over the decode fields (canonical JSON) and every stored array."""
    h = hashlib.sha256()
    head = {
        "method": encoded.method,
        "bits": encoded.bits,
        "shape": list(encoded.shape),
        "dtype": encoded.dtype,
        "params": encoded.params,
    }
    h.update(json.dumps(head, sort_keys=True, separators=(",", ":")).encode())
    for role in sorted(encoded.arrays):
        array = encoded.arrays[role]
        h.update(f"|{role}|{dtype_name(array.dtype)}|{list(array.shape)}|".encode())
        h.update(_array_bytes(array))
    return h.hexdigest()


def file_digest(names: Sequence[str], source_metadata: Mapping[str, str], digests: Sequence[str]) -> str:
    """SHA-256 over the format, the tensor list (in order), the source metadata and the tensors' digests."""
    head = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "tensors": list(names),
        "source_metadata": dict(source_metadata),
        "digests": list(digests),
    }
    return hashlib.sha256(json.dumps(head, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[str]:
    """A temporary path in the target's directory, moved onto ``path`` only if the body succeeds."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UserError(f"{target}: output directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_encoded(
    path: str | os.PathLike[str],
    tensors: Sequence[EncodedTensor],
    source_metadata: Mapping[str, str] | None = None,
) -> None:
    """Write the container atomically."""
    from safetensors.torch import save_file

    names = [t.name for t in tensors]
    if len(set(names)) != len(names):
        raise UserError(f"{path}: duplicate tensor names")
    source = {str(k): str(v) for k, v in (source_metadata or {}).items()}
    for enc in tensors:  # never write a file that decompress would refuse
        get_codec(enc.method).validate(enc)
    digests = [digest(enc) for enc in tensors]
    metadata: dict[str, str] = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "tensors": json.dumps(names),
        "source_metadata": json.dumps(source, sort_keys=True),
        "file_digest": file_digest(names, source, digests),
    }
    stored: dict[str, "torch.Tensor"] = {}
    for enc, enc_digest in zip(tensors, digests):
        roles = {}
        for role, array in sorted(enc.arrays.items()):
            key = f"{enc.name}::{role}"
            if key in stored:
                raise UserError(f"tensor {enc.name!r}: stored array name {key!r} collides with another tensor's")
            roles[role] = key
            stored[key] = array.detach().contiguous().cpu()
        entry = {
            "method": enc.method,
            "bits": enc.bits,
            "shape": list(enc.shape),
            "dtype": enc.dtype,
            "params": dict(enc.params),
            "arrays": roles,
            "digest": enc_digest,
            "encode_seconds": enc.encode_seconds,
        }
        try:
            metadata[_ENTRY_PREFIX + enc.name] = json.dumps(entry, sort_keys=True, allow_nan=False)
        except ValueError:
            raise UserError(f"tensor {enc.name!r}: a parameter is not finite; nothing was written") from None
    with atomic_output(path) as tmp:
        save_file(stored, tmp, metadata=metadata)


def open_safetensors(path: str | os.PathLike[str]) -> Any:
    """``safe_open`` with a clear ``UserError`` for a missing file or one that is not safetensors."""
    from safetensors import safe_open

    if not Path(path).is_file():
        raise UserError(f"{path}: " + ("not a file" if Path(path).exists() else "no such file"))
    try:
        return safe_open(str(path), framework="pt")
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for bad headers
        raise UserError(f"{path}: not a readable safetensors file ({type(exc).__name__}: {exc})") from None


def read_plain(path: str | os.PathLike[str]) -> tuple[list[str], dict[str, str], Callable[[str], "torch.Tensor"]]:
    """(tensor names, file metadata, loader) of an ordinary safetensors file."""
    handle = open_safetensors(path)
    names = list(handle.keys())
    metadata = dict(handle.metadata() or {})

    def load(name: str) -> "torch.Tensor":
        try:
            return handle.get_tensor(name)
        except Exception as exc:  # noqa: BLE001 - e.g. a dtype torch cannot hold
            raise UserError(f"tensor {name!r} in {path}: cannot be read ({type(exc).__name__}: {exc})") from None

    return names, metadata, load


def _entry(path: str | os.PathLike[str], metadata: Mapping[str, str], name: str) -> dict[str, Any]:
    key = _ENTRY_PREFIX + name
    if key not in metadata:
        raise UserError(f"tensor {name!r} in {path}: missing metadata entry {key!r}")
    try:
        entry = json.loads(metadata[key])
    except json.JSONDecodeError as exc:
        raise UserError(f"tensor {name!r} in {path}: corrupted metadata entry ({exc.msg})") from None
    if not isinstance(entry, dict):
        raise UserError(f"tensor {name!r} in {path}: metadata entry is not a JSON object")
    for field in _ENTRY_KEYS:
        if field not in entry:
            raise UserError(f"tensor {name!r} in {path}: missing field {field!r}")
    kinds = {
        "method": str,
        "bits": int,
        "shape": list,
        "dtype": str,
        "params": dict,
        "arrays": dict,
        "digest": str,
    }
    for field, kind in kinds.items():
        if isinstance(entry[field], bool) or not isinstance(entry[field], kind):
            raise UserError(f"tensor {name!r} in {path}: field {field!r} has the wrong type")
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in entry["shape"]):
        raise UserError(f"tensor {name!r} in {path}: field 'shape' must be a list of integers")
    return entry


def _check_listing(
    path: str | os.PathLike[str],
    metadata: Mapping[str, str],
    names: Sequence[str],
    entries: Mapping[str, dict[str, Any]],
    available: set[str],
) -> None:
    """Every entry and stored array belongs to a listed tensor: nothing in the file is skipped."""
    listed = set(names)
    for key in metadata:
        if key.startswith(_ENTRY_PREFIX) and key[len(_ENTRY_PREFIX) :] not in listed:
            raise UserError(f"{path}: tensor {key[len(_ENTRY_PREFIX):]!r} has an entry but is not in the tensor list")
    used = set()
    for name, entry in entries.items():
        for role, key in entry["arrays"].items():
            if not isinstance(key, str) or key not in available:
                raise UserError(f"tensor {name!r} in {path}: stored array {role!r} ({key!r}) is missing")
            used.add(key)
    stray = sorted(available - used)
    if stray:
        raise UserError(f"{path}: stored array {stray[0]!r} belongs to no listed tensor")


def list_tensors(path: str | os.PathLike[str]) -> list[str]:
    """Tensor names recorded in a container's metadata (no arrays are read)."""
    handle = open_safetensors(path)
    metadata = dict(handle.metadata() or {})
    if metadata.get("format") != FORMAT_NAME:
        raise UserError(f"{path}: not a {FORMAT_NAME} file (metadata 'format' is {metadata.get('format')!r})")
    try:
        names = json.loads(metadata.get("tensors", ""))
    except json.JSONDecodeError:
        raise UserError(f"{path}: missing or corrupted metadata field 'tensors'") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserError(f"{path}: metadata field 'tensors' must be a JSON list of names")
    return names


def load_encoded(path: str | os.PathLike[str], verify: bool = True) -> CompressedFile:
    """Read and check a container; any missing or corrupted field raises ``UserError``."""
    handle = open_safetensors(path)
    metadata = dict(handle.metadata() or {})
    if metadata.get("format") != FORMAT_NAME:
        raise UserError(f"{path}: not a {FORMAT_NAME} file (metadata 'format' is {metadata.get('format')!r})")
    version_text = metadata.get("format_version")
    if version_text is None:
        raise UserError(f"{path}: missing metadata field 'format_version'")
    if version_text != str(FORMAT_VERSION):
        raise UserError(f"{path}: unsupported format_version {version_text!r} (this reader knows {FORMAT_VERSION})")
    try:
        names = json.loads(metadata.get("tensors", ""))
        source = json.loads(metadata.get("source_metadata", ""))
    except json.JSONDecodeError:
        raise UserError(f"{path}: missing or corrupted metadata field 'tensors' or 'source_metadata'") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserError(f"{path}: metadata field 'tensors' must be a JSON list of names")
    if len(set(names)) != len(names):
        raise UserError(f"{path}: metadata field 'tensors' lists a name twice")
    if not isinstance(source, dict):
        raise UserError(f"{path}: metadata field 'source_metadata' must be a JSON object")
    entries = {name: _entry(path, metadata, name) for name in names}
    _check_listing(path, metadata, names, entries, set(handle.keys()))
    if verify:
        recorded = metadata.get("file_digest")
        if recorded is None:
            raise UserError(f"{path}: missing metadata field 'file_digest'")
        if recorded != file_digest(names, source, [e["digest"] for e in entries.values()]):
            raise UserError(f"{path}: file digest mismatch, the tensor list or the source metadata was edited")
    out = []
    for name, entry in entries.items():
        if entry["method"] not in available_methods():
            raise UserError(f"tensor {name!r} in {path}: unknown method {entry['method']!r}")
        arrays = {role: handle.get_tensor(key) for role, key in entry["arrays"].items()}
        encoded = EncodedTensor(
            name=name,
            method=entry["method"],
            bits=entry["bits"],
            shape=tuple(entry["shape"]),
            dtype=entry["dtype"],
            params=entry["params"],
            arrays=arrays,
            encode_seconds=float(entry.get("encode_seconds", 0.0) or 0.0),
        )
        if verify and digest(encoded) != entry["digest"]:
            raise UserError(f"tensor {name!r} in {path}: digest mismatch, the file is corrupted")
        get_codec(encoded.method).validate(encoded)
        out.append(encoded)
    return CompressedFile(version=FORMAT_VERSION, tensors=tuple(out), source_metadata=source)
