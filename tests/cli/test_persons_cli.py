"""`roomsops persons ...` through the real CLI: exact output, JSON shapes, CSV import; bad input
exits 2 with one line and leaves the database unchanged."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from roomsops.cli import cli
from roomsops.cli.bookings import bookings
from roomsops.cli.persons import persons
from roomsops.cli.rooms import rooms
from tests.conftest import Invoke

CLOUD_EWS = "https://outlook.office365.com/EWS/Exchange.asmx"
ONPREM = "https://mail.contoso.com/EWS/Exchange.asmx"
HEADER = "email,name,sync_mode,sync_url,conflict_behaviour\n"


@pytest.fixture(autouse=True)
def rooms_cli(clean_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ROOMS groups on the real CLI (a no-op once roomsops.cli registers them), an audit log."""
    for group in (persons, rooms, bookings):
        if group.name not in cli.commands:
            monkeypatch.setitem(cli.commands, str(group.name), group)
    monkeypatch.setenv("ROOMSOPS_ROOMS_TIME_ZONE", "Europe/Zurich")
    monkeypatch.setenv("ROOMSOPS_LOG_AUDIT", "audit.jsonl")


def dump(path: Path = Path("rooms.db")) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return "\n".join(conn.iterdump())


def audit() -> list[dict[str, object]]:
    path = Path("audit.jsonl")
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    )


@pytest.fixture
def people(invoke: Invoke) -> None:
    assert invoke("persons", "add", "DiegoS@contoso.com", "--name", "Diego Siciliani").code == 0
    assert (
        invoke("persons", "add", "adele@contoso.com", "--sync-mode", "EWS1", "--sync-url", ONPREM).code == 0
    )


@pytest.fixture
def unchanged(people: None) -> Iterator[None]:
    before = dump()
    records = len(audit())
    yield
    assert dump() == before
    assert len(audit()) == records


@pytest.mark.both_databases
def test_add_prefills_the_cloud_url_and_audits(invoke: Invoke) -> None:
    run = invoke("persons", "add", "DiegoS@contoso.com", "--name", "Diego Siciliani")
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        "person DiegoS@contoso.com added",
        "  name                Diego Siciliani",
        "  sync mode           O365",
        f"  sync URL            {CLOUD_EWS}",
        "  conflict behaviour  Rollback",
    ]
    assert run.err == ""
    (record,) = audit()
    assert (record["action"], record["target"], record["result"]) == (
        "persons.add",
        "DiegoS@contoso.com",
        "added",
    )
    assert record["params"] == {
        "email": "DiegoS@contoso.com",
        "name": "Diego Siciliani",
        "sync_mode": "O365",
        "sync_url": CLOUD_EWS,
        "conflict_behaviour": "Rollback",
    }


@pytest.mark.both_databases
def test_add_json_shape_and_the_cloud_of_the_settings(invoke: Invoke) -> None:
    run = invoke(
        "--json",
        "persons",
        "add",
        "pull@contoso.us",
        "--sync-mode",
        "o365pull",
        env={"ROOMSOPS_CLOUD_NAME": "gcc-high"},
    )
    assert run.code == 0, run.err
    assert json.loads(run.out) == {
        "action": "added",
        "person": {
            "email": "pull@contoso.us",
            "name": "",
            "sync_mode": "O365Pull",
            "sync_url": "https://outlook.office365.us/EWS/Exchange.asmx",
            "conflict_behaviour": "Rollback",
            "handled_by_sync": True,
        },
        "changed": [],
        "ok": True,
    }


def test_modes_roomsops_does_not_sync_are_accepted_and_reported(invoke: Invoke) -> None:
    run = invoke("persons", "add", "ews1@contoso.com", "--sync-mode", "EWS1", "--sync-url", ONPREM)
    assert run.code == 0, run.err
    assert "  sync mode           EWS1 (not handled by roomsops sync)" in run.out.splitlines()
    assert run.err == "ews1@contoso.com has sync mode EWS1: not handled by roomsops sync\n"
    # ROOMS' Graph mode is synced (over Microsoft Graph, issue 24): no sync URL, no note.
    run = invoke(
        "persons", "add", "graph@contoso.com", "--sync-mode", "Microsoft365", "--conflict-behaviour", "Cancel"
    )
    assert run.code == 0, run.err
    assert "  sync mode           Microsoft365" in run.out.splitlines()
    assert "  sync URL            -" in run.out.splitlines()
    assert run.err == ""


