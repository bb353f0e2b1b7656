"""The case's settings, in one place: ``exlab-case.toml`` in the case folder.

What the evidence cannot say about itself (the servers' time zone and culture, the extra trust
anchors of a lab case) or says ambiguously (which server, which send connector) is written once
in the case folder, beside the evidence, and read by :func:`exlab.open_case`, every notebook and
``exlab report``. The file is the engineer's, not evidence: the case loader never reads it as
evidence. A key left out is *unknown*, never a lab value: exlab then goes by what the evidence
says and tells what it could not know.

.. code-block:: toml

    tz = "Europe/Warsaw"             # the servers' time zone (IANA name)
    culture = "pl-PL"                # the servers' culture, when dates do not tell day from month
    roots = "lab-public-root.pem"    # extra trust anchors (PEM), in the case folder
    server_fqdn = "ex01.contoso.com" # the transport server, when the evidence does not say
    connector = "Outbound to Office 365"

    [server_tz]                      # a server whose exports were written in another zone
    EX02 = "America/New_York"        # (its folder, zip or file names it: EX02/, EX02.zip, EX02-certs.txt)

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / SETTINGS_FILE).write_text('tz = "Europe/Warsaw"\\n', encoding="utf-8")
>>> settings = case_settings(folder, connector="Outbound")
>>> settings.tz, settings.connector, settings.origin["tz"], settings.origin["connector"], settings.unknown
('Europe/Warsaw', 'Outbound', 'exlab-case.toml', 'given', ('culture', 'roots', 'server_fqdn'))
"""

from __future__ import annotations

import hashlib
import io
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exlab.cultures import DATE_FORMATS
from exlab.errors import ExlabError

SETTINGS_FILE = "exlab-case.toml"
#: The most bytes a settings file may hold: five keys take a few lines.
MAX_SIZE = 64 * 1024

#: Each setting and what it is, in the words the notebooks use.
MEANINGS = {
    "tz": "the servers' time zone",
    "culture": "the servers' culture",
    "roots": "extra trust anchors",
    "server_fqdn": "the transport server's FQDN",
    "connector": "the send connector to Exchange Online",
}
#: The setting of the servers whose zone is not ``tz``: a table, server name -> IANA zone.
SERVER_TZ = "server_tz"


