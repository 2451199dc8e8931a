"""Ball branch and bound: a rigorous upper bound of sup |f − φ| over a box, for any activation
with a ball kernel."""

from __future__ import annotations

from typing import Any, Sequence

from flint import arb, fmpq

from certify.analysis.boxes import bisect_widest
from constructive.evaluate import evaluate
from constructive.ir import Node
from constructive.numbers import Ball, precision


def ball_sup_error(net: Node, target: Any, box: Sequence[tuple[fmpq, fmpq]], goal: arb,
                   max_boxes: int = 20000, prec: int = 128) -> tuple[arb, int]:
    """Branch and bound: a rigorous upper bound of sup |f − φ| over ``box``.

    The network is evaluated on arb balls covering each sub-box (interval arithmetic, sound for
    every activation with a ball kernel) and the target by its certified enclosure; boxes whose
    bound is above ``goal`` are bisected along their widest side, largest bound first, until
    all are below it or ``max_boxes`` were examined.  Returns the bound, the number of boxes
    examined and the leaf boxes (the kernel's evidence).
    """
    import heapq


    ctx = Ball(prec)

    def bounds(boxes: list) -> list[arb]:
        with precision(prec):
            cols = [[arb(fmpq_mid(a, b), fmpq_rad(a, b)) for a, b in bx] for bx in boxes]
            out = evaluate(net, [list(c) for c in zip(*cols)], ctx)[0]
            res = []
            for bx, y in zip(boxes, out):
                flo, fhi = target.enclose(bx, prec)
                ylo, yhi = y.lower(), y.upper()
                res.append(max(abs(arb(fhi) - ylo), abs(yhi - arb(flo))).upper())
            return res

    heap: list = []
    counter = 0
    for bx, u in zip([list(box)], bounds([list(box)])):
        heapq.heappush(heap, (-float(u.mid()), counter, bx, u))
    examined = 1
    while heap and examined < max_boxes:
        if all(item[3] <= goal for item in heap):
            break
        batch = []
        while heap and len(batch) < 64:
            item = heapq.heappop(heap)
            if item[3] <= goal:
                heapq.heappush(heap, item)
                break
            batch.append(item[2])
        if not batch:
            break
        children = [half for bx in batch for half in bisect_widest(bx)]
        for bx, u in zip(children, bounds(children)):
            counter += 1
            heapq.heappush(heap, (-float(u.mid()), counter, bx, u))
        examined += len(children)
    worst = max(item[3] for item in heap)
    return worst, examined, [item[2] for item in heap]


def fmpq_mid(a: fmpq, b: fmpq) -> fmpq:
    return (a + b) / 2


def fmpq_rad(a: fmpq, b: fmpq) -> arb:
    return arb((b - a) / 2).upper()
