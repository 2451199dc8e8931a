"""The README's quality table: winding vs lattice vs RTN at about 4, 5 and 6 bits/weight.

    HF_HUB_OFFLINE=1 PYTHONPATH=. python -m gpu.hyperfunction.quality

Why one command: the numbers in gpu/hyperfunction/README.md must be reproducible as printed.
Synthetic data: a 1024 × 1024 N(0, 0.02²) matrix and a Student-t(4) matrix scaled to the same
standard deviation (heavy tails, like real weights), seed 0.  MiniLM rows need the optional
packages (see ``minilm.py``) and are skipped with a note otherwise.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Sequence

from constructive.errors import UserError
from gpu.hyperfunction.base import CODEC_METHODS

if TYPE_CHECKING:
    import torch


def synthetic(kind: str, shape: tuple[int, int] = (1024, 1024), seed: int = 0) -> "torch.Tensor":
    """'gauss': N(0, 0.02²); 't4': Student-t with 4 degrees of freedom scaled to std 0.02."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(*shape, generator=gen, dtype=torch.float64)
    if kind == "gauss":
        return (0.02 * z).to(torch.float32)
    if kind == "t4":
        chi2 = (torch.randn(4, *shape, generator=gen, dtype=torch.float64) ** 2).sum(0)
        t = z / torch.sqrt(chi2 / 4)
        return (0.02 / 2**0.5 * t).to(torch.float32)  # Var(t4) = 2
    raise UserError(f"unknown synthetic kind {kind!r}; allowed: gauss, t4")


def synthetic_rows(bits: Sequence[int]) -> list[tuple[str, int, float, float, float]]:
    """(method, bits, bits/weight, rel. Frobenius gauss, rel. Frobenius t4) per configuration."""
    from gpu.hyperfunction.codec import get_codec
    from gpu.hyperfunction.report import relative_frobenius

    data = {kind: synthetic(kind) for kind in ("gauss", "t4")}
    rows = []
    for method in CODEC_METHODS:
        codec = get_codec(method)
        for b in bits:
            errs = {}
            rate = 0.0
            for kind, w in data.items():
                enc = codec.encode(w, b, name=kind)
                errs[kind] = relative_frobenius(w, codec.decode(enc))
                rate = enc.bits_per_weight()
            rows.append((method, b, rate, errs["gauss"], errs["t4"]))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Print the Markdown tables."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[4, 5, 6])
    parser.add_argument("--no-minilm", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print("| method | bits | bits/weight | rel. Frobenius N(0, 0.02²) | rel. Frobenius t(4) |")
    print("|---|---|---|---|---|")
    for method, b, rate, gauss, t4 in synthetic_rows(args.bits):
        print(f"| {method} | {b} | {rate:.3f} | {100 * gauss:.2f} % | {100 * t4:.2f} % |")
    print()
    if args.no_minilm:
        return 0
    from gpu.hyperfunction import minilm

    try:
        print(minilm.markdown(minilm.evaluate(CODEC_METHODS, args.bits)))
    except UserError as exc:
        print(f"MiniLM skipped: {exc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
