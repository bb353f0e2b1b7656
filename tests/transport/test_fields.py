"""name_fields: named insertion strings from data or from rendered messages in several languages."""

from __future__ import annotations

import pandas as pd

from exlab.events.schema import events_frame
from exlab.transport import name_fields
from exlab.transport.catalog import field_names

REPLY = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"
REPLY_PL = "454 4.7.0 Nie można ustanowić odpowiedniego kanału TLS: UntrustedRoot: Odmowa dostępu"
KB_PL = ("Wyślij wychodzący łącznik do Office 365: dostarczanie komunikatów nie powiodło się. Komunikat o "
         "identyfikatorze <komunikatu MessageID> został potwierdzony z odpowiedzią SMTP " + REPLY_PL + ".")


def rows():
    return [
        # .evtx: insertion strings, no message
        {"provider": "MSExchangeTransport", "event_id": 2004, "data": {"%1": "Outbound to Office 365",
                                                                       "%2": "<a@contoso.com>", "%3": REPLY}},
        # Event Viewer CSV in English: message only
        {"provider": "MSExchangeTransport", "event_id": 2004, "data": None, "message":
            "Send connector Outbound to Office 365 7c1f: Message delivery was not successful. The message with "
            f"message ID <b@contoso.com> was acknowledged with SMTP response {REPLY}."},
        # the Polish KB text itself: the connector name comes out as the translation wrote it
        {"provider": "MSExchangeTransport", "event_id": 2004, "data": {}, "message": KB_PL},
        # German Event Viewer text
        {"provider": "MSExchangeFrontEndTransport", "event_id": 2004, "data": {}, "message":
            "Sendeconnector Nach Office 365: Die Nachrichtenübermittlung war nicht erfolgreich. Die Nachricht mit "
            f"der Nachrichten-ID <c@contoso.de> wurde mit der SMTP-Antwort {REPLY} bestätigt."},
        # a language exlab does not know: the language-independent parts only
        {"provider": "MSExchangeTransport", "event_id": 2004, "data": {}, "message":
            f"Connettore di invio X: recapito non riuscito. Il messaggio <d@contoso.it> ha ricevuto {REPLY}."},
        # XML export with data and its own (Polish) rendering: both kept
        {"provider": "MSExchangeTransport", "event_id": 12014, "data": {"%1": "<I>CN=CA<S>CN=mail.contoso.com",
                                                                        "%2": "Outbound to Office 365"},
         "message": "Program Microsoft Exchange nie może odnaleźć certyfikatu..."},
        {"provider": "MSExchangeTransport", "event_id": 12018, "data": {}, "message":
            "Certyfikat STARTTLS o podmiocie CN=mail.contoso.com i odcisku palca "
            "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55 wygaśnie za 71 godz."},
        # not catalogued
        {"provider": "Service Control Manager", "event_id": 7036, "data": {"param1": "x"}, "message": None},
    ]


def test_fields_from_data_and_messages():
    events = events_frame(rows())
    before = events.copy(deep=True)
    named = name_fields(events)
    pd.testing.assert_frame_equal(events, before)  # the input is not mutated
    assert set(field_names()) <= set(named.columns)
    assert named["connector"].fillna("-").tolist()[:5] == ["Outbound to Office 365", "Outbound to Office 365 7c1f",
                                               "wychodzący łącznik do Office 365", "Nach Office 365", "-"]
    assert named["message_id"].tolist()[:5] == ["<a@contoso.com>", "<b@contoso.com>", "<komunikatu MessageID>",
                                                "<c@contoso.de>", "<d@contoso.it>"]
    assert named["smtp_response"].tolist()[:5] == [REPLY, REPLY, REPLY_PL, REPLY, REPLY]
    assert named.loc[5, "certificate_name"] == "<I>CN=CA<S>CN=mail.contoso.com"
    assert named.loc[5, "connector"] == "Outbound to Office 365"
    assert named.loc[6, ["subject", "thumbprint", "hours_remaining"]].tolist() == [
        "CN=mail.contoso.com", "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55", "71"]
    assert named.iloc[7][list(field_names())].isna().all()


def test_message_kept_or_rendered():
    named = name_fields(events_frame(rows()))
    assert named.loc[0, "message"].startswith("Send connector Outbound to Office 365: Message delivery")
    assert named.loc[0, "message"].endswith("UntrustedRoot: Access Denied.")
    assert named.loc[2, "message"] == KB_PL
    assert named.loc[5, "message"].startswith("Program Microsoft Exchange")
    assert pd.isna(named.loc[7, "message"])
    assert str(named["message"].dtype) == "string" and str(named["connector"].dtype) == "string"


def test_empty_frame():
    named = name_fields(events_frame([]))
    assert len(named) == 0 and "smtp_response" in named.columns


def test_thumbprints_in_the_order_the_event_names_them():
    configured, ephemeral = "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55", "0123456789ABCDEF0123456789ABCDEF01234567"
    events = events_frame([{"provider": "MSExchangeTransport", "event_id": 12024, "data": {},
                            "message": f"Zertifikat {configured} fehlt; ein temporäres Zertifikat {ephemeral}."}])
    named = name_fields(events)
    assert (named.loc[0, "configured_thumbprint"], named.loc[0, "thumbprint"]) == (configured, ephemeral)


def test_a_frame_of_events_is_named_as_each_of_its_rows_alone():
    # the catalogued rows' cells are read a column at a time: each row must still get its own values
    import exlab
    from tests.conftest import SAMPLES

    files = sorted(SAMPLES.glob("*/events/*")) + sorted(SAMPLES.glob("*/*/events/*"))
    read = exlab.read_events(files, tz="UTC")
    read = read.iloc[::-11]     # every format and language, not in the readers' order; a row alone costs ~10 ms
    events = pd.concat([read, events_frame(rows())], ignore_index=True)
    alone = pd.concat([name_fields(events.iloc[[i]]) for i in range(len(events))])
    pd.testing.assert_frame_equal(name_fields(events), alone)
    assert name_fields(events)["connector"].notna().sum() > 50
