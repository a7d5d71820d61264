"""The root Typer app: global options and one sub-app per noun group."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup
from typer.models import CommandInfo, TyperInfo

from cstool import __version__, console
from cstool.commands import (
    accounts,
    config_cmd,
    cta_cmd,
    data,
    demo,
    export_cmd,
    journey_cmd,
    nps_cmd,
    plan_cmd,
    playbooks_cmd,
    refs_cmd,
    report,
    rollup_cmd,
    sample,
    score,
    tiers_cmd,
    timeline_cmd,
)

# The root help lists commands in the order of the work, not alphabetically: FIRST, then
# commands named in neither list (in the order they were added), then LAST.
FIRST = ("init", "load", "status", "score", "changes", "thresholds")
LAST = ("config", "demo", "sample")


class _Commands(MutableMapping[str, Any]):
    """A group's commands by name, each built from its Typer definition when first used.

    Building a command means reading every parameter of its function; doing it for all of
    them cost more than a command like ``account show`` does itself. The names and their
    order are known at once; a command is built when it runs, when help lists it, or when
    something reads it from the mapping.
    """

    def __init__(self, builders: dict[str, Callable[[], Any]]) -> None:
        self._order = dict.fromkeys(builders)
        self._pending = dict(builders)
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self._pending.pop(name)()
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._pending.pop(name, None)
        self._built[name] = command
        self._order[name] = None

    def __delitem__(self, name: str) -> None:
        del self._order[name]
        self._pending.pop(name, None)
        self._built.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._order

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)


def _builders(source: typer.Typer, root: typer.Typer) -> dict[str, Callable[[], Any]]:
    """How to build each command and group registered on ``source``, by name, in the order
    Typer lists them (commands, then groups), with the root's help settings; a group's own
    commands are built when needed too."""
    short, markup = root.pretty_exceptions_short, root.rich_markup_mode

    def command(info: CommandInfo) -> Callable[[], Any]:
        return lambda: typer.main.get_command_from_info(
            info, pretty_exceptions_short=short, rich_markup_mode=markup
        )

    def group(info: TyperInfo) -> Callable[[], Any]:
        def build() -> Any:
            # The group itself from an outline without its commands, which it then builds
            # the same way: `refs find` builds find, not the other ten refs commands.
            sub = info.typer_instance
            assert sub is not None
            outline = copy.copy(info)
            outline.typer_instance = copy.copy(sub)
            outline.typer_instance.registered_commands = []
            outline.typer_instance.registered_groups = []
            made = typer.main.get_group_from_info(
                outline,
                pretty_exceptions_short=short,
                rich_markup_mode=markup,
                suggest_commands=root.suggest_commands,
            )
            made.commands = _Commands(_builders(sub, root))
            return made

        return build

    found: dict[str, Callable[[], Any]] = {}
    for c in source.registered_commands:
        assert c.callback is not None
        found[c.name or typer.main.get_command_name(c.callback.__name__)] = command(c)
    for g in source.registered_groups:
        name = typer.main.solve_typer_info_defaults(g).name
        assert isinstance(name, str)
        found[name] = group(g)
    return found


class _Root(TyperGroup):
    """The root command group: commands built when needed, listed in workflow order."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "commands": _Commands(_builders(COMMANDS, app))})

    def list_commands(self, ctx: Any) -> list[str]:
        rank = {n: i for i, n in enumerate(FIRST)}
        rank.update({n: len(FIRST) + 1 + i for i, n in enumerate(LAST)})
        return sorted(self.commands, key=lambda n: rank.get(n, len(FIRST)))

    def invoke(self, ctx: Any) -> Any:
        # The one translation point: whatever a command raises on purpose, including while
        # it finds its workspace before its own work starts, becomes a message and an exit
        # code here, never a traceback. Typer validates choices through pydantic, whose
        # message starts "Value error, ": noise for a user who only typed a wrong word.
        try:
            with console.errors_to_exit():
                return super().invoke(ctx)
        except typer.BadParameter as e:
            e.message = e.message.removeprefix("Value error, ")
            raise


console.plain_help()
app = typer.Typer(
    name="cstool",
    cls=_Root,
    help="Customer Success operations over local files: load exports, score adoption, "
    "run playbooks and tech-touch email.\n\nExample: cstool init acme-cs --sample",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cstool {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            metavar="DIR",
            envvar="CSTOOL_WORKSPACE",
            help="Workspace folder (default: nearest cstool.yaml upwards).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="Say more (e.g. which workspace is used).",
        ),
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Say only errors and data.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Customer Success operations over local files."""
    console.options.workspace = workspace
    console.options.verbose = verbose
    console.options.quiet = quiet


# The commands are registered here rather than on ``app``, whose group (``_Root``) builds
# each one from here only when it is needed.
COMMANDS = typer.Typer()
data.register(COMMANDS)
demo.register(COMMANDS)
score.register(COMMANDS)
nps_cmd.register(COMMANDS)
accounts.register(COMMANDS)
timeline_cmd.register(COMMANDS)
journey_cmd.register(COMMANDS)
plan_cmd.register(COMMANDS)
tiers_cmd.register(COMMANDS)
report.register(COMMANDS)
rollup_cmd.register(COMMANDS)
COMMANDS.add_typer(export_cmd.app, name="export")
playbooks_cmd.register(COMMANDS)
cta_cmd.register(COMMANDS)
refs_cmd.register(COMMANDS)
COMMANDS.add_typer(config_cmd.app, name="config")
COMMANDS.add_typer(sample.app, name="sample")


def main() -> None:
    """Entry point of the ``cstool`` script."""
    app()
