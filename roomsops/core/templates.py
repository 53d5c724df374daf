"""Jinja2 templates shipped with roomsops, found in an installed wheel or a source checkout.

Every value put into PowerShell text goes through `psquote`, into XML through `xmlattr`.
"""

from __future__ import annotations

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


def psquote(value: object) -> str:
    """A PowerShell single-quoted literal: nothing inside is expanded ($(), `, ;, " are inert)."""
    text = str(value)
    for quote in _PS_SINGLE_QUOTES:
        text = text.replace(quote, quote * 2)
    return f"'{text}'"


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
