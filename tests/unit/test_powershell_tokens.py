"""The runbook oracle (tests/powershell_tokens.py) reads quotes, dashes and comments as PowerShell does.

Issue 17: the runbook-quoting fuzz test's oracle, tree-sitter-powershell, does not treat ‘ ’ ‚ ‛ as quotes,
so it could not catch a Unicode-quote bug. These tests show the gap and pin the tokenizer's rules.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roomsops.core.templates import psquote, render
from tests.powershell_tokens import (
    DASHES,
    DOUBLE_QUOTES,
    SINGLE_QUOTES,
    TokenizeError,
    as_windows_powershell_reads,
    expressions,
    string_literals,
    tokenize,
)
from tests.unit.test_runbook import PARSER, literals, runbook

ATTACK = "Sync\u2019 -or Alias -ne \u2019x"


def ascii_only_quoting(value: str) -> str:
    """The bug the old oracle could not see: only the ASCII quote doubled."""
    return "'" + value.replace("'", "''") + "'"


def kinds(source: str) -> list[tuple[str, str]]:
    return [(t.kind, t.value) for t in tokenize(source)]


def test_tree_sitter_misses_a_unicode_quote_bug_that_this_oracle_catches() -> None:
    text = f"$Group = {ascii_only_quoting(ATTACK)}\n"
    tree = PARSER.parse(text.encode("utf-8"))
    assert not tree.root_node.has_error
    assert literals(tree) == [ascii_only_quoting(ATTACK)]  # tree-sitter: one harmless literal
    # PowerShell: the literal ends at ’, then -or Alias -ne are operators, then another literal.
    assert kinds(text) == [
        ("variable", "Group"),
        ("punctuation", "="),
        ("verbatim", "Sync"),
        ("parameter", "-or"),
        ("word", "Alias"),
        ("parameter", "-ne"),
        ("verbatim", "x"),
        ("newline", ""),
    ]
    assert string_literals(f"$Group = {psquote(ATTACK)}\n") == [ATTACK]


@pytest.mark.parametrize("quote", list(SINGLE_QUOTES))
def test_any_single_quote_character_opens_closes_and_doubles(quote: str) -> None:
    assert kinds(f"{quote}a{quote}{quote}b{quote}") == [("verbatim", f"a{quote}b")]
    assert kinds(f"'a{quote}") == [("verbatim", "a")]  # mixed: any one closes
    assert kinds(f"{quote}x{quote}{quote}$(x)`{quote}") == [("verbatim", f"x{quote}$(x)`")]  # nothing expands


@pytest.mark.parametrize("quote", list(DOUBLE_QUOTES))
def test_any_double_quote_character_opens_closes_and_doubles(quote: str) -> None:
    assert kinds(f'{quote}a{quote}{quote}b`"c{quote}') == [("expandable", f'a{quote}b"c')]
    assert kinds(f"{quote}x$('a){quote}')y{quote}") == [("expandable", f"x$('a){quote}')y")]


@pytest.mark.parametrize("dash", list(DASHES))
def test_every_dash_makes_a_parameter(dash: str) -> None:
    assert kinds(f"Remove-Mailbox {dash}Confirm:$false") == [
        ("word", "Remove-Mailbox"),
        ("parameter", "-Confirm"),
        ("punctuation", ":"),
        ("variable", "false"),
    ]


def test_comments_here_strings_and_continuations() -> None:
    source = (
        "# a comment with 'quotes'\r\n"
        "<# block\r\n 'still comment' #>\r\n"
        "$t = @\u2019\r\nline 'one'\r\n\u2018@\r\n"
        '$u = @"\r\n$($x) "two"\r\n"@\r\n'
        "Get-Thing `\r\n -Name 'n'\r\n"
    )
    assert [t for t in kinds(source) if t[0] != "newline"] == [
        ("comment", ""),
        ("comment", ""),
        ("variable", "t"),
        ("punctuation", "="),
        ("here_verbatim", "line 'one'"),
        ("variable", "u"),
        ("punctuation", "="),
        ("here_expandable", '$($x) "two"'),
        ("word", "Get-Thing"),
        ("parameter", "-Name"),
        ("verbatim", "n"),
    ]


@pytest.mark.parametrize("source", ["'open", "\u201copen", "<# open", "@'\nnever closed\n", '"$(1"'])
def test_unclosed_constructs_do_not_tokenize(source: str) -> None:
    with pytest.raises(TokenizeError):
        tokenize(source)


@given(st.text(st.characters(blacklist_categories=["Cs"])))
def test_psquote_is_one_verbatim_string_for_powershell(value: str) -> None:
    """One ASCII expression whose value is exactly `value`, also as Windows PowerShell reads it without a BOM."""
    quoted = psquote(value)
    assert quoted.isascii()
    assert as_windows_powershell_reads(quoted) == quoted
    assert [(t.kind, t.value) for t in expressions(f"$x = {quoted};")] == [
        ("variable", "x"),
        ("punctuation", "="),
        ("verbatim", value),
        ("punctuation", ";"),
    ]


def test_todays_runbook_passes_the_oracle_as_utf8_text() -> None:
    """Read as Unicode (PowerShell 7, or 5.1 given a BOM) today's psquote holds for every quote character."""
    text = runbook(group=ATTACK, members=["DiegoS@contoso.com", "\u0442|calc#"], exact=True)
    assert string_literals(text).count(ATTACK) == 1
    assert string_literals(text).count("\u0442|calc#") == 1


def test_windows_powershell_reading_a_bom_less_file_in_the_ansi_code_page() -> None:
    """What Windows PowerShell 5.1 makes of UTF-8 without a BOM: т (UTF-8 D1 82) reads as Ñ‚ in cp1252,
    and ‚ (U+201A) is a single quote to PowerShell: the member's literal ends early."""
    assert as_windows_powershell_reads("'\u0442|calc#'") == "'\u00d1\u201a|calc#'"
    assert kinds(as_windows_powershell_reads("'\u0442|calc#'")) == [
        ("verbatim", "\u00d1"),
        ("punctuation", "|"),
        ("word", "calc"),
        ("comment", ""),
    ]
    assert as_windows_powershell_reads("\ufeff'\u0442'") == "'\u0442'"  # with a BOM: read as UTF-8


def test_the_runbook_survives_windows_powershell_reading_it_without_a_bom() -> None:
    text = render(
        "powershell/policy-restrict.ps1.j2",
        version="test",
        app_id="6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f",
        group="SyncIsAllowed",
        members=["DiegoS@contoso.com", "\u0442|calc#"],
        exact=False,
        access_right="RestrictAccess",
        description="Restrict this app.",
        probes=["AdeleV@contoso.com"],
        admin_upn=None,
    )
    read = as_windows_powershell_reads(text)
    # Before: the literal ended at the ‚ of Ñ‚, and `| calc` ran; `#` commented out the rest of the line.
    assert not [t for t in tokenize(read) if t.kind == "word" and t.value == "calc"]
    assert text.isascii() and read == text  # every ANSI code page reads ASCII as itself
    assert string_literals(read).count("\u0442|calc#") == 1
    assert "('' + [char]0x0442 + '|calc#')" in text
