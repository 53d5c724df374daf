"""Fuzzing the readers of untrusted input: no exception but InputError, and what is read back is what was written.

The config reader/writer (RoomsAppSettings.config), the persons CSV importer, the time parser and the PowerShell
quoting filter of --print-script (parsed with a real PowerShell grammar), and the command-line words of the way back
of `policy remove` (read back by bash and by PowerShell's tokenizer).
"""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from roomsops.adapters.appsettings.document import AppSettingsDoc
from roomsops.core.errors import InputError
from roomsops.core.templates import psquote, shellword
from roomsops.core.timeutil import parse_time
from roomsops.services.rooms.persons import CSV_HEADER, read_persons_csv
from tests.conftest import SAMPLE
from tests.powershell_tokens import (
    DOUBLE_QUOTES,
    SINGLE_QUOTES,
    as_windows_powershell_reads,
    expressions,
    tokenize,
)
from tests.unit.test_runbook import PARSER, literals

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ZURICH = ZoneInfo("Europe/Zurich")
EWS = "https://outlook.office365.com/EWS/Exchange.asmx"
# Text as a command line or a file can carry it: any code point but surrogates.
TEXT = st.text(st.characters(blacklist_categories=["Cs"]))

# --- RoomsAppSettings.config ----------------------------------------------------------------------------


@FUZZ
@given(position=st.integers(0, len(SAMPLE)), cut=st.integers(0, 40), inserted=st.binary(max_size=12))
@example(position=200, cut=len(SAMPLE), inserted=b"")  # truncated
@example(position=0, cut=3, inserted=b"\xff\xfe")  # a UTF-16 byte-order mark
@example(position=60, cut=0, inserted=b"\xfc")  # a Latin-1 byte
def test_config_reader_refuses_damage_with_input_error_only(position: int, cut: int, inserted: bytes) -> None:
    data = SAMPLE[:position] + inserted + SAMPLE[position + cut :]
    try:
        doc = AppSettingsDoc.parse(data, "RoomsAppSettings.config")
    except InputError as exc:
        assert "\n" not in exc.one_line()
        return
    assert doc.to_bytes() == data  # read and written back unchanged
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in doc.items())


@FUZZ
@given(key=TEXT, value=TEXT)
@example(key="ExchangeClientSecret", value="a&b<c>\"d'e\tf\r\ng")
@example(key="Zoë’s key", value="$(Remove-Item C:\\)")
def test_config_writer_round_trips_any_value_it_accepts(key: str, value: str) -> None:
    doc = AppSettingsDoc.parse(SAMPLE, "RoomsAppSettings.config")
    others = {k: v for k, v in doc.items() if k != key}
    new = key not in doc
    try:
        doc.set(key, value)
    except InputError as exc:
        assert "\n" not in exc.one_line()
        assert doc.to_bytes() == SAMPLE
        return
    reread = AppSettingsDoc.parse(doc.to_bytes(), "RoomsAppSettings.config")
    assert reread.get(key) == value
    assert {k: v for k, v in reread.items() if k != key} == others
    if new:
        reread.unset(key)
        assert reread.to_bytes() == SAMPLE


# --- persons CSV ----------------------------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=300) | TEXT.map(lambda t: (",".join(CSV_HEADER) + "\n" + t).encode()))
def test_csv_importer_refuses_anything_else_with_input_error_only(data: bytes) -> None:
    try:
        rows = read_persons_csv(data, "persons.csv", EWS)
    except InputError as exc:
        assert "\n" not in exc.one_line()
        return
    assert all(line >= 2 for line, _ in rows)


LOCAL = st.text("abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12).filter(
    lambda s: s[0] not in "._-" and s[-1] not in "._-"
)
NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
ROW = st.tuples(
    LOCAL,
    NAME,
    st.sampled_from(["O365", "o365pull", "Microsoft365", "None", ""]),
    st.sampled_from(["Rollback", "cancel", ""]),
)


@FUZZ
@given(rows=st.lists(ROW, max_size=6, unique_by=lambda r: r[0]), newline=st.sampled_from(["\n", "\r\n"]))
def test_csv_importer_reads_back_what_a_spreadsheet_wrote(
    rows: list[tuple[str, str, str, str]], newline: str
) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(CSV_HEADER)
    for local, name, mode, behaviour in rows:
        writer.writerow([f"{local}@contoso.com", name, mode, "", behaviour])
    read = read_persons_csv(b"\xef\xbb\xbf" + out.getvalue().encode(), "persons.csv", EWS)
    assert [f.email for _, f in read] == [f"{r[0]}@contoso.com" for r in rows]
    assert [f.name for _, f in read] == [r[1].strip() for r in rows]
    assert [f.sync_mode.lower() for _, f in read] == [(r[2] or "O365").lower() for r in rows]
    assert [f.conflict_behaviour.lower() for _, f in read] == [(r[3] or "Rollback").lower() for r in rows]


# --- times ------------------------------------------------------------------------------------------------


