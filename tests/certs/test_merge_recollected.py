"""One server's certificate store collected twice, the second collection in a folder inside the first
or beside its folders (``collect1/again``, ``EX01/later/certs``), is one store: its exports that
disagree are one row with a conflict, not two rows of one server. Two servers' folders stay two."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import exlab
from exlab.lab.cert_exports import ExchangeCert, write_list

from .helpers import kb2888788_pair

TZ = "Europe/Warsaw"
CHANGE = "store disagree (taken at different times?); the first is kept"


def _export(path, services: tuple[str, ...], *, names_server: bool = False) -> None:
    """Format-List of the internal certificate (``fl *`` names its server, EX01, in Identity; ``fl`` does not)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_list([ExchangeCert(kb2888788_pair()[1].certificate, services=services)], path, tz=TZ,
               all_properties=names_server)


def _read(folder) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exlab.read_certs(folder, tz=TZ)


@pytest.mark.parametrize(("first", "again"), [("EX01/certs", "EX01/later/certs"), ("collect1", "collect1/again")],
                         ids=["beside", "inside"])
@pytest.mark.parametrize("first_names_server", [False, True], ids=["fl", "fl-star-first"])
def test_a_store_collected_again_is_one_row_with_a_conflict(tmp_path, first, again, first_names_server):
    services = {tmp_path / first / "fl.txt": ("IIS", "SMTP"), tmp_path / again / "fl.txt": ("IIS",)}
    for path, listed in services.items():      # SMTP taken off between the two collections
        _export(path, listed, names_server=first_names_server and listed == ("IIS", "SMTP"))
    frame = _read(tmp_path)
    kept, other = sorted(services, key=str)      # as read: the first file's values are kept
    assert frame["source"].tolist() == [f"{kept}; {other}"]
    assert frame.loc[0, "services"] == services[kept]
    [conflict] = frame.loc[0, "conflicts"]
    assert conflict.startswith(f"services: {', '.join(services[kept])!r} ({kept}) vs {', '.join(services[other])!r}")
    whose = "EX01's" if first_names_server else "one server's"       # fl * names it in Identity
    assert conflict.endswith(f"({other}): two exports of {whose} {CHANGE}")


def test_two_servers_folders_at_the_same_depth_stay_two_stores(tmp_path):
    _export(tmp_path / "EX01" / "certs" / "fl.txt", ("IIS", "SMTP"))
    _export(tmp_path / "EX02" / "certs" / "fl.txt", ("IIS",))
    frame = _read(tmp_path)
    assert frame["services"].tolist() == [("IIS", "SMTP"), ("IIS",)]
    assert frame["conflicts"].tolist() == [(), ()]


def test_an_export_in_the_folder_that_holds_two_servers_folders_joins_neither(tmp_path):
    """The case folder's own fl.txt is inside EX01/ and EX02/'s folder alike: whose it is cannot be told,
    so it is a store of its own and EX01 and EX02 are not merged through it."""
    _export(tmp_path / "fl.txt", ("SMTP",))
    _export(tmp_path / "EX01" / "fl.txt", ("IIS", "SMTP"))
    _export(tmp_path / "EX02" / "fl.txt", ("IIS",))
    frame = _read(tmp_path)
    assert frame["services"].tolist() == [("IIS", "SMTP"), ("IIS",), ("SMTP",)]     # read as sorted
    assert frame["conflicts"].tolist() == [(), (), ()]
