"""Each queue's send connector: by Get-SendConnector's Guid, else by its next hop as transport routes it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from exlab.transport.queue_routing import NO_CONNECTOR, queue_connectors

HYBRID = {"name": "Outbound to Office 365", "guid": "16c9b773-1428-4cb9-9e12-815afbadeec4",
          "smart_hosts": ("contoso-com.mail.protection.outlook.com",),
          "address_spaces": ("smtp:contoso.mail.onmicrosoft.com;1",)}
INTERNET = {"name": "Internet", "guid": "137c0a63-cbc7-4261-b49b-b4850e63593b", "smart_hosts": (),
            "address_spaces": ("SMTP:*;1",)}
PARTNER = {"name": "Partner", "guid": "5b8a1a4e-0e8f-4bb4-a3c4-6a1f1f7e2d10", "smart_hosts": (),
           "address_spaces": ("smtp:*.fabrikam.com;1",)}
QUEUES = pd.DataFrame({
    "identity": ["EX01\\3", "EX01\\4", "EX01\\5", "EX01\\Submission", "EX01\\6"],
    "delivery_type": ["SmartHostConnectorDelivery", "DnsConnectorDelivery", "DnsConnectorDelivery", "Undefined",
                      "SmtpRelayToMailboxDeliveryGroup"],
    "next_hop_domain": ["contoso-com.mail.protection.outlook.com", "mx.fabrikam.com", "tailspintoys.com",
                        "Submission", "mailbox delivery group"],
    "next_hop_connector": [HYBRID["guid"], PARTNER["guid"], INTERNET["guid"], NO_CONNECTOR,
                           "2d3e4f50-6172-8394-a5b6-c7d8e9f00112"]})


def _names(connectors: list[dict], queues: pd.DataFrame = QUEUES) -> dict[str, object]:
    found = queue_connectors(queues, pd.DataFrame(connectors))
    return {identity: (None if pd.isna(name) else name) for identity, name in zip(queues["identity"], found)}


def test_every_guid_exported_names_each_queue_and_the_rest_are_other_connectors():
    assert _names([HYBRID, INTERNET, PARTNER]) == {
        "EX01\\3": "Outbound to Office 365", "EX01\\4": "Partner", "EX01\\5": "Internet", "EX01\\Submission": None,
        "EX01\\6": "2d3e4f50-6172-8394-a5b6-c7d8e9f00112"}


def test_without_guids_the_smart_host_and_the_most_specific_address_space_name_the_connector():
    """``*.fabrikam.com`` routes mx.fabrikam.com before ``*`` does; tailspintoys.com only ``*`` routes; a queue
    to a mailbox delivery group goes through no send connector that the export could show."""
    chosen = [{k: v for k, v in row.items() if k != "guid"} for row in (HYBRID, INTERNET, PARTNER)]
    assert _names(chosen) == {"EX01\\3": "Outbound to Office 365", "EX01\\4": "Partner", "EX01\\5": "Internet",
                              "EX01\\Submission": None, "EX01\\6": None}


def test_a_connector_without_its_guid_among_others_with_theirs_is_still_found_by_its_next_hop():
    """Two exports: the hybrid connector's of chosen properties, the Internet connector's whole. The hybrid queue's
    GUID matches no Guid shown: it is not taken for another connector's, as it was when any Guid was known."""
    hybrid = {k: v for k, v in HYBRID.items() if k != "guid"}
    assert _names([hybrid, INTERNET])["EX01\\3"] == "Outbound to Office 365"


def test_a_partner_queue_is_another_connectors_only_when_every_connector_shows_what_routes_it():
    """Only the hybrid connector exported, without its Guid: a DNS queue to a domain its address space does not
    route is another connector's (its GUID stands for it); with no AddressSpaces shown it cannot be told."""
    hybrid = {k: v for k, v in HYBRID.items() if k != "guid"}
    assert _names([hybrid])["EX01\\5"] == INTERNET["guid"]
    assert _names([{k: v for k, v in hybrid.items() if k != "address_spaces"}])["EX01\\5"] is None
    no_guid = QUEUES.assign(next_hop_connector=None)
    assert _names([hybrid], no_guid)["EX01\\5"] == "tailspintoys.com"


def test_a_smart_host_queue_matches_in_any_case_brackets_and_from_a_stores_arrays():
    """An evidence store gives list cells back as arrays; a smart host may be an address in brackets."""
    relay = {"name": "Relay", "smart_hosts": np.array(["[10.0.0.5]"]), "address_spaces": np.array(["smtp:*;1"])}
    hybrid = {**{k: v for k, v in HYBRID.items() if k != "guid"},
              "smart_hosts": np.array(["Contoso-com.mail.protection.outlook.com."])}
    queues = pd.DataFrame({"identity": ["EX01\\3", "EX01\\7"], "delivery_type": ["SmartHostConnectorDelivery"] * 2,
                           "next_hop_domain": ["contoso-com.mail.protection.outlook.com", "10.0.0.5"],
                           "next_hop_connector": [None, None]})
    assert _names([hybrid, relay], queues) == {"EX01\\3": "Outbound to Office 365", "EX01\\7": "Relay"}


def test_two_connectors_alike_leave_the_queue_unnamed():
    twin = {**{k: v for k, v in HYBRID.items() if k != "guid"}, "name": "Outbound to Office 365 (site B)"}
    assert _names([{k: v for k, v in HYBRID.items() if k != "guid"}, twin])["EX01\\3"] is None


def test_cells_of_any_kind_in_the_connectors_lists_do_not_stop_the_match():
    """A hostile or odd export may put anything in a list: None, numbers, empty text."""
    odd = {"name": "Odd", "smart_hosts": (None, 7, ""), "address_spaces": (None, 3.5, "", "smtp:;1", "x400:;")}
    hybrid = {k: v for k, v in HYBRID.items() if k != "guid"}
    assert _names([hybrid, odd])["EX01\\3"] == "Outbound to Office 365"
    assert _names([hybrid, odd])["EX01\\5"] == INTERNET["guid"]
