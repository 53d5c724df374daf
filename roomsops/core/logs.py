"""The log file, the JSON-lines audit log, and the masking that keeps secrets out of both.

Every secret roomsops handles is registered with `register_secret`; the log filter and the
audit writer replace registered values (and values of keys that `core.secrets` calls secret) with a mask.
Both files are created readable by their owner only (`core.secure_files`).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import re
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roomsops.core.errors import OperationFailed
from roomsops.core.secrets import is_secret_key
from roomsops.core.secure_files import private_opener

MASK = "********"
_secrets: set[str] = set()
_lock = threading.Lock()

log = logging.getLogger("roomsops")
#: Libraries whose own warnings (e.g. exchangelib's "Decreasing session pool size") go where roomsops' records go.
LIBRARY_LOGGERS = ("exchangelib", "msal", "pypsrp")
_library_handlers: list[logging.Handler] = []


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it might be written."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def forget_secrets() -> None:
    """Start a new run with no registered secrets (one command per process; tests run many in one)."""
    with _lock:
        _secrets.clear()


#: An Entra ID client secret as the portal hands it out (3 characters, a digit, "Q~", 31-34 more; the shape
#: secret scanners look for). Masked even when not registered: pasted into the wrong option (`--tenant-id`,
#: `auth test --mailbox`, an extra argument after `--client-secret-stdin`) it reaches an error line before
#: roomsops knows it is a secret.
ENTRA_CLIENT_SECRET = re.compile(r"(?<![\w~.-])[\w~.-]{3}[0-9]Q~[\w~.-]{31,34}(?![\w~.-])", re.ASCII)


def mask(text: str) -> str:
    """The text with every registered secret, and anything shaped like a client secret, replaced by the mask."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return ENTRA_CLIENT_SECRET.sub(MASK, text)


def redact(value: Any, key: str = "") -> Any:
    """A copy of plain data with secret-looking keys and registered secret values masked."""
    if key and is_secret_key(key) and value not in (None, "", False, True):
        return MASK
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return mask(value)
    return value


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotated log file whose every generation is created owner-only (rotation renames, keeping it)."""

    def _open(self) -> Any:
        return open(
            self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors, opener=private_opener
        )


class SecretFilter(logging.Filter):
    """Masks registered secrets in every record, whatever handler it goes to."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


