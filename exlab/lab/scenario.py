"""What happens on a lab Exchange server over time: the model behind every lab case.

A :class:`Scenario` describes one site: its transport servers, the send connector to
Exchange Online, the certificates in each server's store (who issued them, which
services they are enabled for and when that changed), the mail that leaves for the
cloud, and how much background noise the Application log holds. :func:`simulate` plays
it forward and returns a :class:`History`: every message, every SMTP session to the
smart host (which certificate was presented, what Exchange Online answered), every
message tracking entry and every MSExchangeTransport event. Nothing here writes files
or knows a thumbprint: ``exlab.lab.generate`` turns a history into evidence.

Queue retries follow Exchange's transport defaults (``Get-TransportService``):

* ``QueueGlitchRetryCount`` 4, ``QueueGlitchRetryInterval`` 15 s: the first retries
  after a failed connection come almost at once;
* ``TransientFailureRetryCount`` 6, ``TransientFailureRetryInterval`` 5 min;
* then ``OutboundConnectionFailureRetryInterval`` 10 min (a Mailbox/Hub server) for as
  long as the queue stays in Retry;
* ``MessageExpirationTimeout`` 2 days: a message still queued then is returned to its
  sender (a tracking ``FAIL`` with ``550 4.4.7``).

One connection attempt is one session and names the oldest queued message (that is the
message event 2004 reports); each queued message is logged ``DEFER`` once, at the first
failed attempt after it was queued, and ``SEND`` once delivered.

>>> from exlab.lab.cases import case
>>> history = simulate(case("contoso-kb2888788"), seed=1)
>>> history.counts()["failed_sessions"] == len(history.transport_events(2004))
True
>>> RetryPolicy().delay(1), RetryPolicy().delay(5), RetryPolicy().delay(11)
(15, 300, 600)
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
import string
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

NS = 1_000_000_000
MS = 1_000_000
SERVICES_ORDER = ("IMAP", "POP", "UM", "IIS", "SMTP", "Federation", "UMCallRouter")

#: Exchange Online's answers and the local failures this lab knows.
REPLY_UNTRUSTED_ROOT = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"
REPLY_EXPIRED = "454 4.7.0 Failed to establish appropriate TLS channel: CertificateExpired: Access Denied"
REPLY_TLSCERTNAME = ("454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector "
                     "could not be found.")
REPLY_EXPIRED_NDR = "550 4.4.7 QUEUE.Expired; message expired"


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with offset (``Z`` allowed) as an aware UTC datetime.

    >>> parse_time("2025-03-20T09:12:40Z")
    datetime.datetime(2025, 3, 20, 9, 12, 40, tzinfo=datetime.timezone.utc)
    """
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        raise ValueError(f"{text!r} has no offset: lab times are written in UTC")
    return stamp.astimezone(timezone.utc)


