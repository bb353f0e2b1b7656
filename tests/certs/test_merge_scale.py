"""The certificate merge of a fleet: one public certificate listed by thousands of servers' folders
(``EX0001/certs/fl.txt`` ... ``EX5000/certs/fl.txt``, each with its .cer beside) costs time in proportion
to them, and answers as the simple comparison of every pair of folders does."""

from __future__ import annotations

import random
import re

from exlab.certs.merge import _again, _chain, _collections, merge_rows
from tests.growth import cpu_growth

THUMBPRINT = "AB" * 20


def _fleet(servers: int) -> list[dict]:
    """Each server's Format-List of the certificate (every other one with SMTP, so that the servers' stores
    disagree and are told apart) and its .cer in the same folder."""
    rows = []
    for n in range(1, servers + 1):
        folder = f"EX{n:04d}/certs"
        rows.append({"thumbprint": THUMBPRINT, "services": ("IIS", "SMTP") if n % 2 else ("IIS",),
                     "source": f"{folder}/fl.txt"})
        rows.append({"thumbprint": THUMBPRINT, "der": b"0", "source": f"{folder}/mail.cer"})
    return rows


def test_ten_times_the_servers_folders_cost_about_ten_times_more():
    # every folder was compared with every other (and each .cer with every store): 500 folders took 0.3 s,
    # 5,000 took 36 s
    def merge(servers: int) -> None:
        merged, notes = merge_rows(_fleet(servers))
        assert len(merged) == servers and notes == []

    growth = cpu_growth(merge, 500, 5_000)
    assert growth < 30, f"10x the folders took {growth:.0f}x the time"


def test_each_servers_certificate_file_joins_its_own_servers_row_and_one_elsewhere_joins_every_row():
    rows = _fleet(3) + [{"thumbprint": THUMBPRINT, "der": b"0", "source": "mail.cer"}]
    merged, _ = merge_rows(rows)
    assert [row["source"] for row in merged] == [
        f"EX000{n}/certs/fl.txt; EX000{n}/certs/mail.cer; mail.cer" for n in (1, 2, 3)]


def _simple_collections(folders) -> dict[str, str]:
    """What :func:`exlab.certs.merge._collections` says, by comparing every pair of folders."""
    parts = {folder: tuple(filter(None, re.split(r"[/\\!]", folder))) for folder in folders}
    kin = {folder: [other for other in parts if other == folder or _again(parts[folder], parts[other])
                    or _again(parts[other], parts[folder])] for folder in parts}
    clear = {folder for folder, ones in kin.items() if _chain([parts[one] for one in ones])}
    return {folder: min((one for one in kin[folder] if one in clear), key=lambda one: len(parts[one]))
            if folder in clear else folder for folder in parts}


def test_the_collections_are_those_of_the_comparison_of_every_pair_of_folders():
    # folders of few parts, so that many hold others': the root, one part spelled with two separators
    # ("EX01/" and "EX01"), a part repeated, zips
    pieces = ["EX01", "EX02", "certs", "later", "again", "collect1", "a.zip!certs", "EX01/", "certs\\EX02"]
    chance = random.Random(2888788)
    for _ in range(300):
        folders = {"/".join(chance.choices(pieces, k=chance.randint(0, 4))) for _ in range(chance.randint(1, 12))}
        assert _collections(folders) == _simple_collections(folders), sorted(folders)