@FUZZ
@given(text=TEXT)
@example(text="0001-01-01T00:00+01:00")
@example(text="9999-12-31T23:59-05:00")
@example(text="2031-03-30T02:30")
def test_time_parser_answers_utc_or_input_error(text: str) -> None:
    try:
        value = parse_time(text, ZURICH)
    except InputError as exc:
        assert "\n" not in exc.one_line()
        return
    assert value.tzinfo is UTC


OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@FUZZ
@given(moment=st.datetimes(timezones=OFFSETS))
@example(moment=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
@example(moment=datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))))
def test_time_with_an_offset_round_trips(moment: datetime) -> None:
    try:
        value = parse_time(moment.isoformat(), ZURICH)
    except InputError as exc:  # only outside what a UTC datetime can hold
        assert "outside the times roomsops can store" in exc.message
        return
    assert value == moment


@FUZZ
@given(local=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9999, 12, 30)))
@example(local=datetime(2031, 3, 30, 2, 30))  # does not exist in Zurich
@example(local=datetime(2031, 10, 26, 2, 30))  # exists twice
def test_local_time_round_trips_unless_refused(local: datetime) -> None:
    try:
        value = parse_time(local.isoformat(), ZURICH)
    except InputError as exc:
        assert "daylight-saving" in exc.one_line() or "UTC offset" in exc.one_line()
        return
    assert value.astimezone(ZURICH).replace(tzinfo=None) == local


# --- the PowerShell quoting of --print-script -------------------------------------------------------------


@FUZZ
@given(value=st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")))
@example(value="O'Brien’s \"; $(Remove-Item C:\\) `n ‘x‚‛ Zoë\r\nnext; line")
def test_psquote_keeps_any_value_one_inert_literal(value: str) -> None:
    quoted = psquote(value)
    assert quoted.isascii() and as_windows_powershell_reads(quoted) == quoted  # the same in every code page
    tree = PARSER.parse(f"$x = {quoted}\n".encode())
    assert not tree.root_node.has_error, quoted
    if value.isascii() and value.isprintable():
        assert literals(tree) == [quoted]  # one single-quoted literal, nothing outside it
        assert quoted[1:-1].replace("''", "'") == value  # PowerShell reads back exactly the value
    # PowerShell's own quote characters and the [char] concatenation (tree-sitter reads only ' as a quote).
    tokens = expressions(f"$x = {quoted}\n")
    assert [(t.kind, t.value) for t in tokens] == [
        ("variable", "x"),
        ("punctuation", "="),
        ("verbatim", value),
        ("newline", ""),
    ]


# --- the words of a command line printed for PowerShell or bash (policy remove's way back) ------------------


# PowerShell Language Specification 3.0, B.1.8: in argument mode a generic token runs through any character but
# these (and whitespace); `.`, `@` and `:` inside it are plain characters (`roomsops --group room@contoso.com`).
_NOT_IN_GENERIC_TOKEN = "{}();,|&$`<>" + SINGLE_QUOTES + DOUBLE_QUOTES


def _powershell_word(line: str) -> str | None:
    """What PowerShell passes for the last argument of `line`: None when it would expand or split it."""
    argument = line.removeprefix("roomsops --group ")
    first = argument[:1]
    if first and (first.isalpha() or first == "_") and first not in SINGLE_QUOTES + DOUBLE_QUOTES:
        # A bare generic token (a leading dash, digit, @ or # would make it a parameter, number, splat or comment).
        if any(c.isspace() or c in _NOT_IN_GENERIC_TOKEN for c in argument):
            return None
        return argument
    tokens = [t for t in tokenize(line) if t.kind != "newline"]
    if len(tokens) != 3:
        return None
    token = tokens[-1]
    if token.kind == "verbatim":
        return token.value
    if token.kind == "expandable":
        return None if "$" in token.value or "`" in token.text else token.value
    return token.text if token.kind == "word" and "$" not in token.text else None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1))
@example(value="Sync $Rooms")
@example(value="O'Brien")
@example(value="O’Brien $x")
@example(value="-x")
@example(value="10kb")
@example(value="A.")  # the CI run of 0378a51: the oracle split a bare word at the dot
@example(value="room-1@contoso.com")
@example(value="3bdb9ceb-e765-4719-9e30-0eaeb58b78ad")
def test_shellword_is_read_back_by_bash_and_powershell(value: str) -> None:
    """A group name or address (printable: validate_group refuses control characters) as one word of a
    `roomsops ...` line: bash and PowerShell both read back the value, except where no word can do it for both
    (a single quote with one of $ ` " \\ !): then PowerShell does."""
    word = shellword(value)
    assert _powershell_word(f"roomsops --group {word}") == value, word
    both = not (
        any(q in value for q in "'\u2018\u2019\u201a\u201b")
        and any(c in value for c in '$`"\\!\u201c\u201d\u201e')
    )
    if both:
        bash = subprocess.run(
            ["bash", "-c", f"printf '%s' {word}"], capture_output=True, check=True, text=True
        ).stdout
        assert bash == value, word
