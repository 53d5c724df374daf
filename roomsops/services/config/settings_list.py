"""`roomsops config settings`: every setting with its variable, default and current value, from core.settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from roomsops.core.results import Result
from roomsops.core.settings import DATA_DIR_VARIABLE, Settings, setting_infos


@dataclass(frozen=True)
class SettingRow:
    key: str
    variable: str
    default: Any
    allowed: str
    value: Any
    origin: str


@dataclass(frozen=True)
class SettingsList(Result):
    settings_file: str | None
    data_dir: str | None
    data_dir_variable: str
    settings: tuple[SettingRow, ...]

    def lines(self) -> list[str]:
        """Plain lines (never cut to the terminal's width): key, variable, default, what it may be; and the
        value where it is not the default, with where it came from."""
        out = [
            f"settings file: {self.settings_file or '(none: built-in defaults and variables)'}",
            f"data folder:   {self.data_dir} (${self.data_dir_variable}; relative paths go here without a "
            "settings file, and relative data paths always when the variable names it)",
            "",
        ]
        key_width = max(len(r.key) for r in self.settings)
        variable_width = max(len(r.variable) for r in self.settings)
        for row in self.settings:
            line = f"{row.key.ljust(key_width)}  {row.variable.ljust(variable_width)}  default {_shown(row.default)}"
            if row.allowed != "text":
                line += f" ({row.allowed})"
            if row.origin != "the built-in defaults":
                line += f"; now {_shown(row.value)} from {row.origin}"
            out.append(line)
        return out


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return '""' if value == "" else str(value)


def _without_password(value: Any) -> Any:
    """A setting's value with the passwords of a URL in it masked (rooms.database, network.proxy: the userinfo,
    `password=` and `PWD=` parameters, a proxy written without its scheme)."""
    from roomsops.core.logs import MASK, mask
    from roomsops.core.secrets import mask_url_secrets

    return mask(mask_url_secrets(value, MASK)) if isinstance(value, str) else value


def settings_list(settings: Settings) -> SettingsList:
    rows = tuple(
        SettingRow(
            info.key,
            info.variable,
            info.default,
            info.allowed,
            _without_password(getattr(getattr(settings, info.key.split(".")[0]), info.key.split(".")[1])),
            settings.origin(info.key),
        )
        for info in setting_infos()
    )
    return SettingsList(
        settings_file=str(settings.source) if settings.source else None,
        data_dir=str(settings.data_dir) if settings.data_dir else None,
        data_dir_variable=DATA_DIR_VARIABLE,
        settings=rows,
    )
