"""Subcommands ``compress``, ``decompress`` and ``codec-report`` for the project's CLI.

Why a ``register`` hook: the main ``certify`` command owns the parser and turns ``UserError``
into one line on stderr with exit code 2; this module only adds its subcommands.  Handlers
return 0 on success and raise ``UserError`` for bad input.
"""

from __future__ import annotations

import argparse
import json
import os
from contextlib import contextmanager
from typing import Any, Iterator

from constructive.errors import UserError
from gpu.hyperfunction.base import CODEC_METHODS, SUPPORTED_DTYPES

BENCH_METHODS = ("ecsq", "winding", "rtn", "lattice", "hqq")
DEFAULT_BENCH_METHODS = ("ecsq", "winding", "rtn", "hqq")


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    """Add compress / decompress / codec-report / codec-bench to an argparse subparsers object."""
    comp = subparsers.add_parser("compress", help="compress a safetensors file with a hyperfunction codec")
    comp.add_argument("input", metavar="IN.safetensors")
    comp.add_argument("-o", "--output", required=True, metavar="OUT")
    comp.add_argument("--method", choices=CODEC_METHODS, required=True)
    comp.add_argument("--bits", type=int, required=True, help="bits per weight (codes; block scales add 32/block)")
    comp.add_argument("--k", type=int, default=2, help="winding: weights per trajectory sample (default 2)")
    comp.add_argument(
        "--block", type=int, default=None, help="winding: weights per fp16 offset/span (128, or 126 for k=3)"
    )
    comp.add_argument("--direction", default="golden", choices=("golden", "pi"), help="winding direction family")
    comp.add_argument("--group", type=int, default=128, help="rtn: group size (128)")
    comp.add_argument(
        "--rate-offset",
        type=float,
        default=0.25,
        help="ecsq: storage budget is bits + this many bits/weight, every byte counted (0.25 = int-B g128's)",
    )
    comp.add_argument("--class-max", type=int, default=3, help="lattice: most rings tried (3)")
    comp.add_argument(
        "--side", type=float, default=None, help="lattice: fixed square side ℓ in [1e-8, 1e4] (default: chosen per tensor)"
    )
    comp.add_argument("--all-tensors", action="store_true", help="also encode 1-D tensors (kept raw by default)")
    comp.add_argument("--device", default=None, help="encode on this torch device (default: the tensor's)")
    comp.set_defaults(func=run_compress)

    dec = subparsers.add_parser("decompress", help="decode a compressed file back to plain safetensors")
    dec.add_argument("input", metavar="IN")
    dec.add_argument("-o", "--output", required=True, metavar="OUT")
    dec.add_argument("--device", default=None, help="decode on this torch device (cuda uses the fused decoder)")
    dec.set_defaults(func=run_decompress)

    rep = subparsers.add_parser("codec-report", help="bits/weight, errors and speed of a compressed file")
    rep.add_argument("original", metavar="ORIGINAL")
    rep.add_argument("compressed", metavar="COMPRESSED")
    rep.add_argument("--json", default=None, metavar="FILE", help="also write the report as JSON")
    rep.add_argument("--device", default=None)
    rep.set_defaults(func=run_report)

    bench = subparsers.add_parser(
        "codec-bench", help="project codecs next to RTN and HQQ at equal storage (table + rate–distortion plot)"
    )
    bench.add_argument("input", metavar="FILE.safetensors")
    bench.add_argument("--bits", default="3,4,5,6", help="comma-separated bit levels in 2..8 (default 3,4,5,6)")
    bench.add_argument(
        "--methods", default=",".join(DEFAULT_BENCH_METHODS), help=f"comma-separated, from {', '.join(BENCH_METHODS)}"
    )
    bench.add_argument("--plot", default=None, metavar="PNG", help="write the rate–distortion plot here")
    bench.add_argument("--json", default=None, metavar="FILE", help="also write the rows as JSON")
    bench.set_defaults(func=run_bench)


