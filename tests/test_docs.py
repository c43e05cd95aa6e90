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


# ---------------------------------------------------------------------------------------------- links

LINK_RE = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMG_RE = re.compile(r"<img\s[^>]*src=\"([^\"]+)\"")
FENCE_RE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def _prose(text: str) -> str:
    """The Markdown without its fenced code blocks and inline code (links in code are not links)."""
    return re.sub(r"`[^`\n]*`", "", FENCE_RE.sub("", text))


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped (letters, digits, ``-`` and ``_``
    stay), spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    for line in FENCE_RE.sub("", page.read_text()).splitlines():
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            a = anchor(m.group(1))
            n = seen.get(a, 0)
            found.add(a if n == 0 else f"{a}-{n}")
            seen[a] = n + 1
    found |= set(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", page.read_text()))
    return found


def links(page: Path) -> list[str]:
    text = _prose(page.read_text())
    return LINK_RE.findall(text) + IMG_RE.findall(text)


def broken_links(page: Path) -> list[str]:
    """The relative links of ``page`` whose file, or heading (``#anchor``), does not exist."""
    bad = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...: not checked here
            continue
        path, _, frag = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            bad.append(f"{target} (no file {path})")
        elif frag and file.suffix == ".md" and frag not in anchors(file):
            bad.append(f"{target} (no heading #{frag} in {file.name})")
    return bad


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_points_at_a_file_and_heading(doc):
    bad = broken_links(doc)
    assert not bad, f"{doc.name} has broken links: {bad}"


def test_the_link_check_finds_a_missing_file_and_heading(tmp_path):
    (tmp_path / "a.md").write_text("# Title: one, two\n\n## Same\n\n## Same\n\ntext\n")
    page = tmp_path / "b.md"
    page.write_text("[ok](a.md#title-one-two) [ok](a.md#same-1) ![ok](a.md) [web](https://x.org/y.md)\n"
                    "[self](#here) `[code](nothere.md)`\n\n```\n[fenced](nothere.md)\n```\n\n## Here\n\n"
                    "[bad](missing.md) [bad](a.md#nowhere) <img src=\"gone.png\" width=\"10\">\n")
    assert broken_links(page) == ["missing.md (no file missing.md)", "a.md#nowhere (no heading #nowhere in a.md)",
                                  "gone.png (no file gone.png)"]


def test_every_docs_page_is_linked_from_the_readme():
    readme = {t.partition("#")[0] for t in links(ROOT / "README.md")}
    missing = [p.name for p in (ROOT / "docs").glob("*.md") if f"docs/{p.name}" not in readme]
    assert not missing, f"README.md does not link to: {missing} (run `python scripts/docs.py`)"


# ---------------------------------------------------------------------------------------------- generated parts


def _docs_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_script", ROOT / "scripts" / "docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_parts_are_up_to_date():
    """The options table, the command reference, the benchmark tables and the README's index of pages are
    what ``python scripts/docs.py`` writes from the code and ``bench/results/``."""
    assert _docs_script().stale() == [], "run `python scripts/docs.py` to regenerate the docs"


def test_the_generator_rewrites_only_between_its_markers():
    docs = _docs_script()
    start, end = docs.markers("x")
    text = f"before\n{start}\nold\n{end}\nafter\n"
    assert docs.replace(text, "x", "new\n", "page.md") == f"before\n{start}\nnew\n{end}\nafter\n"
    with pytest.raises(SystemExit, match="page.md: the markers of the generated part 'y'"):
        docs.replace(text, "y", "new\n", "page.md")


def test_the_screenshot_script_retakes_every_screenshot():
    """``scripts/screenshots.py`` takes every picture of docs/screenshots/ (and no other), and every picture a
    page shows is one of them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("screenshots_script", ROOT / "scripts" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    on_disk = {p.stem for p in (ROOT / "docs" / "screenshots").glob("*.png")}
    assert {f for _, files in module.SHOTS.values() for f in files} == on_disk
    shown = {Path(t).stem for doc in DOCS for t in links(doc) if "screenshots/" in t}
    assert shown <= on_disk and {"home", "train", "labeller_train", "gates_and_saliency", "predict"} <= shown


def test_the_readme_starts_with_the_two_set_up_commands_ci_runs():
    """The first screen gives the two commands, one to open the dashboard and one to run the tests; CI runs the
    README's test command verbatim."""
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    commands = [block.strip().split("#", 1)[0].strip() for block in re.findall(r"```bash\n(.*?)```", setup, re.S)]
    assert commands == ["bash scripts/run.sh", "bash scripts/test.sh"]
    assert text.index("## Set-up: two commands") < 1500  # on the first screen
    assert "\nbash scripts/test.sh\n" in (ROOT / ".ci" / "run").read_text()
    assert len(text.splitlines()) <= 150, "README.md is the first screen: the reference goes to docs/"


DOC_PATH_RE = re.compile(r"(?<![\w./-])(docs/[\w./-]*\w\.(?:md|png|csv))")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_named_docs_file_exists(doc):
    """A docs page named in the text (``docs/labelling.md``), not only in a link, exists (from the root)."""
    missing = sorted({m for m in DOC_PATH_RE.findall(doc.read_text()) if not (ROOT / m).exists()})
    assert not missing, f"{doc.name} names docs files that do not exist: {missing}"
