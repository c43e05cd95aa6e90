"""The docs tell the truth about the code: every ``bioseq/…`` or ``dashboard/…`` path and every dotted
``bioseq.…`` module a doc names exists, and docs/ARCHITECTURE.md names every module of the library and the
dashboard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
PATH_RE = re.compile(r"(?<![\w./-])((?:bioseq|dashboard)/[\w./-]*\w/?)")
DOTTED_RE = re.compile(r"(?<![\w./-])(bioseq(?:\.\w+)+)")


def _exists(path: str) -> bool:
    p = ROOT / path
    return p.exists() or p.with_suffix(".py").exists()


def _module_exists(dotted: str) -> bool:
    """``bioseq.a.b`` is a package or module, or ``bioseq.a.b.name`` is a name defined in module ``bioseq.a.b``."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        file = base.with_suffix(".py") if not base.is_dir() else base / "__init__.py"
        if file.exists():
            rest = parts[cut:]
            if not rest:
                return True
            if len(rest) > 2:
                return False
            return re.search(rf"^\s*(?:def|class|async def)\s+{rest[0]}\b|^\s*{rest[0]}\s*[:=]|import .*\b{rest[0]}\b",
                             file.read_text(), re.M) is not None
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_named_path_exists(doc):
    text = doc.read_text()
    missing = sorted({m for m in PATH_RE.findall(text) if not _exists(m.rstrip("/."))})
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_named_module_exists(doc):
    text = doc.read_text()
    missing = sorted({m for m in DOTTED_RE.findall(text) if not _module_exists(m.rstrip("."))})
    assert not missing, f"{doc.name} names modules that do not exist: {missing}"


def _modules() -> list[str]:
    found = []
    for top in ("bioseq", "dashboard"):
        for f in sorted((ROOT / top).rglob("*.py")):
            if f.name != "__init__.py" and f.name != "__main__.py":
                found.append(str(f.relative_to(ROOT)))
    return found


def test_the_architecture_names_every_module():
    """Each module is named as its path (``training/tune.py``), or by its name in backticks inside the paragraph
    of its package (``**`bioseq/training/`**`` … `` `tune` ``)."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    paragraphs = text.split("\n\n")
    missing = []
    for path in _modules():
        folder, stem = path.rsplit("/", 1)[0] + "/", Path(path).stem
        short = path.split("/", 1)[1]
        if short in text or path in text:
            continue
        here = [p for p in paragraphs if f"`{folder}`" in p or f"{folder}`" in p]
        if not any(re.search(rf"`{stem}(?:\.py)?`", p) for p in here):
            missing.append(path)
    assert not missing, f"docs/ARCHITECTURE.md does not name: {missing}"
