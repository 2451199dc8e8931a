"""The ``certify`` command.

User mistakes (``UserError``) become one line on stderr and exit code 2; a certificate is only
ever written whole (temporary file + rename), so Ctrl-C leaves none half-written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Optional, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from constructive.errors import UserError

# no emoji codes: a message such as "srs:a:b" names an activation, not a picture
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

VERDICT_STYLE = {"HOLDS": "bold green", "VIOLATED": "bold red", "INCONCLUSIVE": "bold yellow",
                 "CONDITIONAL": "bold cyan"}
# exit status per verdict: only an unconditional HOLDS is success
VERDICT_EXIT = {"HOLDS": 0, "CONDITIONAL": 1, "INCONCLUSIVE": 1, "VIOLATED": 1}


MAX_WORKERS = 256  # --workers: processes on one machine; more is a typo, not a plan


def _params(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"parameter {pair!r} is not of the form NAME=VALUE")
        if key in out:  # a silent "last one wins" would certify another instance than meant
            raise UserError(f"parameter {key!r} is given twice (-p {key}={out[key]} and "
                            f"-p {key}={value.strip()}); give each parameter once")
        out[key] = value.strip()
    return out


def _check_output(path: str, option: str) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if os.path.isdir(path):
        raise UserError(f"{option} {path!r} is a directory; give a file name")
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise UserError(f"{option} {path!r}: directory {parent!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise UserError(f"{option} {path!r}: directory {parent!r} is not writable")


def _check_network_file(path: str) -> None:
    """A JSON network ending in a ReLU layer is refused: the loader would drop that ReLU."""
    try:
        with open(path, "rb") as fh:
            text = fh.read()
    except OSError as exc:
        raise UserError(f"--network {path!r}: cannot read the file ({exc.strerror})") from None
    if text[:1] not in (b"{", b"[", b" ", b"\n"):
        return  # a PyTorch state dict holds Linear layers only
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return  # the loader reports malformed JSON with its position
    items = data.get("layers") if isinstance(data, dict) else data
    if isinstance(items, list) and items and isinstance(items[-1], dict) \
            and str(items[-1].get("type", "")).lower() == "relu":
        raise UserError(f"--network {path!r}: the last layer is a ReLU; the emulation theorems "
                        "take a ReLU network whose output layer is linear (drop the final ReLU "
                        "or end with a linear layer)")


def _check_device(name: Optional[str]) -> Optional[str]:
    if name is None:
        return None
    from gpu.devices import check_device

    return check_device(name)


def _analysis_failed() -> tuple:
    """Exception types meaning "this analysis cannot proceed" (not a bug, not a user error): the
    certifier's analysis gave up, or the builder could not tune its network to the claim."""
    from certify.method import AnalysisFailed
    from constructive.tuning import TuningError

    return (AnalysisFailed, TuningError)


def cmd_list(args: argparse.Namespace) -> int:
    from certify.registry import default_registry

    if args.update:
        from certify.catalogue import update_file

        changed = update_file(args.update, default_registry())
        print(f"{args.update}: catalogue {'updated' if changed else 'already up to date'}")
        return 0
    if args.markdown:
        from certify.catalogue import markdown_catalogue

        sys.stdout.write(markdown_catalogue(default_registry()))
        return 0
    table = Table(title="theorems (certify show ID for the statement)")
    table.add_column("id", no_wrap=True, style="bold")
    table.add_column("source", max_width=28)
    table.add_column("title")
    for thm in default_registry().theorems.values():
        table.add_row(thm.id, f"{thm.paper}: {thm.number}, p. {thm.page}", thm.title)
    console.print(table)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from certify.registry import default_registry

    reg = default_registry()
    thm = reg.get(args.id)
    console.print(f"[bold]{thm.id}[/]: {thm.title}")
    console.print(f"{thm.citation}\n{thm.number}, page {thm.page} ({thm.version})")
    for name, p in thm.parameters.items():
        console.print(f"  parameter {name}: {p.domain} (default {p.default})", markup=False)
    for key, val in thm.derived.items():
        console.print(f"  derived {key} = {val}")
    for h in thm.hypotheses:
        console.print(f"  hypothesis: {h}", markup=False)
    console.print(f"  claim: {thm.claim.get('norm')} error on {thm.claim.get('region')} ≤ {thm.claim.get('bound')}")
    for name, spec in thm.claim.get("architecture", {}).items():
        rel, formula = next(iter(spec.items()))
        console.print(f"  architecture: {name} {'≤' if rel == 'le' else '='} {formula}")
    console.print(f"  construction: {thm.construction}; method: {thm.method}")
    deps = reg.dependencies(thm.id)
    if deps:
        console.print(f"  relies on: {', '.join(deps)}")
    if thm.erratum:
        console.print(f"  [yellow]as printed, a known erratum (expected VIOLATED):[/] {thm.erratum}")
    if thm.notes:
        console.print(f"  notes: {thm.notes}", markup=False)
    return 0


