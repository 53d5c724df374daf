"""Shared fixtures: a clean environment per test, the CLI runner, certificates made on the fly."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import URL, make_url

from roomsops.cli import cli

# This machine (and CI) sets PYTHONDONTWRITEBYTECODE, which also turns off pytest's cache of the rewritten test
# modules: every process then rewrites and compiles all 378 test files at each collection (measured here: 15 s CPU
# per process with it off, 5 s with the cache warm). The cache goes to __pycache__ (git ignores it) and holds only
# compiled code; the processes the tests start keep the variable.
sys.dont_write_bytecode = False

# No hypothesis test may depend on this machine's speed: no per-example deadline, no "too slow" health check.
settings.register_profile("roomsops", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("roomsops")

TENANT = "0b6c2c33-7c28-4ab0-9f1d-5d2b0f6b9a11"
APP = "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f"
SECRET = "Qm8~sEcReT.vAlUe_kP3xZ9"

# A RoomsAppSettings.config as found on a ROOMS server: BOM, CRLF, comments, other keys.
SAMPLE = (
    '\ufeff<?xml version="1.0" encoding="utf-8"?>\r\n'
    "<!-- ROOMS settings: edited by hand on the server -->\r\n"
    "<RoomsAppSettings>\r\n"
    '    <add key="ExchangeUseImpersonation" value="true" />\r\n'
    "    <!-- Exchange Online -->\r\n"
    f'    <add key="ExchangeTenantId" value="{TENANT}" />\r\n'
    f'    <add key="ExchangeAppId" value="{APP}" />\r\n'
    f'    <add key="ExchangeClientSecret" value="{SECRET}" />\r\n'
    '    <add key="BatchGetEventsSize" value="100" />\r\n'
    "</RoomsAppSettings>\r\n"
).encode()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's roomsops settings, and each runs in its own folder."""
    import os

    for name in list(os.environ):
        if name.startswith("ROOMSOPS_"):
            monkeypatch.delenv(name)
    # Most tests record persons and rooms offline; the tests of the Exchange lookup turn it on (issue 21.2).
    monkeypatch.setenv("ROOMSOPS_ROOMS_CHECK_ADDRESSES", "false")
    # Without a settings file, relative paths (rooms.db, ...) go to the data folder: the test's own (issue 21.9).
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------- PostgreSQL (issue 27; tests/postgres.py)

#: The start of the reason of a test skipped for want of PostgreSQL (the terminal summary says it loudly).
POSTGRES_NOT_RUN = "PostgreSQL tests not run"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    """This session's own database on the test PostgreSQL server (dropped at the end); skipped with a notice
    when there is no server, failing instead under PGTEST_REQUIRED=1 (CI)."""
    from tests import postgres

    server = postgres.server_url()
    problem = "scripts/test found no PostgreSQL server" if not server else None
    if server:
        try:
            database = postgres.create_database(server)
        except Exception as exc:
            problem = f"cannot use the PostgreSQL server at {server} ({str(exc).strip().splitlines()[0]})"
    if problem is not None:
        if postgres.required():
            pytest.fail(f"{problem}, and {postgres.REQUIRED_VARIABLE} says the PostgreSQL tests must run")
        pytest.skip(f"{POSTGRES_NOT_RUN}: {problem}")
    try:
        yield database
    finally:
        postgres.drop_database(server, database)


