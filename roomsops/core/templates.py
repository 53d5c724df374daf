"""Jinja2 templates shipped with roomsops, found in an installed wheel or a source checkout.

Every value put into PowerShell text goes through `psquote`, into XML through `xmlattr`.

Runbooks are pure ASCII: Windows PowerShell 5.1 reads a file without a byte-order mark in the ANSI code page,
where the UTF-8 bytes of e.g. т become Ñ‚, and ‚ is a quote to PowerShell. So `psquote` writes every
character outside printable ASCII as `[char]0xHHHH` in a parenthesized concatenation, which reads the same in
every code page; the templates' own text is ASCII (a unit test checks), and `write_runbook` adds a BOM.
"""

from __future__ import annotations

import codecs
import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

_PACKAGE = Path(__file__).resolve().parents[1]  # roomsops/
# PowerShell treats these as single quotes too; doubling each keeps the literal closed.
_PS_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


def templates_dir() -> Path:
    """`roomsops/templates` inside a wheel, else `templates/` at the root of a source checkout."""
    for candidate in (_PACKAGE / "templates", _PACKAGE.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("roomsops' templates folder is missing from this installation")


def _literal(text: str) -> str:
    for quote in _PS_SINGLE_QUOTES:
        text = text.replace(quote, quote * 2)
    return f"'{text}'"


def _utf16_units(ch: str) -> list[int]:
    data = ch.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def psquote(value: object) -> str:
    """The value as a PowerShell expression in pure ASCII that nothing expands ($(), `, ;, " are inert).

    Printable ASCII is one single-quoted literal (' doubled): `'O''Brien'`. Any other character (non-ASCII,
    control characters) is a `[char]0xHHHH` (UTF-16 code units: two for a character beyond U+FFFF) joined
    to literals in parentheses, starting with a string so that `+` concatenates:
    `('Ren' + [char]0x00E9 + '@contoso.com')`, `('' + [char]0x0442 + '|calc#')`."""
    pieces: list[str] = []
    run = ""
    for ch in str(value):
        if " " <= ch <= "~":
            run += ch
            continue
        if run or not pieces:
            pieces.append(_literal(run))
            run = ""
        pieces += [f"[char]0x{unit:04X}" for unit in _utf16_units(ch)]
    if run or not pieces:
        pieces.append(_literal(run))
    return pieces[0] if len(pieces) == 1 else "(" + " + ".join(pieces) + ")"


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Characters a word may hold unquoted in both PowerShell and POSIX shells. It must start with a letter (a
#: leading - is an option, @ a splat, and PowerShell reads a word such as 10kb or 0x1F as a number), or be a GUID.
_BARE = frozenset(_LETTERS + "0123456789@._-")
_GUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
#: What a double-quoted string expands or ends in PowerShell (`$ ` " and its typographic double quotes) or in
#: bash (`$ ` " \ and, typed interactively, the history's !).
_EXPANDED_IN_DOUBLE_QUOTES = '$`"\\!\u201c\u201d\u201e'


def shellword(value: object, *, posix: bool = False) -> str:
    """The value as one command-line word that PowerShell and bash both read back exactly, for a command line
    printed to be pasted into either (the `roomsops ...` way back of `policy remove`).

    A plain word stays bare; else single quotes, inside which neither shell expands anything (`'Sync $Rooms'`);
    a value with a single quote (PowerShell also ends a literal at a typographic one) goes in double quotes
    when nothing in it expands in either shell (`"O'Brien"`). No word reads alike in both when a value holds a
    single quote and one of $ ` " \\ !: it is then written for PowerShell (`psquote`'s literal, quotes doubled),
    the shell of the ROOMS server; with `posix`, for a POSIX shell instead (`shlex.quote`: sh, bash, zsh)."""
    text = str(value)
    if (text[:1] in set(_LETTERS) and set(text) <= _BARE) or _GUID.fullmatch(text):
        return text
    if not any(quote in text for quote in _PS_SINGLE_QUOTES):
        return f"'{text}'"
    if not any(ch in text for ch in _EXPANDED_IN_DOUBLE_QUOTES):
        return f'"{text}"'
    return shlex.quote(text) if posix else _literal(text)


def write_runbook(path: Path, text: str) -> None:
    """A runbook saved for Windows PowerShell: UTF-8 with a byte-order mark (5.1 reads a file without one
    in the ANSI code page)."""
    path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))


def xmlattr(value: object) -> str:
    """Text safe inside a double-quoted XML attribute."""
    text = str(value)
    for raw, escaped in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&quot;"),
        ("\r", "&#13;"),
        ("\n", "&#10;"),
        ("\t", "&#9;"),
    ):
        text = text.replace(raw, escaped)
    return text


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - outputs are XML and PowerShell, escaped by explicit filters
        keep_trailing_newline=True,
    )
    env.filters["psquote"] = psquote
    env.filters["xmlattr"] = xmlattr
    return env


def render(name: str, **values: Any) -> str:
    return environment().get_template(name).render(**values)
