"""Read and edit ROOMS' RoomsAppSettings.config without disturbing anything but the edited key.

Edits are splices into the original bytes: BOM, declaration, comments, quoting and line endings survive.
A file with a DOCTYPE or over `MAX_FILE_BYTES` is refused before it is parsed (ROOMS' file has neither).
Writes replace a symlink's target, not the link, and keep the file's access rules (mode and owner on POSIX,
the DACL on Windows) on the new file and its `.bak`; `write_atomic` writes roomsops' own files the same way (the
sync summary, the id files beside the database).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
import unicodedata
import xml.parsers.expat as expat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from roomsops.core.errors import InputError
from roomsops.core.secure_files import copy_access_control

ROOT_TAG = "RoomsAppSettings"
#: ROOMS' file is a few kilobytes; anything bigger is not it, and expat's time grows faster than its size.
MAX_FILE_BYTES = 1024 * 1024

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SAVE_AS_UTF8 = "save the file as UTF-8 (in Notepad: File → Save As → Encoding: UTF-8)"
_FIX_BY_HAND = "correct the file in a text editor, or restore it from its .bak copy"

# expat has already checked well-formedness, so these only need to find where things are.
_START_TAG = re.compile(rb"<[^\s/>]+((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>")
_ATTRIBUTE = re.compile(rb"([^\s=/>]+)\s*=\s*(\"[^\"]*\"|'[^']*')")
_LEADING_BLANKS = re.compile(rb"[ \t]*")


@dataclass(frozen=True)
class _Entry:
    """One `<add key=... value=.../>` child of the root, located by byte offsets into the body."""

    key: str
    value: str = field(repr=False)  # may be a secret
    line: int
    start: int  # the element's "<"
    end: int  # just past the element's last ">"
    value_start: int  # first byte inside the value's quotes
    value_end: int  # the closing quote
    quote: str


@dataclass(frozen=True)
class _Root:
    start: int
    tag_end: int  # just past the start tag's ">"
    self_closing: bool
    close_start: int  # the "<" of "</RoomsAppSettings>"; equals tag_end when self-closing


@dataclass(frozen=True)
class _Scan:
    root: _Root
    entries: tuple[_Entry, ...]
    ascii_only: bool  # the declaration names an encoding other than UTF-8, so write non-ASCII as references


class AppSettingsDoc:
    """A parsed RoomsAppSettings.config that can be edited key by key and written back byte-for-byte."""

    def __init__(self, source: str, bom: bytes, body: bytes, scan: _Scan) -> None:
        self._source = source
        self._bom = bom
        self._body = body
        self._scan = scan
        self._newline = _dominant_newline(body)

    @classmethod
    def parse(cls, data: bytes, source: str) -> AppSettingsDoc:
        """Parse the file's bytes; `source` names the file in messages. Raises InputError if unusable."""
        if len(data) > MAX_FILE_BYTES:
            raise _too_big(source)
        bom, body = _split_bom(data, source)
        return cls(source, bom, body, _scan(body, source))

    def __repr__(self) -> str:
        # Never the values: the file holds the client secret.
        return f"AppSettingsDoc(source={self._source!r}, keys={len(self._scan.entries)})"

    @property
    def source(self) -> str:
        return self._source

    @property
    def newline(self) -> str:
        """The line ending that new lines get: the file's dominant one (CRLF when it has none)."""
        return self._newline.decode("ascii")

    @property
    def has_bom(self) -> bool:
        return bool(self._bom)

    def items(self) -> list[tuple[str, str]]:
        """(key, value) of every `<add>` in file order, values unescaped as an XML parser reads them."""
        return [(entry.key, entry.value) for entry in self._scan.entries]

    def get(self, key: str) -> str | None:
        """The value of `key`, or None; for a duplicated key the last (in .NET a later <add> wins)."""
        found = [entry.value for entry in self._scan.entries if entry.key == key]
        return found[-1] if found else None

    def effective(self, key: str) -> str | None:
        """The value ROOMS reads for `key`: .NET reads appSettings keys case-insensitively and a later `<add>`
        wins, so the last `<add>` of any spelling of it; None when no spelling is there."""
        found = [entry.value for entry in self._scan.entries if entry.key.casefold() == key.casefold()]
        return found[-1] if found else None

    def keys(self) -> list[str]:
        """The distinct keys in file order."""
        return list(dict.fromkeys(entry.key for entry in self._scan.entries))

    def __contains__(self, key: object) -> bool:
        return any(entry.key == key for entry in self._scan.entries)

    def duplicates(self) -> list[str]:
        """Keys that occur more than once, in file order."""
        counts = Counter(entry.key for entry in self._scan.entries)
        return [key for key in self.keys() if counts[key] > 1]

    def lines_of(self, key: str) -> list[int]:
        """The line numbers of every `<add>` of `key`."""
        return [entry.line for entry in self._scan.entries if entry.key == key]

    def set(self, key: str, value: str) -> None:
        """Set `key` to `value`: in place when present, else as a new `<add>` before the closing root tag."""
        _check_key(key)
        _check_value(key, value)
        entry = self._single(key)
        body = self._body
        if entry is not None:
            text = _escape_attribute(value, entry.quote, ascii_only=self._scan.ascii_only)
            self._replace_body(body[: entry.value_start] + text.encode("utf-8") + body[entry.value_end :])
        else:
            self._replace_body(self._inserted(key, value))

    def unset(self, key: str) -> None:
        """Remove the `<add>` of `key`, with its line when nothing else stands on it."""
        entry = self._single(key)
        if entry is None:
            raise InputError(f"key {_shown(key)} is not in {self._source}", "see `roomsops config show`")
        body = self._body
        start, end = entry.start, entry.end
        line_start = _line_start(body, start)
        newline_at = body.find(b"\n", end)
        line_end = len(body) if newline_at == -1 else newline_at
        blank_before = not body[line_start:start].strip(b" \t")
        blank_after = not body[end:line_end].strip(b" \t\r")
        if blank_before and blank_after:
            start, end = line_start, min(line_end + 1, len(body))
        elif blank_after:
            # `<!-- note --> <add .../>`: take the blanks that separated it, leave no trailing spaces.
            start = len(body[:start].rstrip(b" \t"))
        elif blank_before:
            end += len(body[end:line_end]) - len(body[end:line_end].lstrip(b" \t"))
        self._replace_body(body[:start] + body[end:])

    def to_bytes(self) -> bytes:
        return self._bom + self._body

    def _single(self, key: str) -> _Entry | None:
        found = [entry for entry in self._scan.entries if entry.key == key]
        if len(found) > 1:
            lines = ", ".join(str(entry.line) for entry in found)
            raise InputError(
                f"key {_shown(key)} occurs {len(found)} times in {self._source} (lines {lines})",
                "remove the duplicate by hand, keeping the one that is right",
            )
        return found[0] if found else None

    def _inserted(self, key: str, value: str) -> bytes:
        body, root, newline = self._body, self._scan.root, self._newline
        escape_ascii = self._scan.ascii_only
        element = (
            f'<add key="{_escape_attribute(key, chr(34), ascii_only=escape_ascii)}" '
            f'value="{_escape_attribute(value, chr(34), ascii_only=escape_ascii)}" />'
        ).encode()
        root_indent = _leading_blanks(body, root.start)
        if root.self_closing:
            # <RoomsAppSettings/> becomes an open/close pair around the new entry.
            open_tag = body[root.start : root.tag_end - 2].rstrip() + b">"
            child_indent = root_indent + _indent_unit(root_indent)
            closing = b"</" + ROOT_TAG.encode("ascii") + b">"
            grown = open_tag + newline + child_indent + element + newline + root_indent + closing
            return body[: root.start] + grown + body[root.tag_end :]
        line_start = _line_start(body, root.close_start)
        before_close = body[line_start : root.close_start]
        close_on_own_line = not before_close.strip(b" \t")
        closing_indent = before_close if close_on_own_line else root_indent
        child_indent = self._entry_indent(closing_indent)
        if close_on_own_line:
            return body[:line_start] + child_indent + element + newline + body[line_start:]
        # e.g. <RoomsAppSettings></RoomsAppSettings> on one line: put the entry on a line of its own.
        insertion = newline + child_indent + element + newline + closing_indent
        return body[: root.close_start] + insertion + body[root.close_start :]

    def _entry_indent(self, closing_indent: bytes) -> bytes:
        """The indentation of the last `<add>` that starts its line, else one level deeper than the root."""
        body = self._body
        for entry in reversed(self._scan.entries):
            before = body[_line_start(body, entry.start) : entry.start]
            if not before.strip(b" \t"):
                return before
        return closing_indent + _indent_unit(closing_indent)

    def _replace_body(self, body: bytes) -> None:
        try:
            scan = _scan(body, self._source)
        except InputError as exc:  # pragma: no cover - would be a bug in the splicing above
            raise AssertionError(
                f"edit of {self._source} produced an unreadable document: {exc.message}"
            ) from exc
        self._body, self._scan = body, scan


