"""Submission times and due dates: read with their time zone, compared in UTC, shown in Portuguese.

nbgrader writes `timestamp.txt` as "2015-02-02 14:58:23.948203 America/Los_Angeles" (its Exchange's
timestamp_format, "%Y-%m-%d %H:%M:%S.%f %Z") and reads it with `nbgrader.utils.parse_utc`, which takes the last
word as the zone. That function reads a numeric offset as seconds ("-0300" becomes five minutes) and a zone it
does not know as UTC; here both are read as written (a numeric offset in hours and minutes), and an unknown zone
is an error, so a due date is never off by hours without anyone noticing.
"""

from __future__ import annotations

import re
import struct
import zipfile
from datetime import datetime, timedelta, timezone

from dateutil import parser as date_parser
from dateutil import tz as date_tz

OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})$", re.IGNORECASE)
UTC_NAMES = {"utc", "gmt", "z"}
EXAMPLE = "2025-05-10 23:59 -0300"


class TimeFormatError(ValueError):
    """A time that cannot be read, or has no time zone; the message is Portuguese."""


def _zone(word: str):
    if word.lower() in UTC_NAMES:
        return timezone.utc
    found = OFFSET.match(word)
    if found:
        sign = -1 if found[1] == "-" else 1
        return timezone(sign * timedelta(hours=int(found[2]), minutes=int(found[3])))
    zone = date_tz.gettz(word) if "/" in word or word.isalpha() else None
    if zone is None:
        raise TimeFormatError(
            f"fuso horário desconhecido {word!r} (use um deslocamento como -0300 ou um nome "
            "como America/Sao_Paulo)"
        )
    return zone


def parse_time(text: str, *, naive_is_utc: bool = False) -> datetime:
    """'2025-05-10 23:59 -0300', '2025-05-10 23:59:00 America/Sao_Paulo', '2015-02-02 14:58:23.948203 UTC' or
    ISO 8601 with an offset -> an aware datetime. Without a zone: UTC if `naive_is_utc` (nbgrader's reading of
    its own files), else an error."""
    text = str(text).strip()
    if not text:
        raise TimeFormatError("data vazia")
    words = text.split()
    zone = None
    if len(words) >= 3 or (len(words) == 2 and not re.match(r"^\d", words[1])):
        zone, text = _zone(words[-1]), " ".join(words[:-1])
    try:
        when = date_parser.isoparse(text) if "T" in text else date_parser.parse(text, dayfirst=False)
    except (ValueError, OverflowError) as exc:
        raise TimeFormatError(f"data ilegível {text!r} (use o formato {EXAMPLE!r})") from exc
    if zone is not None:
        if when.tzinfo is not None:
            raise TimeFormatError(f"dois fusos horários em {text!r}")
        when = when.replace(tzinfo=zone)
    if when.tzinfo is None:
        if not naive_is_utc:
            raise TimeFormatError(f"falta o fuso horário em {text!r} (por exemplo {EXAMPLE!r})")
        when = when.replace(tzinfo=timezone.utc)
    return when


def nbgrader_timestamp(when: datetime) -> str:
    """The form nbgrader writes in timestamp.txt and the gradebook reads back (in UTC)."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def gradebook_time(when: datetime) -> datetime:
    """nbgrader's gradebook stores naive UTC datetimes (what parse_utc returns)."""
    return when.astimezone(timezone.utc).replace(tzinfo=None)


def zip_entry_time(info: zipfile.ZipInfo) -> datetime:
    """When a file in a zip was last modified: the extended timestamp field (0x5455, "UT": seconds since the
    epoch, UTC) where the zip has one, else the DOS date and time, which carry no zone: read as this machine's
    local time (the server that made the zip, Moodle's, usually shares the course's zone)."""
    extra = info.extra
    while len(extra) >= 4:
        kind, size = struct.unpack("<HH", extra[:4])
        body = extra[4 : 4 + size]
        if kind == 0x5455 and len(body) >= 5 and body[0] & 1:
            return datetime.fromtimestamp(struct.unpack("<i", body[1:5])[0], tz=timezone.utc)
        extra = extra[4 + size :]
    return datetime(*info.date_time).astimezone()


def shown(when: datetime, zone=None) -> str:
    """'02/02/2015 14:58 (UTC−08:00)': in `zone` (the due date's) or the time's own."""
    when = when.astimezone(zone) if zone is not None else when
    offset = when.utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "−" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{when:%d/%m/%Y %H:%M} (UTC{sign}{hours:02d}:{rest:02d})"


def lateness(seconds: float) -> str:
    """'3 dias e 2 h', '2 h 05 min', '12 min', 'menos de 1 min'."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "menos de 1 min"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} dia{'s' if days > 1 else ''}" + (f" e {hours} h" if hours else "")
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"
