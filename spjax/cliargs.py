"""Argument types shared by the command lines of every area (one parser per kind of value).

Each raises `ArgError`: argparse prints its message as the usage error, and code that parses
the same values outside argparse (comma lists, `--set` items) can catch it as a ValueError.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Callable, Iterable
from typing import Any


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


def typed_value(value: Any, like: Any, name: str) -> Any:
    """A setting's new `value` (a command-line string, or already a Python value) as the type
    of `like`, its current value: bools, numbers, tuples and lists are read as Python literals
    (an int where a float is expected widens; one item where a sequence is expected becomes a
    one-item sequence); strings stay strings; where `like` is None a literal is tried and the
    text kept otherwise. A value of the wrong type is an ArgError naming `name`."""
    text = value
    if isinstance(value, str) and (like is None or isinstance(like, (int, float, tuple, list))):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            if like is None:
                return value
            raise ArgError(
                f"{name}={text}: cannot parse {text!r} as {type(like).__name__}"
            ) from None
    if like is None or value is None:
        return value
    if isinstance(like, bool):
        if not isinstance(value, bool):
            raise ArgError(f"{name}={text}: expected a bool (True/False), got {text!r}")
        return value
    if isinstance(like, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(like, int) and isinstance(value, float) and value == int(value):
        return int(value)
    if isinstance(like, (tuple, list)):
        if not isinstance(value, (tuple, list)):
            value = (value,)
        return type(like)(value)
    if not isinstance(value, type(like)) or (
        isinstance(value, bool) and not isinstance(like, bool)
    ):
        raise ArgError(
            f"{name}={text}: expected {type(like).__name__}, got {type(value).__name__} {text!r}"
        )
    return value
