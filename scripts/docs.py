"""Rewrite the generated parts of README.md and docs/*.md from the code and the benchmark results.

    python scripts/docs.py            # rewrite every generated part in place
    python scripts/docs.py --check    # list the parts that are out of date (exit 1), change nothing

A generated part sits between two markers in a page:

    <!-- generated:NAME (python scripts/docs.py) -->
    ...
    <!-- generated:NAME end -->

and :data:`PARTS` says which function writes it. The options table keeps its own markers
(:data:`bioseq.options.MARKERS`). ``tests/test_docs.py`` fails when a part is out of date. To generate a new
part: add its markers to the page and one entry to :data:`PARTS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def markers(name: str) -> tuple[str, str]:
    return f"<!-- generated:{name} (python scripts/docs.py) -->", f"<!-- generated:{name} end -->"


# ---------------------------------------------------------------------------------------------- the parts


# The reading order of the README's index; a page not named here comes after these, by name.
ORDER = ("dashboard", "cli", "bundled", "data", "genomics", "labelling", "training", "options", "tuning", "cv",
         "homology", "inspect", "experiments", "scaling", "speed", "benchmarks", "development", "ARCHITECTURE")


def docs_index() -> str:
    """README's list of the docs pages: a link and the title (first heading) of each page."""
    rows = ["| page | what it holds |", "|---|---|"]
    rank = {name: i for i, name in enumerate(ORDER)}
    for page in sorted((ROOT / "docs").glob("*.md"), key=lambda p: (rank.get(p.stem, len(ORDER)), p.name.lower())):
        title = next((line[2:].strip() for line in page.read_text().splitlines() if line.startswith("# ")),
                     page.stem)
        rows.append(f"| [{page.name}](docs/{page.name}) | {title} |")
    return "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _flags(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    shown = " ".join(f"`{s}`" for s in action.option_strings)
    if action.nargs != 0 and not isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction,
                                                      argparse.BooleanOptionalAction)):
        metavar = action.metavar or (("{" + ",".join(map(str, action.choices)) + "}") if action.choices
                                     else action.dest.upper())
        shown += f" {metavar if isinstance(metavar, str) else ' '.join(metavar)}"
    return shown


def _help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%" in text:
        try:
            text = text % {"default": action.default, "prog": prog, "choices": action.choices}
        except (KeyError, TypeError, ValueError):
            pass
    return _cell(text)


def _subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser, str]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            found += [(name, sub, helps.get(name, "")) for name, sub in action.choices.items()]
    return found


def _command_table(parser: argparse.ArgumentParser, skip: set[str]) -> list[str]:
    rows = ["| argument | what it does |", "|---|---|"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help == argparse.SUPPRESS:
            continue
        if action.dest in skip:
            continue
        rows.append(f"| {_flags(action)} | {_help(action, parser.prog)} |")
    return rows


def cli_reference() -> str:
    """Every command of ``bioseq`` and its arguments, from the parser itself (``bioseq.cli.build_parser``).
    The options of the options table (train, tune) are left to docs/options.md."""
    from bioseq.cli import build_parser
    from bioseq.options import options

    table_options = {o.name for o in options() if o.cli}
    top = build_parser()
    lines = ["| command | what it does |", "|---|---|"]
    commands = _subparsers(top)
    lines += [f"| [`bioseq {name}`](#bioseq-{name}) | {_cell(text)} |" for name, _, text in commands]
    for name, sub, text in commands:
        about = _cell(sub.description or text[:1].upper() + text[1:])
        lines += ["", f"### bioseq {name}", "", about if about.endswith((".", ")")) else about + ".", ""]
        takes_all = table_options <= {a.dest for a in sub._actions}
        skip = table_options if takes_all else set()
        if skip:
            lines += ["Every option of [the options table](options.md) too, and:", ""]
        lines += _command_table(sub, skip)
        for action_name, action_parser, action_text in _subparsers(sub):
            lines += ["", f"`bioseq {name} {action_name}`: {_cell(action_text)}", ""]
            lines += _command_table(action_parser, set())
    return "\n".join(lines) + "\n"


def first_tables(path: Path, count: int = 1) -> str:
    """The first ``count`` Markdown tables of a results file (as the benchmark script wrote them)."""
    tables, current = [], []
    for line in path.read_text().splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append("\n".join(current))
            current = []
    if len(tables) < count:
        raise ValueError(f"{path}: fewer than {count} tables")
    return "\n\n".join(tables[:count]) + "\n"


def options_table() -> str:
    from bioseq.options import markdown

    return markdown()


RESULTS = ROOT / "bench" / "results"
# (page, part name): the function that writes it. The options table uses bioseq.options.MARKERS (name None).
PARTS: dict[tuple[str, str | None], Callable[[], str]] = {
    ("README.md", "docs-index"): docs_index,
    ("docs/cli.md", "commands"): cli_reference,
    ("docs/options.md", None): options_table,
    ("docs/benchmarks.md", "benchmarks"): lambda: first_tables(RESULTS / "benchmarks.md"),
    ("docs/benchmarks.md", "tuned"): lambda: first_tables(RESULTS / "tuned.md"),
    ("docs/benchmarks.md", "secondary-structure"): lambda: first_tables(RESULTS / "secondary_structure.md", 2),
}


# ---------------------------------------------------------------------------------------------- rewriting


def replace(text: str, name: str | None, body: str, where: str) -> str:
    """``text`` with the part between the markers of ``name`` replaced by ``body``."""
    if name is None:
        from bioseq.options import MARKERS as pair
    else:
        pair = markers(name)
    start, end = pair
    if text.count(start) != 1 or text.count(end) != 1:
        raise SystemExit(f"{where}: the markers of the generated part {name or 'options'!r} are missing or repeated: "
                         f"{start} … {end}")
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{body}{end}{rest.split(end, 1)[1]}"


def updated() -> dict[Path, tuple[str, str]]:
    """Each page with generated parts: (its text now, its text with every part regenerated)."""
    pages: dict[Path, tuple[str, str]] = {}
    for (page, name), make in PARTS.items():
        path = ROOT / page
        old, new = pages.get(path, (path.read_text(), path.read_text()))
        pages[path] = (old, replace(new, name, make(), page))
    return pages


def stale() -> list[str]:
    """The pages whose generated parts are out of date."""
    return [str(p.relative_to(ROOT)) for p, (old, new) in updated().items() if old != new]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python scripts/docs.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only list the pages that are out of date (exit 1 if any)")
    a = ap.parse_args(argv)
    if a.check:
        out = stale()
        for page in out:
            print(f"out of date: {page} (run `python scripts/docs.py`)")
        return 1 if out else 0
    for path, (old, new) in updated().items():
        if old != new:
            path.write_text(new)
            print(f"rewrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
