"""The command tree as tests walk it: every runnable command, every parameter, and what kind of
value each takes, so that a test over "every id" or "every command" covers a new one by itself.

    for leaf in leaves():
        for param in leaf.params:
            kind_of(leaf, param)   # "int", "float", "time", "output", "input", "choice", "text"
            leaf.args_with(param, "9" * 30)   # a command line with every required value filled
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from arenadb.cli.app import COMMANDS, load_command
from arenadb.cli.options import check_time, leaf_commands

# Parameters naming a file, by command path and parameter name: "output" ones are written
# through arenadb.portability.outputs (a new regular file unless --force), "input" ones only read.
PATH_PARAMETERS = {
    ("export", "output"): "output",
    ("backup", "file"): "output",
    ("import", "file"): "input",
}
# A value for each kind that the parser takes, for the required parameters around the one
# being tested.
FILLERS = {
    "int": "1",
    "float": "60",
    "time": "7d",
    "output": "out.jsonl",
    "input": "missing-input.jsonl",
    "text": "1",
}


@dataclass(frozen=True)
class Leaf:
    path: tuple[str, ...]
    command: Any

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def params(self) -> list[Any]:
        """The parameters a user can give (not --help, not the hidden format refusals)."""
        return [
            p for p in self.command.params if not getattr(p, "hidden", False) and p.name != "help"
        ]

    def args_with(self, param: Any | None, value: str | None) -> list[str]:
        """The command line of this command with `param` set to `value` (None: not given) and
        every other required parameter filled with an acceptable value."""
        options: list[str] = []
        arguments: list[str] = []
        for p in self.params:
            if p is param:
                given: str | None = value
            elif getattr(p, "required", False):
                given = filler(self, p)
            else:
                continue
            if given is None:
                continue
            if p.param_type_name == "argument":
                arguments.append(given)
            else:
                options += [p.opts[0], given]
        # `--` keeps a value that starts with a dash an argument, as a user would type it.
        return [*self.path, *options, *(["--", *arguments] if arguments else [])]


def leaves() -> Iterator[Leaf]:
    for name in COMMANDS:
        for path, command in leaf_commands(load_command(name), (name,)):
            yield Leaf(path, command)


def is_flag(param: Any) -> bool:
    return bool(getattr(param, "is_flag", False)) or param.type_descriptor.annotation is bool


def annotation_of(param: Any) -> Any:
    annotation = param.type_descriptor.annotation
    element = getattr(annotation, "__args__", None)
    if getattr(annotation, "__origin__", None) is list and element:
        return element[0]
    return annotation


def kind_of(leaf: Leaf, param: Any) -> str:
    """What a parameter takes; "flag" for booleans."""
    if is_flag(param):
        return "flag"
    annotation = annotation_of(param)
    if (leaf.name, param.name) in PATH_PARAMETERS:
        return PATH_PARAMETERS[(leaf.name, param.name)]
    if annotation is Path:
        raise AssertionError(f"{leaf.name} {param.name}: a path not in PATH_PARAMETERS")
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if param.callback is not None and inspect.unwrap(param.callback) is check_time:
        return "time"
    if param.type_descriptor.is_choice or hasattr(annotation, "__members__"):
        return "choice"
    return "text"


def filler(leaf: Leaf, param: Any) -> str:
    kind = kind_of(leaf, param)
    if kind == "choice":
        choices = param.type_descriptor.choices or ()
        first = next(iter(choices))
        return str(getattr(first, "value", first))
    if annotation_of(param) is datetime:  # a date option (`--from`): a date it reads
        return "2026-01-01"
    return FILLERS[kind]
