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
        (
            "x’; Remove-Mailbox -Identity *; ‘",
            "('x' + [char]0x2019 + '; Remove-Mailbox -Identity *; ' + [char]0x2018)",
        ),
        ("$(Get-Process)", "'$(Get-Process)'"),
        ("Zürich `n", "('Z' + [char]0x00FC + 'rich `n')"),
        ("т|calc#", "('' + [char]0x0442 + '|calc#')"),
        ("a\U0001f600\n", "('a' + [char]0xD83D + [char]0xDE00 + [char]0x000A)"),
        ("", "''"),
    ],
)
def test_psquote_keeps_everything_literal(value: str, quoted: str) -> None:
    assert psquote(value) == quoted


def test_templates_text_is_ascii() -> None:
    """Windows PowerShell 5.1 reads a runbook without a BOM in the ANSI code page: only ASCII reads the same."""
    from roomsops.core.templates import templates_dir

    runbooks = sorted((templates_dir() / "powershell").glob("*.j2"))
    assert runbooks
    for path in runbooks:
        text = path.read_text(encoding="utf-8")
        assert text.isascii(), [(path.name, ch) for ch in text if not ch.isascii()]


def test_xmlattr_escapes() -> None:
    assert xmlattr('a&b<c>"d"\n') == "a&amp;b&lt;c&gt;&quot;d&quot;&#10;"


def test_templates_are_strict() -> None:
    with pytest.raises(jinja2.UndefinedError):
        environment().get_template("RoomsAppSettings.config.j2").render(version="x")
