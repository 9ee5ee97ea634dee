"""Argument types shared by the command lines of every area (one parser per kind of value).

Each raises `ArgError`: argparse prints its message as the usage error, and code that parses
the same values outside argparse (comma lists, `--set` items) can catch it as a ValueError.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable


class ArgError(argparse.ArgumentTypeError, ValueError):
    """A malformed command-line value (both an argparse type error and a ValueError)."""


def rate(text: str) -> float:
    """A sampling rate as a fraction (0.01) or a percentage ('1%'), in (0, 1]."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100.0 if t.endswith("%") else float(t)
    except ValueError:
        raise ArgError(f"expected a rate like 0.01 or 1%, got {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise ArgError(f"expected a rate in (0, 1], got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ArgError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise ArgError(f"expected a positive integer, got {text!r}")
    return value


def key_values(items: Iterable[str] | None, flag: str = "--set") -> list[tuple[str, str]]:
    """`KEY=VALUE` strings → [(key, value)] with both sides stripped; values stay strings
    (whoever owns the keys knows their types)."""
    pairs = []
    for item in items or ():
        if "=" not in item:
            raise ArgError(f"{flag}: expected KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        pairs.append((key.strip(), value.strip()))
    return pairs


def comma_list(text: str | None, convert: Callable[[str], object], flag: str):
    """'a,b,c' → tuple of `convert(item)`; None stays None (the caller's default)."""
    if text is None:
        return None
    try:
        return tuple(convert(t.strip()) for t in text.split(",") if t.strip())
    except (ValueError, TypeError) as err:
        raise ArgError(f"{flag}: could not parse {text!r} ({err})") from None
