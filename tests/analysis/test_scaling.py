"""The diagnosis does its per-value work once per distinct value, not once per row of a month of logs,
and works the failures out of a case's events once."""

from __future__ import annotations

import importlib

import exlab.analysis.rules
import exlab.transport
from exlab.analysis.rules import Facts
from exlab.case import open_case
from exlab.transport.smtp_reply import parse_smtp_reply
from tests.analysis.frames import INTERNAL, PUBLIC, PUBLIC_ISSUER, QUEUED, UNTRUSTED, session, sessions
from tests.conftest import SAMPLES


def test_the_certificates_sessions_presented_are_looked_at_once_each(monkeypatch):
    rows = [session(f"2025-03-{day:02d}T{hour:02d}:00:00Z", QUEUED, PUBLIC, issuer=PUBLIC_ISSUER)
            for day in range(1, 29) for hour in range(24)]
    rows[5] = session("2025-03-01T05:00:00Z", UNTRUSTED, INTERNAL)
    looked_at = []
    monkeypatch.setattr(exlab.analysis.rules, "present", lambda value: looked_at.append(value) or value)
    facts = Facts.build(sessions=sessions(*rows))
    assert facts.presented == {PUBLIC: ("CN=mail.contoso.com", PUBLIC_ISSUER),
                               INTERNAL: ("CN=mail.contoso.com", "CN=Contoso Issuing CA 01, DC=contoso, DC=com")}
    assert len(looked_at) <= 2 * 3                  # thumbprint, subject, issuer of each certificate


def test_a_reply_seen_again_is_not_parsed_again():
    assert parse_smtp_reply(UNTRUSTED) is parse_smtp_reply(UNTRUSTED)


def test_a_case_works_its_failures_out_of_the_events_once(monkeypatch):
    calls = []
    real = exlab.transport.tls_failures

    def counting(events):
        calls.append(len(events))
        return real(events)

    monkeypatch.setattr(exlab.transport, "tls_failures", counting)
    monkeypatch.setattr(importlib.import_module("exlab.analysis.diagnose"), "tls_failures", counting)
    case = open_case(SAMPLES / "contoso-kb2888788", roots=SAMPLES / "lab-public-root.pem")
    assert case.diagnose().verdict == "confirmed"
    assert len(calls) == 1 and calls[0] == len(case.events)