@dataclass(frozen=True)
class CaseSettings:
    """The settings of one case; ``origin`` says where each set value came from
    (``exlab-case.toml`` or ``given`` by the caller); a value not set is None. ``sha256`` and
    ``size`` are those of the bytes of the ``exlab-case.toml`` read (None without one): the case
    reports the file it was steered by without opening it again."""

    tz: str | None = None
    culture: str | None = None
    roots: Path | None = None
    server_fqdn: str | None = None
    connector: str | None = None
    server_tz: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict, compare=False)
    sha256: str | None = field(default=None, compare=False)
    size: int | None = field(default=None, compare=False)

    @property
    def unknown(self) -> tuple[str, ...]:
        """The settings nobody set, in name order.

        >>> CaseSettings(tz="UTC").unknown
        ('connector', 'culture', 'roots', 'server_fqdn')
        """
        return tuple(sorted(name for name in MEANINGS if getattr(self, name) is None))

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`exlab.open_case` these settings give.

        >>> CaseSettings(tz="UTC").arguments()["tz"]
        'UTC'
        """
        return {name: getattr(self, name) for name in MEANINGS} | {SERVER_TZ: self.server_tz or None}

    def zone_of(self, file: str) -> str | None:
        """The time zone of the exports in ``file`` (its name in the case): that of the server its
        folder, zip or own name names (:meth:`exlab.attribution.ServerNames.in_path`) in ``server_tz``,
        else ``tz``.

        >>> settings = CaseSettings(tz="Europe/Warsaw", server_tz={"EX02": "America/New_York"})
        >>> settings.zone_of("EX02/Application.csv"), settings.zone_of("EX02.zip!fl.txt"), settings.zone_of("EX01/a.csv")
        ('America/New_York', 'America/New_York', 'Europe/Warsaw')
        """
        if not self.server_tz:
            return self.tz
        from exlab.attribution import ServerNames

        names = ServerNames({name.split(".")[0].lower(): name.lower() for name in self.server_tz})
        zones = {names.key(name): zone for name, zone in self.server_tz.items()}
        return zones.get(names.in_path(file), self.tz)


def read_settings(folder: str | Path) -> CaseSettings:
    """The settings written in ``folder``'s ``exlab-case.toml``; none when there is no such file
    (or ``folder`` is a .zip bundle, which carries evidence only).

    A file exlab cannot use (not TOML, a key it does not know, a value that is not text, trust
    anchors that are not there) is an :class:`~exlab.errors.ExlabError` naming the file and the key.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> read_settings(folder) == CaseSettings()
    True
    >>> _ = (folder / SETTINGS_FILE).write_text('tz = "UTC"\\n', encoding="utf-8")
    >>> read_settings(folder).sha256 == hashlib.sha256(b'tz = "UTC"\\n').hexdigest()
    True
    >>> _ = (folder / SETTINGS_FILE).write_text('timezone = "UTC"\\n', encoding="utf-8")
    >>> try:
    ...     read_settings(folder)
    ... except ExlabError as err:
    ...     print(err.where, "|", err.expected)
    key timezone | one of tz, culture, roots, server_fqdn, connector, server_tz
    """
    path = Path(folder) / SETTINGS_FILE
    if not path.is_file():
        return CaseSettings()
    with path.open("rb") as stream:      # once: parsed and hashed from the same bytes
        data = stream.read(MAX_SIZE + 1)
    if len(data) > MAX_SIZE:
        raise ExlabError(str(path), f"byte {MAX_SIZE}", f"a settings file of a few lines (at most {MAX_SIZE} bytes)")
    try:        # decoded as read_text decodes (universal newlines)
        written = tomllib.loads(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig").read())
    except UnicodeDecodeError as err:
        raise ExlabError(str(path), f"byte {err.start}", "UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise ExlabError(str(path), None, "TOML (key = \"value\" lines)", str(err)) from None
    except RecursionError:      # tomllib parses nested arrays and tables by recursion
        raise ExlabError(str(path), None, "TOML (key = \"value\" lines)", "nested too deep to read") from None
    values: dict[str, Any] = {}
    for key, value in written.items():
        if key == SERVER_TZ:
            values[key] = _server_zones(path, value)
            continue
        if key not in MEANINGS:
            raise ExlabError(str(path), f"key {key}", f"one of {', '.join([*MEANINGS, SERVER_TZ])}")
        if not isinstance(value, str) or not value.strip():
            raise ExlabError(str(path), f"key {key}", f"{MEANINGS[key]} as text in quotes", f"found {value!r}")
        values[key] = value.strip()
        problem = setting_problem(key, values[key])
        if problem is not None:
            raise ExlabError(str(path), f"key {key}", problem, f"found {value!r}")
    if "roots" in values:
        values["roots"] = _roots_in_case(path, values["roots"])
    return CaseSettings(**values, origin={key: SETTINGS_FILE for key in values},
                        sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def _server_zones(path: Path, table: Any) -> dict[str, str]:
    """The ``server_tz`` table of a settings file: server name -> IANA zone, each checked."""
    if not isinstance(table, dict):
        raise ExlabError(str(path), f"key {SERVER_TZ}", 'a table of server = "zone" lines under [server_tz]',
                         f"found {table!r}")
    zones = {}
    for name, zone in table.items():
        problem = "an IANA time zone in quotes" if not isinstance(zone, str) else setting_problem("tz", zone.strip())
        if not name.strip() or problem is not None:
            raise ExlabError(str(path), f"key {SERVER_TZ}.{name}", problem or "a server name", f"found {zone!r}")
        zones[name.strip()] = zone.strip()
    return zones


def server_zones(given: Iterable[str]) -> dict[str, str]:
    """The ``server_tz`` of ``SERVER=ZONE`` texts (``--server-tz``); a text of another shape, or a zone
    that is not an IANA name, is an :class:`~exlab.errors.ExlabError` naming it.

    >>> server_zones(["EX02=America/New_York"])
    {'EX02': 'America/New_York'}
    >>> server_zones(["EX02"])
    Traceback (most recent call last):
    exlab.errors.ExlabError: 'EX02': expected SERVER=ZONE, e.g. EX02=America/New_York
    """
    zones = {}
    for text in given:
        name, _, zone = text.partition("=")
        problem = setting_problem("tz", zone.strip()) if zone.strip() else None
        if not name.strip() or not zone.strip() or problem is not None:
            raise ExlabError(repr(text), None, problem or "SERVER=ZONE, e.g. EX02=America/New_York")
        zones[name.strip()] = zone.strip()
    return zones


def setting_problem(key: str, value: str) -> str | None:
    """What ``value`` should be for setting ``key`` when it cannot be used as it is, else None:
    a time zone that is not an IANA name, a culture whose dates exlab cannot read.

    >>> setting_problem("tz", "Europe/Warsaw"), setting_problem("tz", "CET+1")
    (None, 'an IANA time zone such as Europe/Warsaw')
    >>> setting_problem("culture", "xx-XX")[:27]
    'one of the cultures en-US, '
    """
    if key == "tz":
        expected = "an IANA time zone such as Europe/Warsaw"
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            return expected
        return None if isinstance(value, str) else expected
    if key == "culture":
        return None if isinstance(value, str) and value in DATE_FORMATS else \
            f"one of the cultures {', '.join(DATE_FORMATS)}"
    return None


def _roots_in_case(path: Path, written: str) -> Path:
    """The trust anchors file a settings file names: inside its case folder, or refused. A
    file outside the case is read only when the engineer names it (``--roots``, ``roots=``):
    a settings file copied with someone else's evidence must not make a root trusted."""
    folder = path.parent.resolve()
    roots = (folder / written).resolve()
    if not roots.is_relative_to(folder):
        raise ExlabError(str(path), "key roots", f"a PEM file of {MEANINGS['roots']} inside the case folder",
                         f"{written!r} leads outside it; name such a file yourself with --roots (roots=)")
    if not roots.is_file():
        raise ExlabError(str(path), "key roots", f"a PEM file of {MEANINGS['roots']}", f"{written!r} is not a file")
    return roots


def case_settings(folder: str | Path, **given: Any) -> CaseSettings:
    """The settings of the case in ``folder``: each value ``given`` (not None) wins over the
    settings file, whose values win over nothing.

    >>> import tempfile
    >>> case_settings(tempfile.mkdtemp(), tz="UTC", culture=None).origin
    {'tz': 'given'}
    """
    return with_given(read_settings(folder), **given)


def with_given(settings: CaseSettings, **given: Any) -> CaseSettings:
    """``settings`` (as :func:`read_settings` read them) with each value ``given`` (not None) in
    place of the file's: for a caller that keeps what the file itself says too.

    >>> with_given(CaseSettings(tz="UTC", origin={"tz": SETTINGS_FILE}), tz="Europe/Warsaw", culture=None).origin
    {'tz': 'given'}
    """
    unknown = set(given) - set(MEANINGS) - {SERVER_TZ}
    if unknown:
        raise TypeError(f"not a case setting: {', '.join(sorted(unknown))}")
    chosen = {name: (Path(value) if name == "roots" and isinstance(value, str) else value) for name, value in given.items()
              if value is not None and (value or name != SERVER_TZ)}
    return replace(settings, **chosen, origin={**settings.origin, **{name: "given" for name in chosen}})

