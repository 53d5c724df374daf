"""review26s: README's "Running the service" gives `serve.notification_debounce` a default of 2 s ("A change
notification makes its mailbox's pass due `serve.notification_debounce` seconds (default 2) after the first one"),
the settings (and docs/settings.md) 1 s. An operator sizing the latency of an Outlook edit from README reads a
default the service does not have. Every "`serve.X` ... (default N)" of README's serve section is checked against
the settings' default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roomsops.core.settings import load_settings

pytestmark = pytest.mark.integration
README = Path(__file__).resolve().parents[2] / "README.md"


def test_review26s_readme_gives_the_serve_defaults_the_settings_have() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Running the service") :]
    section = section[: section.index("\n## ", 1)]
    said = {
        key: int(value)
        for key, value in re.findall(r"`serve\.(\w+)`[^`()]{0,80}\(default (\d+)[;)]", section)
    }
    serve = load_settings(environ={}).serve
    assert "notification_debounce" in said and "ews_interval" in said
    assert {key: getattr(serve, key) for key in said} == said
