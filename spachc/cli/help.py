"""How `--help` shows arguments and options, decided once for every command.

Typer's defaults read as Python: `<bool>` beside switches (which take no value),
`<list[str]>`, `<int range> [x>=0]`, `{spec}`. Here every value gets a metavar a user
reads (`N`, `X`, `PATH`, `TEXT`, a choice `a|b`), switches get none, and ranges are left
to the error message. Commands may set their own metavar (`K=V`, `DIR`); it is kept.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import get_args, get_origin

from typer.core import TyperArgument, TyperOption

METAVARS = {int: "N", float: "X", Path: "PATH", str: "TEXT"}


def tidy(command) -> object:
    """Apply the help conventions to a command and, for a group, to all its subcommands."""
    for sub in getattr(command, "commands", {}).values():
        tidy(sub)
    for param in command.params:
        _tidy_param(param)
    built_in = command.get_help_option

    def get_help_option(ctx):
        option = built_in(ctx)
        if option is not None:
            _tidy_param(option)
        return option

    command.get_help_option = get_help_option
    return command


def _tidy_param(param) -> None:
    if isinstance(param, TyperArgument):
        if param.metavar is None:
            param.metavar = param.name.upper()
        param.display_type_rich = lambda ctx: None  # the name says it: no `<str>` beside it
        param._usage_display_name = lambda p=param: _usage_name(p)
        return
    if not isinstance(param, TyperOption):
        return
    if param.is_flag:
        param.metavar = ""  # a switch takes no value
        return
    if param.metavar is None:
        param.metavar = metavar_of(param.type_descriptor.annotation)
    param._get_number_range_help_str = lambda: None  # a broken range is named in the error message


def _usage_name(param) -> str:
    """SPEC when required, [SPEC] when optional (Typer writes a required one as {SPEC})."""
    name = param.metavar if param.required else f"[{param.metavar}]"
    return name + ("..." if param.nargs != 1 else "")


def metavar_of(annotation) -> str:
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "|".join(str(m.value) for m in annotation)
    return METAVARS.get(annotation, "VALUE")
