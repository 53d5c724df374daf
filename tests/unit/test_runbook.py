"""The --print-script runbook: valid PowerShell, every value exactly one inert single-quoted literal."""

from __future__ import annotations

import pytest
import tree_sitter
import tree_sitter_powershell

from roomsops.core.templates import psquote, render
from tests.powershell_tokens import as_windows_powershell_reads, expressions, string_literals

HOSTILE = [
    "O'Brien",
    "O\u2019Brien",
    "$(Remove-Item C:\\)",
    '"; Remove-Mailbox x',
    "back`tick",
    "new\nline",
    "Zoë",
    # Typographic quotes and dashes, which PowerShell reads as ' " - (tree-sitter does not).
    "Sync\u2019 -or Alias -ne \u2019x",
    "\u201a; Remove-Mailbox x; \u201b",
    "\u201c$(Remove-Item C:\\)\u201d",
    "\u2013Confirm:$false",
]
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def literals(tree: tree_sitter.Tree) -> list[str]:
    found: list[str] = []

    def walk(node: tree_sitter.Node) -> None:
        if node.type == "string_literal":
            found.append((node.text or b"").decode("utf-8"))
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return found


def runbook(**values: object) -> str:
    defaults: dict[str, object] = {
        "version": "test",
        "app_id": "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f",
        "group": "SyncIsAllowed",
        "members": ["DiegoS@contoso.com"],
        "exact": False,
        "access_right": "RestrictAccess",
        "description": "Restrict this app.",
        "probes": ["AdeleV@contoso.com"],
        "admin_upn": None,
    }
    return render("powershell/policy-restrict.ps1.j2", **(defaults | values))


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("where", ["group", "member", "description", "admin_upn"])
def test_hostile_values_stay_literals(value: str, where: str) -> None:
    values: dict[str, object] = {"exact": True}
    if where == "member":
        values["members"] = ["DiegoS@contoso.com", value]
    else:
        values[where] = value
    text = runbook(**values)
    tree = PARSER.parse(text.encode("utf-8"))
    assert not tree.root_node.has_error, text
    quoted = psquote(value)
    if (
        value.isascii() and value.isprintable()
    ):  # one literal; else an ASCII concatenation (the oracle reads it)
        assert literals(tree).count(quoted) == 1, (quoted, literals(tree))
    assert text.count(quoted) == 1
    assert value not in text.replace(quoted, ""), "the value also stands outside its literal"
    assert_one_literal_for_powershell(text, value)


def assert_one_literal_for_powershell(text: str, value: str, times: int = 1) -> None:
    """The oracle that reads quotes as PowerShell does: the value is exactly `times` verbatim strings (a
    `psquote` concatenation counts as one), and no other token holds it; the text is ASCII, so Windows
    PowerShell reads it the same without a byte-order mark."""
    assert text.isascii() and as_windows_powershell_reads(text) == text
    assert string_literals(text).count(value) == times, (value, string_literals(text))
    others = [t.text for t in expressions(text) if t.kind not in ("verbatim", "here_verbatim")]
    assert not any(value in other for other in others), "the value also stands outside its literal"


def test_the_ascii_quote_is_doubled_and_the_typographic_ones_are_char_codes() -> None:
    assert psquote("a'b") == "'a''b'"
    assert psquote("'$(x)'") == "'''$(x)'''"
    for quote in ("\u2018", "\u2019", "\u201a", "\u201b"):
        assert psquote(f"a{quote}b") == f"('a' + [char]0x{ord(quote):04X} + 'b')"


def test_runbook_has_no_secret_and_uses_interactive_sign_in() -> None:
    text = runbook()
    assert "$AdminUpn = Read-Host" in text and "Connect-ExchangeOnline -UserPrincipalName $AdminUpn" in text
    assert "AccessToken" not in text and "ClientSecret" not in text
    assert not PARSER.parse(text.encode()).root_node.has_error


def test_exact_compares_the_members_primary_addresses_and_removes_only_after_every_addition() -> None:
    """--exact keeps a member given by an alias: the group lists primary SMTP addresses, so the runbook compares
    with the primary address each given member resolves to (fix21o), not with the address as given; and it stops
    before any removal (and before the policy) when an addition failed, as the live run keeps the old members."""
    script = runbook(exact=True, members=["diego.siciliani@contoso.com"])
    assert "$Members -notcontains" not in script
    assert "$Wanted += (Get-Recipient -Identity $member).PrimarySmtpAddress" in script
    assert "if ($Wanted -notcontains $current.PrimarySmtpAddress)" in script
    stop = script.index("if ($NotAdded.Count -gt 0)")
    assert stop < script.index("Remove-DistributionGroupMember") < script.index("New-ApplicationAccessPolicy")
    assert PARSER.parse(script.encode("utf-8")).root_node.has_error is False