def _short(text: str) -> str:
    """An exact fraction longer than 24 characters gets a 4-digit decimal enclosure beside it
    (rounded outward exactly; display only)."""
    import math
    from fractions import Fraction

    if "/" not in text or len(text) <= 24:
        return text
    try:
        q = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return text
    if q <= 0:
        return text
    e = math.floor(math.log10(q.numerator) - math.log10(q.denominator))
    step = Fraction(10) ** (e - 3)
    lo, hi = math.floor(q / step), math.ceil(q / step)
    if hi >= 10000:
        lo, hi, e = lo // 10, -(-hi // 10), e + 1
    return f"{text} ∈ [{lo / 1000:.3f}e{e}, {hi / 1000:.3f}e{e}]"


def _print_certificate(cert: dict) -> None:
    verdict = cert["verdict"]
    console.print(f"[bold]{cert['theorem']}[/] {cert['params']}  target {cert['target'].get('name')}")
    console.print(f"  verdict: [{VERDICT_STYLE[verdict]}]{verdict}[/]" +
                  (f" ({'; '.join(cert['reasons'])})" if cert["reasons"] else ""))
    e = cert["error"]
    console.print(f"  error ({e['norm']}): lower {_short(e['lower'])}, upper {_short(e['upper'])}")
    console.print(f"  proven bound: {e['bound']} = {e['bound_formula']}; ratio upper/bound {e['ratio']}")
    m = cert["architecture"]["measured"]
    console.print(f"  measured: depth {m['depth']}, width {m['width']}, params {m['params']} "
                  f"(dense {m['dense_params']})" +
                  (f"; emulated ReLU network N = {m['relu_width']}, L = {m['relu_depth']}" if "relu_width" in m else ""))
    for c in cert["architecture"]["claims"]:
        mark = "[green]✓[/]" if c["ok"] else "[red]✗[/]"
        console.print(f"    {c['name']}: {c['measured']} {'≤' if c['relation'] == 'le' else '='} "
                      f"{c['claimed']} {mark}")
    for g in cert["gadgets"]:
        console.print(f"  gadget {g['gadget']}: {g['method']} → {'holds' if g['holds'] else 'NOT shown'}")
    console.print(f"  time: {cert['timings']['total']:.2f} s")


def _check_run(args: argparse.Namespace) -> list:
    """Every combination and path check of ``certify run``, before any work: returns
    [(theorem, parsed params, raw params)] for the instances to run."""
    from certify.registry import default_registry

    if args.all and args.id:
        raise UserError(f"give a theorem id or --all, not both (got --all and {args.id!r})")
    if not args.all and not args.id:
        raise UserError("give a theorem id, or --all for every default instance")
    if args.all and (args.param or args.target or args.lipschitz or args.network):
        raise UserError("--all runs every theorem at its default instance; -p, --target, "
                        "--lipschitz and --network need one theorem id")
    if args.engine == "torch":
        if args.json:
            raise UserError("--engine torch is float exploration and writes no certificate; "
                            "drop --json or use --engine exact")
        if args.all:
            raise UserError("--engine torch explores one theorem instance; give its id")
        _check_device(args.device)
    elif args.device is not None or args.allow_imprecise:
        raise UserError("--device and --allow-imprecise apply to --engine torch only")
    if args.json:
        if args.all:
            if not os.path.isdir(args.json):
                raise UserError(f"with --all, --json must name an existing directory (got {args.json!r})")
        else:
            _check_output(args.json, "--json")
    reg = default_registry()
    thms = list(reg.theorems.values()) if args.all else [reg.get(args.id)]
    if args.network:
        thm = thms[0]
        if thm.certification().network_option is None:
            allowed = [t.id for t in reg.theorems.values() if t.certification().network_option]
            raise UserError(f"--network applies to the ReLU-emulation theorems only "
                            f"({', '.join(allowed)}); {thm.id} takes no network")
        _check_network_file(args.network)
    raw = _params(args.param)
    out = []
    for thm in thms:
        params = thm.parse_params(raw)
        precheck = thm.certification().precheck
        if precheck is not None:  # work above a stated budget is refused before it starts
            precheck(params)
        out.append((thm, params, raw))
    return out