def write_atomic(
    path: Path,
    data: bytes,
    *,
    backup: bool = True,
    retries: int = 5,
    retry_delay: float = 0.2,
    create_target: bool = False,
) -> Path | None:
    """Replace `path` with `data` atomically, keeping its access rules; returns the `.bak` written, if any.

    A symlink is followed: its target is replaced (and backed up beside it), the link stays a link. A link
    whose target does not exist is refused (RoomsAppSettings.config: ROOMS reads the target), unless
    `create_target` (roomsops' own files: the sync summary, the id files beside the database), which creates it.
    A locked file (Windows: the ROOMS service or an editor has it open) is retried `retries` times.
    A new file gets mode 0o600 on POSIX because it holds a secret.
    """
    path = followed_link(Path(path), create_target)
    try:
        previous: os.stat_result | None = path.stat()
    except FileNotFoundError:
        previous = None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", _may_write_remedy(path)) from exc
    backup_path = None
    if previous is not None and backup:
        backup_path = path.with_name(path.name + ".bak")
        try:
            old = path.read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read {path} to back it up: {exc.strerror}", _may_write_remedy(path)
            ) from exc
        try:
            older_backup: bytes | None = backup_path.read_bytes()
        except OSError:
            older_backup = None
        _replace_file(backup_path, old, previous, retries, retry_delay, rules_from=path)
        try:
            _replace_file(path, data, previous, retries, retry_delay, rules_from=path)
        except BaseException:
            # The file was not replaced: the .bak goes back to what it held, so a failed write changes nothing.
            if older_backup is None:
                backup_path.unlink(missing_ok=True)
            else:
                _replace_file(backup_path, older_backup, previous, retries, retry_delay, rules_from=path)
            raise
        return backup_path
    _replace_file(path, data, previous, retries, retry_delay, rules_from=path)
    return backup_path


