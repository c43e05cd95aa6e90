"""Command-line arguments generated from option declarations (:mod:`bioseq.option_spec`): the options of
``train`` and ``tune`` from the options table, and single options of one command (``predict --chunk-size``,
``tune --ensemble``). Only the text is converted here; every value is checked by the option's one rule
(:meth:`~bioseq.option_spec.Option.problem`) where it is used, so an out-of-range value is one line, exit 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def _typed(o):
    """An argparse ``type`` for option ``o``: the text as its type. Its range is checked with the rest of the
    options (:meth:`~bioseq.option_spec.Option.problem`, through the configs' ``validate()``): one line, exit 2."""
    def convert(text: str):
        try:
            return o.type(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a valid {o.type.__name__}: {text!r}") from None
    convert.__name__ = o.type.__name__  # argparse names the type in its messages
    return convert


def add_option(group, o) -> None:
    """One argument for the option ``o`` (an :class:`~bioseq.option_spec.Option`) in the argparse ``group``:
    its flag and aliases, type, choices, default and help, from its declaration."""
    kw = {"help": o.describe().replace("%", "%%"), "default": None if o.from_data else o.default}
    if o.positional:
        group.add_argument(o.name, nargs="*", metavar=o.metavar, help=o.help)  # none: DataOptions.validate says
        return
    if o.type is bool:
        kw["action"] = argparse.BooleanOptionalAction
    elif o.choices is not None:
        kw.update(metavar="{" + ",".join(o.allowed) + ",...}") if o.open_choices else kw.update(choices=o.allowed)
    elif o.type in (int, float):
        kw.update(type=_typed(o), metavar="N" if o.type is int else "X")
    if o.many:
        kw["nargs"] = "+"
    if o.metavar:
        kw["metavar"] = o.metavar
    group.add_argument(o.flag, *o.aliases, dest=o.name, **kw)


def add_option_arguments(parser: argparse.ArgumentParser, groups: Sequence[str] = ("data", "model", "training"),
                         names: Sequence[str] = ()) -> None:
    """One argument per option of the options table (:mod:`bioseq.options`), in groups, defaults in the help:
    every option of ``groups``, and the options ``names`` of other groups.

    Model options whose default depends on the alphabet default to ``None`` here (decided with the data).
    """
    from ..options import options

    wanted = [o for o in options() if o.cli and (o.group in groups or o.name in names)]
    by_group = {g: parser.add_argument_group(g) for g in dict.fromkeys(o.group for o in wanted)}
    for o in wanted:
        add_option(by_group[o.group], o)


def add_destination(p: argparse.ArgumentParser, out_help: str, name_help: str) -> None:
    """``--out PATH`` or ``--name NAME`` (not both): where ``train`` and ``tune`` save their model."""
    dest = p.add_mutually_exclusive_group()
    dest.add_argument("--out", metavar="PATH", help=out_help)
    dest.add_argument("--name", help=name_help)
