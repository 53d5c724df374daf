"""Values put into PowerShell or XML text go through one quoting filter each."""

from __future__ import annotations

import jinja2
import pytest

from roomsops.core.templates import environment, psquote, xmlattr


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("SyncIsAllowed", "'SyncIsAllowed'"),
        ("O'Brien", "'O''Brien'"),
        ("x’; Remove-Mailbox -Identity *; ‘", "'x’’; Remove-Mailbox -Identity *; ‘‘'"),
        ("$(Get-Process)", "'$(Get-Process)'"),
        ("Zürich `n", "'Zürich `n'"),
    ],
)
def test_psquote_keeps_everything_literal(value: str, quoted: str) -> None:
    assert psquote(value) == quoted


def test_xmlattr_escapes() -> None:
    assert xmlattr('a&b<c>"d"\n') == "a&amp;b&lt;c&gt;&quot;d&quot;&#10;"


def test_templates_are_strict() -> None:
    with pytest.raises(jinja2.UndefinedError):
        environment().get_template("RoomsAppSettings.config.j2").render(version="x")