def followed_link(path: Path, create_target: bool = False) -> Path:
    """The file a symlink (or a chain of them) points at; `path` itself when it is none. With `create_target`
    a dangling link gives the file it names (roomsops' own files: written or created there), if the folder it
    names exists; a loop, or a link into a folder that is gone (a share no longer mounted), is refused (exit 2,
    naming the link): making that folder would put the file where nobody looks for it."""
    if not path.is_symlink():
        return path
    try:
        target = path.resolve(strict=not create_target)
    except (OSError, RuntimeError) as exc:  # a dangling link or a loop (RuntimeError before Python 3.13)
        raise InputError(
            f"{path} is a symbolic link to a file that cannot be reached ({exc}); nothing was changed",
            "point the link at the file it is meant for (or replace it with that file)"
            if create_target
            else "point the link at ROOMS' RoomsAppSettings.config, or pass the real file with --app-settings",
            code="unreachable_link",
        ) from None
    folder = target.parent
    if not folder.is_dir():
        raise InputError(
            f"{path} is a symbolic link to {target}, but {folder} "
            f"{'is not a folder' if folder.exists() else 'does not exist'}; nothing was changed",
            f"create the folder {folder} (or make the share it was on available again), or point {path} at a "
            "file in a folder that exists",
            code="unreachable_link",
        )
    return target