@pytest.mark.both_databases
@pytest.mark.usefixtures("people")
def test_list_marks_modes_not_handled(invoke: Invoke) -> None:
    assert invoke("persons", "add", "none@contoso.com", "--sync-mode", "None").code == 0
    run = invoke("persons", "list")
    assert run.code == 0
    assert run.out.splitlines() == [
        "email               name             sync mode  sync URL                                         conflicts  note",
        "adele@contoso.com   -                EWS1       https://mail.contoso.com/EWS/Exchange.asmx       Rollback   not handled by roomsops sync",
        "DiegoS@contoso.com  Diego Siciliani  O365       https://outlook.office365.com/EWS/Exchange.asmx  Rollback",
        "none@contoso.com    -                None       -                                                Rollback   not handled by roomsops sync",
    ]
    only = invoke("--json", "persons", "list", "--sync-mode", "O365", "--sync-mode", "none")
    assert json.loads(only.out) == {
        "persons": [
            {
                "email": "DiegoS@contoso.com",
                "name": "Diego Siciliani",
                "sync_mode": "O365",
                "sync_url": CLOUD_EWS,
                "conflict_behaviour": "Rollback",
                "handled_by_sync": True,
            },
            {
                "email": "none@contoso.com",
                "name": "",
                "sync_mode": "None",
                "sync_url": None,
                "conflict_behaviour": "Rollback",
                "handled_by_sync": False,
            },
        ],
        "ok": True,
    }


@pytest.mark.both_databases
def test_list_of_an_empty_database(invoke: Invoke) -> None:
    # A database made by a command that records (a list never makes one), emptied again.
    assert invoke("persons", "add", "nobody@contoso.com", "--no-check").code == 0
    assert invoke("persons", "remove", "nobody@contoso.com", "--yes").code == 0
    run = invoke("persons", "list")
    assert (run.code, run.out) == (0, "no persons\n")


@pytest.mark.both_databases
@pytest.mark.usefixtures("people")
def test_set_changes_only_what_is_given_and_keeps_a_suitable_url(invoke: Invoke) -> None:
    run = invoke(
        "--json",
        "persons",
        "set",
        "diegos@CONTOSO.com",
        "--sync-mode",
        "O365Pull",
        "--conflict-behaviour",
        "cancel",
    )
    assert run.code == 0, run.err
    assert json.loads(run.out) == {
        "action": "updated",
        "person": {
            "email": "DiegoS@contoso.com",
            "name": "Diego Siciliani",
            "sync_mode": "O365Pull",
            "sync_url": CLOUD_EWS,
            "conflict_behaviour": "Cancel",
            "handled_by_sync": True,
        },
        "changed": ["sync_mode", "conflict_behaviour"],
        "ok": True,
    }
    assert audit()[-1]["params"] == {"sync_mode": "O365Pull", "conflict_behaviour": "cancel"}
    # on-premises -> cloud: the cloud's URL replaces the server's
    run = invoke("persons", "set", "adele@contoso.com", "--sync-mode", "O365")
    assert run.out.splitlines()[:4] == [
        "person adele@contoso.com updated: sync_mode, sync_url",
        "  name                -",
        "  sync mode           O365",
        f"  sync URL            {CLOUD_EWS}",
    ]
    custom = invoke(
        "--json", "persons", "set", "adele@contoso.com", "--sync-url", "https://o.contoso.com/ews/x.ASMX"
    )
    assert json.loads(custom.out)["person"]["sync_url"] == "https://o.contoso.com/ews/x.ASMX"
    reset = invoke("--json", "persons", "set", "adele@contoso.com", "--sync-url", "")  # empty: the default
    assert json.loads(reset.out)["person"]["sync_url"] == CLOUD_EWS
    same = invoke("persons", "set", "adele@contoso.com", "--name", "")
    assert (same.code, same.out) == (0, "person adele@contoso.com unchanged\n")


