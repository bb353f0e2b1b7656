"""The UI languages of Event Viewer's CSV/TXT exports: headers, level names, dates.

Event Viewer writes its "Save All Events As..." CSV and text exports in the UI language
of the machine: the five column headers, the level names, the word for "no task
category" and the date and time (the user's short date and long time, local time, no
offset) all follow it. A task category Event Viewer cannot name is written as ``(N)``.

>>> culture = culture_of_header(["Poziom", "Data i godzina", "Źródło", "Identyfikator zdarzenia",
...                              "Kategoria zadania"])
>>> culture.name, culture.levels["Błąd"]
('pl-PL', 2)
>>> culture.parse_local("20.03.2025 14:15:04")
(2025, 3, 20, 14, 15, 4)
>>> CULTURES["en-US"].format_local(2025, 3, 20, 14, 15, 4)
'3/20/2025 2:15:04 PM'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LocalTime = tuple[int, int, int, int, int, int]  # year, month, day, hour, minute, second

_INVISIBLE = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))  # bidi marks


@dataclass(frozen=True)
class Culture:
    """One UI language as Event Viewer writes it in CSV/TXT exports."""

    name: str                      # e.g. "pl-PL"
    headers: tuple[str, ...]       # Level, Date and Time, Source, Event ID, Task Category
    levels: Mapping[str, int]      # level name -> level number; the first name of a number is canonical
    no_task: str                   # the task category of task 0
    date_order: str                # "MDY" or "DMY"
    date_separator: str            # "/" or "."
    twelve_hour: bool              # en-US: h:mm:ss AM/PM
    ansi_codepage: str             # the legacy code page of the language (Windows "ANSI")
    example_time: str              # how 2025-03-20 14:15:04 looks

    def level_name(self, level: int | None) -> str:
        """The level name Event Viewer shows; levels 0 (LogAlways) and unknown show as Information.

        >>> CULTURES["de-DE"].level_name(3), CULTURES["de-DE"].level_name(0)
        ('Warnung', 'Informationen')
        """
        for name, number in self.levels.items():
            if number == level:
                return name
        return next(name for name, number in self.levels.items() if number == 4)

    def task_name(self, task: int | None) -> str:
        """How Event Viewer shows a task category it has no name for: ``(N)``, or the no-task word.

        >>> CULTURES["fr-FR"].task_name(0), CULTURES["fr-FR"].task_name(2)
        ('Aucun', '(2)')
        """
        return self.no_task if not task else f"({task})"

    def parse_task(self, text: str) -> int | None:
        """The task number a task category cell reveals: ``(N)`` or the no-task word; else None.

        >>> CULTURES["pl-PL"].parse_task("Brak"), CULTURES["pl-PL"].parse_task("(12)")
        (0, 12)
        >>> CULTURES["pl-PL"].parse_task("SmtpSend") is None
        True
        """
        if text == self.no_task:
            return 0
        match = _TASK_NUMBER.fullmatch(text)
        return int(match.group(1)) if match else None

    def parse_local(self, text: str) -> LocalTime | None:
        """The local date and time of a "Date and Time" cell, or None when it is not one.

        >>> CULTURES["en-US"].parse_local("3/20/2025 2:15:04 PM")
        (2025, 3, 20, 14, 15, 4)
        >>> CULTURES["en-US"].parse_local("12/1/2024 12:05:00 AM")
        (2024, 12, 1, 0, 5, 0)
        >>> CULTURES["fr-FR"].parse_local("20/03/2025 25:15:04") is None
        True
        """
        if not text.isascii():
            text = text.translate(_INVISIBLE)
        match = _DATE_TIME.fullmatch(text.strip())
        if not match or match.group("sep1") != self.date_separator or match.group("sep2") != self.date_separator:
            return None
        first, second, year = int(match.group("a")), int(match.group("b")), int(match.group("year"))
        month, day = (first, second) if self.date_order == "MDY" else (second, first)
        hour, minute, sec = int(match.group("hour")), int(match.group("minute")), int(match.group("second"))
        ampm = (match.group("ampm") or "").upper()
        if self.twelve_hour != bool(ampm):
            return None
        if ampm:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if ampm == "PM" else 0)
        if not (1 <= month <= 12 and 1 <= day <= _days_in(year, month) and hour < 24 and minute < 60
                and sec < 60):
            return None
        return year, month, day, hour, minute, sec

    def format_local(self, year: int, month: int, day: int, hour: int, minute: int, second: int) -> str:
        """A local time as this culture's short date and long time.

        >>> CULTURES["pl-PL"].format_local(2025, 3, 5, 9, 1, 2)
        '05.03.2025 09:01:02'
        """
        if self.twelve_hour:
            clock = f"{(hour % 12) or 12}:{minute:02d}:{second:02d} {'PM' if hour >= 12 else 'AM'}"
        else:
            clock = f"{hour:02d}:{minute:02d}:{second:02d}"
        if self.date_order == "MDY":
            date = f"{month}{self.date_separator}{day}{self.date_separator}{year}"
        else:
            date = f"{day:02d}{self.date_separator}{month:02d}{self.date_separator}{year}"
        return f"{date} {clock}"


_TASK_NUMBER = re.compile(r"\((\d+)\)")
_DATE_TIME = re.compile(
    r"(?P<a>\d{1,2})(?P<sep1>[./])(?P<b>\d{1,2})(?P<sep2>[./])(?P<year>\d{4})\s+"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\s*(?P<ampm>[AaPp][Mm]))?")


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


CULTURES: dict[str, Culture] = {
    culture.name: culture
    for culture in (
        Culture("en-US", ("Level", "Date and Time", "Source", "Event ID", "Task Category"),
                {"Information": 4, "Warning": 3, "Error": 2, "Critical": 1, "Verbose": 5},
                "None", "MDY", "/", True, "cp1252", "3/20/2025 2:15:04 PM"),
        Culture("pl-PL", ("Poziom", "Data i godzina", "Źródło", "Identyfikator zdarzenia", "Kategoria zadania"),
                {"Informacje": 4, "Ostrzeżenie": 3, "Błąd": 2, "Krytyczny": 1, "Pełne": 5},
                "Brak", "DMY", ".", False, "cp1250", "20.03.2025 14:15:04"),
        Culture("de-DE", ("Ebene", "Datum und Uhrzeit", "Quelle", "Ereignis-ID", "Aufgabenkategorie"),
                {"Informationen": 4, "Warnung": 3, "Fehler": 2, "Kritisch": 1, "Ausführlich": 5},
                "Keine", "DMY", ".", False, "cp1252", "20.03.2025 14:15:04"),
        Culture("fr-FR", ("Niveau", "Date et heure", "Source", "ID de l'événement", "Catégorie de la tâche"),
                {"Information": 4, "Avertissement": 3, "Erreur": 2, "Critique": 1, "Commentaires": 5},
                "Aucun", "DMY", "/", False, "cp1252", "20/03/2025 14:15:04"),
    )
}


def culture_of_header(cells: Sequence[str]) -> Culture | None:
    """The culture whose five column headers these are (a sixth, empty cell is allowed).

    >>> culture_of_header(["Level", "Date and Time", "Source", "Event ID", "Task Category", ""]).name
    'en-US'
    >>> culture_of_header(["Nivel", "Fecha y hora", "Origen", "Id. del evento", "Categoría de la tarea"]) is None
    True
    """
    names = tuple(cell.strip() for cell in cells)
    if len(names) == 6 and not names[5]:
        names = names[:5]
    return next((c for c in CULTURES.values() if c.headers == names), None)