def _replace_file(
    target: Path,
    data: bytes,
    like: os.stat_result | None,
    retries: int,
    delay: float,
    rules_from: Path | None = None,
) -> None:
    try:
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(
            f"cannot write in {target.parent}: {exc.strerror}", _may_write_remedy(target)
        ) from exc
    temp = Path(temp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if like is not None:
                os.chmod(temp, stat.S_IMODE(like.st_mode))
                _copy_owner(temp, like)
                if rules_from is not None:
                    # Windows: a new file takes the folder's ACL, which lets Users read Program Files.
                    copy_access_control(rules_from, temp)
        except OSError as exc:
            raise InputError(f"cannot write {target}: {exc.strerror}", _may_write_remedy(target)) from exc
        _replace_retrying(temp, target, retries, delay)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()  # gone already when the replace succeeded
    _fsync_directory(target.parent)


def _replace_retrying(temp: Path, target: Path, retries: int, delay: float) -> None:
    attempts = max(retries, 0) + 1
    for attempt in range(1, attempts + 1):
        try:
            os.replace(temp, target)
            return
        except PermissionError as exc:
            if attempt == attempts:
                raise InputError(
                    f"cannot replace {target}: it is locked by another program or access is denied "
                    f"({exc.strerror}; tried {attempts} times)",
                    "close what holds it open (an editor, virus scanner) or run as a user who may write it, "
                    "then run the command again",
                ) from exc
            time.sleep(delay)
        except OSError as exc:
            raise InputError(f"cannot replace {target}: {exc.strerror}", _may_write_remedy(target)) from exc


def _copy_owner(path: Path, like: os.stat_result) -> None:
    # Running as root must not leave the service account's file owned by root; best effort elsewhere.
    chown = getattr(os, "chown", None)
    if chown is None:
        return
    with contextlib.suppress(OSError):
        chown(path, like.st_uid, like.st_gid)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename durable on POSIX; Windows cannot open directories this way.
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _may_write_remedy(path: Path) -> str:
    return f"run roomsops as a user who may write {path.parent} (on Windows: from an elevated prompt)"


def _split_bom(data: bytes, source: str) -> tuple[bytes, bytes]:
    if data.startswith(_UTF32_BOMS):
        raise InputError(
            f"{source} is UTF-32 (it starts with a UTF-32 byte-order mark); it must be UTF-8", _SAVE_AS_UTF8
        )
    if data.startswith(_UTF16_BOMS):
        raise InputError(
            f"{source} is UTF-16 (it starts with a UTF-16 byte-order mark); it must be UTF-8", _SAVE_AS_UTF8
        )
    if data[:2] in (b"<\x00", b"\x00<"):
        raise InputError(f"{source} is UTF-16 (without a byte-order mark); it must be UTF-8", _SAVE_AS_UTF8)
    bom = _UTF8_BOM if data.startswith(_UTF8_BOM) else b""
    body = data[len(bom) :]
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{source} is not UTF-8: byte 0x{body[exc.start]:02X} at line {line} is not valid UTF-8",
            _SAVE_AS_UTF8,
        ) from exc
    return bom, body


