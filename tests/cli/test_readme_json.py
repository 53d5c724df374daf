"""The README's `--json` shapes, read from the README and compared with real output, so neither can drift.

README.md's "JSON output" section writes each shape in a compact notation: `{"key": type, "other", ...}`
where a type is `str`, `bool`, `null`, `n`, a quoted literal, `true`/`false`, alternatives joined by `|`,
a nested `{...}` or `[...]`; a key without a type is documented by name only; `[...]` (or `[item id]`) is a
list whose items are not spelled out there, `{reason: n}` a mapping. An object's keys must be exactly the
documented ones. Commands that need no tenant are checked here; the others in
tests/integration/test_readme_json_lab.py with the same reader.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

README = Path(__file__).resolve().parents[2] / "README.md"


# --- the notation ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Obj:
    keys: dict[str, Shape | None]


@dataclass(frozen=True)
class Mapping:
    """`{reason: n}`: a mapping whose keys are data."""


@dataclass(frozen=True)
class List:
    item: Shape | None


@dataclass(frozen=True)
class Union:
    atoms: tuple[str, ...]  # str, bool, null, n, true, false, or a quoted literal


Shape = Obj | Mapping | List | Union

TOKEN = re.compile(r'"[^"]*"|\.\.\.|[{}\[\]:,|]|[A-Za-z_][A-Za-z_0-9]*')


class Reader:
    def __init__(self, text: str) -> None:
        self.tokens = TOKEN.findall(text)
        self.at = 0

    def peek(self) -> str:
        return self.tokens[self.at]

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.at]
        assert expected is None or token == expected, (expected, token, self.tokens)
        self.at += 1
        return token

    def skip_to(self, closing: str) -> None:
        depth = 0
        while True:
            token = self.take()
            if token in "{[":
                depth += 1
            elif token in "}]":
                if depth == 0:
                    assert token == closing, (closing, self.tokens)
                    return
                depth -= 1

    def value(self) -> Shape:
        if self.peek() == "{":
            return self.object()
        if self.peek() == "[":
            self.take("[")
            if self.peek() in ("{", "["):
                item: Shape | None = self.value()
                self.take("]")
            elif self.peek() in ("str", "bool", "n") and self.tokens[self.at + 1] == "]":
                item = self.value()
                self.take("]")
            else:  # [...] or [item id]
                item = None
                self.skip_to("]")
            return List(item)
        atoms = [self.take()]
        while self.peek() == "|":
            self.take("|")
            atoms.append(self.take())
        return Union(tuple(atoms))

    def object(self) -> Shape:
        self.take("{")
        if not self.peek().startswith('"'):  # {reason: n}
            self.skip_to("}")
            return Mapping()
        keys: dict[str, Shape | None] = {}
        while True:
            key = self.take().strip('"')
            keys[key] = None
            if self.peek() == ":":
                self.take(":")
                keys[key] = self.value()
            if self.take() == "}":
                return Obj(keys)


def parse(text: str) -> Shape:
    reader = Reader(text)
    shape = reader.object()
    assert reader.at == len(reader.tokens), text
    return shape


def readme_shapes(readme: str | None = None) -> dict[str, Shape]:
    """Label → shape for every shape in the README's JSON section. The label is the backticked command
    before the shape (`config show`), or the bullet's plain lead (`booking`, `any error`)."""
    text = readme if readme is not None else README.read_text(encoding="utf-8")
    section = text.split("\n## JSON output\n", 1)[1].split("\n## ", 1)[0]
    bullets = [" ".join(b.split()) for b in re.split(r"\n- ", section)[1:]]
    shapes: dict[str, Shape] = {}
    for bullet in bullets:
        label = bullet.split(":", 1)[0]
        for span in re.findall(r"`([^`]*)`", bullet):
            if span.startswith("{"):
                assert label not in shapes, f"{label!r} documented twice"
                shapes[label] = parse(span)
            else:
                label = span
    return shapes


# --- comparing -------------------------------------------------------------------------------------------


