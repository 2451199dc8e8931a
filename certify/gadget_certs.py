"""Certificates of the gadget specifications a verdict relied on.

Each gadget name the error analysis used is certified once against its specification; a
specification that cannot be certified makes the verdict not HOLDS.
"""

from __future__ import annotations

from constructive.ir import Gadget, Node, walk


def certify_gadgets(net: Node, names: set) -> list[dict]:
    """Certify once each gadget specification the analysis relied on."""
    from certify.pl1d import enumerate_1d
    from certify.ranges import body_range

    out = []
    seen = set()
    for g in walk(net):
        if not isinstance(g, Gadget) or g.name not in names or g.name in seen:
            continue
        seen.add(g.name)
        spec = g.spec
        entry = {"gadget": g.name, "statement": spec.statement, "source": spec.source}
        if spec.interval is not None:
            from certify.error import certify_reference_identity

            res = certify_reference_identity(g)
            entry.update(method="region enumeration (exact identity on R^%d)" % g.in_dim,
                         holds=bool(res.holds), regions=res.regions,
                         note="the reference is monotone in every argument, so its interval "
                              "extension [ref(lo), ref(hi)] is sound")
        elif spec.range is not None and g.in_dim == 1 and g.body.depth <= 8:
            pl = enumerate_1d(g.body)
            lo, hi = pl.range()
            holds = lo is not None and hi is not None and lo >= spec.range[0] and hi <= spec.range[1]
            entry.update(method="exact 1-D enumeration over R", holds=bool(holds),
                         measured_range=[str(lo), str(hi)])
        elif spec.range is not None:
            ivs = body_range(g)
            holds = all(a is not None and b is not None and a >= spec.range[0] and b <= spec.range[1]
                        for a, b in ivs)
            entry.update(method="compositional interval propagation (nested gadget specs)",
                         holds=bool(holds), measured_range=[[str(a), str(b)] for a, b in ivs])
        else:
            entry.update(method="none", holds=False)
        out.append(entry)
    return out