def test_names_are_stored_literally(invoke: Invoke) -> None:
    name = 'Zoë O\'Brien; "Ops" $(rm -rf /) `id` 李'
    assert invoke("persons", "add", "zoe@contoso.com", "--name", name).code == 0
    run = invoke("--json", "persons", "list")
    assert json.loads(run.out)["persons"][0]["name"] == name
    with closing(sqlite3.connect("rooms.db")) as conn:
        assert conn.execute("SELECT name FROM persons").fetchall() == [(name,)]


BAD: list[tuple[str, list[str], str]] = [
    (
        "unknown sync mode",
        ["persons", "add", "x@contoso.com", "--sync-mode", "O356"],
        "Error: sync mode 'O356' is not one of O365, O365Pull, EWS1, EWS2, Microsoft365, None — "
        "use one of ROOMS' sync modes",
    ),
    (
        "bad e-mail",
        ["persons", "add", "diego@contoso"],
        "Error: 'diego@contoso' is not an e-mail address — write it as name@domain, e.g. diego@contoso.com",
    ),
    (
        "e-mail with a space",
        ["persons", "add", "diego s@contoso.com"],
        "Error: 'diego s@contoso.com' is not an e-mail address — write it as name@domain, e.g. diego@contoso.com",
    ),
    (
        "sync URL not https",
        [
            "persons",
            "add",
            "x@contoso.com",
            "--sync-mode",
            "EWS2",
            "--sync-url",
            "http://mail.contoso.com/EWS/Exchange.asmx",
        ],
        "Error: sync URL 'http://mail.contoso.com/EWS/Exchange.asmx' is not an https:// URL — EWS is reached "
        "over TLS, e.g. https://mail.contoso.com/EWS/Exchange.asmx",
    ),
    (
        "sync URL not .asmx",
        [
            "persons",
            "add",
            "x@contoso.com",
            "--sync-mode",
            "EWS1",
            "--sync-url",
            "https://mail.contoso.com/owa",
        ],
        "Error: sync URL 'https://mail.contoso.com/owa' is not an EWS endpoint (.asmx) — give the EWS URL, "
        "e.g. https://mail.contoso.com/EWS/Exchange.asmx",
    ),
    (
        "EWS mode without URL",
        ["persons", "add", "x@contoso.com", "--sync-mode", "EWS1"],
        "Error: sync mode EWS1 needs a sync URL (the on-premises EWS endpoint) — give the server's EWS URL, "
        "e.g. https://mail.contoso.com/EWS/Exchange.asmx",
    ),
    (
        "URL for Microsoft365",
        ["persons", "add", "x@contoso.com", "--sync-mode", "Microsoft365", "--sync-url", ONPREM],
        f"Error: sync mode Microsoft365 takes no sync URL, got '{ONPREM}' — leave the sync URL empty for this mode",
    ),
    (
        "unknown conflict behaviour",
        ["persons", "add", "x@contoso.com", "--conflict-behaviour", "Ignore"],
        "Error: conflict behaviour 'Ignore' is not one of Rollback, Cancel — use Rollback (reset the meeting) "
        "or Cancel (cancel the booking)",
    ),
    (
        "name with a line break",
        ["persons", "add", "x@contoso.com", "--name", "a\nb"],
        "Error: the name contains a control character (U+000A) — remove line breaks and tabs from it",
    ),
    (
        "already a person",
        ["persons", "add", "diegos@contoso.com"],
        "Error: DiegoS@contoso.com is already a person — change it with 'roomsops persons set DiegoS@contoso.com'",
    ),
    (
        "set an unknown person",
        ["persons", "set", "nobody@contoso.com", "--name", "N"],
        "Error: nobody@contoso.com is not a known person — add it with 'roomsops persons add nobody@contoso.com'",
    ),
    (
        "set nothing",
        ["persons", "set", "diegos@contoso.com"],
        "Error: nothing to change — pass at least one of --email, --name, --sync-mode, --sync-url, --conflict-behaviour",
    ),
    (
        "set EWS1 without a URL",
        ["persons", "set", "diegos@contoso.com", "--sync-mode", "EWS1"],
        "Error: sync mode EWS1 needs a sync URL (the on-premises EWS endpoint) — give the server's EWS URL, "
        "e.g. https://mail.contoso.com/EWS/Exchange.asmx",
    ),
    (
        "list an unknown mode",
        ["persons", "list", "--sync-mode", "Exchange2016Pull"],
        "Error: sync mode 'Exchange2016Pull' is not one of O365, O365Pull, EWS1, EWS2, Microsoft365, None — "
        "use one of ROOMS' sync modes",
    ),
]