def mismatches(value: Any, shape: Shape | None, path: str = "$") -> list[str]:
    """Where the value differs from the documented shape (empty: it fits)."""
    if shape is None:
        return []
    if isinstance(shape, Obj):
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not an object"]
        found: list[str] = []
        if set(value) != set(shape.keys):
            missing, extra = sorted(set(shape.keys) - set(value)), sorted(set(value) - set(shape.keys))
            found.append(
                f"{path}: keys differ: documented but absent {missing}, present but undocumented {extra}"
            )
        for key, inner in shape.keys.items():
            if key in value:
                found += mismatches(value[key], inner, f"{path}.{key}")
        return found
    if isinstance(shape, Mapping):
        return [] if isinstance(value, dict) else [f"{path}: {value!r} is not a mapping"]
    if isinstance(shape, List):
        if not isinstance(value, list):
            return [f"{path}: {value!r} is not a list"]
        return [m for i, item in enumerate(value) for m in mismatches(item, shape.item, f"{path}[{i}]")]
    return (
        [] if any(fits(value, atom) for atom in shape.atoms) else [f"{path}: {value!r} is not {shape.atoms}"]
    )


def fits(value: Any, atom: str) -> bool:
    if atom.startswith('"'):
        return value == atom.strip('"')
    return {
        "str": lambda: isinstance(value, str),
        "bool": lambda: isinstance(value, bool),
        "n": lambda: isinstance(value, int) and not isinstance(value, bool),
        "null": lambda: value is None,
        "true": lambda: value is True,
        "false": lambda: value is False,
    }[atom]()


def assert_documented(label: str, document: Any) -> None:
    problems = mismatches(document, readme_shapes()[label])
    assert not problems, f"README's `{label}` and the real output differ:\n" + "\n".join(problems)


def document(run: Any) -> Any:
    return json.loads(ok(run).out)


# Which test checks each documented shape: a shape added to the README needs a test that produces it.
CHECKED_HERE = {
    "config show", "config settings", "config check", "config init|set|unset", "persons add|set", "persons list", "persons import",
    "rooms add|set", "persons remove|rooms remove", "rooms list", "booking", "bookings add|update|cancel", "bookings list", "any error",
    "db adopt-id", "--version", "series", "db upgrade", "db copy",
}  # fmt: skip
CHECKED_AGAINST_THE_LAB = {
    "auth test", "policy restrict", "policy test", "policy restrict --engine rbac", "policy test --engine rbac",
    "policy migrate", "sync", "rooms check", "policy list --engine rbac", "policy remove --engine rbac",
    "sync status", "policy list", "policy remove", "policy restrict --print-script|rooms check --print-script",
    "ews status", "ews allow|disallow", "sync test|doctor", "persons check", "sync migrate",
    "sync diff", "sync resolve", "sync purge", "sync resume", "lab env", "lab stop", "interrupted tenant change",
    "serve",
}  # fmt: skip


def test_every_documented_shape_is_checked_against_real_output() -> None:
    assert set(readme_shapes()) == CHECKED_HERE | CHECKED_AGAINST_THE_LAB


def test_the_reader_reads_the_notation() -> None:
    readme = (
        "\n## JSON output\n\nintro\n\n"
        '- `a b`: `{"k": str|null, "n", "l": [{"x": "y"|"z"}], "m": {r: n}, "i": [item id]}`; `c`: `{"ok"}`.\n'
        '- thing: `{"ok": true}`.\n\n## Next\n'
    )
    shapes = readme_shapes(readme)
    assert shapes == {
        "a b": Obj(
            {
                "k": Union(("str", "null")),
                "n": None,
                "l": List(Obj({"x": Union(('"y"', '"z"'))})),
                "m": Mapping(),
                "i": List(None),
            }
        ),
        "c": Obj({"ok": None}),
        "thing": Obj({"ok": Union(("true",))}),
    }
    assert mismatches({"k": None, "n": 1, "l": [{"x": "z"}], "m": {}, "i": []}, shapes["a b"]) == []
    assert mismatches({"k": 1, "n": 1, "l": [{"x": "q"}], "m": {}, "extra": 0}, shapes["a b"]) == [
        "$: keys differ: documented but absent ['i'], present but undocumented ['extra']",
        "$.k: 1 is not ('str', 'null')",
        "$.l[0].x: 'q' is not ('\"y\"', '\"z\"')",
    ]


