"""Issue 21.3: the JSON log lines mask secrets in the message and in the fields, and keep a traceback as a field."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from roomsops.core.logs import MASK, forget_secrets, log, register_secret, setup_logging


def test_json_lines_mask_secrets_and_carry_fields(tmp_path: Path) -> None:
    path = tmp_path / "roomsops.log"
    secret = "s3cr3t-value-never-logged"
    register_secret(secret)
    try:
        setup_logging(path, "INFO", log_format="json")
        log.info("connected with %s", secret, extra={"fields": {"token": secret, "mailbox": "a@b.c", "n": 2}})
        log.debug("not kept at INFO")
        try:
            raise ValueError(f"boom {secret}")
        except ValueError:
            log.warning("it failed", exc_info=True)
    finally:
        setup_logging(None)
        forget_secrets()
    text = path.read_text(encoding="utf-8")
    assert secret not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["message"] == f"connected with {MASK}"
    assert first["fields"] == {"token": MASK, "mailbox": "a@b.c", "n": 2}
    assert (first["level"], first["logger"]) == ("INFO", "roomsops")
    assert second["level"] == "WARNING" and "ValueError: boom " + MASK in second["fields"]["exception"]


def test_text_stays_the_default(tmp_path: Path) -> None:
    path = tmp_path / "roomsops.log"
    try:
        setup_logging(path, "INFO")
        logging.getLogger("roomsops.x").info("hello", extra={"fields": {"a": 1}})
    finally:
        setup_logging(None)
    assert path.read_text(encoding="utf-8").rstrip().endswith(" INFO roomsops.x: hello")