@pytest.mark.parametrize(("args", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
@pytest.mark.usefixtures("unchanged")
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    invoke: Invoke, args: list[str], message: str
) -> None:
    run = invoke(*args)
    assert (run.code, run.out) == (2, ""), run.err
    assert run.err.splitlines() == [message]


def test_a_room_address_is_not_a_person(invoke: Invoke) -> None:
    assert invoke("rooms", "add", "eiger@contoso.com", "--name", "Eiger").code == 0
    before = dump()
    run = invoke("persons", "add", "Eiger@contoso.com")
    assert (run.code, run.err) == (
        2,
        "Error: Eiger@contoso.com is a room, not a person — give the person's own mailbox address\n",
    )
    write_csv(HEADER + "a@contoso.com,,,,\neiger@contoso.com,,,,\n")
    run = invoke("persons", "import", "persons.csv")
    assert (run.code, run.err) == (
        2,
        "Error: persons.csv, line 3: eiger@contoso.com is a room, not a person — remove line 3 and import "
        "the file again; nothing was imported\n",
    )
    assert dump() == before


def test_errors_in_json_mode(invoke: Invoke) -> None:
    run = invoke("--json", "persons", "add", "x@contoso.com", "--sync-mode", "O356")
    assert run.code == 2
    assert json.loads(run.out) == {
        "error": {
            "code": "bad_input",
            "message": "sync mode 'O356' is not one of O365, O365Pull, EWS1, EWS2, Microsoft365, None",
            "remedy": "use one of ROOMS' sync modes",
        },
        "ok": False,
    }


# ---------------------------------------------------------------- import


def write_csv(text: str, name: str = "persons.csv", encoding: str = "utf-8") -> Path:
    path = Path(name)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.both_databases
@pytest.mark.usefixtures("people")
def test_import_upserts_in_one_go_with_defaults_for_empty_cells(invoke: Invoke) -> None:
    write_csv(
        "\ufeff"  # Excel's "CSV UTF-8" starts with a byte-order mark
        + HEADER
        + "diegos@contoso.com,Diego S.,,,\r\n"  # exists: updated (name), defaults for the rest
        + "adele@contoso.com,,EWS1,https://mail.contoso.com/EWS/Exchange.asmx,\r\n"  # unchanged
        + '"lee@contoso.com","Gu, Lee ""Ops"" $(id); Zoë",O365Pull,,Cancel\r\n'
        + "\r\n"
        + "ews@contoso.com,,EWS2,https://ex2019.contoso.com/ews/exchange.asmx,Rollback\r\n"
    )
    run = invoke("persons", "import", "persons.csv")
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        "persons.csv: 4 rows: 2 added, 1 updated, 1 unchanged",
        "2 of them have a sync mode other than O365, O365Pull, Microsoft365: not handled by roomsops sync",
    ]
    listed = {p["email"]: p for p in json.loads(invoke("--json", "persons", "list").out)["persons"]}
    assert listed["lee@contoso.com"]["name"] == 'Gu, Lee "Ops" $(id); Zoë'
    assert (listed["lee@contoso.com"]["sync_url"], listed["lee@contoso.com"]["conflict_behaviour"]) == (
        CLOUD_EWS,
        "Cancel",
    )
    assert listed["diegos@contoso.com"]["name"] == "Diego S."  # the row sets every field, the address too
    record = audit()[-1]
    assert (record["action"], record["target"]) == ("persons.import", "persons.csv")
    assert record["result"] == {
        "added": ["lee@contoso.com", "ews@contoso.com"],
        "updated": ["diegos@contoso.com"],
    }