def _network_context(args: argparse.Namespace, thm: Any):
    """The method's context in which the builder uses the user's ``--network`` file."""
    from contextlib import nullcontext

    if not args.network:
        return nullcontext()
    return thm.certification().network_option(args.network)


def cmd_run(args: argparse.Namespace) -> int:
    instances = _check_run(args)
    if args.engine == "torch":
        return _explore_with_torch(args, *instances[0])
    from certify.certificate import run_theorem, write_certificate
    from certify.progress import reporting

    failed = _analysis_failed()
    worst = 0
    for thm, _, raw in instances:
        try:
            with reporting(console), _network_context(args, thm):
                cert = run_theorem(thm.id, raw, args.target, args.lipschitz)
        except failed as exc:
            err_console.print(f"certify: {thm.id}: INCONCLUSIVE, the analysis cannot proceed: {exc}; "
                              "no certificate written", highlight=False, soft_wrap=True)
            worst = max(worst, 1)
            continue
        _print_certificate(cert)
        if args.all and thm.erratum and cert["verdict"] == "VIOLATED":
            # the printed form of a known erratum: VIOLATED is what --all expects of it
            console.print(f"  (expected: {thm.id} is a known erratum as printed)")
        else:
            worst = max(worst, VERDICT_EXIT.get(cert["verdict"], 1))
        if args.json:
            path = os.path.join(args.json, f"{thm.id}.json") if args.all else args.json
            write_certificate(cert, path)
            console.print(f"certificate written to {path}")
    return worst


