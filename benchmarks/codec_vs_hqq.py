"""The codec side by side with RTN and HQQ at equal storage: N(0, 0.02²) layer and all-MiniLM-L6-v2.

    HF_HUB_OFFLINE=1 PYTHONPATH=. python benchmarks/codec_vs_hqq.py [--bits 3 4 5 6] [--out DIR]

* Synthetic: one seeded transformer layer (d = 512: fused QKV 1536×512, output 512×512, MLP
  2048×512 and 512×2048, plus a 2048 bias kept raw), N(0, 0.02²).
* MiniLM: every nn.Linear weight of all-MiniLM-L6-v2 (37 tensors, 10.8 M weights), cosine of the
  embeddings of the 60 fixed sentences of ``gpu.hyperfunction.minilm.SENTENCES``.

Rates count every byte (see ``gpu.hyperfunction.sidebyside``): the project's methods go through
the real container file; HQQ (the ``hqq`` package, g128, fp16 scale and zero) is charged its
arrays.  Writes ``rd_synthetic.png``, ``rd_minilm.png`` and ``codec_vs_hqq.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from gpu.hyperfunction import minilm, sidebyside  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[3, 4, 5, 6])
    parser.add_argument("--methods", nargs="+", default=list(sidebyside.DEFAULT_METHODS))
    parser.add_argument("--out", default=".", help="directory for the plots and the JSON")
    parser.add_argument("--no-minilm", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)

    def progress(label: str) -> None:
        print(f"  {time.strftime('%H:%M:%S')} {label}", file=sys.stderr, flush=True)

    results = {}
    print("## N(0, 0.02²) transformer layer (d = 512, seed 0), plus a raw bias\n")
    rows = sidebyside.compare(sidebyside.synthetic_layer(), args.bits, args.methods, on_step=progress)
    print(sidebyside.markdown(rows) + "\n")
    sidebyside.plot(rows, os.path.join(args.out, "rd_synthetic.png"), "N(0, 0.02²) layer: rate–distortion")
    results["synthetic"] = [r.to_json() for r in rows]
    if not args.no_minilm:
        print("## all-MiniLM-L6-v2, every Linear weight, 60 fixed sentences\n")
        model = minilm.load_model()
        weights, similarity = sidebyside.minilm_similarity(model, minilm.SENTENCES)
        rows = sidebyside.compare(weights, args.bits, args.methods, similarity, on_step=progress)
        print(sidebyside.markdown(rows) + "\n")
        sidebyside.plot(rows, os.path.join(args.out, "rd_minilm.png"), "all-MiniLM-L6-v2: rate–distortion")
        results["minilm"] = [r.to_json() for r in rows]
    with open(os.path.join(args.out, "codec_vs_hqq.json"), "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