@pytest.fixture
def postgres_url(postgres_database: URL) -> Iterator[str]:
    """A rooms.database URL of an empty schema of its own (dropped after the test)."""
    from tests import postgres

    name, url = postgres.create_schema(postgres_database)
    try:
        yield url
    finally:
        postgres.drop_schema(postgres_database, name)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_databases") and "database_kind" in metafunc.fixturenames:
        metafunc.parametrize("database_kind", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def database_kind(request: pytest.FixtureRequest) -> str:
    """The database a test runs on: sqlite (the default), or postgresql (a both_databases test runs on each)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(autouse=True)
def rooms_database(
    clean_environment: None,
    database_kind: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[str]:
    """The rooms.database of the test: "" for the default (SQLite in the test's folder); for PostgreSQL its URL,
    set as ROOMSOPS_ROOMS_DATABASE (the lab's `env` takes it too). A test on PostgreSQL must have used it: its
    schema holds roomsops' tables afterwards, and no SQLite database was made."""
    if database_kind != "postgresql":
        yield ""
        return
    url = str(request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("ROOMSOPS_ROOMS_DATABASE", url)
    yield url
    from tests import postgres

    assert sorted(tmp_path.rglob("*.db")) == [], "a test on PostgreSQL made an SQLite database"
    parsed = make_url(url)
    schema = str(parsed.query["options"]).removeprefix("-csearch_path=")
    with postgres.admin(parsed.set(query={})) as conn:
        found = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = 'bookings'",
            (schema,),
        ).fetchone()
    assert found == (1,), f"a test on PostgreSQL did not use its schema {schema}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Whole files in the order two workers finish together (scripts/test: `--dist loadfile --no-loadscope-reorder`
    hands files out in this order): the longest first, the short ones to fill in at the end. Without timings, the
    marks say it: files with `slow` tests first (the most slow tests first: the sync checker's file is the longest
    of the suite), then the other integration files, then the rest, each by its number of tests. A file's tests
    keep their order (its module fixtures); the order is the same in every worker, as pytest-xdist requires."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def weight(tests: list[pytest.Item]) -> tuple[int, int, int]:
        slow = sum(1 for t in tests if t.get_closest_marker("slow"))
        integration = any(t.get_closest_marker("integration") for t in tests)
        return (0 if slow else 1 if integration else 2, -slow, -len(tests))

    ordered = sorted(files.values(), key=weight)  # stable: ties keep the collection order
    items[:] = [item for tests in ordered for item in tests]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """A loud notice when tests on PostgreSQL were skipped (read from the reports: under pytest-xdist the skips
    happen in the workers)."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if POSTGRES_NOT_RUN in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        terminalreporter.section("PostgreSQL tests NOT RUN", sep="!", red=True, bold=True)
        reason = skipped[0].longrepr
        reason = reason[2] if isinstance(reason, tuple) else reason
        terminalreporter.line(f"{len(skipped)} test(s) on PostgreSQL were skipped. {reason}", red=True)
        terminalreporter.line(
            "Start PostgreSQL on 127.0.0.1:5432 (trust, database `test`), install its binaries for scripts/test, "
            "or set PGTEST_URL; CI (.ci/run, PGTEST_REQUIRED=1) fails instead.",
            red=True,
        )


@dataclass
class Run:
    result: Result

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def out(self) -> str:
        return self.result.stdout

    @property
    def err(self) -> str:
        return self.result.stderr


Invoke = Callable[..., Run]


def ok(run: Run) -> Run:
    """The run, asserted to have exited 0 (its output shown if not)."""
    assert run.code == 0, run.out + run.err
    return run


def one_line_error(run: Run) -> str:
    """The run's stderr: exactly one line `Error: ...`; returns it."""
    assert run.err.startswith("Error: ") and run.err.count("\n") == 1, run.err
    return run.err.strip()


@pytest.fixture
def invoke() -> Invoke:
    """Run the roomsops CLI in-process; returns exit code, stdout and stderr separately."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Run:
        return Run(runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False))

    return run


@pytest.fixture
def app_settings(tmp_path: Path) -> Path:
    path = tmp_path / "RoomsAppSettings.config"
    path.write_bytes(SAMPLE)
    return path


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class CertFiles:
    certificate: x509.Certificate
    thumbprint: str

    def pem(self, folder: Path, key: rsa.RSAPrivateKey | None, password: bytes | None = None) -> Path:
        path = folder / "app.pem"
        data = self.certificate.public_bytes(serialization.Encoding.PEM)
        if key is not None:
            encryption: serialization.KeySerializationEncryption = (
                serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
            )
            data = (
                key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
                + data
            )
        path.write_bytes(data)
        return path

    def pfx(self, folder: Path, key: rsa.RSAPrivateKey, password: bytes) -> Path:
        path = folder / "app.pfx"
        path.write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"rooms", key, self.certificate, None, serialization.BestAvailableEncryption(password)
            )
        )
        return path


MakeCert = Callable[..., CertFiles]
SettingsFile = Callable[[str], Path]


@pytest.fixture
def make_cert(rsa_key: rsa.RSAPrivateKey) -> MakeCert:
    def make(days_valid: int = 365, days_since: int = 1) -> CertFiles:
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rooms-sync")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(rsa_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=days_since))
            .not_valid_after(now + dt.timedelta(days=days_valid))
            .sign(rsa_key, hashes.SHA256())
        )
        return CertFiles(cert, cert.fingerprint(hashes.SHA1()).hex().upper())

    return make


@pytest.fixture
def settings_file(tmp_path: Path) -> SettingsFile:
    def write(text: str) -> Path:
        path = tmp_path / "roomsops.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def unchanged(app_settings: Path) -> Iterator[None]:
    """Asserts after the test that RoomsAppSettings.config is byte-for-byte what it was."""
    before = app_settings.read_bytes()
    yield
    assert app_settings.read_bytes() == before
    assert not app_settings.with_name(app_settings.name + ".bak").exists()


def sigint_by_default() -> None:
    """`preexec_fn` for a child a test interrupts with SIGINT: a shell that starts jobs in the background (nohup,
    `&`) makes them ignore SIGINT, and Python then raises no KeyboardInterrupt; the child gets the default back."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