@contextmanager
def _progress(total: int, label: str) -> Iterator[Any]:
    """A rich progress bar on stderr advancing one step per tensor."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(label, total=total)

        def step(name: str | None = None, done: bool = False) -> None:
            if name is not None:
                progress.update(task, description=f"{label} {name}")
            if done:
                progress.advance(task)

        yield step


def _need_torch() -> None:
    """A one-line UserError instead of an ImportError traceback when the extras are missing."""
    try:
        import safetensors  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise UserError(f"the codec needs torch and safetensors (pip install torch safetensors): {exc}") from None


def _device(name: str | None) -> str | None:
    """The --device value, checked before any work (no CUDA here is one line, not a traceback)."""
    if name is None:
        return None
    from gpu.devices import check_device

    return check_device(name)


def _output_dir(path: str) -> None:
    """An output whose directory is missing is refused before the (long) work, not after it."""
    directory = os.path.dirname(str(path)) or "."
    if not os.path.isdir(directory):
        raise UserError(f"{path}: output directory {directory} does not exist")


def _codec_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.method == "winding":
        return {"k": args.k, "block": args.block, "direction": args.direction}
    if args.method == "rtn":
        return {"group": args.group}
    if args.method == "ecsq":
        return {"rate_offset": args.rate_offset}
    return {"class_max": args.class_max, "side": args.side}


def run_compress(args: argparse.Namespace) -> int:
    """Encode every floating tensor of IN (1-D ones raw unless --all-tensors) into OUT atomically."""
    _need_torch()
    from gpu.hyperfunction import fileformat
    from gpu.hyperfunction.base import dtype_name
    from gpu.hyperfunction.codec import get_codec

    _device(args.device)
    _output_dir(args.output)
    if args.side is not None and args.method != "lattice":
        raise UserError(f"--side applies to --method lattice only (got --method {args.method})")
    codec = get_codec(args.method, **_codec_options(args))
    lo, hi = codec.bits_range
    if not lo <= args.bits <= hi:
        raise UserError(f"--bits {args.bits} out of range for method {args.method!r} (allowed {lo}..{hi})")
    raw = get_codec("raw")
    names, metadata, load = fileformat.read_plain(args.input)
    if not names:
        raise UserError(f"{args.input}: holds no tensors")
    encoded = []
    with _progress(len(names), "compress") as step:
        for name in names:
            step(name)
            tensor = load(name)
            kind = dtype_name(tensor.dtype)
            if kind not in SUPPORTED_DTYPES:
                raise UserError(f"tensor {name!r}: unsupported dtype {kind}; allowed: {', '.join(SUPPORTED_DTYPES)}")
            if tensor.dim() < 2 and not args.all_tensors:
                encoded.append(raw.encode(tensor, name=name))
            else:
                encoded.append(codec.encode(tensor.to(args.device) if args.device else tensor, args.bits, name=name))
            step(done=True)
    fileformat.save_encoded(args.output, encoded, metadata)
    return 0


def run_decompress(args: argparse.Namespace) -> int:
    """Decode every tensor of IN and write plain safetensors (original names, dtypes, metadata)."""
    _need_torch()
    from safetensors.torch import save_file

    from gpu.hyperfunction import fileformat
    from gpu.hyperfunction.codec import get_codec

    _device(args.device)
    _output_dir(args.output)
    packed = fileformat.load_encoded(args.input)
    out = {}
    with _progress(len(packed.tensors), "decompress") as step:
        for enc in packed.tensors:
            step(enc.name)
            out[enc.name] = get_codec(enc.method).decode(enc, args.device).cpu().contiguous()
            step(done=True)
    with fileformat.atomic_output(args.output) as tmp:
        save_file(out, tmp, metadata=dict(packed.source_metadata) or None)
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Print the per-tensor and overall table; optionally write it as JSON."""
    _need_torch()
    from rich.console import Console

    from gpu.hyperfunction import fileformat, report

    _device(args.device)
    if args.json:
        _output_dir(args.json)
    with _progress(len(fileformat.list_tensors(args.compressed)), "report") as step:

        def on_tensor(name: str) -> None:
            step(name, done=True)

        result = report.codec_report(args.original, args.compressed, args.device, on_tensor)
    Console().print(report.render(result))
    if args.json:
        with fileformat.atomic_output(args.json) as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(result.to_json(), fh, indent=2)
                fh.write(os.linesep)
    return 0


def _bits_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--bits {text!r}: expected comma-separated integers in 2..8") from None
    if not values or not all(2 <= b <= 8 for b in values):
        raise UserError(f"--bits {text!r}: expected comma-separated integers in 2..8")
    return values


def _methods_list(text: str) -> list[str]:
    methods = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [m for m in methods if m not in BENCH_METHODS]
    if not methods or unknown:
        raise UserError(f"--methods {text!r}: allowed {', '.join(BENCH_METHODS)}")
    return methods


def run_bench(args: argparse.Namespace) -> int:
    """Every floating tensor of FILE through each method at each bit level; print the table, plot it."""
    _need_torch()
    from rich.console import Console

    from gpu.hyperfunction import fileformat, hqq_baseline, sidebyside
    from gpu.hyperfunction.base import dtype_name

    bits, methods = _bits_list(args.bits), _methods_list(args.methods)
    if "hqq" in methods and not hqq_baseline.available():
        raise UserError("--methods includes hqq but the package is missing (pip install --no-deps hqq termcolor einops)")
    for path in (args.plot, args.json):
        if path:
            _output_dir(path)
    names, _, load = fileformat.read_plain(args.input)
    weights = {}
    for name in names:
        tensor = load(name)
        if dtype_name(tensor.dtype) in SUPPORTED_DTYPES and tensor.numel() > 0:
            weights[name] = tensor
    if not weights:
        raise UserError(f"{args.input}: holds no floating-point tensor")
    with _progress(len(bits) * len(methods), "codec-bench") as step:

        def on_step(label: str) -> None:
            step(label, done=True)

        rows = sidebyside.compare(weights, bits, methods, on_step=on_step)
    Console().print(sidebyside.markdown(rows), markup=False, highlight=False)
    if args.plot:
        with fileformat.atomic_output(args.plot) as tmp:
            sidebyside.plot(rows, tmp + ".png", f"{os.path.basename(args.input)}: rate–distortion")
            os.replace(tmp + ".png", tmp)
    if args.json:
        with fileformat.atomic_output(args.json) as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump([r.to_json() for r in rows], fh, indent=2)
                fh.write(os.linesep)
    return 0
