"""Every choice-valued and numeric setting is checked when settings load: a bad value from roomsops.toml, from a
ROOMSOPS_* variable or from an option is exit 2 with one line naming the key, where the value came from, what it
may be and what it was; and nothing is written (no database, lock, log or summary file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from roomsops.core.settings import KEYS
from tests.conftest import Invoke

#: What each key may be, as the error line says it (written out here, not computed, so a change shows).
ALLOWED = {
    "rooms.booking_horizon_days": "a whole number from 0 to 1080",
    "rooms.longest_booking_minutes": "a whole number from 1 to 2147483647",
    "rooms.check_addresses": "true or false",
    "cloud.name": "one of global, gcc-high, dod, china, lab",
    "auth.certificate_sha256": "true or false",
    "network.timeout_seconds": "a number from 1 to 600",
    "powershell.port": "a whole number from 0 to 65535",
    "powershell.ssl": "true or false",
    "powershell.auth": "one of negotiate, kerberos, ntlm, credssp, basic, certificate",
    "powershell.cert_validation": "true or false",
    "exo.auth": "one of app-certificate, app-token, device-code",
    "policy.engine": "one of aap, rbac",
    "log.level": "one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    "log.format": "one of text, json",
    "sync.window_days_past": "a whole number from 0 to 3650",
    "sync.window_days_future": "a whole number from 0 to 3650",
    "sync.send_invitations": "one of all, none",
    "sync.concurrency": "a whole number from 1 to 32",
    "sync.full_every": "a whole number from 0 to 100000",
    "sync.worker_interval": "a whole number from 1 to 86400",
    "sync.worker_lease": "a whole number from 10 to 86400",
    "sync.rollback_attempts": "a whole number from 1 to 100",
    "sync.cancel_attempts": "a whole number from 1 to 100",
    "sync.on_person_removed": "one of report, purge",
    "sync.backend": "one of ews, graph",
    "graph.per_mailbox_concurrency": "a whole number from 1 to 4",
    "serve.ews_interval": "a whole number from 1 to 86400",
    "serve.graph_interval": "a whole number from 1 to 86400",
    "serve.notification_debounce": "a whole number from 0 to 300",
    "serve.healing_interval": "a whole number from 0 to 2678400",
}
#: The options that override a setting.
OPTIONS = {"sync.concurrency": "--concurrency", "log.format": "--log-format"}
#: Those of them that are global options (given before the command).
GLOBAL = {"log.format"}
#: Where every run starts: a database, a log and an audit file would be written here if anything ran.
BASE = {
    "rooms": {"database": '"sqlite:///rooms.db"', "time_zone": '"Europe/Zurich"'},
    "log": {"file": '"roomsops.log"', "audit": '"audit.jsonl"'},
    "sync": {"summary_file": '"last-sync.json"'},
}


@dataclass(frozen=True)
class Bad:
    key: str
    source: str  # file | env | option
    value: str  # TOML text for a file, else the text as given
    shown: str  # how the line shows the value after "got "

    @property
    def id(self) -> str:
        return f"{self.key} {self.source} {self.value}"


def file(key: str, value: str, shown: str | None = None) -> Bad:
    return Bad(key, "file", value, value if shown is None else shown)


def env(key: str, value: str) -> Bad:
    return Bad(key, "env", value, repr(value))


def option(key: str, value: str) -> Bad:
    return Bad(key, "option", value, repr(value))


CASES = [
    file("rooms.booking_horizon_days", "1081"),
    env("rooms.booking_horizon_days", "-1"),
    file("rooms.longest_booking_minutes", "0"),
    env("rooms.longest_booking_minutes", "2147483648"),
    file("cloud.name", '"mars"', "'mars'"),
    env("cloud.name", "Global"),
    file("auth.certificate_sha256", '"maybe"', "'maybe'"),
    env("auth.certificate_sha256", "2"),
    *(file("network.timeout_seconds", v) for v in ("inf", "nan", "0", "-5", "0.5", "601")),
    *(env("network.timeout_seconds", v) for v in ("inf", "nan", "0", "-5", "1_0", "٣")),
    file("powershell.port", "70000"),
    file("powershell.port", "-1"),
    env("powershell.port", "65536"),
    env("powershell.port", "5986.0"),
    file("powershell.ssl", "1", "1"),
    env("powershell.ssl", "maybe"),
    file("powershell.auth", '"kerberos5"', "'kerberos5'"),
    env("powershell.auth", "Negotiate"),
    file("powershell.cert_validation", '"no way"', "'no way'"),
    env("powershell.cert_validation", ""),
    file("exo.auth", '"certificate"', "'certificate'"),
    env("exo.auth", "device_code"),
    file("policy.engine", '"acl"', "'acl'"),
    env("policy.engine", "RBAC"),
    file("rooms.check_addresses", '"maybe"', "'maybe'"),
    env("rooms.check_addresses", "nope"),
    file("log.level", '"verbose"', "'verbose'"),
    env("log.level", "WARN"),
    file("log.format", '"JSON"', "'JSON'"),
    env("log.format", "jsonl"),
    option("log.format", "xml"),
    file("sync.window_days_past", "-1"),
    env("sync.window_days_past", "3651"),
    file("sync.window_days_future", "1000000000"),
    env("sync.window_days_future", "1e9"),
    file("sync.send_invitations", '"All"', "'All'"),
    file("sync.send_invitations", '"yes"', "'yes'"),
    env("sync.send_invitations", "NONE"),
    *(file("sync.concurrency", v) for v in ("-3", "100000", "0", "2.5")),
    file("sync.concurrency", '"--5"', "'--5'"),
    *(env("sync.concurrency", v) for v in ("--5", "²", "-3", "100000", "")),
    *(option("sync.concurrency", v) for v in ("--5", "²", "-3", "100000", "0")),
    *(file("sync.full_every", v) for v in ("-1", "100001", "1.5")),
    *(env("sync.full_every", v) for v in ("-1", "many", "")),
    *(file("sync.worker_interval", v) for v in ("0", "86401")),
    *(env("sync.worker_interval", v) for v in ("-1", "soon")),
    *(file("sync.worker_lease", v) for v in ("9", "86401")),
    *(env("sync.worker_lease", v) for v in ("0", "")),
    *(file("sync.rollback_attempts", v) for v in ("0", "101", "2.5")),
    *(env("sync.rollback_attempts", v) for v in ("0", "five")),
    *(file("sync.cancel_attempts", v) for v in ("0", "101")),
    *(env("sync.cancel_attempts", v) for v in ("0", "-2", "two")),
    file("sync.on_person_removed", '"Purge"', "'Purge'"),
    env("sync.on_person_removed", "cancel"),
    file("sync.backend", '"Graph"', "'Graph'"),
    env("sync.backend", "rest"),
    *(file("graph.per_mailbox_concurrency", v) for v in ("0", "5")),
    *(env("graph.per_mailbox_concurrency", v) for v in ("0", "many")),
    *(file("serve.ews_interval", v) for v in ("0", "86401")),
    *(env("serve.ews_interval", v) for v in ("0", "1m")),
    *(file("serve.graph_interval", v) for v in ("0", "1.5")),
    *(env("serve.graph_interval", v) for v in ("-1", "15min")),
    *(file("serve.notification_debounce", v) for v in ("-1", "2.5")),
    *(env("serve.notification_debounce", v) for v in ("-1", "301")),
    *(file("serve.healing_interval", v) for v in ("-1", "2678401")),
    *(env("serve.healing_interval", v) for v in ("1d", "0.5")),
]


def settings_text(extra: dict[str, dict[str, str]]) -> str:
    sections = {name: dict(keys) for name, keys in BASE.items()}
    for name, keys in extra.items():
        sections.setdefault(name, {}).update(keys)
    return "".join(
        f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in keys.items())
        for name, keys in sections.items()
    )


def test_every_choice_and_numeric_setting_is_in_the_table() -> None:
    ruled = {label for label, key in KEYS.items() if key.rule is not None or key.kind is not str}
    assert ruled == set(ALLOWED)
    assert {label: KEYS[label].allowed for label in ALLOWED} == ALLOWED
    for label in ALLOWED:  # a bad value from the file and from the environment, and from the option if any
        sources = {case.source for case in CASES if case.key == label}
        assert {"file", "env"} <= sources, label
        assert ("option" in sources) == (label in OPTIONS), label


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_setting_is_one_line_exit_2_and_writes_nothing(
    case: Bad, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    section, name = case.key.split(".")
    variable = f"ROOMSOPS_{section.upper()}_{name.upper()}"
    monkeypatch.delenv(
        variable, raising=False
    )  # the conftest's offline default must not hide the file's value
    extra = {section: {name: case.value}} if case.source == "file" else {}
    (tmp_path / "roomsops.toml").write_text(settings_text(extra), encoding="utf-8")
    args = ["sync", OPTIONS[case.key], case.value] if case.source == "option" else ["sync"]
    if case.source == "option" and case.key in GLOBAL:
        args = [OPTIONS[case.key], case.value, "sync"]
    origin = {"file": "roomsops.toml", "env": f"${variable}", "option": f"option {OPTIONS.get(case.key)}"}
    run = invoke(*args, env={variable: case.value} if case.source == "env" else {})
    where = origin[case.source]
    assert (run.code, run.out) == (2, ""), run.err
    assert run.err == (
        f"Error: {case.key} in {where} must be {ALLOWED[case.key]}, got {case.shown} — correct {case.key} in "
        f"{where}\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roomsops.toml"]


def test_sync_with_send_invitations_All_exits_2_naming_the_allowed_values_and_writes_nothing(
    invoke: Invoke, tmp_path: Path
) -> None:
    """The defect: "All" was taken as "not all", so no invitations went out and meetings were deleted
    instead of cancelled. Now the pass never starts."""
    settings = tmp_path / "roomsops.toml"
    settings.write_text(settings_text({}), encoding="utf-8")
    assert invoke("persons", "add", "diego@contoso.com").code == 0
    assert invoke("rooms", "add", "room@contoso.com", "--name", "Eiger").code == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    settings.write_text(settings_text({"sync": {"send_invitations": '"All"'}}), encoding="utf-8")
    before["roomsops.toml"] = settings.read_bytes()
    run = invoke("sync")
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        "Error: sync.send_invitations in roomsops.toml must be one of all, none, got 'All' — correct "
        "sync.send_invitations in roomsops.toml\n"
    )
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no lock, summary or log either


def test_docs_settings_md_lists_what_each_key_may_be() -> None:
    text = (Path(__file__).parents[2] / "docs" / "settings.md").read_text(encoding="utf-8")
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| `")]
    assert {row[0].strip("| `"): row[1] for row in rows} == ALLOWED
