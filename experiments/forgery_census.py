"""Forge certificates at random and count what ``certify check`` rejects.

    python experiments/forgery_census.py [EDITS_PER_CERTIFICATE]

Every meaning-carrying field (all but timings, notes, reasons, tool version, source text,
details and gadget prose) of the forgery test's certificates, and of one certificate for each
kernel check they do not reach, is edited at random, the hash recomputed, and the file checked
twice: by the kernel alone, and with --rebuild.  Prints the counts per field.
"""

from __future__ import annotations

import collections
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "core"))

from test_forgery import INSTANCES, MEANINGLESS, apply, certificate, leaves  # noqa: E402

from certify.certificate import run_theorem  # noqa: E402
from certify.checker import check_data  # noqa: E402
from constructive.errors import UserError  # noqa: E402

# one small instance per kernel check the forgery test's certificates do not reach
OTHER_CHECKS = [("hc-winding-gaps-k1", {}), ("hc-winding-covering-k2", {"n": "64"}),
                ("hc-winding-covering-k3", {"n": "64"}), ("syz-increment-fit-range", {}),
                ("nestnet-offtrifling-range", {}), ("shallow-gram-condition-number", {"n": "20"}),
                ("shallow-gram-experiments-grid-printed", {"n": "8"}),
                ("shallow-gram-closed-form", {"n": "6"}), ("shallow-lemma1-roots", {"k_max": "10"}),
                ("shallow-corollary2-root-gaps", {"k_max": "6"}),
                ("shallow-resolvable-modes-precision", {}), ("zlz-selector", {}),
                ("zlz-lemma15-identity-gadget", {}), ("zlz-lemma16-product-3neuron", {}),
                ("syz-fixed-sigma-1d-half", {"K": "4"}), ("peuaf-def", {}),
                ("peuaf-second-difference-product", {}), ("euaf-product-exact", {}),
                ("syz-fixed-sigma-1d-half-range", {"K": "4"}),
                ("syz-fixed-sigma-1d-nine-tenths", {}),
                ("peuaf-analytic-independence", {"K": "4", "H": "100"}),
                ("zlz-relu-emulation-3n2l", {}), ("zlz-thm6-derivative-emulation", {}),
                ("peuaf-super-expressive", {"levels": "2"}), ("syz-deepen-two-layer", {}),
                ("syz-mid-gadget", {}), ("zlz-merge-iterations", {"n": "4", "A": "3"}),
                ("hc-codec-roundtrip", {"rows": "3", "cols": "5"}),
                ("syz-fixed-sigma-universal", {}), ("syz-fixed-sigma-classification", {})]


def accepted(cert: dict, rebuild: bool) -> bool:
    try:
        return check_data(cert, rebuild=rebuild).ok
    except UserError:
        return False


def main(per: int = 200) -> None:
    rng = random.Random(0)
    counts: dict = collections.defaultdict(lambda: [0, 0, 0])  # total, kernel-rejected, rebuild-rejected
    certificates = [(tid, json.loads(certificate(i)), per) for i, (tid, _) in enumerate(INSTANCES)]
    certificates += [(tid, json.loads(json.dumps(run_theorem(tid, params))), per // 4)
                     for tid, params in OTHER_CHECKS]  # fewer: every rebuild re-certifies
    for tid, cert, edits in certificates:
        paths = [p for p in leaves(cert) if not p or p[0] not in MEANINGLESS + ("hash",)]
        for _ in range(edits):
            path, kind = rng.choice(paths), rng.randrange(4)
            forged = apply(cert, path, kind)
            if {k: v for k, v in forged.items() if k != "hash"} == \
                    {k: v for k, v in cert.items() if k != "hash"}:
                continue
            row = counts[(tid, path[0] if path else "<top>")]
            row[0] += 1
            row[1] += not accepted(forged, False)
            row[2] += not accepted(forged, True)
    total = [sum(r[i] for r in counts.values()) for i in range(3)]
    for (tid, fld), (n, k, r) in sorted(counts.items()):
        print(f"{tid:32s} {fld:16s} {n:4d} edits  kernel rejects {k:4d}  --rebuild rejects {r:4d}")
    print(f"total: {total[0]} edits; kernel alone rejects {total[1]}; with --rebuild {total[2]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