# --- the commands that need no tenant ----------------------------------------------------------------------


def test_config_documents(invoke: Invoke, app_settings: Path, tmp_path: Path) -> None:
    at = ["--app-settings", str(app_settings), "--json"]
    show = document(invoke(*at, "config", "show"))
    assert show["entries"]
    assert_documented("config show", show)
    check = json.loads(invoke(*at, "config", "check").out)
    assert check["checks"]
    assert_documented("config check", check)
    changed = document(invoke(*at, "config", "set", "BatchGetEventsSize", "50", "--yes"))
    assert changed["action"] == "updated" and changed["backup"]
    assert_documented("config init|set|unset", changed)
    assert_documented(
        "config init|set|unset", document(invoke(*at, "config", "unset", "BatchGetEventsSize", "--yes"))
    )
    (tmp_path / "new").mkdir()
    fresh = ["--app-settings", str(tmp_path / "new" / "RoomsAppSettings.config"), "--json"]
    created = document(
        invoke(*fresh, "config", "init", "--tenant-id", TENANT_ID, "--app-id", APP_ID, *THUMBPRINT)
    )
    assert created["action"] == "created"
    assert_documented("config init|set|unset", created)


TENANT_ID = "0b6c2c33-7c28-4ab0-9f1d-5d2b0f6b9a11"
APP_ID = "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f"
THUMBPRINT = ["--cert-thumbprint", "3B" * 20]


@pytest.fixture
def rooms_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMSOPS_ROOMS_TIME_ZONE", "Europe/Zurich")


def test_rooms_persons_and_bookings_documents(invoke: Invoke, rooms_env: None, tmp_path: Path) -> None:
    added = document(invoke("--json", "persons", "add", "diego@contoso.com", "--name", "Diego"))
    assert_documented("persons add|set", added)
    assert_documented(
        "persons add|set",
        document(invoke("--json", "persons", "set", "diego@contoso.com", "--sync-mode", "O365Pull")),
    )
    assert_documented("persons list", document(invoke("--json", "persons", "list")))
    csv = tmp_path / "persons.csv"
    csv.write_text("email,name,sync_mode,sync_url,conflict_behaviour\nadele@contoso.com,Adele,O365,,\n")
    assert_documented("persons import", document(invoke("--json", "persons", "import", str(csv))))

    room = document(invoke("--json", "rooms", "add", "eiger@contoso.com", "--name", "Eiger"))
    assert_documented("rooms add|set", room)
    assert_documented(
        "rooms add|set", document(invoke("--json", "rooms", "set", "eiger@contoso.com", "--name", "E"))
    )
    assert_documented("rooms list", document(invoke("--json", "rooms", "list")))

    booking_args = ["--organizer", "diego@contoso.com", "--room", "eiger@contoso.com", "--title", "Lunch"]
    times = ["--start", "2031-03-31T12:00+02:00", "--end", "2031-03-31T13:00+02:00"]
    made = document(invoke("--json", "bookings", "add", *booking_args, *times))
    assert_documented("bookings add|update|cancel", made)
    assert_documented("booking", made["booking"])
    booking_id = str(made["booking"]["id"])
    assert_documented(
        "bookings add|update|cancel",
        document(invoke("--json", "bookings", "update", booking_id, "--title", "Long lunch")),
    )
    listed = document(invoke("--json", "bookings", "list"))
    assert listed["bookings"]
    assert_documented("bookings list", listed)
    for each in listed["bookings"]:  # a booking as documented, with its sync state
        assert_documented("booking", {k: v for k, v in each.items() if k != "sync"})
        assert each["sync"] == "pending"  # no sync pass ran yet: the next one makes its meeting
    assert_documented(
        "bookings add|update|cancel", document(invoke("--json", "bookings", "cancel", booking_id, "--yes"))
    )
    removed = document(invoke("--json", "rooms", "remove", "eiger@contoso.com", "--yes"))
    assert removed["action"] == "removed"
    assert_documented("persons remove|rooms remove", removed)
    ok(invoke("rooms", "add", "eiger@contoso.com", "--name", "Eiger"))
    # A series a few weeks ahead (within the booking horizon, whatever today is): Mondays and Wednesdays.
    monday = date.today() + timedelta(days=28 - date.today().weekday())
    wednesday, next_monday = monday + timedelta(days=2), monday + timedelta(days=7)
    weekly = ["--weekly", "mon,wed", "--count", "4", "--start", f"{monday}T09:00", "--end", f"{monday}T10:00"]
    series = document(invoke("--json", "bookings", "add", *booking_args, *weekly))
    assert_documented("booking", series["booking"])
    assert_documented("series", series["booking"]["series"])
    series_id = str(series["booking"]["id"])
    moved = ["--start", f"{wednesday}T11:00", "--end", f"{wednesday}T12:00", "--title", "x"]
    changed = document(
        invoke("--json", "bookings", "update", series_id, "--occurrence", str(wednesday), *moved)
    )
    assert changed["occurrence"] == str(wednesday)
    assert_documented("bookings add|update|cancel", changed)
    assert_documented("series", changed["booking"]["series"])
    cancel = ["bookings", "cancel", series_id, "--occurrence", str(next_monday), "--yes"]
    assert_documented("bookings add|update|cancel", document(invoke("--json", *cancel)))
    repeat = document(
        invoke("--json", "bookings", "update", series_id, "--weekly", "mon,thu", "--count", "4")
    )
    assert (repeat["changed"], repeat["dropped"]) == (["repeat"], [f"{wednesday} moved, title changed"])
    assert_documented("bookings add|update|cancel", repeat)
    assert_documented("bookings list", document(invoke("--json", "bookings", "list")))