def _scan(body: bytes, source: str) -> _Scan:
    # The document has been checked to be UTF-8; forcing it stops a stale encoding="..." from misreading it.
    parser = expat.ParserCreate(encoding="utf-8")
    open_elements: list[tuple[str, int, int, dict[str, str]]] = []
    children: list[tuple[int, int, int, dict[str, str]]] = []
    root: list[tuple[str, int, int]] = []
    declared: list[str] = []

    def on_start(name: str, attributes: dict[str, str]) -> None:
        open_elements.append((name, parser.CurrentByteIndex, parser.CurrentLineNumber, attributes))

    def on_end(name: str) -> None:
        _, start, line, attributes = open_elements.pop()
        if not open_elements:
            root.append((name, start, parser.CurrentByteIndex))
        elif len(open_elements) == 1 and name == "add":
            children.append((start, parser.CurrentByteIndex, line, attributes))

    def on_declaration(version: str, encoding: str | None, standalone: int) -> None:
        if encoding:
            declared.append(encoding)

    def on_doctype(*_: object) -> None:
        # Entities can expand to markup or to gigabytes, or name other files: none belongs in this file.
        raise InputError(
            f"{source} contains a DOCTYPE (line {parser.CurrentLineNumber}); ROOMS' file never has one, "
            "and roomsops does not read entity declarations",
            "remove the <!DOCTYPE ...> part, or restore the file from its .bak copy",
            code="doctype",
        )

    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.XmlDeclHandler = on_declaration
    parser.StartDoctypeDeclHandler = on_doctype
    parser.EntityDeclHandler = on_doctype
    if not body.strip():
        raise InputError(f"{source} is empty", _FIX_BY_HAND)
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        line, column = _line_column(body, parser.ErrorByteIndex, exc)
        raise InputError(
            f"{source}: malformed XML at line {line}, column {column}: {expat.ErrorString(exc.code)}",
            _FIX_BY_HAND,
        ) from exc

    root_name, root_start, root_end_index = root[0]
    if root_name != ROOT_TAG:
        raise InputError(
            f"{source}: the root element is <{root_name}>, not <{ROOT_TAG}>",
            f"point --app-settings at ROOMS' {ROOT_TAG}.config",
        )
    root_tag_end, root_self_closing, _ = _start_tag(body, root_start)
    close_start = root_tag_end if root_self_closing else root_end_index
    entries = tuple(_entry(body, source, *child) for child in children)
    ascii_only = bool(declared) and declared[0].strip().lower() not in ("utf-8", "utf8")
    return _Scan(_Root(root_start, root_tag_end, root_self_closing, close_start), entries, ascii_only)


def _entry(
    body: bytes, source: str, start: int, end_index: int, line: int, attributes: dict[str, str]
) -> _Entry:
    for name in ("key", "value"):
        if name not in attributes:
            raise InputError(
                f"{source}: the <add> at line {line} has no {name} attribute",
                'give every <add> a key and a value, like <add key="ExchangeAppId" value="..." />',
            )
    tag_end, self_closing, spans = _start_tag(body, start)
    # For <add ...></add> expat reports the end at "</add"; the element ends at its ">".
    end = tag_end if self_closing else body.index(b">", end_index) + 1
    value_start, value_end, quote = spans["value"]
    return _Entry(attributes["key"], attributes["value"], line, start, end, value_start, value_end, quote)


def _start_tag(body: bytes, start: int) -> tuple[int, bool, dict[str, tuple[int, int, str]]]:
    """End offset, self-closing flag and attribute value spans (inside quotes) of the start tag at `start`."""
    match = _START_TAG.match(body, start)
    if match is None:  # pragma: no cover - expat accepted this tag
        raise AssertionError(f"no start tag at byte {start}")
    spans: dict[str, tuple[int, int, str]] = {}
    for attribute in _ATTRIBUTE.finditer(body, match.start(1), match.end(1)):
        quoted_start, quoted_end = attribute.span(2)
        spans[attribute.group(1).decode("utf-8")] = (
            quoted_start + 1,
            quoted_end - 1,
            chr(body[quoted_start]),
        )
    return match.end(), match.group(2) == b"/", spans


def _line_column(body: bytes, byte_index: int, exc: expat.ExpatError) -> tuple[int, int]:
    """1-based line and character column of an expat error (expat counts columns in bytes, from 0)."""
    if byte_index < 0:
        return exc.lineno, exc.offset + 1
    byte_index = min(byte_index, len(body))
    line_start = _line_start(body, byte_index)
    column = len(body[line_start:byte_index].decode("utf-8", errors="replace")) + 1
    return body.count(b"\n", 0, byte_index) + 1, column


def _line_start(body: bytes, position: int) -> int:
    return body.rfind(b"\n", 0, position) + 1


