"""Submission times and due dates (grader/timestamps.py): read with their zone, never guessed; nbgrader's forms
written back; times inside zips; shown in Portuguese."""

from __future__ import annotations

import struct
import time
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from grader.timestamps import (
    TimeFormatError,
    gradebook_time,
    lateness,
    nbgrader_timestamp,
    parse_time,
    shown,
    zip_entry_time,
)

BRT = timezone(timedelta(hours=-3))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-05-10 23:59 -0300", datetime(2025, 5, 10, 23, 59, tzinfo=BRT)),
        ("2025-05-10 23:59 -03:00", datetime(2025, 5, 10, 23, 59, tzinfo=BRT)),
        ("2025-05-10 23:59 UTC-0300", datetime(2025, 5, 10, 23, 59, tzinfo=BRT)),
        ("2025-05-10 23:59:00 America/Sao_Paulo", datetime(2025, 5, 11, 2, 59, tzinfo=timezone.utc)),
        ("2015-02-02 14:58:23.948203 UTC", datetime(2015, 2, 2, 14, 58, 23, 948203, tzinfo=timezone.utc)),
        (
            "2015-02-02 14:58:23.948203 America/Los_Angeles",
            datetime(2015, 2, 2, 22, 58, 23, 948203, tzinfo=timezone.utc),
        ),
        ("2025-05-10T23:59:00-03:00", datetime(2025, 5, 10, 23, 59, tzinfo=BRT)),
        ("2025-05-10T23:59:00Z", datetime(2025, 5, 10, 23, 59, tzinfo=timezone.utc)),
        ("2025-05-10 23:59 +0530", datetime(2025, 5, 10, 18, 29, tzinfo=timezone.utc)),
    ],
)
def test_times_are_read_with_their_zone(text, expected):
    when = parse_time(text)
    assert when.tzinfo is not None
    assert when == expected


def test_a_numeric_offset_is_hours_and_minutes_not_seconds():
    # nbgrader's parse_utc reads "-0300" as 300 seconds; three hours here
    assert parse_time("2025-05-10 12:00 -0300") - parse_time("2025-05-10 12:00 UTC") == timedelta(hours=3)


@pytest.mark.parametrize(
    "text, says",
    [
        ("", "data vazia"),
        ("   ", "data vazia"),
        ("2025-05-10 23:59", "falta o fuso horário"),
        ("2025-05-10 23:59 Marte/Olympus", "fuso horário desconhecido"),
        ("2025-05-10 23:59 XYZABC", "fuso horário desconhecido"),
        ("amanhã de manhã cedo", "fuso horário desconhecido"),  # the last word is read as the zone
        ("31/31/2025 23:59 UTC", "data ilegível"),
        ("2025-05-10T23:59:00-03:00 UTC", "dois fusos horários"),
    ],
)
def test_bad_times_are_errors_in_portuguese(text, says):
    with pytest.raises(TimeFormatError, match=says):
        parse_time(text)


def test_a_time_without_zone_is_utc_only_when_asked():
    assert parse_time("2015-02-02 14:58:23", naive_is_utc=True) == datetime(
        2015, 2, 2, 14, 58, 23, tzinfo=timezone.utc
    )
    with pytest.raises(TimeFormatError):
        parse_time("2015-02-02 14:58:23")


def test_nbgrader_forms_round_trip():
    when = datetime(2025, 5, 10, 23, 59, 1, 250000, tzinfo=BRT)
    text = nbgrader_timestamp(when)
    assert text == "2025-05-11 02:59:01.250000 UTC"
    assert parse_time(text) == when
    naive = gradebook_time(when)
    assert naive.tzinfo is None and naive == datetime(2025, 5, 11, 2, 59, 1, 250000)


def _zip_info(name: str, date_time: tuple, unix: int | None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date_time)
    # another extra field first: the reader must walk past it
    info.extra = struct.pack("<HH", 0x000A, 4) + b"\0\0\0\0"
    if unix is not None:
        info.extra += struct.pack("<HHB", 0x5455, 5, 1) + struct.pack("<i", unix)
    return info


def test_zip_times_from_the_extended_field_in_utc(tmp_path):
    unix = int(datetime(2025, 5, 10, 12, 0, tzinfo=timezone.utc).timestamp())
    info = _zip_info("a.ipynb", (1999, 1, 1, 0, 0, 0), unix)  # the DOS time disagrees: the UT field wins
    assert zip_entry_time(info) == datetime(2025, 5, 10, 12, 0, tzinfo=timezone.utc)
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(info, b"{}")
    with zipfile.ZipFile(path) as archive:
        assert zip_entry_time(archive.getinfo("a.ipynb")) == datetime(2025, 5, 10, 12, 0, tzinfo=timezone.utc)


def test_zip_times_without_the_field_are_local():
    when = zip_entry_time(_zip_info("a.ipynb", (2025, 5, 10, 12, 0, 0), None))
    assert when.tzinfo is not None
    assert when.timestamp() == time.mktime((2025, 5, 10, 12, 0, 0, 0, 0, -1))


def test_shown_in_portuguese_with_the_offset():
    when = datetime(2015, 2, 2, 22, 58, tzinfo=timezone.utc)
    assert shown(when) == "02/02/2015 22:58 (UTC+00:00)"
    assert shown(when, timezone(timedelta(hours=-8))) == "02/02/2015 14:58 (UTC−08:00)"
    assert shown(when, timezone(timedelta(hours=5, minutes=30))) == "03/02/2015 04:28 (UTC+05:30)"


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0, "menos de 1 min"),
        (59.9, "menos de 1 min"),
        (60, "1 min"),
        (12 * 60 + 30, "12 min"),
        (2 * 3600 + 5 * 60, "2 h 05 min"),
        (24 * 3600, "1 dia"),
        (24 * 3600 + 59 * 60, "1 dia"),
        (3 * 24 * 3600 + 2 * 3600 + 7 * 60, "3 dias e 2 h"),
    ],
)
def test_lateness(seconds, text):
    assert lateness(seconds) == text
