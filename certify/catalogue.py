"""The README's theorem catalogue, generated from the registry.

``certify list --markdown`` prints it; ``certify list --update README.md`` rewrites the block
between the two markers below in place.  A test compares the README's block with the generated
one, so the catalogue cannot drift from ``proofs/*/claims.toml``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from constructive.errors import UserError

BEGIN = "<!-- catalogue:begin -->"
END = "<!-- catalogue:end -->"
REGENERATE = "certify list --update README.md"


def _cell(text: Any) -> str:
    """One Markdown table cell: a single line, pipes and asterisks escaped."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("*", "\\*")


def markdown_catalogue(registry: Any) -> str:
    """One table per paper (in registry order): id, where in the paper, the title."""
    papers: dict[str, list] = {}
    for thm in registry.theorems.values():
        papers.setdefault(thm.paper, []).append(thm)
    parts = [f"<!-- generated from proofs/*/claims.toml by `{REGENERATE}`; do not edit -->"]
    for paper, theorems in papers.items():
        first = theorems[0]
        parts.append(f"**{_cell(paper)}** (`proofs/{first.package}/`): {_cell(first.citation)}")
        rows = ["| id | source | statement |", "|---|---|---|"]
        rows += [f"| `{thm.id}` | {_cell(thm.number)}, p. {thm.page} | {_cell(thm.title)} |"
                 for thm in theorems]
        rows += [f"| `{doc['id']}` | {_cell(doc['number'])}, p. {doc['page']} | {_cell(doc['title'])} "
                 "(documentation only, no verdict) |"
                 for doc in getattr(registry, "documentation", {}).values() if doc["paper"] == paper]
        parts.append("\n".join(rows))
    return "\n\n".join(parts) + "\n"


def _span(text: str, where: str) -> tuple[int, int]:
    """Where the generated block starts and ends in ``text`` (between the markers)."""
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise UserError(f"{where} needs exactly one {BEGIN} and one {END} line around the catalogue")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    if start > end:
        raise UserError(f"{where}: {END} comes before {BEGIN}")
    return start, end


def block(text: str, where: str = "the file") -> str:
    """The catalogue block currently between the markers (without the marker lines)."""
    start, end = _span(text, where)
    return text[start:end].strip("\n") + "\n"


def replace_block(text: str, catalogue: str, where: str = "the file") -> str:
    start, end = _span(text, where)
    # a blank line before the end marker ends the last table
    return text[:start] + "\n" + catalogue.strip("\n") + "\n\n" + text[end:]


def update_file(path: str, registry: Any) -> bool:
    """Rewrite the catalogue block of ``path``; True when it changed.  Written atomically."""
    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--update {path!r}: cannot read the file ({exc})") from None
    new = replace_block(text, markdown_catalogue(registry), repr(path))
    if new == text:
        return False
    fd, tmp = tempfile.mkstemp(prefix=".catalogue-", dir=target.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new)
        os.chmod(tmp, target.stat().st_mode & 0o7777)  # keep the file's permissions
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