def test_error_document(invoke: Invoke, tmp_path: Path) -> None:
    run = invoke("--app-settings", str(tmp_path / "nope.config"), "--json", "config", "show")
    assert run.code == 2
    error = json.loads(run.out)
    assert error["ok"] is False
    assert_documented("any error", error)


def test_db_adopt_id_document(invoke: Invoke, rooms_env: None, tmp_path: Path) -> None:
    ok(invoke("persons", "add", "diego@contoso.com"))  # the database, with its id remembered beside it
    unchanged = document(invoke("--json", "db", "adopt-id", "--use", "database", "--yes"))
    assert unchanged["action"] == "unchanged"
    assert_documented("db adopt-id", unchanged)
    (tmp_path / "rooms.db.installation-id").write_text("00000000-0000-4000-8000-000000000000\n")
    adopted = document(invoke("--json", "db", "adopt-id", "--use", "database", "--yes"))
    assert (adopted["action"], adopted["previous"]) == ("adopted", "00000000-0000-4000-8000-000000000000")
    assert_documented("db adopt-id", adopted)


def test_db_upgrade_and_copy_documents(invoke: Invoke, rooms_env: None, postgres_url: str) -> None:
    ok(invoke("persons", "add", "diego@contoso.com"))
    assert_documented("db upgrade", document(invoke("--json", "db", "upgrade")))
    copied = document(invoke("--json", "db", "copy", "--to", postgres_url))
    assert [t["table"] for t in copied["figures"]][:2] == ["id_high_water", "installation"]
    assert_documented("db copy", copied)


@pytest.mark.parametrize("order", [("--json", "--version"), ("--version", "--json")])
def test_version_document(invoke: Invoke, order: tuple[str, str]) -> None:
    """review21g (d): `--json --version` printed the plain text line."""
    from roomsops import __version__

    shown = document(invoke(*order))
    assert shown == {"version": __version__, "ok": True}
    assert_documented("--version", shown)
    assert ok(invoke("--version")).out == f"roomsops, version {__version__}\n"