def to_ns(stamp: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (exact: no float rounding).

    >>> to_ns(parse_time("1970-01-01T00:00:01.5Z"))
    1500000000
    """
    delta = stamp - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * NS + delta.microseconds * 1000


def iso_ns(value: int) -> str:
    """An int of nanoseconds as ISO 8601 UTC with 7 fractional digits, as Windows writes it.

    >>> iso_ns(1_742_462_042_123_456_700)
    '2025-03-20T09:14:02.1234567Z'
    """
    seconds, rest = divmod(value, NS)
    stamp = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 100:07d}Z"


def rng_for(*parts: object) -> random.Random:
    """A PRNG seeded from ``parts`` through SHA-256 (stable across runs and Python versions).

    >>> rng_for("contoso", 1, "noise").random() == rng_for("contoso", 1, "noise").random()
    True
    """
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


@dataclass(frozen=True)
class RetryPolicy:
    """Exchange's queue retry defaults (seconds); see the module docstring.

    >>> [RetryPolicy().delay(k) for k in (1, 4, 5, 10, 11, 50)]
    [15, 15, 300, 300, 600, 600]
    """

    glitch_retry_count: int = 4
    glitch_retry_interval: int = 15
    transient_failure_retry_count: int = 6
    transient_failure_retry_interval: int = 300
    outbound_connection_failure_retry_interval: int = 600
    message_expiration_timeout: int = 2 * 86_400

    def delay(self, failures: int) -> int:
        """Seconds from the ``failures``-th failed attempt in a row to the next attempt."""
        if failures <= self.glitch_retry_count:
            return self.glitch_retry_interval
        if failures <= self.glitch_retry_count + self.transient_failure_retry_count:
            return self.transient_failure_retry_interval
        return self.outbound_connection_failure_retry_interval


@dataclass(frozen=True)
class ServerSpec:
    """One transport (Mailbox) server: its NetBIOS name, FQDN and address."""

    name: str
    fqdn: str
    ip: str
    exchange_version: str = "15.2 (Build 1544.4)"
    #: MSExchangeTransport\SmtpSend diagnostic level: event 2004 is only logged at "Expert".
    smtp_send_log_level: str = "Expert"


@dataclass(frozen=True)
class ConnectorSpec:
    """The send connector to Exchange Online, as Get-SendConnector shows it."""

    name: str
    smart_host: str                       # <tenant>.mail.protection.outlook.com
    address_spaces: tuple[str, ...]       # ("smtp:contoso.mail.onmicrosoft.com;1",)
    source_servers: tuple[str, ...]
    fqdn: str | None = None               # the TLS name; None = each server's FQDN
    tls_certificate_name: str | None = None   # "<I>issuer<S>subject" or None
    tls_auth_level: str = "DomainValidation"
    tls_domain: str = "mail.protection.outlook.com"
    require_tls: bool = True
    cloud_services_mail_enabled: bool = True
    protocol_logging_level: str = "Verbose"
    #: whether the Transport service hands outbound mail to the Front End Transport service, which sends it
    frontend_proxy_enabled: bool = False

    def tls_name(self, server: ServerSpec) -> str:
        """The name the presented certificate must cover."""
        return self.fqdn or server.fqdn


@dataclass(frozen=True)
class CertSpec:
    """A certificate in one server's personal store, described by what made it.

    ``issuer`` names the CA in the lab PKI (``public``, ``internal``) or says
    ``self-signed`` / ``auth`` (the Exchange Server Auth certificate).
    ``services`` is a tuple of (UTC ISO time, services enabled from then on).

    >>> cert = CertSpec("new", ("EX01",), "internal", "mail.contoso.com", ("*.contoso.com",),
    ...     "2025-03-20T07:00:00Z", "2027-03-20T07:00:00Z", "internal",
    ...     (("2025-03-20T08:00:00Z", ()), ("2025-03-20T09:00:00Z", ("SMTP", "IIS"))))
    >>> cert.services_at(to_ns(parse_time("2025-03-20T09:30:00Z")))
    ('IIS', 'SMTP')
    >>> cert.present_at(to_ns(parse_time("2025-03-20T07:30:00Z")))
    False
    >>> cert.covers("autodiscover.contoso.com"), cert.covers("a.b.contoso.com")
    (True, False)
    """

    key: str
    servers: tuple[str, ...]              # the stores holding it (one .pfx imported on each)
    issuer: str
    subject_cn: str
    dns_names: tuple[str, ...]
    not_before: str
    not_after: str
    friendly_name: str
    services: tuple[tuple[str, tuple[str, ...]], ...]
    removed: str | None = None            # removed from the store at this time
    organization: str | None = None       # O= in the subject (public certificates carry one)

    @property
    def not_before_ns(self) -> int:
        return to_ns(parse_time(self.not_before))

    @property
    def not_after_ns(self) -> int:
        return to_ns(parse_time(self.not_after))

    def services_at(self, when: int) -> tuple[str, ...]:
        """Services enabled at ``when`` (ns), in Exchange's order; () before the first change."""
        current: tuple[str, ...] = ()
        for stamp, services in self.services:
            if to_ns(parse_time(stamp)) <= when:
                current = services
        return tuple(s for s in SERVICES_ORDER if s in current)

    def present_at(self, when: int) -> bool:
        """Whether the certificate is in the store at ``when`` (enrolled and not removed)."""
        first = to_ns(parse_time(self.services[0][0])) if self.services else self.not_before_ns
        return first <= when and (self.removed is None or when < to_ns(parse_time(self.removed)))

    def covers(self, name: str) -> bool:
        """Whether a CN/SAN covers ``name`` (left-most-label wildcards only)."""
        name = name.lower()
        for pattern in (self.subject_cn, *self.dns_names):
            pattern = pattern.lower()
            if pattern == name:
                return True
            if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
                return True
        return False


@dataclass(frozen=True)
class Traffic:
    """Mail leaving for Exchange Online: messages per hour in and out of office hours."""

    office_rate: float = 2.5
    night_rate: float = 0.3
    office_hours: tuple[int, int] = (8, 18)
    senders: tuple[str, ...] = ("anna.nowak", "piotr.zielinski", "marta.wisniewska")
    recipients: tuple[str, ...] = ("jan.kowalski", "ewa.lewandowska", "tomasz.wojcik")
    subjects: tuple[str, ...] = ("Re: quarterly figures", "Meeting notes", "Invoice 2025/03/114")
    local_rate: float = 3.0              # internal deliveries per office hour (tracking noise)


@dataclass(frozen=True)
class Action:
    """Something an administrator did, with the command as typed."""

    time: str
    server: str
    command: str
    kind: str          # "enable" / "remove" (a certificate change), "fix", "restart"

    @property
    def ns(self) -> int:
        return to_ns(parse_time(self.time))


@dataclass(frozen=True)
class Export:
    """One evidence file (or folder of logs) the engineer exported, and how.

    ``kind`` names the writer (see ``exlab.lab.generate.WRITERS``), ``server`` the
    machine it came from, ``options`` the writer's settings (culture, shape, filter, ...).

    >>> Export("certs/fl.txt", "exchange-certs", "EX01", (("shape", "fl"),)).option("shape")
    'fl'
    """

    path: str
    kind: str
    server: str | None = None
    options: tuple[tuple[str, object], ...] = ()

    def option(self, name: str, default: object = None) -> object:
        """One of ``options`` by name."""
        return dict(self.options).get(name, default)


@dataclass(frozen=True)
class Scenario:
    """One lab site over a window of time (see the module docstring).

    >>> from exlab.lab.cases import case
    >>> site = case("contoso-kb2888788")
    >>> site.server("EXCHANGE").fqdn, site.cert("internal").issuer, iso_ns(site.fix_time())
    ('exchange.contoso.com', 'internal', '2025-03-21T11:05:00.0000000Z')
    """

    case: str
    story: str
    verdict: str
    cause: str | None
    culprit: str | None                  # key of the CertSpec to act on
    org: str                             # "Contoso"
    domain: str                          # "contoso.com"
    tenant: str                          # "contoso" (-> contoso.mail.onmicrosoft.com)
    tz: str
    culture: str                         # the servers' UI culture: en-US, pl-PL, de-DE
    servers: tuple[ServerSpec, ...]
    connector: ConnectorSpec
    certificates: tuple[CertSpec, ...]
    start: str
    end: str
    collected: str                       # when logs and events were exported
    certs_exported: str                  # when Get-ExchangeCertificate was run
    actions: tuple[Action, ...] = ()
    traffic: Traffic = field(default_factory=Traffic)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    noise_per_server: int = 400
    exports: tuple[Export, ...] = ()

    @property
    def start_ns(self) -> int:
        return to_ns(parse_time(self.start))

    @property
    def end_ns(self) -> int:
        return to_ns(parse_time(self.end))

    def server(self, name: str) -> ServerSpec:
        """The server called ``name``."""
        return next(s for s in self.servers if s.name == name)

    def cert(self, key: str) -> CertSpec:
        """The certificate whose key is ``key``."""
        return next(c for c in self.certificates if c.key == key)

    def fix_time(self) -> int | None:
        """When the fix was applied (ns), or None."""
        fixes = [a.ns for a in self.actions if a.kind == "fix"]
        return min(fixes) if fixes else None


# --- which certificate is presented, and what Exchange Online says --------------------

@dataclass(frozen=True)
class TlsOutcome:
    """What a connection attempt at one moment looks like.

    ``certificate`` is the key of the presented certificate (None when none could be
    used), ``reply`` the failing reply (None when delivery succeeds), ``local`` whether
    the failure came from the server itself (no STARTTLS happened), ``events`` the
    transport events (id, insertion strings) logged with the attempt.
    """

    certificate: str | None
    reply: str | None
    local: bool = False
    events: tuple[tuple[int, tuple[str, ...]], ...] = ()


def tls_outcome(scenario: Scenario, server: ServerSpec, when: int) -> TlsOutcome:
    """Which certificate ``server`` presents to Exchange Online at ``when``, and the answer.

    Follows the transport's rules: TlsCertificateName wins when set (missing -> 454 4.7.5
    and event 12014); otherwise the newest valid SMTP certificate covering the name; an
    expired one only when nothing valid is left (event 12016); self-signed last.

    >>> from exlab.lab.cases import case
    >>> site = case("contoso-kb2888788")
    >>> outcome = tls_outcome(site, site.servers[0], to_ns(parse_time("2025-03-20T12:00:00Z")))
    >>> outcome.certificate, outcome.reply
    ('internal', '454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied')
    """
    connector = scenario.connector
    mine = [c for c in scenario.certificates if server.name in c.servers and c.present_at(when)]
    if connector.tls_certificate_name:
        wanted = connector.tls_certificate_name
        found = [c for c in mine if tls_certificate_name(scenario, c) == wanted]
        if not found:
            return TlsOutcome(None, REPLY_TLSCERTNAME, local=True,
                              events=((12014, (wanted, connector.name)),))
        return _judge(found[0], when)
    name = connector.tls_name(server)
    smtp = [c for c in mine if "SMTP" in c.services_at(when) and c.covers(name) and c.issuer != "auth"]
    valid = [c for c in smtp if c.not_before_ns <= when < c.not_after_ns]
    ca_issued = sorted((c for c in valid if c.issuer != "self-signed"), key=lambda c: c.not_before_ns)
    if ca_issued:
        return _judge(ca_issued[-1], when)
    if valid:
        return _judge(sorted(valid, key=lambda c: c.not_before_ns)[-1], when)
    expired = sorted((c for c in smtp if c.not_after_ns <= when), key=lambda c: c.not_after_ns)
    if expired:
        outcome = _judge(expired[-1], when)
        return replace(outcome, events=((12016, (name,)),))
    return TlsOutcome(None, None)


def _judge(cert: CertSpec, when: int) -> TlsOutcome:
    if when >= cert.not_after_ns:
        return TlsOutcome(cert.key, REPLY_EXPIRED)
    if cert.issuer.startswith("public"):
        return TlsOutcome(cert.key, None)
    return TlsOutcome(cert.key, REPLY_UNTRUSTED_ROOT)


PUBLIC_ISSUER = "CN=exlab Lab Public Server CA 01, O=exlab lab, C=US"


def issuer_name(scenario: Scenario, cert: CertSpec) -> str:
    """The issuer of ``cert`` as Windows shows it, following ``exlab.lab.pki``'s CA names.

    >>> from exlab.lab.cases import case
    >>> s = case("contoso-kb2888788")
    >>> issuer_name(s, s.cert("internal"))
    'CN=Contoso Issuing CA 01, DC=contoso, DC=com'
    """
    if cert.issuer == "public":
        return PUBLIC_ISSUER
    if cert.issuer == "internal":
        dcs = ", ".join(f"DC={part}" for part in scenario.domain.split("."))
        return f"CN={scenario.org} Issuing CA 01, {dcs}"
    return subject_name(scenario, cert)


def subject_name(scenario: Scenario, cert: CertSpec) -> str:
    """The subject of ``cert`` as Windows shows it (public certificates carry O= and C=).

    >>> from exlab.lab.cases import case
    >>> s = case("woodgrove-expired")
    >>> subject_name(s, s.cert("public-2024")), subject_name(s, s.cert("self-signed-wgex01"))
    ('CN=mail.woodgrovebank.com, O=Woodgrove Bank, C=US', 'CN=WGEX01')
    """
    if cert.issuer == "public":
        return f"CN={cert.subject_cn}, O={cert.organization or scenario.org}, C=US"
    return f"CN={cert.subject_cn}"


def tls_certificate_name(scenario: Scenario, cert: CertSpec) -> str:
    """``<I>issuer<S>subject``: how a send connector's TlsCertificateName names ``cert``.

    >>> from exlab.lab.cases import case
    >>> s = case("tailspin-tlscertname")
    >>> tls_certificate_name(s, s.cert("public-2024")) == s.connector.tls_certificate_name
    True
    """
    return f"<I>{issuer_name(scenario, cert)}<S>{subject_name(scenario, cert)}"


# --- the history ----------------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    """One message for Exchange Online submitted on a server."""

    server: str
    message_id: str
    internal_id: int
    network_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    size: int
    submitted: int


@dataclass(frozen=True)
class Session:
    """One SMTP send session from a server to the smart host.

    ``messages`` are the Message-IDs it carried (delivered, or the one refused);
    ``reply_at`` is when the failing reply came (the time of event 2004 and of the DEFER
    rows), or when the last message was accepted. Times are whole milliseconds (ns).
    """

    server: str
    connector: str
    session_id: str
    start: int
    reply_at: int
    end: int
    local_endpoint: str
    remote_endpoint: str
    remote_host: str
    certificate: str | None
    reply: str | None
    local_failure: bool
    messages: tuple[str, ...]

    @property
    def failed(self) -> bool:
        return self.reply is not None


@dataclass(frozen=True)
class TrackingEntry:
    """One message tracking row (the fields generate needs; the writer fills the rest)."""

    time: int
    server: str
    event_id: str          # RECEIVE, SUBMIT, SEND, DEFER, FAIL, DELIVER
    source: str            # SMTP, STOREDRIVER, DSN, ...
    connector: str
    message: Message
    recipient_status: str
    server_hostname: str
    server_ip: str


@dataclass(frozen=True)
class TransportEvent:
    """One MSExchangeTransport event (id and insertion strings) on a server."""

    time: int
    server: str
    event_id: int
    data: tuple[str, ...]     # "{thumbprint}" stands for the thumbprint of ``cert``
    cert: str | None = None


@dataclass
class History:
    """Everything :func:`simulate` played out, each list in time order.

    >>> from exlab.lab.cases import case
    >>> history = simulate(case("northwind-quiet"), seed=1)
    >>> history.transport_events(2004), {s.server for s in history.failures()}
    ([], {'NWEX02'})
    >>> iso_ns(history.onset()) < iso_ns(history.last_failure())
    True
    """

    scenario: Scenario
    seed: int
    messages: list[Message]
    sessions: list[Session]
    tracking: list[TrackingEntry]
    events: list[TransportEvent]

    def transport_events(self, event_id: int | None = None, server: str | None = None) -> list[TransportEvent]:
        """The transport events, optionally of one id and one server."""
        return [e for e in self.events if (event_id is None or e.event_id == event_id)
                and (server is None or e.server == server)]

    def failures(self) -> list[Session]:
        """The failed sessions to Exchange Online."""
        return [s for s in self.sessions if s.failed]

    def counts(self) -> dict[str, int]:
        """The counts truth.json states (see CONTRIBUTING.md)."""
        failed = self.failures()
        by_event = {f"events_{i}": len(self.transport_events(i)) for i in (2004, 12014, 12016, 12018)}
        return {
            **by_event,
            "failed_sessions": len(failed),
            "delivered_sessions": sum(1 for s in self.sessions if not s.failed),
            "sessions": len(self.sessions),
            "messages": len(self.messages),
            "deferred_messages": len({t.message.message_id for t in self.tracking if t.event_id == "DEFER"}),
            "defer_rows": sum(1 for t in self.tracking if t.event_id == "DEFER"),
            "expired_messages": sum(1 for t in self.tracking if t.event_id == "FAIL"),
            "delivered_messages": sum(1 for t in self.tracking if t.event_id == "SEND"),
            "tracking_rows": len(self.tracking),
        }

    def onset(self) -> int | None:
        """The first failed session (ns), or None."""
        failed = self.failures()
        return failed[0].reply_at if failed else None

    def last_failure(self) -> int | None:
        """The last failed session (ns), or None."""
        failed = self.failures()
        return max(s.reply_at for s in failed) if failed else None


def simulate(scenario: Scenario, seed: int = 1) -> History:
    """Play ``scenario`` forward: messages, sessions, tracking entries, transport events.

    >>> from exlab.lab.cases import case
    >>> history = simulate(case("fabrikam-healthy"), seed=1)
    >>> history.counts()["failed_sessions"], len(history.messages) == history.counts()["delivered_messages"]
    (0, True)
    """
    messages: list[Message] = []
    sessions: list[Session] = []
    tracking: list[TrackingEntry] = []
    events: list[TransportEvent] = []
    for server in scenario.servers:
        if server.name not in scenario.connector.source_servers:
            continue
        mine = _arrivals(scenario, server, seed)
        messages.extend(mine)
        _run_queue(scenario, server, seed, mine, sessions, tracking, events)
        tracking.extend(_local_mail(scenario, server, seed))
        events.extend(_certificate_warnings(scenario, server))
    messages.sort(key=lambda m: (m.submitted, m.server))
    sessions.sort(key=lambda s: (s.start, s.server))
    tracking.sort(key=lambda t: (t.time, t.server, _TRACK_ORDER[t.event_id]))
    events.sort(key=lambda e: (e.time, e.server, e.event_id))
    return History(scenario, seed, messages, sessions, tracking, events)


def server_verdicts(scenario: Scenario, history: History) -> dict[str, dict[str, object]]:
    """What the diagnosis of each server's own evidence must say: verdict, cause, culprit
    (a certificate key) and fix (``fix``, ``preventive`` or ``none``), by server name.

    A server that is not a source of the connector never sends to Exchange Online (no fix);
    one whose sessions failed has the case's cause; one that would present a certificate
    Exchange Online refuses, without failures yet, gets the fix as a precaution.

    >>> from exlab.lab.cases import case
    >>> site = case("northwind-quiet")
    >>> verdicts = server_verdicts(site, simulate(site, 1))
    >>> verdicts["NWEX01"]["fix"], verdicts["NWEX02"]["fix"], verdicts["NWEX02"]["culprit"]
    ('none', 'fix', 'internal')
    """
    failing = {s.server for s in history.failures()}
    out: dict[str, dict[str, object]] = {}
    for server in scenario.servers:
        mine = scenario.culprit if scenario.culprit and server.name in scenario.cert(scenario.culprit).servers else None
        if server.name not in scenario.connector.source_servers:
            answer = ("ruled_out", None, None, "none")
        elif server.name in failing:
            answer = (scenario.verdict, scenario.cause, mine, "fix")
        elif tls_outcome(scenario, server, scenario.end_ns).reply is None:
            answer = ("ruled_out", None, None, "none")
        else:
            answer = ("inconclusive", scenario.cause, mine, "preventive")
        out[server.name] = dict(zip(("verdict", "cause", "culprit", "fix"), answer), fqdn=server.fqdn)
    return out


_TRACK_ORDER = {"SUBMIT": 0, "RECEIVE": 1, "DELIVER": 2, "DEFER": 3, "SEND": 4, "FAIL": 5}


def _arrivals(scenario: Scenario, server: ServerSpec, seed: int) -> list[Message]:
    """Messages for the cloud, a Poisson process at office and night rates in local time."""
    rng = rng_for(scenario.case, seed, server.name, "arrivals")
    zone = ZoneInfo(scenario.tz)
    traffic = scenario.traffic
    out: list[Message] = []
    t = scenario.start_ns
    internal = 1_099_511_627_776 + rng.randrange(10_000, 90_000)
    peak = max(traffic.office_rate, traffic.night_rate)
    while peak > 0:
        # a non-homogeneous Poisson process by thinning: candidates at the peak rate,
        # each kept with probability rate(t) / peak
        t += int(rng.expovariate(peak / 3600) * NS)
        t -= t % MS   # logs keep milliseconds: every lab time is a whole millisecond
        if t >= scenario.end_ns:
            break
        local = datetime.fromtimestamp(t / NS, tz=zone)
        office = local.weekday() < 5 and traffic.office_hours[0] <= local.hour < traffic.office_hours[1]
        if rng.random() * peak >= (traffic.office_rate if office else traffic.night_rate):
            continue
        internal += rng.randrange(1, 9)
        sender = rng.choice(traffic.senders)
        count = 1 if rng.random() < 0.8 else 2
        recipients = tuple(sorted({f"{rng.choice(traffic.recipients)}@{scenario.tenant}.mail.onmicrosoft.com"
                                   for _ in range(count)}))
        out.append(Message(
            server=server.name,
            message_id=f"<{rng.getrandbits(128):032x}@{server.fqdn}>",
            internal_id=internal,
            network_id=_guid(rng),
            sender=f"{sender}@{scenario.domain}",
            recipients=recipients,
            subject=rng.choice(traffic.subjects),
            size=rng.randrange(6_000, 900_000),
            submitted=t,
        ))
    return out


def _guid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def _run_queue(scenario: Scenario, server: ServerSpec, seed: int, arrivals: list[Message],
               sessions: list[Session], tracking: list[TrackingEntry], events: list[TransportEvent]) -> None:
    """The delivery queue to the smart host: attempts, retries, deferrals, expiry, restarts."""
    rng = rng_for(scenario.case, seed, server.name, "queue")
    policy = scenario.retry
    connector = scenario.connector
    restarts = sorted(a.ns for a in scenario.actions if a.server == server.name and a.kind in ("fix", "restart"))
    counter = 0x08DD_0000_0000_0000 | rng.getrandbits(40) << 8
    queue: deque[Message] = deque()
    deferred: set[str] = set()
    failures = 0
    next_attempt: int | None = None
    pending = deque(arrivals)

    def smtp(when: int, kind: str, message: Message, status: str, remote_ip: str) -> None:
        tracking.append(TrackingEntry(when, server.name, kind, "SMTP", connector.name, message, status,
                                      connector.smart_host, remote_ip))

    while pending or next_attempt is not None:
        if pending and (next_attempt is None or pending[0].submitted <= next_attempt):
            message = pending.popleft()
            now = message.submitted
            tracking.append(TrackingEntry(now - 1_800 * MS, server.name, "SUBMIT", "STOREDRIVER", "", message,
                                          "", server.fqdn, server.ip))
            tracking.append(TrackingEntry(now, server.name, "RECEIVE", "STOREDRIVER", "", message, "",
                                          server.fqdn, server.ip))
            queue.append(message)
            if next_attempt is None:
                next_attempt = now + rng.randrange(200, 2500) * MS
            continue
        now = next_attempt
        if now >= scenario.end_ns:
            return
        for message in [m for m in queue if now - m.submitted >= policy.message_expiration_timeout * NS]:
            queue.remove(message)
            tracking.append(TrackingEntry(now, server.name, "FAIL", "DSN", connector.name, message,
                                          REPLY_EXPIRED_NDR, server.fqdn, server.ip))
        if not queue:
            next_attempt, failures = None, 0
            continue
        outcome = tls_outcome(scenario, server, now)
        counter += rng.randrange(1, 40)
        local = f"{server.ip}:{rng.randrange(20000, 65000)}"
        remote_ip = _exo_ip(rng)
        remote = f"{remote_ip}:25"
        if outcome.reply is not None:
            reply_at = now + rng.randrange(120, 700) * MS
            head = queue[0]
            sessions.append(Session(server.name, connector.name, f"{counter:016X}", now, reply_at,
                                    reply_at + rng.randrange(2, 40) * MS, local, remote, connector.smart_host,
                                    outcome.certificate, outcome.reply, outcome.local, (head.message_id,)))
            if server.smtp_send_log_level == "Expert":
                events.append(TransportEvent(reply_at, server.name, 2004,
                                             (connector.name, head.message_id, outcome.reply)))
            for event_id, data in outcome.events:
                events.append(TransportEvent(now + rng.randrange(5, 90) * MS, server.name, event_id, data))
            led = _led(outcome.reply, connector.smart_host, remote_ip, reply_at)
            for message in queue:
                if message.message_id not in deferred:
                    deferred.add(message.message_id)
                    smtp(reply_at, "DEFER", message, led, remote_ip)
            failures += 1
            next_attempt = now + policy.delay(failures) * NS + rng.randrange(0, 900) * MS
            restart = next((r for r in restarts if now < r < next_attempt), None)
            if restart is not None:   # Restart-Service MSExchangeTransport: the queue is tried at once
                next_attempt = restart + rng.randrange(40_000, 70_000) * MS
            continue
        batch = [queue.popleft() for _ in range(min(len(queue), 20))]
        reply_at = now + rng.randrange(300, 900) * MS + 150 * MS * len(batch)
        sessions.append(Session(server.name, connector.name, f"{counter:016X}", now, reply_at,
                                reply_at + rng.randrange(2, 40) * MS, local, remote, connector.smart_host,
                                outcome.certificate, None, False, tuple(m.message_id for m in batch)))
        for message in batch:
            smtp(reply_at, "SEND", message, "250 2.1.5 Recipient OK", remote_ip)
        failures = 0
        next_attempt = reply_at + rng.randrange(5, 60) * MS if queue else None


def _exo_ip(rng: random.Random) -> str:
    return f"52.101.{rng.choice((8, 40, 68, 73, 137, 194))}.{rng.randrange(2, 250)}"


def _led(reply: str, host: str, ip: str, when: int) -> str:
    """The last-error status a DEFER row carries (LRT: the last retry, UTC, as the queue shows it)."""
    lrt = datetime.fromtimestamp(when // NS, tz=timezone.utc).strftime("%m/%d/%Y %I:%M:%S %p")
    return f"[{{LED={reply}}};{{MSG=}};{{FQDN={host}}};{{IP={ip}}};{{LRT={lrt}}}]"


def _local_mail(scenario: Scenario, server: ServerSpec, seed: int) -> list[TrackingEntry]:
    """Internal deliveries on the same server: tracking noise on other connectors."""
    rng = rng_for(scenario.case, seed, server.name, "local-mail")
    rate = scenario.traffic.local_rate
    out: list[TrackingEntry] = []
    t = scenario.start_ns
    while rate > 0:
        t += int(rng.expovariate(rate / 3600) * NS)
        t -= t % MS
        if t >= scenario.end_ns:
            return out
        message = Message(server.name, f"<{rng.getrandbits(128):032x}@{server.fqdn}>",
                          2_199_023_255_552 + len(out), _guid(rng),   # another mailbox database
                          f"{rng.choice(scenario.traffic.senders)}@{scenario.domain}",
                          (f"{rng.choice(scenario.traffic.senders)}@{scenario.domain}",),
                          rng.choice(scenario.traffic.subjects), rng.randrange(4_000, 200_000), t)
        for offset, kind, source in ((0, "SUBMIT", "STOREDRIVER"), (1, "RECEIVE", "STOREDRIVER"),
                                     (2, "DELIVER", "STOREDRIVER")):
            out.append(TrackingEntry(t + offset * 400_000_000, server.name, kind, source, "", message,
                                     "250 2.1.5 Recipient OK" if kind == "DELIVER" else "",
                                     server.fqdn, server.ip))
    return out


def _certificate_warnings(scenario: Scenario, server: ServerSpec) -> list[TransportEvent]:
    """Event 12018 once a day at transport's daily check while an SMTP certificate nears expiry."""
    out: list[TransportEvent] = []
    for cert in scenario.certificates:
        if server.name not in cert.servers or cert.issuer == "auth":
            continue
        day = scenario.start_ns - scenario.start_ns % (86_400 * NS) + (3 * 3600 + 17 * 60) * NS
        if day < scenario.start_ns:
            day += 86_400 * NS
        while day < min(scenario.end_ns, cert.not_after_ns):
            hours = (cert.not_after_ns - day) // (3600 * NS)
            if hours < 30 * 24 and "SMTP" in cert.services_at(day) and cert.present_at(day) \
                    and cert.covers(scenario.connector.tls_name(server)):
                out.append(TransportEvent(day, server.name, 12018,
                                          (subject_name(scenario, cert), "{thumbprint}", str(hours)), cert.key))
            day += 86_400 * NS
    return out


# --- the background noise of an Exchange server's Application log ------------------------

@dataclass(frozen=True)
class NoiseKind:
    """One kind of background event: header fields, data template and its renderings.

    ``data`` values and ``messages`` may hold ``{n}`` (a number), ``{pid}``, ``{time}``
    (ISO UTC), ``{server}``, ``{fqdn}``, ``{db}``; message keys are cultures.
    """

    provider: str
    event_id: int
    qualifiers: int | None
    level: int
    task: int
    keywords: str
    weight: int
    data: tuple[tuple[str, str], ...]     # (key, template); keys "%1".. for unnamed values
    messages: dict


_CLASSIC = "0x80000000000000"

NOISE: tuple[NoiseKind, ...] = (
    NoiseKind("MSExchange ADAccess", 2080, 16388, 4, 6, _CLASSIC, 30,
              (("%1", "MSExchangeTransport.exe"), ("%2", "{pid}"),
               ("%3", "dc01.{domain}\tCDG 1 7 7 1 0 1 1 7 1\ndc02.{domain}\tCDG 1 7 7 1 0 1 1 7 1")),
              {"en-US": "Process MSExchangeTransport.exe (PID={pid}). Exchange Active Directory Provider has "
                        "discovered the following servers with the following characteristics:\r\n"
                        " (Server name | Roles | Enabled | Reachability | Synchronized | GC capable | "
                        "PDC | SACL right | Critical Data | Netlogon | OS Version)\r\n"
                        "dc01.{domain}\tCDG 1 7 7 1 0 1 1 7 1\r\ndc02.{domain}\tCDG 1 7 7 1 0 1 1 7 1",
               "pl-PL": "Proces MSExchangeTransport.exe (PID={pid}). Dostawca usługi Active Directory programu "
                        "Exchange odnalazł następujące serwery o następujących właściwościach:\r\n"
                        "dc01.{domain}\tCDG 1 7 7 1 0 1 1 7 1\r\ndc02.{domain}\tCDG 1 7 7 1 0 1 1 7 1",
               "de-DE": "Prozess MSExchangeTransport.exe (PID={pid}). Der Exchange Active Directory-Anbieter "
                        "hat die folgenden Server mit den folgenden Merkmalen ermittelt:\r\n"
                        "dc01.{domain}\tCDG 1 7 7 1 0 1 1 7 1\r\ndc02.{domain}\tCDG 1 7 7 1 0 1 1 7 1"}),
    NoiseKind("Microsoft-Windows-Security-SPP", 16384, 16384, 4, 0, _CLASSIC, 12,
              (("%1", "{time}"), ("%2", "RulesEngine")),
              {"en-US": "Successfully scheduled Software Protection service for re-start at {time}. "
                        "Reason: RulesEngine.",
               "pl-PL": "Pomyślnie zaplanowano ponowne uruchomienie usługi Ochrona oprogramowania na {time}. "
                        "Przyczyna: RulesEngine.",
               "de-DE": "Der Neustart des Softwareschutzdiensts wurde erfolgreich für {time} geplant. "
                        "Grund: RulesEngine."}),
    NoiseKind("Microsoft-Windows-Security-SPP", 16394, 16384, 4, 0, _CLASSIC, 6, (),
              {"en-US": "Offline downlevel migration succeeded.",
               "pl-PL": "Migracja do niższego poziomu w trybie offline powiodła się.",
               "de-DE": "Die Offline-Downlevelmigration war erfolgreich."}),
    NoiseKind("ESENT", 326, 0, 4, 1, _CLASSIC, 8,
              (("%1", "Microsoft.Exchange.Store.Worker"), ("%2", "{pid},D,12"), ("%3", "{db}: "),
               ("%4", "1"), ("%5", "D:\\ExchangeDatabases\\{db}\\{db}.edb"), ("%6", "0"), ("%7", "")),
              {"en-US": "Microsoft.Exchange.Store.Worker ({pid},D,12) {db}: The database engine attached a "
                        "database (1, D:\\ExchangeDatabases\\{db}\\{db}.edb). (Time=0 seconds)",
               "pl-PL": "Microsoft.Exchange.Store.Worker ({pid},D,12) {db}: Aparat bazy danych dołączył bazę "
                        "danych (1, D:\\ExchangeDatabases\\{db}\\{db}.edb). (Czas=0 s)",
               "de-DE": "Microsoft.Exchange.Store.Worker ({pid},D,12) {db}: Das Datenbankmodul hat eine "
                        "Datenbank angefügt (1, D:\\ExchangeDatabases\\{db}\\{db}.edb). (Zeit=0 Sekunden)"}),
    NoiseKind("MSExchangeIS", 9646, 49156, 2, 6, _CLASSIC, 4,
              (("%1", "/o={org}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=svc-backup"),
               ("%2", "objtFolder"), ("%3", "500"), ("%4", "")),
              {"en-US": "Mapi session \"/o={org}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
                        "cn=svc-backup\" exceeded the maximum of 500 objects of type \"objtFolder\".",
               "pl-PL": "Sesja Mapi \"/o={org}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
                        "cn=svc-backup\" przekroczyła maksymalną liczbę 500 obiektów typu \"objtFolder\".",
               "de-DE": "Die MAPI-Sitzung \"/o={org}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/"
                        "cn=Recipients/cn=svc-backup\" hat das Maximum von 500 Objekten vom Typ \"objtFolder\" "
                        "überschritten."}),
    NoiseKind("MSExchange Common", 4999, 49156, 2, 0, _CLASSIC, 2,
              (("%1", "{pid}"), ("%2", "E12IIS"), ("%3", "c-RTL-AMD64"), ("%4", "15.02.1544.004"),
               ("%5", "w3wp#MSExchangeOWAAppPool"), ("%6", "M.Exchange.Data.Storage"),
               ("%7", "M.E.D.S.StoreSession.GetMailboxLocation"), ("%8", "System.NullReferenceException"),
               ("%9", "0000-dumptidset"), ("%10", "False"), ("%11", "")),
              {"en-US": "Watson report about to be sent for process id: {pid}, with parameters: E12IIS, "
                        "c-RTL-AMD64, 15.02.1544.004, w3wp#MSExchangeOWAAppPool, M.Exchange.Data.Storage, "
                        "M.E.D.S.StoreSession.GetMailboxLocation, System.NullReferenceException, 0000-dumptidset, "
                        "15.02.1544.004.\r\nErrorReportingEnabled: False",
               "pl-PL": "Raport Watson zostanie wysłany dla identyfikatora procesu: {pid}, z parametrami: E12IIS, "
                        "c-RTL-AMD64, 15.02.1544.004, w3wp#MSExchangeOWAAppPool, M.Exchange.Data.Storage, "
                        "M.E.D.S.StoreSession.GetMailboxLocation, System.NullReferenceException, 0000-dumptidset, "
                        "15.02.1544.004.\r\nErrorReportingEnabled: False",
               "de-DE": "Der Watson-Bericht wird gesendet für Prozess-ID: {pid}, mit Parametern: E12IIS, "
                        "c-RTL-AMD64, 15.02.1544.004, w3wp#MSExchangeOWAAppPool, M.Exchange.Data.Storage, "
                        "M.E.D.S.StoreSession.GetMailboxLocation, System.NullReferenceException, 0000-dumptidset, "
                        "15.02.1544.004.\r\nErrorReportingEnabled: False"}),
    NoiseKind("Windows Error Reporting", 1001, 0, 4, 0, _CLASSIC, 3,
              (("%1", "{n}"), ("%2", "5"), ("%3", "CLR20r3"), ("%4", "Not available"), ("%5", "0"),
               ("%6", "MSExchangeHMWorker.exe"), ("%7", "15.2.1544.4"), ("%8", ""), ("%9", ""), ("%10", ""),
               ("%11", ""), ("%12", ""), ("%13", ""), ("%14", "")),
              {"en-US": "Fault bucket {n}, type 5\r\nEvent Name: CLR20r3\r\nResponse: Not available\r\n"
                        "Cab Id: 0\r\n\r\nProblem signature:\r\nP1: MSExchangeHMWorker.exe\r\nP2: 15.2.1544.4",
               "pl-PL": "Zasobnik błędów {n}, typ 5\r\nNazwa zdarzenia: CLR20r3\r\nOdpowiedź: Niedostępne\r\n"
                        "Identyfikator CAB: 0\r\n\r\nSygnatura problemu:\r\nP1: MSExchangeHMWorker.exe\r\n"
                        "P2: 15.2.1544.4",
               "de-DE": "Fehlerbucket {n}, Typ 5\r\nEreignisname: CLR20r3\r\nAntwort: Nicht verfügbar\r\n"
                        "CAB-ID: 0\r\n\r\nProblemsignatur:\r\nP1: MSExchangeHMWorker.exe\r\nP2: 15.2.1544.4"}),
    NoiseKind("Microsoft-Windows-RestartManager", 10000, None, 4, 0, "0x8000000000000000", 4,
              (("RmSessionId", "{n}"), ("UTCStartTime", "{time}")),
              {"en-US": "Starting session {n} - {time}.",
               "pl-PL": "Rozpoczynanie sesji {n} - {time}.",
               "de-DE": "Sitzung \"{n}\" wird gestartet - {time}."}),
    NoiseKind("Microsoft-Windows-RestartManager", 10001, None, 4, 0, "0x8000000000000000", 4,
              (("RmSessionId", "{n}"), ("UTCEndTime", "{time}")),
              {"en-US": "Ending session {n} started {time}.",
               "pl-PL": "Kończenie sesji {n} rozpoczętej {time}.",
               "de-DE": "Sitzung \"{n}\" wurde beendet, gestartet {time}."}),
    NoiseKind("VSS", 8224, 0, 4, 0, _CLASSIC, 5, (),
              {"en-US": "The VSS service is shutting down due to idle timeout.",
               "pl-PL": "Usługa VSS jest zamykana z powodu przekroczenia limitu czasu bezczynności.",
               "de-DE": "Der VSS-Dienst wird aufgrund eines Leerlauftimeouts heruntergefahren."}),
)


def noise_message(kind: NoiseKind, data: dict[str, str], culture: str, context: dict[str, str]) -> str:
    """The rendered text of a noise event in ``culture`` (English when not translated).

    >>> kind = next(k for k in NOISE if k.event_id == 16394)
    >>> noise_message(kind, {}, "pl-PL", {})
    'Migracja do niższego poziomu w trybie offline powiodła się.'
    """
    template = kind.messages.get(culture) or kind.messages["en-US"]
    return template.format(**context)


def _placeholders(kind: NoiseKind) -> frozenset[str]:
    """The ``{names}`` a noise kind's data and message templates use."""
    texts = [template for _, template in kind.data] + list(kind.messages.values())
    return frozenset(name for text in texts for _, name, _, _ in string.Formatter().parse(text) if name)


def background_events(scenario: Scenario, server: ServerSpec, seed: int,
                      count: int | None = None) -> Iterator[tuple[dict, NoiseKind, dict]]:
    """``count`` background records for ``server``'s Application log, lazily, in time order.

    Yields (row, kind, context): the row in the events-frame shape (no record_id yet),
    its :class:`NoiseKind`, and the values its message template needs. Times are spread
    evenly over the window with jitter, so millions of rows stream in order without sorting.

    >>> from exlab.lab.cases import case
    >>> site = case("fabrikam-healthy")
    >>> rows = [row for row, _, _ in background_events(site, site.servers[0], seed=1, count=3)]
    >>> len(rows), rows[0]["computer"], rows[0]["time_created"] <= rows[1]["time_created"]
    (3, 'fabex01.fabrikam.com', True)
    """
    rng = rng_for(scenario.case, seed, server.name, "noise")
    random_ = rng.random
    total = scenario.noise_per_server if count is None else count
    cumulative = list(itertools.accumulate(k.weight for k in NOISE))
    start, span = scenario.start_ns, scenario.end_ns - scenario.start_ns
    step = span / max(total, 1)
    pids = [str(rng.randrange(1000, 12000)) for _ in range(6)]
    base = {"domain": scenario.domain, "org": scenario.org, "server": server.name, "fqdn": server.fqdn}
    needs = {kind.event_id: _placeholders(kind) for kind in NOISE}
    for i in range(total):
        kind = NOISE[bisect.bisect_right(cumulative, random_() * cumulative[-1])]
        when = start + int((i + random_()) * step)
        when -= when % 100
        wanted = needs[kind.event_id]
        context = dict(base)
        if "n" in wanted:
            context["n"] = str(1 + int(random_() * 3999))
        if "pid" in wanted:
            context["pid"] = pids[int(random_() * 6)]
        if "time" in wanted:
            context["time"] = iso_ns(when + (1 + int(random_() * 3599)) * NS)[:19] + "Z"
        if "db" in wanted:
            context["db"] = f"DB{1 + int(random_() * 4):02d}"
        data = {key: template.format_map(context) for key, template in kind.data}
        row = {"time_created": when, "computer": server.fqdn, "channel": "Application",
               "provider": kind.provider, "event_id": kind.event_id, "qualifiers": kind.qualifiers,
               "level": kind.level, "task": kind.task, "keywords": kind.keywords, "data": data}
        yield row, kind, context


TRANSPORT_EVENTS = {
    # id: (qualifiers, level, task)
    2004: (16388, 4, 2),
    12014: (49156, 2, 12),
    12016: (49156, 2, 12),
    12018: (32772, 3, 12),
}


def transport_row(scenario: Scenario, server: ServerSpec, event: TransportEvent) -> dict:
    """An MSExchangeTransport event as an events-frame row (no record_id).

    >>> from exlab.lab.cases import case
    >>> site = case("contoso-kb2888788")
    >>> row = transport_row(site, site.servers[0], TransportEvent(0, "EXCHANGE", 2004, ("a", "<b>", "454")))
    >>> row["qualifiers"], row["task"], row["data"]
    (16388, 2, {'%1': 'a', '%2': '<b>', '%3': '454'})
    """
    qualifiers, level, task = TRANSPORT_EVENTS[event.event_id]
    return {"time_created": event.time, "computer": server.fqdn, "channel": "Application",
            "provider": "MSExchangeTransport", "event_id": event.event_id, "qualifiers": qualifiers,
            "level": level, "task": task, "keywords": _CLASSIC,
            "data": {f"%{i}": value for i, value in enumerate(event.data, 1)}}
