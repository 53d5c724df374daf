"""Options that override a setting: their values follow the setting's own rule (core.settings.KEYS).

So `--concurrency 0` is refused with the same line as `concurrency = 0` in roomsops.toml or in
$ROOMSOPS_SYNC_CONCURRENCY, naming the key, the option, the allowed values and the value given.
"""

from __future__ import annotations

from typing import Any

import click

from roomsops.core.errors import InputError
from roomsops.core.settings import KEYS, setting_value


class SettingValue(click.ParamType):
    """The type of an option that overrides the setting `label` ("section.key")."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.name = KEYS[label].kind.__name__

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default, or a value already converted
        option = param.opts[0] if param is not None and param.opts else self.label
        # An InputError, not click's BadParameter: the one line settings errors have (exit 2 all the same).
        return setting_value(self.label, value, f"option {option}")


class BookingId(click.ParamType):
    """A booking's id. SQLite's INTEGER holds 1..2**63-1 (a larger number would fail in the driver with an
    OverflowError); no booking has an id outside it, so such a number is "no such booking" (exit 2)."""

    name = "integer"  # "'abc' is not a valid integer.", as with type=int

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.INT.convert(value, param, ctx)
        if not 1 <= number <= 2**63 - 1:
            raise InputError(f"there is no booking {number}", "see 'roomsops bookings list'")
        return number


BOOKING_ID = BookingId()


class GivenText(click.ParamType):
    """The value of an option that names something (a group, a scope, an app): given, it may not be empty.

    `--group "$GROUP"` with the variable unset is a mistake, not a request for the default: taken as no
    option, `policy restrict` went ahead on the default group."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str) or value.strip():
            return value
        option = param.opts[0] if param is not None and param.opts else "the option"
        metavar = param.metavar if param is not None and param.metavar else "VALUE"
        command = ctx.command_path if ctx is not None else "roomsops"
        raise InputError(
            f"option {option} is empty",
            f"give it a value ({option} {metavar}), or leave the option out (see '{command} --help' for "
            "what it means then)",
        )


GIVEN_TEXT = GivenText()