def _leading_blanks(body: bytes, position: int) -> bytes:
    match = _LEADING_BLANKS.match(body, _line_start(body, position))
    return match.group() if match else b""


def _indent_unit(indent: bytes) -> bytes:
    return b"\t" if b"\t" in indent else b"  "


def _dominant_newline(body: bytes) -> bytes:
    crlf = body.count(b"\r\n")
    lf = body.count(b"\n") - crlf
    if lf > crlf:
        return b"\n"
    return b"\r\n"  # also for a file without line breaks: ROOMS is a Windows product


def _is_xml_char(char: str) -> bool:
    code = ord(char)
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()


def _shown(key: str) -> str:
    """`key` quoted for a message, with invisible or control characters spelled as U+XXXX."""
    shown = "".join(
        f"<U+{ord(char):04X}>" if unicodedata.category(char)[0] in "CZ" and char != " " else char
        for char in key
    )
    return f"'{shown}'"


def check_key(key: str) -> None:
    """A key an <add> can hold: not empty, no surrounding spaces, no control characters (else exit 2)."""
    _check_key(key)


def _check_key(key: str) -> None:
    remedy = "use the key's exact name, like ExchangeAppId (see `roomsops config show`)"
    if not key:
        raise InputError("the key is empty", remedy)
    if key != key.strip():
        raise InputError(f"key {_shown(key)} has leading or trailing spaces", remedy)
    for char in key:
        # Tabs and line breaks are legal XML but .NET would read them back as spaces.
        if not _is_xml_char(char) or unicodedata.category(char) == "Cc":
            raise InputError(f"key {_shown(key)} contains {_describe(char)}, which a key cannot hold", remedy)


def _check_value(key: str, value: str) -> None:
    for position, char in enumerate(value, start=1):
        if not _is_xml_char(char):
            # The position, not the value: the value may be a secret.
            raise InputError(
                f"the value for {_shown(key)} contains {_describe(char)} at position {position}, "
                "which an XML file cannot hold",
                "remove that character from the value",
            )


def _escape_attribute(text: str, quote: str, *, ascii_only: bool) -> str:
    """`text` escaped for an attribute delimited by `quote`, so that a parser reads back exactly `text`."""
    out: list[str] = []
    for char in text:
        if char == "&":
            out.append("&amp;")
        elif char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char == '"':
            out.append("&quot;")
        elif char == "'" and quote == "'":
            out.append("&apos;")
        elif char in "\t\n\r" or (ascii_only and ord(char) > 0x7F):
            # Attribute-value normalisation would turn literal tabs and line breaks into spaces.
            out.append(f"&#{ord(char)};")
        else:
            out.append(char)
    return "".join(out)


def _too_big(source: str) -> InputError:
    return InputError(
        f"{source} is larger than {MAX_FILE_BYTES // 1024} KiB; ROOMS' RoomsAppSettings.config is a few kilobytes",
        "point --app-settings at ROOMS' file, or restore it from its .bak copy",
        code="file_too_large",
    )


def read_document(path: Path) -> AppSettingsDoc:
    """Parse RoomsAppSettings.config; a missing, unreadable or oversized file is bad input (exit 2)."""
    try:
        # A FIFO would block open() until a writer comes (for ever), a device like /dev/zero never ends:
        # only a regular file is opened at all.
        if not stat.S_ISREG(path.stat().st_mode) and not path.is_dir():
            raise InputError(
                f"{path} is not a regular file", "point --app-settings at ROOMS' RoomsAppSettings.config"
            )
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)  # never more: the size alone decides
    except FileNotFoundError:
        raise InputError(
            f"{path} does not exist",
            "create it with 'roomsops config init', or point --app-settings at ROOMS' file",
        ) from None
    except IsADirectoryError:
        raise InputError(
            f"{path} is a folder, not RoomsAppSettings.config", "point --app-settings at the file itself"
        ) from None
    except OSError as exc:
        raise InputError(
            f"{path} cannot be read: {exc.strerror}",
            "run as a user who may read it (on Windows: an administrator)",
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_big(str(path))
    return AppSettingsDoc.parse(data, str(path))