@pytest.mark.both_databases
def test_import_json_shape(invoke: Invoke) -> None:
    write_csv(HEADER + "a@contoso.com,A,O365,,\nb@contoso.com,B,None,,\n")
    run = invoke("--json", "persons", "import", "persons.csv")
    assert json.loads(run.out) == {
        "file": "persons.csv",
        "rows": 2,
        "added": 2,
        "updated": 0,
        "unchanged": 0,
        "not_handled": 1,
        "ok": True,
    }
    again = invoke("--json", "persons", "import", "persons.csv")
    assert json.loads(again.out)["unchanged"] == 2
    assert len(audit()) == 1  # importing the same file again changed nothing, so nothing to audit


def test_import_of_a_header_only_file(invoke: Invoke) -> None:
    write_csv(HEADER)
    run = invoke("persons", "import", "persons.csv")
    assert (run.code, run.out) == (0, "persons.csv: 0 rows: 0 added, 0 updated, 0 unchanged\n")


BAD_FILES: list[tuple[str, bytes, str]] = [
    (
        "bad row on line 3",
        (HEADER + "a@contoso.com,A,O365,,\nb@contoso.com,B,O356,,\nc@contoso.com,C,O365,,\n").encode(),
        "Error: persons.csv: 1 problem(s): line 3, sync_mode: sync mode 'O356' is not one of O365, O365Pull, "
        "EWS1, EWS2, Microsoft365, None — correct these rows and import the file again; nothing was imported",
    ),
    (
        "bad e-mail on line 3 after a quoted line break",
        (HEADER + 'a@contoso.com,"A\nB",O365,,\nnot-an-address,B,O365,,\n').encode(),
        # the name with a line break starts on line 2; the bad address on line 4 is named too
        "Error: persons.csv: 2 problem(s): line 2, name: the name contains a control character (U+000A); "
        "line 4, email: 'not-an-address' is not an e-mail address — correct these rows and import the file "
        "again; nothing was imported",
    ),
    (
        "EWS1 without URL",
        (HEADER + "a@contoso.com,A,O365,,\nb@contoso.com,B,EWS1,,\n").encode(),
        "Error: persons.csv: 1 problem(s): line 3, sync_url: sync mode EWS1 needs a sync URL (the on-premises "
        "EWS endpoint) — correct these rows and import the file again; nothing was imported",
    ),
    (
        "too few fields",
        (HEADER + "a@contoso.com,A,O365,,\nb@contoso.com,B\n").encode(),
        "Error: persons.csv: 1 problem(s): line 3: 2 fields, expected 5 "
        "(email,name,sync_mode,sync_url,conflict_behaviour) — correct these rows and import the file again; "
        "nothing was imported",
    ),
    (
        "the same person twice",
        (HEADER + "a@contoso.com,A,O365,,\nA@CONTOSO.COM,B,O365,,\n").encode(),
        "Error: persons.csv: 1 problem(s): line 3, email: A@CONTOSO.COM is already on line 2 — correct these "
        "rows and import the file again; nothing was imported",
    ),
    (
        "wrong header",
        b"Email;Name;SyncMode\na@contoso.com;A;O365\n",
        "Error: persons.csv, line 1: the header is 'Email;Name;SyncMode', not "
        "email,name,sync_mode,sync_url,conflict_behaviour — make the first line exactly "
        "email,name,sync_mode,sync_url,conflict_behaviour (comma-separated); nothing was imported",
    ),
    (
        "Latin-1",
        (HEADER + "a@contoso.com,A,O365,,\nz@contoso.com,Zoë,O365,,\n").encode("latin-1"),
        "Error: persons.csv is not UTF-8 text: byte 0xEB on line 3 (Latin-1 or Windows-1252?) — save it as "
        "UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)') and import it again; nothing was imported",
    ),
    (
        "UTF-16",
        (HEADER + "a@contoso.com,A,O365,,\n").encode("utf-16"),
        "Error: persons.csv is UTF-16 text, not UTF-8 — save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma "
        "delimited)') and import it again; nothing was imported",
    ),
    (
        "empty file",
        b"",
        "Error: persons.csv is empty — its first line must be the header "
        "email,name,sync_mode,sync_url,conflict_behaviour",
    ),
    (
        "unterminated quote",
        (HEADER + 'a@contoso.com,"A,O365,,\n').encode(),
        "Error: persons.csv, line 2: unexpected end of data — quote cells that contain commas or quotes with "
        "double quotes; nothing was imported",
    ),
]


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
@pytest.mark.usefixtures("unchanged")
def test_a_bad_file_imports_nothing(invoke: Invoke, data: bytes, message: str) -> None:
    Path("persons.csv").write_bytes(data)
    run = invoke("persons", "import", "persons.csv")
    assert (run.code, run.out) == (2, ""), run.err
    assert run.err.splitlines() == [message]


