"""The server column: every row of every frame attributed to the server it came from, once per file."""

from __future__ import annotations

import pandas as pd

from exlab.attribution import ServerNames, attribute_servers, evidence_servers, rows_of, split_servers

SERVERS = pd.DataFrame({"name": ["EX01", "EX02"], "fqdn": ["ex01.contoso.com", "ex02.contoso.com"]})


def test_netbios_names_become_the_fqdn_get_exchange_server_gives():
    events = pd.DataFrame({"computer": ["EX01", "ex02.contoso.com", None], "source": ["a.evtx", "b.evtx", "c.csv"]})
    out = attribute_servers({"events": events, "servers": SERVERS})
    assert out["events"]["server"].tolist()[:2] == ["ex01.contoso.com", "ex02.contoso.com"]
    assert out["events"]["server"].isna().tolist() == [False, False, True]      # two servers: c.csv names none
    assert out["servers"]["server"].tolist() == ["ex01.contoso.com", "ex02.contoso.com"]
    assert "server" not in events and "server" not in SERVERS      # the frames given are left as they were


def test_protocol_logs_take_the_server_folder_they_sit_in_windows_paths_too():
    sessions = pd.DataFrame({"session_id": ["1", "2", "3"],
                             "source": ["EX02/Logs/ProtocolLog/SmtpSend/SEND1.LOG",
                                        "collected\\ex01\\SmtpSend\\SEND1.LOG",
                                        "ProtocolLog/SEND2.LOG"]})
    out = attribute_servers({"sessions": sessions, "servers": SERVERS})
    assert out["sessions"]["server"].tolist()[:2] == ["ex02.contoso.com", "ex01.contoso.com"]
    assert pd.isna(out["sessions"]["server"].iloc[2])


def test_tracking_logs_are_their_own_hosts_not_the_remote_host_of_send_rows():
    tracking = pd.DataFrame({"event_id": ["SEND", "SEND", "SEND", "RECEIVE", "DELIVER"],
                             "server_hostname": ["contoso-com.mail.protection.outlook.com"] * 3
                             + ["EX02.contoso.com", "EX02.contoso.com"],
                             "source": ["MSGTRK1.LOG"] * 5})
    out = attribute_servers({"tracking": tracking, "servers": SERVERS})
    assert set(out["tracking"]["server"]) == {"ex02.contoso.com"}


def test_a_case_of_one_server_owns_the_files_that_name_none():
    events = pd.DataFrame({"computer": ["EX01.contoso.com"], "source": ["Application.evtx"]})
    sessions = pd.DataFrame({"session_id": ["1"], "source": ["SEND1.LOG"]})
    certs = pd.DataFrame({"thumbprint": ["AB" * 20], "source": ["certs/mail.cer"]})
    out = attribute_servers({"events": events, "sessions": sessions, "certs": certs})
    assert out["sessions"]["server"].tolist() == out["certs"]["server"].tolist() == ["ex01.contoso.com"]


def test_certificates_keep_the_server_their_reader_gave_else_every_folder_that_held_them():
    certs = pd.DataFrame({"thumbprint": ["A", "B"], "server": ["ex01", None],
                          "source": ["x.xml", "EX01/fl.txt; EX02/fl.txt"]})
    out = attribute_servers({"certs": certs, "servers": SERVERS})
    assert out["certs"]["server"].tolist() == ["ex01.contoso.com", "ex01.contoso.com; ex02.contoso.com"]
    assert rows_of(out["certs"], ["ex02.contoso.com"])["thumbprint"].tolist() == ["B"]


def test_connectors_carry_their_source_transport_servers():
    connectors = pd.DataFrame({"name": ["Outbound"], "source_transport_servers": [("EX01", "EX03")],
                               "source": ["Get-SendConnector.txt"]})
    out = attribute_servers({"connectors": connectors, "servers": SERVERS})
    assert out["connectors"]["server"].tolist() == ["ex01.contoso.com; EX03"]
    assert evidence_servers(out) == []      # settings describe the organisation, not one server's evidence


def test_server_names_map_and_keep_what_they_cannot_map():
    names = ServerNames.build(servers=SERVERS)
    assert (names.key("ex02"), names.key("EX09"), names.in_path("EX09/x.log")) == ("ex02.contoso.com", "EX09", None)


def test_servers_named_by_folders_zips_and_files_as_engineers_name_them(tmp_path):
    """Copies of C:\\exlab from three servers, named as an engineer names them: a folder
    ``exlab-LWEX01``, a zip ``LWEX02.zip``, loose files ``LWEX03-...``. Each row is still its
    server's, and the verdicts are those of the sample's server folders."""
    import shutil
    import warnings

    import exlab
    from tests.conftest import SAMPLES
    from tests.test_bundle import zip_folder

    sample = SAMPLES / "litware-servers"
    folder = tmp_path / "collected"
    shutil.copytree(sample, folder, ignore=shutil.ignore_patterns("LWEX0*"))
    shutil.copytree(sample / "LWEX01", folder / "exlab-LWEX01")
    zip_folder(sample / "LWEX02", folder / "LWEX02.zip")
    for path in (sample / "LWEX03").iterdir():
        shutil.copy(path, folder / f"LWEX03-{path.name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        named, original = exlab.open_case(folder), exlab.open_case(sample)
    for kind in ("certs", "sessions", "tracking"):
        assert getattr(named, kind)["server"].isna().sum() == 0, kind
        assert sorted(getattr(named, kind)["server"].map(lambda cell: sorted(split_servers(cell)))) == \
            sorted(getattr(original, kind)["server"].map(lambda cell: sorted(split_servers(cell)))), kind
    assert named.server_verdicts().equals(original.server_verdicts())
