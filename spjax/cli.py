"""The `spjax` command line. Each area owns its subcommands in `spjax/<area>/cli.py`,
which exposes `register(subparsers)`; heavy imports happen inside the command functions so
that `spjax --help` stays instant."""

from __future__ import annotations

import argparse
import importlib
import sys

from spjax import __version__

# Modules that contribute subcommands, in the order `spjax --help` lists them.
_COMMAND_MODULES = (
    "spjax.models.cli",
    "spjax.sensing.cli",
    "spjax.export.cli",
    "spjax.data.cli",
    "spjax.training.cli",
    "spjax.privacy.cli",
    "spjax.bench.cli",
    "spjax.deploy.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spjax",
        description="Privacy-preserving behavioural sensing with single-pixel cameras.",
    )
    parser.add_argument("--version", action="version", version=f"spjax {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from spjax.training.compilation import enable_compilation_cache

    enable_compilation_cache()  # every command compiles; a second run loads the programs
    try:
        result = args.func(args)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as err:
        # Bad input is reported as one clear line, not a traceback.
        print(f"spjax {args.command}: error: {err}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
