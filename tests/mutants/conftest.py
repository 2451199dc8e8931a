"""Print the table of mutant outcomes at the end of a run (``MUTANT_TABLE=1`` or ``-v``)."""

import os


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from .harness import OUTCOMES

    if not OUTCOMES or not (os.environ.get("MUTANT_TABLE") or config.getoption("verbose") > 0):
        return
    tr = terminalreporter
    tr.section("mutants")
    tr.write_line("| id | theorem | mutation | verdict | status |")
    tr.write_line("|---|---|---|---|---|")
    for mid, (m, out) in sorted(OUTCOMES.items(), key=lambda kv: (kv[1][0].theorem, kv[0])):
        if "HOLDS" in (out.verdict, out.shown):  # shown: by the kernel, beside INCONCLUSIVE
            status = "survived: hole" if m.hole else ("harmless" if m.harmless else "SURVIVED")
        else:
            status = "killed" + (" (hole closed?)" if m.hole else "") + \
                (" (but marked harmless!)" if m.harmless else "")
        verdict = out.verdict + (f" (kernel: {out.shown})" if out.shown else "")
        tr.write_line(f"| {mid} | {m.theorem} | {m.what} | {verdict} | {status} |")
