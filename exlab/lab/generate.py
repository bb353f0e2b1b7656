"""Turn a lab scenario into the evidence an engineer would have exported, plus truth.json.

:func:`generate_case` plays a case forward (``exlab.lab.scenario.simulate``), makes its
certificates with the lab PKI, and writes every file the case's ``exports`` list names
through the lab writers (``exlab.lab.evtx_writer``, ``event_exports``, ``cert_exports``,
``transport_logs``, ``pki``). The case folder is ``OUTDIR/<case>/``; the lab public root
goes to ``OUTDIR/lab-public-root.pem`` (the engineer passes it with ``--roots``), and a copy
into each case folder, named by the case's ``exlab-case.toml`` as the engineer's note: it is
not evidence (the loader never reads it as such) and every report names it on its first screen.

The same case and seed give byte-identical files. PKCS#12 (.pfx) files would not (their
encryption draws random salts), so no case exports one.

>>> import tempfile, json, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> result = generate_case("contoso-kb2888788", out, seed=1, events=50, only=("cer",))
>>> truth = json.loads((out / "contoso-kb2888788" / "truth.json").read_text(encoding="utf-8"))
>>> truth["verdict"], truth["cause"], truth["culprit"] == result.thumbprint("internal")
('confirmed', 'kb2888788', True)
>>> (out / "lab-public-root.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
True
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exlab.lab import scenario as model
from exlab.lab.cases import case as load_case
from exlab.lab.cases import names as case_names
from exlab.lab.pki import LabCertificate, LabPki, cer_bytes, p7b_bytes, roots_pem
from exlab.lab.scenario import Export, History, Scenario, ServerSpec, iso_ns, simulate
from exlab.settings import SETTINGS_FILE

log = logging.getLogger(__name__)

DEFAULT_SEED = 1
PUBLIC_PKI_SEED = "exlab-lab-public"   # one lab "public" CA for every case and seed, like a real CA
ROOTS_FILE = "lab-public-root.pem"


@dataclass
class Generated:
    """What :func:`generate_case` wrote: the case folder, its files, and what it could not write."""

    scenario: Scenario
    seed: int
    folder: Path
    history: History
    certificates: dict[str, LabCertificate]
    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)   # "<export path>: <why>"
    application_records: dict[str, int] = field(default_factory=dict)

    def thumbprint(self, key: str | None) -> str | None:
        """The thumbprint of the certificate called ``key`` in the case (None for None)."""
        return None if key is None else self.certificates[key].thumbprint


# --- certificates -----------------------------------------------------------------------

def build_certificates(scenario: Scenario, seed: int) -> dict[str, LabCertificate]:
    """Every certificate of the case, by key, from the lab PKI (deterministic).

    >>> from exlab.lab.cases import case
    >>> certs = build_certificates(case("contoso-kb2888788"), 1)
    >>> certs["internal"].issuer, certs["public"].issuer
    ('CN=Contoso Issuing CA 01, DC=contoso, DC=com', 'CN=exlab Lab Public Server CA 01, O=exlab lab, C=US')
    """
    internal = LabPki(f"{scenario.case}:{seed}", domain=scenario.domain, organization=scenario.org)
    out: dict[str, LabCertificate] = {}
    for spec in scenario.certificates:
        not_before = model.parse_time(spec.not_before)
        if spec.issuer == "public":
            pki = LabPki(PUBLIC_PKI_SEED, domain=scenario.domain, organization=spec.organization or scenario.org)
            out[spec.key] = pki.server(spec.subject_cn, spec.dns_names, ca="public", not_before=not_before,
                                       not_after=model.parse_time(spec.not_after))
        elif spec.issuer == "internal":
            out[spec.key] = internal.server(spec.subject_cn, spec.dns_names, ca="internal", not_before=not_before,
                                            not_after=model.parse_time(spec.not_after))
        elif spec.issuer == "self-signed":
            server = scenario.server(spec.servers[0])
            out[spec.key] = internal.exchange_self_signed(server.name, server.fqdn, not_before=not_before)
        elif spec.issuer == "auth":
            out[spec.key] = internal.exchange_auth(not_before=not_before)
        else:
            raise ValueError(f"{scenario.case}: certificate {spec.key} has unknown issuer {spec.issuer!r}")
    return out


def public_root() -> LabCertificate:
    """The lab public root CA (the same for every case and seed).

    >>> public_root().subject
    'CN=exlab Lab Public Root CA, O=exlab lab, C=US'
    """
    return LabPki(PUBLIC_PKI_SEED).public_root


# --- event rendering ----------------------------------------------------------------------

#: The transport events this lab emits, rendered as a Polish or German server shows them
#: (the Polish 2004 follows KB 2888788's Polish text; SMTP answers stay as sent, in English).
TRANSPORT_MESSAGES: dict[str, dict[int, str]] = {
    "pl-PL": {
        2004: ("Wyślij łącznik %1: dostarczanie komunikatów nie powiodło się. Komunikat o identyfikatorze %2 "
               "został potwierdzony z odpowiedzią SMTP %3."),
        12014: ("Program Microsoft Exchange nie może odnaleźć certyfikatu zawierającego nazwę domeny %1 w "
                "magazynie osobistym na komputerze lokalnym, więc nie może obsługiwać polecenia STARTTLS dla "
                "łącznika %2."),
        12016: "Certyfikat STARTTLS dla nazwy FQDN %1 wygasł.",
        12018: "Certyfikat STARTTLS o podmiocie %1 i odcisku palca %2 wygaśnie za %3 godz.",
    },
    "de-DE": {
        2004: ("Sendeconnector %1: Die Nachrichtenübermittlung war nicht erfolgreich. Die Nachricht mit der "
               "Nachrichten-ID %2 wurde mit der SMTP-Antwort %3 bestätigt."),
        12014: ("Microsoft Exchange konnte im persönlichen Speicher auf dem lokalen Computer kein Zertifikat "
                "mit dem Domänennamen %1 finden und kann daher STARTTLS für den Connector %2 nicht "
                "unterstützen."),
        12016: "Das STARTTLS-Zertifikat für den FQDN %1 ist abgelaufen.",
        12018: "Das STARTTLS-Zertifikat mit dem Antragsteller %1 und dem Fingerabdruck %2 läuft in %3 Stunden ab.",
    },
}


def render_transport(event_id: int, data: dict[str, str], culture: str) -> str:
    """The text of a lab transport event in ``culture`` (exlab's English catalog otherwise).

    >>> render_transport(12016, {"%1": "mail.contoso.com"}, "pl-PL")
    'Certyfikat STARTTLS dla nazwy FQDN mail.contoso.com wygasł.'
    """
    template = TRANSPORT_MESSAGES.get(culture, {}).get(event_id)
    if template is None:
        from exlab.transport.catalog import render_message
        return render_message("MSExchangeTransport", event_id, data) or ""
    for index in sorted((int(k[1:]) for k in data if k.startswith("%")), reverse=True):
        template = template.replace(f"%{index}", data[f"%{index}"])
    return template


@dataclass(frozen=True)
class LogRecord:
    """One Application log record of a server and how to render it in a culture."""

    row: dict
    noise: model.NoiseKind | None
    context: dict

    def message(self, culture: str) -> str:
        """The record's text in ``culture`` (Event Viewer's description column, RenderingInfo)."""
        if self.noise is None:
            return render_transport(self.row["event_id"], self.row["data"], culture)
        return model.noise_message(self.noise, self.row["data"], culture, self.context)


def application_records(gen: Generated, server: ServerSpec, count: int | None) -> Iterator[LogRecord]:
    """The server's whole Application log in time order (noise and transport events), streamed.

    Record ids continue a server's long-running log (a number well above 1); a saved
    export renumbers the record headers from 1 (``record_number``).

    >>> from exlab.lab.cases import case
    >>> site = case("contoso-kb2888788")
    >>> gen = Generated(site, 1, Path("."), simulate(site, 1), build_certificates(site, 1))
    >>> first = next(r for r in application_records(gen, site.servers[0], 100) if r.noise is None)
    >>> first.row["event_id"], first.message("pl-PL")[:40]
    (2004, 'Wyślij łącznik Outbound to Office 365: d')
    """
    scenario = gen.scenario
    rng = model.rng_for(scenario.case, gen.seed, server.name, "record-ids")
    first = rng.randrange(150_000, 2_500_000)
    thumbprints = {key: cert.thumbprint for key, cert in gen.certificates.items()}
    transport = ((e.time, 1, i, e) for i, e in enumerate(gen.history.transport_events(server=server.name)))
    noise = ((row["time_created"], 0, i, (row, kind, context)) for i, (row, kind, context) in
             enumerate(model.background_events(scenario, server, gen.seed, count)))
    for number, (_, is_transport, _, item) in enumerate(heapq.merge(noise, transport, key=lambda x: x[:3]), 1):
        if is_transport:
            row = model.transport_row(scenario, server, item)
            if item.cert is not None:
                row["data"] = {k: v.replace("{thumbprint}", thumbprints[item.cert]) for k, v in row["data"].items()}
            record = LogRecord(row, None, {})
        else:
            record = LogRecord(item[0], item[1], item[2])
        record.row["record_id"] = first + number - 1
        record.row["record_number"] = number
        yield record


def _wanted(export: Export, record: LogRecord) -> bool:
    providers, levels = export.option("providers"), export.option("levels")
    return ((providers is None or record.row["provider"] in providers)
            and (levels is None or record.row["level"] in levels))


# --- writers, one per export kind -----------------------------------------------------------

Writer = Callable[["Generated", Export, Path, "int | None"], None]


def _write_evtx(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    from exlab.lab.evtx_writer import write_evtx
    server = gen.scenario.server(export.server)
    dirty = bool(export.option("dirty", False))
    counted = 0

    def rows() -> Iterator[dict]:
        nonlocal counted
        for record in application_records(gen, server, events):
            row = dict(record.row)
            if dirty:   # a copy of the live log: record headers keep the log's own numbers
                row.pop("record_number")
            counted += 1
            yield row

    write_evtx(path, rows(), dirty=dirty, header_chunk_count=1 if dirty else None)
    gen.application_records[str(export.server)] = counted


def _event_rows(gen: Generated, export: Export, events: int | None) -> Iterator[dict]:
    """The rows an event export holds (filtered as the export was), rendered in its culture, streamed."""
    culture = str(export.option("culture", "en-US"))
    server = gen.scenario.server(str(export.server))
    for record in application_records(gen, server, events):
        if _wanted(export, record):
            row = dict(record.row, message=record.message(culture))
            row.pop("record_number")
            yield row


#: Task categories of the events the lab writes (the names Event Viewer shows).
TASK_NAMES: dict[tuple[str, int], str] = {
    ("MSExchangeTransport", 2): "SmtpSend",
    ("MSExchangeTransport", 12): "TransportService",
    ("MSExchange ADAccess", 6): "Topology",
    ("ESENT", 1): "General",
    ("MSExchangeIS", 6): "General",
}


def _zone(gen: Generated, export: Export) -> str:
    """The zone an export writes local times in: its own ``tz`` option (the server's, where it is not
    the site's), else the scenario's."""
    return str(export.option("tz", gen.scenario.tz))


def _write_event_xml(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    from exlab.lab import event_exports
    rows = _event_rows(gen, export, events)
    if export.option("style") == "wevtutil":
        event_exports.write_wevtutil_xml(path, rows, task_names=TASK_NAMES)
    else:
        event_exports.write_event_viewer_xml(path, rows, culture=str(export.option("culture", "en-US")),
                                             task_names=TASK_NAMES)


def _write_event_text(function: str) -> Writer:
    def write(gen: Generated, export: Export, path: Path, events: int | None) -> None:
        from exlab.lab import event_exports
        getattr(event_exports, function)(path, _event_rows(gen, export, events),
                                         culture=str(export.option("culture", "en-US")), tz=_zone(gen, export),
                                         task_names=TASK_NAMES)
    return write


def _write_event_clixml(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    from exlab.lab import event_exports
    event_exports.write_eventlog_clixml(path, _event_rows(gen, export, events), tz=gen.scenario.tz,
                                        task_names=TASK_NAMES)


def _write_event_winevent(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    from exlab.lab import event_exports
    newest_first = list(_event_rows(gen, export, events))[::-1]   # Get-WinEvent's order
    event_exports.write_winevent_clixml(path, newest_first, tz=gen.scenario.tz, task_names=TASK_NAMES,
                                        culture=str(export.option("culture", "en-US")))


def _write_cer(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    cert = gen.certificates[str(export.option("cert"))]
    path.write_bytes(cer_bytes(cert, pem=bool(export.option("pem", False))))


def _write_p7b(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    cert = gen.certificates[str(export.option("cert"))]
    path.write_bytes(p7b_bytes(cert.chain))


def _session_spec(gen: Generated, session: model.Session) -> Any:
    from exlab.lab.transport_logs import LoggedCertificate, LoggedMessage, ProtocolSession
    scenario = gen.scenario
    server = scenario.server(session.server)
    messages = {m.message_id: m for m in gen.history.messages}
    presented = None
    if session.certificate is not None:
        cert = gen.certificates[session.certificate]
        serial = f"{cert.certificate.serial_number:X}"
        presented = LoggedCertificate(cert.subject, cert.issuer, serial.zfill(len(serial) + len(serial) % 2),
                                      cert.thumbprint, tuple(_dns_names(cert)))
    carried = () if session.local_failure else tuple(
        LoggedMessage(m.message_id, m.sender, m.recipients, m.size, m.internal_id)
        for m in (messages[i] for i in session.messages))
    rng = model.rng_for(scenario.case, gen.seed, session.session_id, "exo-host")
    host = f"{rng.choice(_EXO_PREFIXES)}{rng.getrandbits(16):04X}.mail.protection.outlook.com"
    return ProtocolSession(
        connector=session.connector, session_id=session.session_id, start=session.start, end=session.end,
        local_endpoint=session.local_endpoint, remote_endpoint=session.remote_endpoint,
        ehlo_domain=scenario.connector.tls_name(server), remote_host=host, certificate=presented,
        remote_certificate=EXO_CERTIFICATE() if presented is not None else None,
        reply=session.reply, reply_at=session.reply_at if session.reply else None, messages=carried)


_EXO_PREFIXES = ("AM4PEPF0002", "DB5PEPF0001", "CO1PEPF0000", "SN1PEPF0002")  # front-end host names


def EXO_CERTIFICATE() -> Any:  # noqa: N802 - a constant built lazily (the writer module may be missing)
    """The certificate Exchange Online's front ends present, as the protocol log shows it.

    >>> EXO_CERTIFICATE().subject.split(",")[0]
    'CN=mail.protection.outlook.com'
    """
    from exlab.lab.transport_logs import LoggedCertificate
    digest = hashlib.sha1(b"exlab lab: mail.protection.outlook.com").hexdigest().upper()  # noqa: S324 - a label
    return LoggedCertificate(
        "CN=mail.protection.outlook.com, O=Microsoft Corporation, L=Redmond, S=Washington, C=US",
        "CN=DigiCert Cloud Services CA-1, O=DigiCert Inc, C=US", digest[:32], digest,
        ("mail.protection.outlook.com", "*.mail.protection.outlook.com", "*.mail.eo.outlook.com"))


def _dns_names(cert: LabCertificate) -> list[str]:
    from cryptography import x509
    try:
        san = cert.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return san.value.get_values_for_type(x509.DNSName)


def _write_protocol_log(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    from exlab.lab.transport_logs import log_version, write_protocol_logs
    sessions = [_session_spec(gen, s) for s in gen.history.sessions if s.server == export.server]
    version = log_version(gen.scenario.server(str(export.server)).exchange_version)
    gen.files.extend(write_protocol_logs(path, sessions, version=version))


def _tracking_rows(gen: Generated, server: str) -> list[dict]:
    from exlab.lab.transport_logs import tracking_row
    spec = gen.scenario.server(server)
    rows = []
    for entry in gen.history.tracking:
        if entry.server != server:
            continue
        m = entry.message
        rows.append(tracking_row(
            entry.time, entry.event_id, message_id=m.message_id, sender=m.sender, recipients=m.recipients,
            local_hostname=spec.fqdn, local_ip=spec.ip,
            remote_hostname=entry.server_hostname if entry.source == "SMTP" else None,
            remote_ip=entry.server_ip if entry.source == "SMTP" else None, event_source=entry.source, connector_id=entry.connector,
            recipient_status=entry.recipient_status or _default_status(entry.event_id),
            internal_message_id=str(m.internal_id), network_message_id=m.network_id, message_subject=m.subject,
            total_bytes=m.size))
    return rows


def _default_status(event_id: str) -> str:
    return {"SEND": "250 2.1.5 Recipient OK", "DELIVER": "250 2.1.5 RESOLVER.ADR.ExRecipient; resolved"}.get(
        event_id, "")


def _write_tracking_log(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    from exlab.lab.transport_logs import log_version, write_tracking_logs
    version = log_version(gen.scenario.server(str(export.server)).exchange_version)
    gen.files.extend(write_tracking_logs(path, _tracking_rows(gen, str(export.server)), version=version))


_ROOT_CA_TYPES = {"public": "ThirdParty", "internal": "Enterprise", "self-signed": "Registry", "auth": "None"}   # as real servers report them


def exchange_certificates(gen: Generated, server: str) -> list[Any]:
    """What Get-ExchangeCertificate on ``server`` showed when the case's certificates were exported.

    Status is judged as the server judges it: it trusts its own enterprise root, so the
    internal certificate reads Valid; only an expired one reads DateInvalid.

    >>> from exlab.lab.cases import case
    >>> site = case("contoso-kb2888788")
    >>> gen = Generated(site, 1, Path("."), simulate(site, 1), build_certificates(site, 1))
    >>> [(c.friendly_name, c.status, c.root_ca_type) for c in exchange_certificates(gen, "EXCHANGE")][:2]
    [('mail.contoso.com 2024', 'Valid', 'ThirdParty'), ('Contoso internal', 'Valid', 'Enterprise')]
    """
    from exlab.lab.cert_exports import ExchangeCert
    scenario = gen.scenario
    when = model.to_ns(model.parse_time(scenario.certs_exported))
    out = []
    for spec in scenario.certificates:
        if server not in spec.servers or not spec.present_at(when):
            continue
        out.append(ExchangeCert(
            gen.certificates[spec.key].certificate, services=spec.services_at(when),
            status="Valid" if spec.not_before_ns <= when < spec.not_after_ns else "DateInvalid",
            root_ca_type=_ROOT_CA_TYPES[spec.issuer], friendly_name=spec.friendly_name,
            has_private_key=True, server=server))
    return out


def _write_exchange_certs(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    from exlab.lab import cert_exports
    certs = exchange_certificates(gen, str(export.server))
    culture, tz = str(export.option("culture", gen.scenario.culture)), _zone(gen, export)
    shape = export.option("shape")
    if shape == "table":
        cert_exports.write_table(certs, path)
    elif shape in ("fl", "fl*"):
        cert_exports.write_list(certs, path, culture=culture, tz=tz, all_properties=shape == "fl*")
    elif shape == "csv":
        cert_exports.write_csv(certs, path, culture=culture, tz=tz)
    elif shape in ("clixml-remote", "clixml-local"):
        cert_exports.write_clixml(certs, path, culture=culture, tz=tz, remote=shape == "clixml-remote")
    elif shape == "json":
        cert_exports.write_json(certs, path)
    else:
        raise ValueError(f"{export.path}: unknown Get-ExchangeCertificate shape {shape!r}")


def _write_send_connector(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    from exlab.lab.transport_logs import write_send_connectors
    c = gen.scenario.connector
    write_send_connectors(path, [{
        "name": c.name, "identity": c.name, "fqdn": c.fqdn, "tls_certificate_name": c.tls_certificate_name,
        "require_tls": c.require_tls, "tls_auth_level": c.tls_auth_level, "tls_domain": c.tls_domain,
        "smart_hosts": (c.smart_host,), "address_spaces": c.address_spaces,
        "cloud_services_mail_enabled": c.cloud_services_mail_enabled,
        "protocol_logging_level": c.protocol_logging_level, "source_transport_servers": c.source_servers,
        "frontend_proxy_enabled": c.frontend_proxy_enabled,
    }], shape=str(export.option("shape", "fl")), culture=gen.scenario.culture)


def _write_receive_connector(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    from exlab.lab.transport_logs import default_receive_connectors, write_receive_connectors
    scenario = gen.scenario
    servers = [scenario.server(str(export.server))] if export.server else list(scenario.servers)
    hybrid = scenario.connector
    connectors = [c for s in servers for c in default_receive_connectors(
        s.name, s.fqdn, hybrid_fqdn=hybrid.fqdn, tls_certificate_name=hybrid.tls_certificate_name)]
    write_receive_connectors(path, connectors, shape=str(export.option("shape", "fl")), culture=scenario.culture)


def _write_exchange_server(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    from exlab.lab.transport_logs import write_exchange_servers
    scenario = gen.scenario
    site = f"{scenario.domain}/Configuration/Sites/Default-First-Site-Name"
    write_exchange_servers(path, [{"name": s.name, "fqdn": s.fqdn, "version": s.exchange_version, "site": site}
                                  for s in scenario.servers],
                           shape=str(export.option("shape", "fl")), culture=scenario.culture)


RETRY_INTERVAL_NS = 15 * 60 * 10**9      # a Mailbox server's MessageRetryInterval (Exchange's default)


def queue_snapshot(gen: Generated, server: str, at: int) -> list[dict]:
    """What ``Get-Queue`` on ``server`` showed at ``at`` (ns): its Submission queue and, when the server had sent to
    Exchange Online by then, the connector's queue: in Retry with the last attempt's answer when that attempt
    failed (its first retry the first failure since the last delivery, its messages those deferred and not sent
    by then), else Ready and empty.

    >>> from exlab.lab.cases import case
    >>> site = case("contoso-kb2888788")
    >>> gen = Generated(site, 1, Path("."), simulate(site, 1), build_certificates(site, 1))
    >>> queues = queue_snapshot(gen, "EXCHANGE", model.to_ns(model.parse_time(site.certs_exported)))
    >>> [(q["identity"], q["status"], q["led"][:9] if q["led"] else None) for q in queues]
    [('EXCHANGE\\\\Submission', 'Ready', None), ('EXCHANGE\\\\3', 'Retry', '454 4.7.0')]
    """
    import pandas as pd

    from exlab.lab.transport_logs import connector_guid, queue_row
    connector = gen.scenario.connector
    queues = [queue_row(server, "Submission", next_hop_domain="Submission", connector_guid=str(uuid.UUID(int=0)),
                        message_count=0, status="Ready", delivery_type="Undefined", next_hop_category="Internal")]
    sent = [s for s in gen.history.sessions if s.server == server and s.reply_at <= at]
    if not sent:
        return queues
    delivered = [index for index, session in enumerate(sent) if not session.failed]
    failing = sent[delivered[-1] + 1:] if delivered else sent
    last = sent[-1]
    stamp = (lambda ns: pd.Timestamp(ns, tz="UTC")) if failing else (lambda ns: None)
    logged = [(entry.event_id, entry.message.message_id) for entry in gen.history.tracking
              if entry.server == server and entry.time <= at]
    waiting = {m for event, m in logged if event == "DEFER"} - {m for event, m in logged if event == "SEND"}
    queues.append(queue_row(
        server, 3, next_hop_domain=connector.smart_host, connector_guid=connector_guid(connector.name),
        message_count=len(waiting) if failing else 0, status="Retry" if failing else "Ready",
        last_error_reply=last.reply, last_error_fqdn=last.remote_host,
        last_error_ip=last.remote_endpoint.rsplit(":", 1)[0], last_retry=stamp(last.reply_at),
        first_retry=stamp(failing[0].reply_at if failing else 0),
        next_retry=stamp(last.reply_at + RETRY_INTERVAL_NS), retry_count=len(failing)))
    return queues


def _write_queue(gen: Generated, export: Export, path: Path, events: int | None) -> None:
    from exlab.lab.transport_logs import write_queue_export
    scenario = gen.scenario
    server = scenario.server(str(export.server))
    at = model.to_ns(model.parse_time(str(export.option("at", scenario.certs_exported))))
    write_queue_export(queue_snapshot(gen, server.name, at), path, str(export.option("shape", "fl")),
                       culture=str(export.option("culture", scenario.culture)), tz=scenario.tz, width=80,
                       server=server.name, version=2010 if server.exchange_version.startswith("14.") else 2016)


WRITERS: dict[str, Writer] = {
    "evtx": _write_evtx,
    "event-xml": _write_event_xml,
    "event-csv": _write_event_text("write_event_viewer_csv"),
    "event-txt": _write_event_text("write_event_viewer_txt"),
    "event-clixml": _write_event_clixml,
    "event-winevent": _write_event_winevent,
    "cer": _write_cer,
    "p7b": _write_p7b,
    "protocol-log": _write_protocol_log,
    "tracking-log": _write_tracking_log,
    "exchange-certs": _write_exchange_certs,
    "send-connector": _write_send_connector,
    "receive-connector": _write_receive_connector,
    "exchange-server": _write_exchange_server,
    "queue": _write_queue,
}

#: The command on the server that produced each kind of export (README.md quotes them).
COMMANDS: dict[str, str] = {
    "evtx": "Event Viewer > Application > Save All Events As... (.evtx)",
    "evtx-dirty": r"copy C:\Windows\System32\winevt\Logs\Application.evtx (a copy of the live log)",
    "event-xml": "Event Viewer > Application > Filter Current Log > Save Filtered Log File As... (XML)",
    "event-xml-wevtutil": "wevtutil qe Application /q:<filter> /f:xml > file",
    "event-csv": "Event Viewer > Application > Save ... As (CSV, Comma Separated)",
    "event-txt": "Event Viewer > Application > Save ... As (Text, Tab Delimited)",
    "event-clixml": "Get-EventLog Application -Source MSExchangeTransport [-EntryType ...] | Export-Clixml",
    "event-winevent": "Get-WinEvent -FilterHashtable @{LogName='Application'; ProviderName='MSExchangeTransport'} "
                      "| Export-Clixml file",
    "cer": "certlm.msc > Personal > Certificates > Export (.cer)",
    "p7b": "certlm.msc > Export > PKCS #7 with the certification path (.p7b)",
    "protocol-log": r"copy %ExchangeInstallPath%TransportRoles\Logs\Hub\ProtocolLog\SmtpSend\*",
    "tracking-log": r"copy %ExchangeInstallPath%TransportRoles\Logs\MessageTracking\*",
    "exchange-certs-table": "Get-ExchangeCertificate > file",
    "exchange-certs-fl": "Get-ExchangeCertificate | fl > file",
    "exchange-certs-fl*": "Get-ExchangeCertificate | fl * > file",
    "exchange-certs-csv": "Get-ExchangeCertificate | Export-Csv file",
    "exchange-certs-clixml-remote": "Get-ExchangeCertificate | Export-Clixml file (remote Exchange Management Shell)",
    "exchange-certs-clixml-local": "Get-ExchangeCertificate | Export-Clixml file (local shell on the server)",
    "exchange-certs-json": "Get-ExchangeCertificate | ConvertTo-Json > file",
    "send-connector-fl": "Get-SendConnector | fl > file",
    "send-connector-clixml": "Get-SendConnector | Export-Clixml file",
    "send-connector-json": "Get-SendConnector | ConvertTo-Json > file",
    "receive-connector-fl": "Get-ReceiveConnector | fl > file",
    "receive-connector-clixml": "Get-ReceiveConnector | Export-Clixml file",
    "receive-connector-json": "Get-ReceiveConnector | ConvertTo-Json > file",
    "exchange-server-fl": "Get-ExchangeServer | fl > file",
    "exchange-server-clixml": "Get-ExchangeServer | Export-Clixml file",
    "exchange-server-json": "Get-ExchangeServer | ConvertTo-Json > file",
    "queue-fl": "Get-Queue | fl > file",
    "queue-clixml": "Get-Queue | Export-Clixml file",
    "queue-json": "Get-Queue | ConvertTo-Json > file",
    "queue-csv": "Get-Queue | Export-Csv file",
}


def command_of(export: Export) -> str:
    """The command an engineer ran to get ``export`` (see :data:`COMMANDS`).

    >>> command_of(Export("x.txt", "exchange-certs", "EX01", (("shape", "fl*"),)))
    'Get-ExchangeCertificate | fl * > file'
    """
    if export.kind == "evtx" and export.option("dirty"):
        return COMMANDS["evtx-dirty"]
    if export.kind == "event-xml" and export.option("style") == "wevtutil":
        return COMMANDS["event-xml-wevtutil"]
    shaped = f"{export.kind}-{export.option('shape')}"
    return COMMANDS.get(shaped) or COMMANDS.get(export.kind, export.kind)


# --- the case -------------------------------------------------------------------------------

def generate_case(case: str | Scenario, outdir: str | Path, *, seed: int = DEFAULT_SEED,
                  events: int | None = None, only: tuple[str, ...] | None = None) -> Generated:
    """Write one case into ``outdir/<case>/`` (and the lab public root into ``outdir``).

    ``events`` sets the background records per server (default: the case's own);
    ``only`` limits the export kinds written (for quick tests). Exports whose writer
    module is not available are listed in ``Generated.missing`` and logged, not faked.
    """
    scenario = load_case(case) if isinstance(case, str) else case
    outdir = Path(outdir)
    folder = outdir / scenario.case
    folder.mkdir(parents=True, exist_ok=True)
    (outdir / ROOTS_FILE).write_bytes(roots_pem([public_root()]))
    history = simulate(scenario, seed)
    gen = Generated(scenario, seed, folder, history, build_certificates(scenario, seed))
    for export in scenario.exports:
        if only is not None and export.kind not in only:
            continue
        target = folder / export.path
        writer = WRITERS.get(export.kind)
        try:
            if writer is None:
                raise ModuleNotFoundError(f"no lab writer for {export.kind!r} yet")
            target.parent.mkdir(parents=True, exist_ok=True)
            writer(gen, export, target, events)
        except (ModuleNotFoundError, AttributeError) as err:
            gen.missing.append(f"{export.path}: {err}")
            log.info("%s: %s not written: %s", scenario.case, export.path, err)
            continue
        if target.is_file():
            gen.files.append(target)
    write_truth(gen)
    write_settings(gen)
    return gen


def truth(gen: Generated) -> dict:
    """The ground truth of a generated case (CONTRIBUTING.md's truth.json).

    >>> from exlab.lab.cases import case
    >>> site = case("contoso-kb2888788")
    >>> gen = Generated(site, 1, Path("."), simulate(site, 1), build_certificates(site, 1))
    >>> facts = truth(gen)
    >>> facts["server_fqdn"], facts["culprit"] == gen.thumbprint("internal"), facts["fix_applied"]
    ('exchange.contoso.com', True, '2025-03-21T11:05:00.0000000Z')
    """
    scenario, history = gen.scenario, gen.history
    onset, last = history.onset(), history.last_failure()
    fix = scenario.fix_time()
    failing = sorted({s.server for s in history.failures()}) or [scenario.servers[0].name]
    counts = dict(history.counts())
    counts["failed_sessions_by_server"] = {
        s.name: sum(1 for f in history.failures() if f.server == s.name) for s in scenario.servers}
    if gen.application_records:
        counts["application_records"] = dict(sorted(gen.application_records.items()))
    exported = model.to_ns(model.parse_time(scenario.certs_exported))
    return {
        "case": scenario.case,
        "story": scenario.story,
        "verdict": scenario.verdict,
        "cause": scenario.cause,
        "culprit": gen.thumbprint(scenario.culprit),
        "server_fqdn": scenario.server(failing[0]).fqdn,
        "servers": [s.name for s in scenario.servers],
        "server_verdicts": {name: {**answer, "culprit": gen.thumbprint(answer["culprit"])}
                            for name, answer in model.server_verdicts(scenario, history).items()},
        "connector": scenario.connector.name,
        "tz": scenario.tz,
        "culture": scenario.culture,
        "roots": ROOTS_FILE,
        "onset": iso_ns(onset) if onset is not None else None,
        "end": iso_ns(last) if last is not None else None,
        "fix_applied": iso_ns(fix) if fix is not None else None,
        "certificates_exported": iso_ns(exported),
        "evidence_collected": iso_ns(model.to_ns(model.parse_time(scenario.collected))),
        "actions": [{"time": iso_ns(a.ns), "server": a.server, "kind": a.kind,
                     "command": a.command.format(**{k: c.thumbprint for k, c in gen.certificates.items()})}
                    for a in scenario.actions],
        "seed": gen.seed,
        "counts": counts,
        "certificates": [
            {"key": spec.key, "thumbprint": gen.certificates[spec.key].thumbprint,
             "subject": gen.certificates[spec.key].subject, "issuer": gen.certificates[spec.key].issuer,
             "issuer_class": _issuer_class(spec.issuer), "servers": list(spec.servers),
             "in_store_at_export": spec.present_at(exported), "services_at_export": list(spec.services_at(exported))}
            for spec in scenario.certificates],
        "exports": [{"path": e.path, "server": e.server, "command": command_of(e)} for e in scenario.exports],
        "missing": list(gen.missing),
    }


def _issuer_class(issuer: str) -> str:
    return {"public": "public", "internal": "internal"}.get(issuer, "self-signed")


def write_truth(gen: Generated) -> Path:
    """Write ``truth.json`` beside the evidence (UTF-8, LF, stable bytes); returns its path.

    >>> import tempfile
    >>> from exlab.lab.cases import case
    >>> site = case("contoso-kb2888788")
    >>> gen = Generated(site, 1, Path(tempfile.mkdtemp()), simulate(site, 1), build_certificates(site, 1))
    >>> write_truth(gen).read_bytes().endswith(b"}\\n")
    True
    """
    path = gen.folder / "truth.json"
    path.write_text(json.dumps(truth(gen), indent=2, ensure_ascii=False) + "\n", encoding="utf-8", newline="\n")
    return path


def write_settings(gen: Generated) -> Path:
    """Write the case's ``exlab-case.toml`` (:mod:`exlab.settings`): what an engineer would note
    beside the export, the servers' time zone, and the lab's stand-in public root (a copy in
    the case folder) as the extra trust anchors. The culture, server and connector are left to the evidence (each export's
    dates say their own order; a culture set here would be forced on every export).

    >>> import tempfile, tomllib
    >>> from exlab.lab.cases import case
    >>> site = case("contoso-kb2888788")
    >>> gen = Generated(site, 1, Path(tempfile.mkdtemp()), simulate(site, 1), build_certificates(site, 1))
    >>> tomllib.loads(write_settings(gen).read_text(encoding="utf-8"))
    {'tz': 'Europe/Warsaw', 'roots': 'lab-public-root.pem'}
    """
    (gen.folder / ROOTS_FILE).write_bytes(roots_pem([public_root()]))
    values = {"tz": gen.scenario.tz, "roots": ROOTS_FILE}
    lines = ["# The case's settings (exlab.settings): what the evidence cannot say about itself."]
    lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path = gen.folder / SETTINGS_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    return path


def generate_all(outdir: str | Path, *, seed: int = DEFAULT_SEED, events: int | None = None,
                 cases: tuple[str, ...] | None = None) -> list[Generated]:
    """Every lab case (or those in ``cases``) into ``outdir``: ``exlab lab generate --all``.

    >>> import tempfile
    >>> [g.scenario.case for g in generate_all(tempfile.mkdtemp(), events=5, cases=("contoso-kb2888788",))]
    ['contoso-kb2888788']
    """
    return [generate_case(name, outdir, seed=seed, events=events) for name in (cases or case_names())]
