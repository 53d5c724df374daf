"""Local times in `rooms.time_zone`: parsing without an offset, refusing DST gaps and overlaps."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from roomsops.core.errors import InputError


def machine_zone_name() -> str:
    """The machine's IANA zone name ($TZ, /etc/localtime or /etc/timezone), UTC if unknown."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and _valid_zone(tz):
        return tz
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            if _valid_zone(name):
                return name
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        name = timezone_file.read_text(encoding="utf-8").strip()
        if _valid_zone(name):
            return name
    return "UTC"


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone(name: str) -> ZoneInfo:
    """`rooms.time_zone` as a ZoneInfo; empty means the machine's zone."""
    name = name or machine_zone_name()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"rooms.time_zone {name!r} is not a known time zone", "use an IANA name such as Europe/Zurich"
        ) from None


def parse_time(text: str, tz: ZoneInfo) -> datetime:
    """An ISO time; without an offset it is local to `tz`. Returns UTC. Gaps and overlaps are refused."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{text!r} is not a time", "write it as YYYY-MM-DDTHH:MM, e.g. 2026-12-01T09:00"
        ) from None
    try:
        return _to_utc(text, value, tz)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00: its UTC time would be before the year 1
        raise InputError(
            f"{text!r} is outside the times roomsops can store", "give a time between the years 1 and 9999"
        ) from None


def _to_utc(text: str, value: datetime, tz: ZoneInfo) -> datetime:
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    early = value.replace(tzinfo=tz, fold=0)
    late = value.replace(tzinfo=tz, fold=1)
    if early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != value:
        raise InputError(
            f"{text} does not exist in {tz.key} (the clock jumps forward at that time)",
            "choose a time outside the daylight-saving change",
        )
    if early.utcoffset() != late.utcoffset():
        raise InputError(
            f"{text} is ambiguous in {tz.key} (the clock is set back at that time)",
            "give the time with its UTC offset, e.g. 2026-10-25T02:30+02:00",
        )
    return early.astimezone(UTC)
