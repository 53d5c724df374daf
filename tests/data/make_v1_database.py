"""Regenerates tests/data/rooms-v1.db: a database as roomsops wrote it at schema version 1.

Run from the checkout: `.venv/bin/python tests/data/make_v1_database.py`. The DDL below is the
frozen version-1 schema (conflict behaviour, free/busy, booking versions, the sync's tables and
the installation id came with version 2; attendees were one comma-separated text column).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

TARGET = Path(__file__).with_name("rooms-v1.db")

V1_SCHEMA = """
CREATE TABLE schema_version (
    version INTEGER NOT NULL,
    roomsops_version VARCHAR(40) NOT NULL,
    applied_utc DATETIME NOT NULL,
    CONSTRAINT pk_schema_version PRIMARY KEY (version)
);
CREATE TABLE persons (
    id INTEGER NOT NULL,
    email VARCHAR(320) NOT NULL,
    email_key VARCHAR(320) NOT NULL,
    name VARCHAR(256) DEFAULT '' NOT NULL,
    sync_mode VARCHAR(12) NOT NULL,
    sync_url VARCHAR(2048),
    created_utc DATETIME NOT NULL,
    updated_utc DATETIME NOT NULL,
    CONSTRAINT pk_persons PRIMARY KEY (id),
    CONSTRAINT ck_persons_sync_mode
        CHECK (sync_mode IN ('O365', 'O365Pull', 'EWS1', 'EWS2', 'Microsoft365', 'None')),
    CONSTRAINT uq_persons_email_key UNIQUE (email_key)
);
CREATE TABLE rooms (
    id INTEGER NOT NULL,
    email VARCHAR(320) NOT NULL,
    email_key VARCHAR(320) NOT NULL,
    name VARCHAR(256) NOT NULL,
    sync_master BOOLEAN DEFAULT 0 NOT NULL,
    created_utc DATETIME NOT NULL,
    updated_utc DATETIME NOT NULL,
    CONSTRAINT pk_rooms PRIMARY KEY (id),
    CONSTRAINT uq_rooms_email_key UNIQUE (email_key)
);
CREATE TABLE bookings (
    id INTEGER NOT NULL,
    organizer_id INTEGER NOT NULL,
    room_id INTEGER NOT NULL,
    title VARCHAR(255) NOT NULL,
    start_utc DATETIME NOT NULL,
    end_utc DATETIME NOT NULL,
    attendees TEXT,
    private BOOLEAN DEFAULT 0 NOT NULL,
    reminder_minutes INTEGER,
    status VARCHAR(13) DEFAULT 'active' NOT NULL,
    created_utc DATETIME NOT NULL,
    updated_utc DATETIME NOT NULL,
    CONSTRAINT pk_bookings PRIMARY KEY (id),
    CONSTRAINT ck_bookings_end_after_start CHECK (end_utc > start_utc),
    CONSTRAINT ck_bookings_reminder CHECK (reminder_minutes IS NULL OR reminder_minutes >= 0),
    CONSTRAINT ck_bookings_status CHECK (status IN ('active', 'cancelled', 'sync_disabled')),
    CONSTRAINT fk_bookings_organizer_id_persons FOREIGN KEY (organizer_id) REFERENCES persons (id),
    CONSTRAINT fk_bookings_room_id_rooms FOREIGN KEY (room_id) REFERENCES rooms (id)
);
CREATE INDEX ix_bookings_room_id_start_utc ON bookings (room_id, start_utc);
"""

T0 = "2026-11-02 08:00:00.000000"
V1_DATA = f"""
INSERT INTO schema_version VALUES (1, '0.1.0', '{T0}');
INSERT INTO persons VALUES
    (1, 'DiegoS@contoso.com', 'diegos@contoso.com', 'Diego Siciliani', 'O365',
     'https://outlook.office365.com/EWS/Exchange.asmx', '{T0}', '{T0}'),
    (2, 'adelev@contoso.com', 'adelev@contoso.com', 'Adele Vance', 'EWS1',
     'https://mail.contoso.com/EWS/Exchange.asmx', '{T0}', '{T0}'),
    (3, 'lee@contoso.com', 'lee@contoso.com', 'Lee Gu; "Ops" $(whoami) Zoë', 'None', NULL, '{T0}', '{T0}');
INSERT INTO rooms VALUES
    (1, 'eiger@contoso.com', 'eiger@contoso.com', 'Eiger', 1, '{T0}', '{T0}'),
    (2, 'moench@contoso.com', 'moench@contoso.com', 'Mönch', 0, '{T0}', '{T0}');
INSERT INTO bookings VALUES
    (1, 1, 1, 'Weekly sync', '2031-03-31 07:00:00.000000', '2031-03-31 08:00:00.000000',
     'adelev@contoso.com, lee@contoso.com', 0, 15, 'active', '{T0}', '{T0}'),
    (2, 1, 2, 'Budget', '2031-04-01 12:00:00.000000', '2031-04-01 13:30:00.000000',
     NULL, 1, NULL, 'cancelled', '{T0}', '{T0}'),
    (3, 2, 1, 'Interview', '2031-04-02 09:00:00.000000', '2031-04-02 10:00:00.000000',
     '', 0, 0, 'sync_disabled', '{T0}', '{T0}');
"""


def make(target: Path = TARGET) -> Path:
    target.unlink(missing_ok=True)
    conn = sqlite3.connect(target)
    try:
        conn.executescript(V1_SCHEMA + V1_DATA)
        conn.commit()
    finally:
        conn.close()
    return target


if __name__ == "__main__":
    print(make(Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET))
