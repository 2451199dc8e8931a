"""``certify network FILE --target EXPR --box lo,hi --tol T``: the certified sup error of a
trained ReLU network file (JSON, torch state dict, safetensors), with the float64 error a
training loop would report printed beside it, and an optional JSON certificate."""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
from typing import Any

from constructive.errors import UserError
from constructive.network_files import load_network
from constructive.numbers import as_fmpq


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("network", help="certify the sup error of a trained ReLU network file",
                              description=__doc__)
    p.add_argument("file", help="JSON layer list, torch state dict (.pt) or .safetensors of Linear/ReLU layers")
    p.add_argument("--target", required=True, help="formula in x1..xd, e.g. 'cos(36*pi*x1^2)'")
    p.add_argument("--box", action="append", default=[], metavar="LO,HI",
                   help="input box: once for every input, or once per input (exact rationals)")
    p.add_argument("--tol", required=True, help="declared tolerance (exact rational, e.g. 0.05 or 1/20)")
    p.add_argument("--max-cells", type=int, default=None,
                   help="budget of pieces (1-D, default 400000) or boxes (d-D, default 20000)")
    p.add_argument("--json", metavar="PATH", help="write a certificate (JSON, atomic) to PATH")
    p.set_defaults(func=cmd_network)


def _tol(text: str) -> Any:
    try:
        tol = as_fmpq(text)
    except (TypeError, ValueError, ZeroDivisionError):
        raise UserError(f"--tol {text!r} is not an exact rational (e.g. 0.05 or 1/20)") from None
    if not 0 < tol <= 10**6:
        raise UserError(f"--tol {text!r} is not allowed; use 0 < tol <= 10^6")
    return tol


def cmd_network(args: argparse.Namespace) -> int:
    from rich.console import Console

    from certify.progress import reporting
    from certify.trained import ErrorTarget, certify_network, float64_error, parse_box

    if args.max_cells is not None and not 1 <= args.max_cells <= 10**7:
        raise UserError(f"--max-cells {args.max_cells} is not allowed; use 1..10^7")
    tol = _tol(args.tol)
    net = load_network(args.file)
    target = ErrorTarget(args.target, net.in_dim)
    box = parse_box(args.box, net.in_dim)
    console = Console()
    f64, n64, peak = float64_error(net, target, box)
    with reporting(Console(stderr=True)):
        res = certify_network(net, target, box, tol, args.max_cells, hints=[peak])
    upper = "unbounded" if res.upper is None else f"{float(res.upper):.6e}"
    console.print(f"network {args.file}: {net.in_dim} → 1, widths {list(net.widthvec)}, "
                  f"digest {net.digest[:16]}", highlight=False)
    console.print(f"certified sup |f − N| on the box ∈ [{float(res.lower):.6e}, {upper}]  "
                  f"({res.method}, {res.pieces} {'exact linear pieces' if res.method == 'pl1d-exact' else 'boxes'}, "
                  f"{res.cells} examined, "
                  f"{res.seconds:.1f} s)", highlight=False)
    console.print(f"float64 max error on {n64} sample points (what training reports): {f64:.6e}",
                  highlight=False)
    for note in res.notes:
        console.print(f"note: {note}", highlight=False)
    where = "" if res.witness is None else f"; witness x = ({', '.join(str(v) for v in res.witness)})"
    console.print(f"{res.verdict}: sup error {'≤' if res.verdict == 'HOLDS' else 'vs'} tol {args.tol}"
                  f"{where if res.verdict == 'VIOLATED' else ''}", highlight=False)
    if args.json:
        from certify.certificate import write_certificate

        with open(args.file, "rb") as fh:
            file_hash = hashlib.sha256(fh.read()).hexdigest()
        cert = {"kind": "trained-network-sup-error", "file": os.path.abspath(args.file),
                "file_sha256": file_hash, "network_digest": net.digest, "target": args.target,
                "box": [[str(a), str(b)] for a, b in box], "result": res.to_dict(),
                "float64_max_error": f64, "float64_points": n64,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        cert["hash"] = hashlib.sha256(json.dumps({k: v for k, v in cert.items() if k != "created"},
                                                 sort_keys=True).encode()).hexdigest()
        write_certificate(cert, args.json)
        console.print(f"certificate: {args.json}", highlight=False)
    return 0 if res.verdict == "HOLDS" else 1