#: The attributes every LogRecord has; any other attribute came from `extra=` and goes into "fields".
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line for log shippers: time (UTC, ISO 8601), level, logger, message and fields.

    "fields" holds what the caller passed as `extra=` (a `fields` mapping is merged in as it is): for a sync
    mailbox result, e.g. the mailbox, its state and counts. Secrets are masked in the message (SecretFilter)
    and in the fields (`redact`); a traceback, if any, is the field "exception"."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {}
        for key, value in vars(record).items():
            if key in _RECORD_ATTRIBUTES:
                continue
            if key == "fields" and isinstance(value, Mapping):
                fields.update(value)
            else:
                fields[key] = value
        if record.exc_text:
            fields["exception"] = record.exc_text
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
            "fields": redact(fields),
        }
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(
    log_file: Path | None,
    level: str = "INFO",
    verbose: int = 0,
    debug: bool = False,
    log_format: str = "text",
) -> None:
    """Configure roomsops' logger: a rotated file if configured (text lines, or JSON lines with
    `log_format="json"`), stderr for -v/--debug (always text: it is read by a person)."""
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    log.setLevel(logging.DEBUG)
    log.propagate = False
    secret_filter = SecretFilter()
    if log_file is not None:
        # Not writable by others whatever the umask: whoever may write the folder can put a link in the log's place.
        log_file.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        file_handler = _PrivateRotatingFileHandler(
            log_file, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
        )
        file_handler.setLevel(logging.DEBUG if debug else getattr(logging, level.upper(), logging.INFO))
        file_handler.setFormatter(
            JsonFormatter()
            if log_format == "json"
            else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        file_handler.addFilter(secret_filter)
        log.addHandler(file_handler)
    if verbose or debug:
        stream = logging.StreamHandler()
        stream.setLevel(logging.DEBUG if (debug or verbose > 1) else logging.INFO)
        stream.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        stream.addFilter(secret_filter)
        log.addHandler(stream)
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    # Without a handler of their own, the libraries' warnings would reach stderr bare through Python's
    # last-resort handler, between roomsops' one-line messages; they go to the log file (and -v) instead.
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for handler in _library_handlers:
            library.removeHandler(handler)
        for handler in log.handlers:
            library.addHandler(handler)
    _library_handlers[:] = list(log.handlers)


#: Seconds the console stays quiet about a failure it said while the failure lasts (`FailureConsole`).
REPEAT_AFTER = 3600.0


class OneLineFormatter(logging.Formatter):
    """`LEVEL: message` and nothing more: a record's traceback (`log.exception`) and stack stay in the log file,
    and on stderr with -v/--debug (README: errors are one line, --debug adds the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        return " ".join(self.formatMessage(record).splitlines())


def _fields(record: logging.LogRecord) -> Mapping[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, Mapping) else {}


class FailureConsole(logging.StreamHandler):
    """The failures of a long-running process (`serve`) on stderr, where journalctl and a service wrapper's error
    log read them: each WARNING or ERROR record (a round that failed, a mailbox's failed pass, a booking's
    failure) as one line with the log's text, secrets masked. No flood: a failure said is not said again while it
    lasts (the same record, round numbers aside), except once every `REPEAT_AFTER` seconds; a mailbox that failed
    is said again when its pass works (its INFO result line), and the rounds when one works again after failed
    ones (the INFO record with event "rounds_recovered")."""

    def __init__(self, repeat_after: float = REPEAT_AFTER) -> None:
        super().__init__()
        self.setLevel(logging.INFO)
        self.setFormatter(OneLineFormatter("%(levelname)s: %(message)s"))
        self.addFilter(SecretFilter())
        self.repeat_after = repeat_after
        #: what was said -> when; keyed by (mailbox or "", the record's text without its numbers)
        self._said: dict[tuple[str, str], float] = {}
        #: the mailboxes (case-folded) whose failure was said, "" for the rounds: their recovery is said
        self._failing: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:  # under the handler's lock (Handler.handle)
        fields = _fields(record)
        event = fields.get("event")
        mailbox = str(fields.get("mailbox") or "").casefold()
        if record.levelno < logging.WARNING:
            ended = event == "rounds_recovered" or (event == "mailbox" and fields.get("ok") is True)
            if ended and mailbox in self._failing:
                self._failing.discard(mailbox)
                self._said = {k: v for k, v in self._said.items() if k[0] != mailbox}
                super().emit(record)
            return
        if event in ("mailbox", "failure") or (not mailbox and record.levelno >= logging.ERROR):
            self._failing.add(mailbox)  # "": the rounds
        key = (mailbox, re.sub(r"\d+", "#", record.getMessage()))
        said = self._said.get(key)
        if said is not None and record.created - said < self.repeat_after:
            return
        self._said[key] = record.created
        super().emit(record)


def failures_to_stderr() -> FailureConsole:
    """Attach a `FailureConsole` to roomsops' logger (after `setup_logging`); detach it with `log.removeHandler`."""
    console = FailureConsole()
    log.addHandler(console)
    return console


class AuditLog:
    """Append-only JSON lines, one record per change made anywhere; secrets masked."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(
        self,
        action: str,
        target: str,
        params: Mapping[str, Any] | None = None,
        result: Any = None,
        **extra: Any,
    ) -> None:
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "action": action,
            "target": target,
            "params": redact(dict(params or {})),
            "result": redact(result),
            "user": _user(),
            **redact(extra),
        }
        log.info("audit %s %s", action, target)
        if self.path is None:
            return
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            try:
                self.path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)  # as the log's folder
                with open(self.path, "a", encoding="utf-8", opener=private_opener) as stream:
                    stream.write(line)
            except (
                OSError
            ) as exc:  # the change it records was made: say so, and which (a tenant change reports it)
                raise OperationFailed(
                    f"the audit log {self.path} could not be written ({exc.strerror or exc}) after {action} on "
                    f"{target}: that change was made but is not in the audit log",
                    "make log.audit writable again (free space, permissions), then check the change by hand",
                    code="audit_failed",
                ) from None

    def entries(self) -> Iterator[dict[str, Any]]:
        """The records written so far (none when there is no audit log or it cannot be read); a line that is
        not a record is passed over."""
        if self.path is None or not self.path.is_file():
            return
        try:
            with open(self.path, encoding="utf-8", errors="replace") as stream:
                for line in stream:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(entry, dict):
                        yield entry
        except OSError:
            return


def _user() -> str:
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER") or os.environ.get("USERNAME") or "?"
