"""The UI languages of Event Viewer's CSV/TXT exports: headers, level names, dates.

Event Viewer writes its "Save All Events As..." CSV and text exports in the UI language
of the machine: the five column headers, the level names, the word for "no task
category" and the date and time (the user's short date and long time, local time, no
offset) all follow it. A task category Event Viewer cannot name is written as ``(N)``.

>>> culture = culture_of_header(["Poziom", "Data i godzina", "Źródło", "Identyfikator zdarzenia",
...                              "Kategoria zadania"])
>>> culture.name, culture.levels["Błąd"]
('pl-PL', 2)
>>> culture.date.parse("20.03.2025 14:15:04")
datetime.datetime(2025, 3, 20, 14, 15, 4)
>>> CULTURES["en-US"].date.format((2025, 3, 20, 14, 15, 4))
'3/20/2025 2:15:04 PM'

A culture's dates are written with its entry in :data:`exlab.cultures.DATE_FORMATS`, the one
table of Windows date formats. The headers tell the UI language only, not the dates: an English
Windows set to en-GB or en-AU writes English headers and day-first dates, so the reader decides
a file's day/month order from its values (:class:`exlab.cultures.DateStyle`), and the lab
writes English headers with ``en-GB``, ``en-AU``, ... dates:

>>> CULTURES["en-GB"].headers == CULTURES["en-US"].headers, CULTURES["en-GB"].date.example
(True, '20/03/2025 14:15:04')
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from exlab.cultures import DATE_FORMATS, DateFormat


@dataclass(frozen=True)
class Culture:
    """One UI language as Event Viewer writes it in CSV/TXT exports."""

    name: str                      # e.g. "pl-PL"
    headers: tuple[str, ...]       # Level, Date and Time, Source, Event ID, Task Category
    levels: Mapping[str, int]      # level name -> level number; the first name of a number is canonical
    no_task: str                   # the task category of task 0
    date: DateFormat               # the "Date and Time" column: the culture's short date and long time
    ansi_codepage: str             # the legacy code page of the language (Windows "ANSI")

    @property
    def language(self) -> str:
        """The UI language whose headers and words these are (``en-US`` for ``en-GB`` too).

        >>> CULTURES["en-AU"].language, CULTURES["de-CH"].language
        ('en-US', 'de-DE')
        """
        return next(name for name in LANGUAGES if CULTURES[name].headers == self.headers)

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
        if self.no_task and text == self.no_task:
            return 0
        match = _TASK_NUMBER.fullmatch(text)
        return int(match.group(1)) if match else None


_TASK_NUMBER = re.compile(r"\((\d+)\)")


CULTURES: dict[str, Culture] = {
    culture.name: culture
    for culture in (
        Culture("en-US", ("Level", "Date and Time", "Source", "Event ID", "Task Category"),
                {"Information": 4, "Warning": 3, "Error": 2, "Critical": 1, "Verbose": 5},
                "None", DATE_FORMATS["en-US"], "cp1252"),
        Culture("pl-PL", ("Poziom", "Data i godzina", "Źródło", "Identyfikator zdarzenia", "Kategoria zadania"),
                {"Informacje": 4, "Ostrzeżenie": 3, "Błąd": 2, "Krytyczny": 1, "Pełne": 5},
                "Brak", DATE_FORMATS["pl-PL"], "cp1250"),
        Culture("de-DE", ("Ebene", "Datum und Uhrzeit", "Quelle", "Ereignis-ID", "Aufgabenkategorie"),
                {"Informationen": 4, "Warnung": 3, "Fehler": 2, "Kritisch": 1, "Ausführlich": 5},
                "Keine", DATE_FORMATS["de-DE"], "cp1252"),
        Culture("fr-FR", ("Niveau", "Date et heure", "Source", "ID de l'événement", "Catégorie de la tâche"),
                {"Information": 4, "Avertissement": 3, "Erreur": 2, "Critique": 1, "Commentaires": 5},
                "Aucun", DATE_FORMATS["fr-FR"], "cp1252"),
    )
}
LANGUAGES = tuple(CULTURES)   # the UI languages whose headers are known
# The same UI language with another culture's dates (an English Windows set to en-GB or en-AU
# writes English headers and day-first dates): what the lab writes for those cultures.
CULTURES.update({name: replace(CULTURES[base], name=name, date=DATE_FORMATS[name])
                 for name in DATE_FORMATS for base in LANGUAGES
                 if name not in CULTURES and name.split("-")[0] == base.split("-")[0]})


def unknown_language(cells: Sequence[str]) -> Culture:
    """Headers in a UI language exlab does not know: Event Viewer writes the same five columns in the
    same order in every language, so they are read by their place. The level names and the no-task
    word are not known (levels stay NA; a task reads only from ``(N)``); the dates' order is read from
    the values, as for every export.

    >>> culture = unknown_language(["Nivel", "Fecha y hora", "Origen", "Id. del evento", "Categoría de la tarea"])
    >>> culture.name, culture.levels, culture.parse_task("(2)"), culture.parse_task("")
    ('unknown', {}, 2, None)
    """
    return Culture("unknown", tuple(cell.strip() for cell in cells[:5]), {}, "", DATE_FORMATS["en-US"], "cp1252")


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
    return next((CULTURES[name] for name in LANGUAGES if CULTURES[name].headers == names), None)