@pytest.mark.usefixtures("unchanged")
def test_a_missing_file(invoke: Invoke) -> None:
    run = invoke("persons", "import", "nope.csv")
    assert (run.code, run.err) == (2, "Error: nope.csv does not exist — give the path of the CSV file\n")


@pytest.mark.usefixtures("unchanged")
def test_every_bad_row_is_named_with_its_column(invoke: Invoke) -> None:
    """Issue 21.12: not only the first bad row; each with line, column and reason; nothing imported."""
    rows = [
        "a@contoso.com,A,O365,,",
        "not-mail,B,O356,,Maybe",  # three bad cells in one row
        "c@contoso.com,C,EWS1,,",
        "d@contoso.com,D",
        "a@contoso.com,A again,O365,,",
    ]
    Path("persons.csv").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    run = invoke("persons", "import", "persons.csv")
    assert (run.code, run.out) == (2, "")
    line = run.err.strip()
    assert line.startswith(
        "Error: persons.csv: 6 problem(s): line 3, email: 'not-mail' is not an e-mail address; "
    )
    for part in (
        "line 3, sync_mode: sync mode 'O356' is not one of",
        "line 3, conflict_behaviour: ",
        "line 4, sync_url: sync mode EWS1 needs a sync URL",
        "line 5: 2 fields, expected 5",
        "line 6, email: a@contoso.com is already on line 2",
    ):
        assert part in line, part
    assert line.endswith("— correct these rows and import the file again; nothing was imported")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("magic", "kind"),
    [
        (b"PK\x03\x04", "an Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls)"),
    ],
)
def test_an_excel_file_is_recognised_with_the_way_to_save_it_as_csv(
    invoke: Invoke, magic: bytes, kind: str
) -> None:
    Path("persons.xlsx").write_bytes(magic + b"\x00" * 64 + b"[Content_Types].xml")
    run = invoke("persons", "import", "persons.xlsx")
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        f"Error: persons.xlsx is {kind}, not a CSV file — in Excel: File → Save As → 'CSV UTF-8 (Comma "
        "delimited) (*.csv)', and import that file; nothing was imported\n"
    )


@pytest.mark.usefixtures("unchanged")
def test_an_opendocument_spreadsheet_is_not_called_an_excel_workbook(invoke: Invoke) -> None:
    """review21g (d): an .ods (a ZIP archive like an .xlsx) was "an Excel workbook (.xlsx)" with Excel's steps."""
    import zipfile

    with zipfile.ZipFile("persons.ods", "w") as ods:  # as LibreOffice writes it: mimetype first, stored
        ods.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        ods.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
    run = invoke("persons", "import", "persons.ods")
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        "Error: persons.ods is an OpenDocument spreadsheet (.ods), not a CSV file — in LibreOffice Calc: File → "
        "Save As → 'Text CSV (.csv)' with the character set 'Unicode (UTF-8)', and import that file; nothing was "
        "imported\n"
    )


@pytest.mark.parametrize(
    "url", ["https://[2001:db8::5/EWS/Exchange.asmx", "https://mail.contoso.com]/EWS/Exchange.asmx"]
)
def test_a_sync_url_with_an_unbalanced_bracket_is_bad_input(invoke: Invoke, url: str) -> None:
    """fix21aa (review21z's powershell.host finding, the same parser here): urlsplit raises on an unbalanced
    [IPv6] bracket; that is the URL's problem (exit 2, one line), not "unexpected ValueError … report it"."""
    run = invoke("persons", "add", "ews1@contoso.com", "--sync-mode", "EWS1", "--sync-url", url)
    assert run.code == 2, run.err
    assert run.err.startswith("Error: sync URL") and run.err.count("\n") == 1, run.err
    assert "ews1@contoso.com" not in invoke("persons", "list").out  # nothing recorded