def _explore_with_torch(args: argparse.Namespace, thm, params: dict, raw: dict) -> int:
    """Float evaluation through the PyTorch mirror: exploration, not a certificate."""
    from certify.certificate import _check_target_range, make_target_for

    try:
        from gpu.mirror import explore
    except ImportError:
        raise UserError("--engine torch needs PyTorch: pip install -e '.[gpu]'") from None
    target = make_target_for(thm, params, args.target, args.lipschitz)
    _check_target_range(thm, target)
    with _network_context(args, thm):
        net = thm.builder()(params, target)
    res = explore(net, target, net.in_dim, device=args.device or "cpu",
                  allow_imprecise=args.allow_imprecise)
    console.print(f"[bold]{thm.id}[/] { {k: str(v) for k, v in params.items()} } on {res['device']} ({res['dtype']}, "
                  f"~{res['required_bits']:.0f} bits needed)")
    console.print(f"  sampled max |f - phi| over {res['points']} random points: "
                  f"{res['max_abs_error']:.6g} at {res['at']}")
    console.print("  [yellow]float exploration only: this is NOT a certificate[/]")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from certify import report, sweep
    from certify.distributed import check_scheduler, run_jobs
    from certify.registry import default_registry

    if not 1 <= args.workers <= MAX_WORKERS:
        raise UserError(f"--workers {args.workers} is not allowed; use 1 to {MAX_WORKERS}")
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    for option, path in (("--output", args.output), ("--plot", args.plot), ("--cache", args.cache)):
        if path:
            _check_output(path, option)
    thm = default_registry().get(args.id)
    base = _params(args.param)
    sweeps = [sweep.parse_sweep(s) for s in args.sweep or ()]
    for name, _ in sweeps:
        if name not in thm.parameters:
            raise UserError(f"cannot sweep {name!r}: {thm.id} has parameters {', '.join(thm.parameters)}")
    instances = sweep.expand(base, sweeps)
    precheck = thm.certification().precheck
    for inst in instances:  # validate every instance (domains, memory budget) before any work
        parsed = thm.parse_params({k: str(v) for k, v in inst.items()})
        if precheck is not None:
            precheck(parsed)
    jobs = [{"theorem": thm.id, "params": {k: str(v) for k, v in inst.items()}, "target": args.target}
            for inst in instances]
    try:  # serial, a process pool or Dask; rows cached by content (certify/distributed.py)
        rows, _ = run_jobs(jobs, workers=args.workers, scheduler=args.scheduler,
                           cache_file=args.cache, cache_dir=args.cache_dir,
                           report=lambda text: err_console.print(text, highlight=False))
    except sweep.SweepInterrupted as stop:
        rows = list(stop.rows)
        err_console.print(f"interrupted: {len(rows)} finished row(s) kept")
        if rows:
            console.print(report.rich_table(rows))
        return 130
    if args.format == "md" and not args.output:
        console.print(report.rich_table(rows))
    text = report.table(rows, args.format)
    if args.output:
        report.write_atomic(args.output, text)
        console.print(f"table written to {args.output}")
    elif args.format != "md":
        print(text)
    if args.plot:
        x = sweeps[0][0] if sweeps else next(iter(thm.parameters), "n")
        theory = None
        if "slope" in thm.analysis:  # the proven rate exponent, for the plot legend
            theory = {"theory": float(thm.substitute(str(thm.analysis["slope"]), thm.parse_params(base)))}
        slopes = report.plot(rows, x, args.plot, title=thm.id, slopes=theory,
                             axes=thm.analysis.get("axes"))
        console.print(f"plot written to {args.plot}; fitted slopes {slopes}")
    return 0 if all(r["verdict"] == "HOLDS" for r in rows) else 1


