"""The Python interface: ``from certify import run, table``."""

import pytest
from rich.console import Console

from certify import run, table
from certify.checker import read_certificate
from constructive.errors import UserError


def test_run_returns_a_certificate_with_a_readable_repr_and_displays(tmp_path):
    cert = run("syz-intrinsic-lp", n=4, d=1, p=2)
    assert cert.verdict == "HOLDS" and cert.params == {"d": "1", "n": "4", "p": "2"}
    assert repr(cert).startswith("<Certificate syz-intrinsic-lp d=1 n=4 p=2: HOLDS, upper 0.")
    assert "<table>" in cert._repr_html_() and "HOLDS" in cert._repr_html_()
    console = Console(record=True, width=120)
    console.print(cert)
    text = console.export_text()
    assert "verdict" in text and "HOLDS" in text
    assert cert.check().ok
    cert.save(str(tmp_path / "c.json"))
    assert read_certificate(str(tmp_path / "c.json")) == cert.data


def test_table_sweeps_into_plain_rows_with_markdown():
    t = table("syz-cpwl-one-layer", {"n": [3, 5]})
    assert len(t) == 2 and [r["params"]["n"] for r in t] == ["3", "5"]
    assert all(r["verdict"] == "HOLDS" for r in t)
    md = t.to_markdown()
    assert md.splitlines()[0].startswith("|") and "HOLDS" in md
    assert repr(t) == "<Table syz-cpwl-one-layer: 2 rows (2 HOLDS)>"


@pytest.mark.parametrize("call, needle", [
    (lambda: run("no-such-theorem"), "unknown theorem id"),
    (lambda: run("syz-cpwl-one-layer", n=10**9), "outside its domain"),
    (lambda: run("syz-cpwl-one-layer", q=3), "unknown parameter"),
    (lambda: table("syz-cpwl-one-layer", {"m": [1]}), "cannot sweep"),
    (lambda: run("syz-intrinsic-lp", n=13, d=1), "work budget"),
])
def test_bad_input_raises_the_clis_one_line_error(call, needle):
    with pytest.raises(UserError, match=needle):
        call()


def test_importing_the_kernel_does_not_load_the_verifier():
    import subprocess
    import sys

    code = ("import sys, certify.kernel; "
            "print(any(m in sys.modules for m in ('sympy', 'certify.api', 'certify.certificate')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