def cmd_check(args: argparse.Namespace) -> int:
    from certify.checker import check_certificate

    # the kernel imports nothing of rich: a spinner around it says a long check is alive
    with console.status(f"checking {args.file}" + (" and rebuilding it" if args.rebuild else "")):
        res = check_certificate(args.file, rebuild=args.rebuild)
    # the lines quote the certificate, untrusted text: escaped, so that none of it styles the report
    console.print("re-derived:")
    for c in res.checks:
        console.print(f"  ✓ {escape(c)}")
    if res.trusted:
        console.print("still trusted (not re-derived by the kernel):")
        for t in res.trusted:
            console.print(f"  [yellow]· {escape(t)}[/]")
    for p in res.problems:
        console.print(f"  [red]✗ {escape(p)}[/]")
    if not res.ok:
        console.print("[bold red]certificate rejected[/]")
        return 1
    word = f"[{VERDICT_STYLE.get(res.verdict or '', 'bold')}]{res.verdict}[/]"
    if res.bound_trusted:
        # the verdict's deciding bound is the certifier's: accepted as consistent, not verified
        console.print(f"[bold yellow]certificate accepted, not verified[/]: {word} rests on the "
                      "certifier's error bound, which the kernel did not re-derive (see above; "
                      "check --rebuild re-certifies the instance)")
        return 1 if args.strict else 0
    console.print(f"[bold green]certificate verified[/]: {word}"
                  + (f" (the kernel's own bounds show more: {res.sharper})" if res.sharper else "")
                  + ("" if res.trusted else " (nothing trusted)"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="certify", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list the theorems")
    p.add_argument("--markdown", action="store_true",
                   help="print the catalogue as Markdown (the README's theorem catalogue)")
    p.add_argument("--update", metavar="FILE",
                   help="rewrite the catalogue between the catalogue markers of FILE (README.md)")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("show", help="show one theorem's statement")
    p.add_argument("id")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("run", help="build, measure and certify one instance")
    p.add_argument("id", nargs="?")
    p.add_argument("-p", "--param", action="append", metavar="NAME=VALUE")
    p.add_argument("--target", help="library target (NAME or NAME:k=v) or a sympy expression in x1..xd")
    p.add_argument("--lipschitz", help="declared Lipschitz constant of an expression target")
    p.add_argument("--json", metavar="FILE", help="write the certificate")
    p.add_argument("--all", action="store_true", help="every theorem at its default instance")
    p.add_argument("--engine", choices=["exact", "torch"], default="exact",
                   help="torch: float exploration through the PyTorch mirror (no certificate)")
    p.add_argument("--device", default=None, help="torch device for --engine torch (cpu, cuda, cuda:N; default cpu)")
    p.add_argument("--allow-imprecise", action="store_true",
                   help="evaluate even when the dtype cannot carry the bits the network needs")
    p.add_argument("--network", metavar="FILE",
                   help="a ReLU MLP (JSON or PyTorch state dict) for the zlz-relu-emulation theorems")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("table", help="sweep parameters into a table (and a plot)")
    p.add_argument("id")
    p.add_argument("--sweep", action="append", metavar="NAME=A..B")
    p.add_argument("-p", "--param", action="append", metavar="NAME=VALUE")
    p.add_argument("--target")
    p.add_argument("--format", choices=["md", "csv", "latex"], default="md")
    p.add_argument("--output", metavar="FILE")
    p.add_argument("--plot", metavar="FILE.png")
    p.add_argument("--cache", metavar="FILE.jsonl", help="resume file for long sweeps")
    p.add_argument("--workers", type=int, default=1, help=f"processes (1 to {MAX_WORKERS})")
    p.add_argument("--scheduler", metavar="local|tcp://HOST:PORT",
                   help="run on Dask distributed: a LocalCluster of --workers processes (2 by "
                        "default) or a running scheduler; rows are cached by content")
    p.add_argument("--cache-dir", metavar="DIR", help="reuse finished rows from (and store new "
                   "ones in) DIR; with --scheduler the default is $CERTIFY_CACHE_DIR or "
                   "~/.cache/nn-certify/sweeps")
    p.set_defaults(func=cmd_table)
    p = sub.add_parser("check", help="re-verify a certificate file")
    p.add_argument("file")
    p.add_argument("--rebuild", action="store_true", help="also rebuild the network and re-evaluate witnesses")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 unless the verdict's error bound was re-derived (by the kernel, or by --rebuild)")
    p.set_defaults(func=cmd_check)
    from certify.trained_cli import register as register_network

    register_network(sub)
    from certify.fuzz import register as register_fuzz

    register_fuzz(sub)
    try:
        from gpu.hyperfunction.cli import register
    except ImportError:
        register = None
    if register is not None:
        register(sub)
    return parser


def _private_hypothesis_storage() -> None:
    """The falsifier's hypothesis search caches into ./.hypothesis by default; a command must
    not litter the user's directory, so this process (and its workers) use a temporary one."""
    if "HYPOTHESIS_STORAGE_DIRECTORY" in os.environ or "hypothesis" in sys.modules:
        return  # the caller chose a place, or hypothesis is already set up (e.g. under pytest)
    import atexit
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="certify-hypothesis-")
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = path
    atexit.register(shutil.rmtree, path, True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    _private_hypothesis_storage()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        # markup=False: a value such as E=[lo,hi]x... is shown as given, not read as rich tags
        err_console.print(f"certify: error: {exc}", highlight=False, soft_wrap=True, markup=False)
        return 2
    except Exception as exc:
        # modules not loaded cannot have raised their errors (and are not imported for this)
        registry = sys.modules.get("certify.registry")
        certificate = sys.modules.get("certify.certificate")
        if registry is not None and isinstance(exc, registry.RegistryError):
            err_console.print(f"certify: error: the installed theorem statements are unusable: {exc}",
                              highlight=False, soft_wrap=True)
            return 2
        if certificate is not None and isinstance(exc, certificate.ContradictionError):
            err_console.print(f"certify: internal error (a bug, no verdict): {exc}",
                              highlight=False, soft_wrap=True)
            return 3
        raise
    except KeyboardInterrupt:
        err_console.print("certify: interrupted; no partial certificate was written")
        return 130


if __name__ == "__main__":
    sys.exit(main())
