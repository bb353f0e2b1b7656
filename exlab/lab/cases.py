"""The six lab cases, as data: one incident, one healthy control, three look-alikes, and a
site of three servers (one failing, one healthy, one that does not send to Exchange Online).

Each case is a :class:`~exlab.lab.scenario.Scenario`: the site, its servers, the send
connector, every certificate in the stores with its service history, what the admins
did and when, and which files the engineer exported (``exports``). Times are UTC.
``data/samples/README.md`` tells each story in an engineer's words.

>>> names()
('contoso-kb2888788', 'fabrikam-healthy', 'tailspin-tlscertname', 'woodgrove-expired', 'northwind-quiet', 'litware-servers')
>>> case("northwind-quiet").servers[1].smtp_send_log_level
'Lowest'
"""

from __future__ import annotations

from exlab.lab.scenario import (
    Action,
    CertSpec,
    ConnectorSpec,
    Export,
    Scenario,
    ServerSpec,
    Traffic,
)

ALL_SERVICES = ("IMAP", "POP", "IIS", "SMTP")
SETUP_SERVICES = ("IMAP", "POP", "IIS", "SMTP")    # what Exchange setup gives its self-signed certificate
AUTH_SERVICES = ("SMTP",)


def _x(path: str, kind: str, server: str | None = None, **options: object) -> Export:
    return Export(path, kind, server, tuple(sorted(options.items())))


def _exchange_defaults(servers: tuple[ServerSpec, ...], installed: str) -> tuple[CertSpec, ...]:
    """The self-signed certificate setup creates on each server (5 years), and the Server Auth one."""
    expires = f"{int(installed[:4]) + 5}{installed[4:]}"
    out = [CertSpec(key=f"self-signed-{server.name.lower()}", servers=(server.name,), issuer="self-signed",
                    subject_cn=server.name, dns_names=(server.name, server.fqdn), not_before=installed,
                    not_after=expires, friendly_name="Microsoft Exchange",
                    services=((installed, SETUP_SERVICES),))
           for server in servers]
    out.append(CertSpec(key="auth", servers=tuple(s.name for s in servers), issuer="auth",
                        subject_cn="Microsoft Exchange Server Auth Certificate", dns_names=(),
                        not_before=installed, not_after=expires,
                        friendly_name="Microsoft Exchange Server Auth Certificate",
                        services=((installed, AUTH_SERVICES),)))
    return tuple(out)


def _contoso() -> Scenario:
    ex = ServerSpec("EXCHANGE", "exchange.contoso.com", "10.20.0.25")
    enable = "2025-03-20T09:12:40Z"
    fix = "2025-03-21T11:05:00Z"
    certs = (
        CertSpec("public", (ex.name,), "public", "mail.contoso.com",
                 ("mail.contoso.com", "autodiscover.contoso.com", "exchange.contoso.com"),
                 "2024-11-05T10:21:07Z", "2025-12-06T23:59:59Z", "mail.contoso.com 2024",
                 (("2024-11-05T14:02:11Z", ALL_SERVICES),), organization="Contoso Sp. z o.o."),
        CertSpec("internal", (ex.name,), "internal", "mail.contoso.com",
                 ("mail.contoso.com", "exchange.contoso.com", "autodiscover.contoso.com"),
                 "2025-03-20T07:48:12Z", "2027-03-20T07:48:12Z", "Contoso internal",
                 (("2025-03-20T08:02:31Z", ()), (enable, ALL_SERVICES), (fix, ("IMAP", "POP", "IIS")))),
        *_exchange_defaults((ex,), "2022-06-13T08:11:40Z"),
    )
    return Scenario(
        case="contoso-kb2888788",
        story=("On 20 March a new certificate for mail.contoso.com was requested from the company's own "
               "CA (Contoso Issuing CA 01) and enabled with Enable-ExchangeCertificate -Services "
               "IIS,POP,IMAP,SMTP. The public certificate from the lab public CA stayed enabled for SMTP too, "
               "and the transport service began presenting the newer internal one to Exchange Online, "
               "which refused it (454 4.7.0 ... UntrustedRoot). Mail to the cloud queued for a day, retried "
               "at Exchange's default intervals, until SMTP was taken off the internal certificate and "
               "the transport service restarted on 21 March; the queue then drained."),
        verdict="confirmed", cause="kb2888788", culprit="internal",
        org="Contoso", domain="contoso.com", tenant="contoso", tz="Europe/Warsaw", culture="pl-PL",
        servers=(ex,),
        connector=ConnectorSpec("Outbound to Office 365", "contoso-com.mail.protection.outlook.com",
                                ("smtp:contoso.mail.onmicrosoft.com;1",), (ex.name,), fqdn="mail.contoso.com"),
        certificates=certs,
        start="2025-03-20T04:00:00Z", end="2025-03-21T16:40:00Z",
        collected="2025-03-21T16:40:00Z", certs_exported="2025-03-21T10:32:18Z",
        actions=(
            Action(enable, ex.name, "Enable-ExchangeCertificate -Thumbprint {internal} -Services IIS,POP,IMAP,SMTP",
                   "enable"),
            Action(fix, ex.name, "Enable-ExchangeCertificate -Thumbprint {internal} -Services IIS,POP,IMAP", "fix"),
            Action("2025-03-21T11:06:02Z", ex.name, "Restart-Service MSExchangeTransport", "restart"),
        ),
        traffic=Traffic(),
        exports=(
            _x("events/Application.evtx", "evtx", ex.name),
            _x("events/MSExchangeTransport.xml", "event-xml", ex.name, style="viewer", culture="pl-PL",
               providers=("MSExchangeTransport",)),
            _x("events/MSExchangeTransport-pl.csv", "event-csv", ex.name, culture="pl-PL",
               providers=("MSExchangeTransport",)),
            _x("events/MSExchangeTransport-en.csv", "event-csv", ex.name, culture="en-US",
               providers=("MSExchangeTransport",)),
            _x("certs/mail.contoso.com-2024.cer", "cer", ex.name, cert="public"),
            _x("certs/mail.contoso.com-internal.cer", "cer", ex.name, cert="internal", pem=True),
            _x("certs/mail.contoso.com-2024-chain.p7b", "p7b", ex.name, cert="public"),
            _x("certs/Get-ExchangeCertificate.txt", "exchange-certs", ex.name, shape="table", culture="pl-PL"),
            _x("certs/Get-ExchangeCertificate-fl.txt", "exchange-certs", ex.name, shape="fl*", culture="pl-PL"),
            _x("certs/Get-ExchangeCertificate.csv", "exchange-certs", ex.name, shape="csv", culture="pl-PL"),
            _x("certs/Get-ExchangeCertificate.xml", "exchange-certs", ex.name, shape="clixml-remote",
               culture="pl-PL"),
            _x("logs/ProtocolLog/SmtpSend", "protocol-log", ex.name),
            _x("logs/MessageTracking", "tracking-log", ex.name),
            _x("config/Get-SendConnector.txt", "send-connector", None, shape="fl"),
            _x("config/Get-ExchangeServer.txt", "exchange-server", None, shape="fl"),
            _x("config/Get-Queue.txt", "queue", ex.name, shape="fl"),
        ),
    )


def _fabrikam() -> Scenario:
    ex = ServerSpec("FABEX01", "fabex01.fabrikam.com", "172.16.4.20", exchange_version="15.0 (Build 1497.2)")
    certs = (
        CertSpec("public", (ex.name,), "public", "mail.fabrikam.com",
                 ("mail.fabrikam.com", "autodiscover.fabrikam.com"),
                 "2025-01-14T16:40:00Z", "2026-02-14T23:59:59Z", "Fabrikam 2025 (public)",
                 (("2025-01-15T15:10:42Z", ("IIS", "SMTP")),), organization="Fabrikam Inc"),
        *_exchange_defaults((ex,), "2023-02-07T19:22:05Z"),
    )
    return Scenario(
        case="fabrikam-healthy",
        story=("A healthy hybrid server, the negative control: one public certificate for mail.fabrikam.com "
               "is enabled for SMTP (besides the self-signed certificate Exchange setup created for the "
               "server's own name), the transport presents it to Exchange Online and every message is "
               "accepted. Nothing to fix."),
        verdict="ruled_out", cause=None, culprit=None,
        org="Fabrikam", domain="fabrikam.com", tenant="fabrikam", tz="Australia/Perth", culture="en-AU",
        servers=(ex,),
        connector=ConnectorSpec("Outbound to Office 365", "fabrikam-com.mail.protection.outlook.com",
                                ("smtp:fabrikam.mail.onmicrosoft.com;1",), (ex.name,), fqdn="mail.fabrikam.com"),
        certificates=certs,
        start="2025-05-12T04:00:00Z", end="2025-05-13T22:00:00Z",
        collected="2025-05-13T22:00:00Z", certs_exported="2025-05-13T21:48:51Z",
        traffic=Traffic(senders=("megan.bowen", "alex.wilber", "diego.siciliani"),
                        recipients=("lynne.robbins", "joni.sherman", "grady.archie"),
                        subjects=("Q2 forecast", "RE: travel request", "Weekly status")),
        exports=(
            _x("events/Application.evtx", "evtx", ex.name),
            _x("events/Application-wevtutil.xml", "event-xml", ex.name, style="wevtutil",
               providers=("MSExchangeTransport", "MSExchange ADAccess")),
            _x("events/Application.csv", "event-csv", ex.name, culture="en-AU"),
            _x("certs/Get-ExchangeCertificate.json", "exchange-certs", ex.name, shape="json", culture="en-AU"),
            _x("certs/Get-ExchangeCertificate-fl.txt", "exchange-certs", ex.name, shape="fl*", culture="en-AU"),
            _x("certs/mail.fabrikam.com.cer", "cer", ex.name, cert="public"),
            _x("logs/ProtocolLog/SmtpSend", "protocol-log", ex.name),
            _x("logs/MessageTracking", "tracking-log", ex.name),
            _x("config/Get-SendConnector.xml", "send-connector", None, shape="clixml"),
            _x("config/Get-ReceiveConnector.xml", "receive-connector", None, shape="clixml"),
            _x("config/Get-ExchangeServer.json", "exchange-server", None, shape="json"),
        ),
    )


def _tailspin() -> Scenario:
    one = ServerSpec("TSEX01", "tsex01.tailspintoys.com", "10.1.10.11")
    two = ServerSpec("TSEX02", "tsex02.tailspintoys.com", "10.1.10.12")
    both = (one.name, two.name)
    pinned = ("<I>CN=exlab Lab Public Server CA 01, O=exlab lab, C=US"
              "<S>CN=mail.tailspintoys.com, O=Tailspin Toys, C=US")
    certs = (
        CertSpec("public-2024", both, "public", "mail.tailspintoys.com",
                 ("mail.tailspintoys.com", "autodiscover.tailspintoys.com"),
                 "2024-07-01T08:00:00Z", "2025-07-02T23:59:59Z", "mail.tailspintoys.com 2024",
                 (("2024-07-01T09:30:00Z", ("IIS", "SMTP")),), removed="2025-06-24T08:31:15Z",
                 organization="Tailspin Toys"),
        CertSpec("public-2025", both, "public", "mail.tailspintoys.com",
                 ("mail.tailspintoys.com", "autodiscover.tailspintoys.com"),
                 "2025-06-20T11:12:00Z", "2026-07-21T23:59:59Z", "mail.tailspintoys.com 2025",
                 (("2025-06-24T08:24:40Z", ("IIS", "SMTP")),), organization="Tailspin Toys GmbH"),
        *_exchange_defaults((one, two), "2023-09-18T07:03:44Z"),
    )
    return Scenario(
        case="tailspin-tlscertname",
        story=("The hybrid send connector pins its certificate with TlsCertificateName (as the Hybrid "
               "Configuration Wizard writes it). On 24 June the public certificate was renewed on both "
               "transport servers and the old one removed; the renewed certificate's subject now says "
               "O=Tailspin Toys GmbH, so the pinned <I>issuer<S>subject no longer matches anything. Both "
               "servers log event 12014 and fail every delivery to Exchange Online with 454 4.7.5 before "
               "STARTTLS. Not KB 2888788: the fix is to run the Hybrid Configuration Wizard again or "
               "Set-SendConnector -TlsCertificateName with the new certificate's issuer and subject. The "
               "evidence was collected before that was done."),
        verdict="ruled_out", cause="tlscertificatename-missing", culprit=None,
        org="Tailspin Toys", domain="tailspintoys.com", tenant="tailspintoys", tz="Europe/Berlin",
        culture="de-DE",
        servers=(one, two),
        connector=ConnectorSpec("Outbound to Office 365 3c5e9a1f-02b4-4d6e-8f7a-9b0c1d2e3f40",
                                "tailspintoys-com.mail.protection.outlook.com",
                                ("smtp:tailspintoys.mail.onmicrosoft.com;1",), both,
                                fqdn="mail.tailspintoys.com", tls_certificate_name=pinned),
        certificates=certs,
        start="2025-06-23T10:00:00Z", end="2025-06-24T15:30:00Z",
        collected="2025-06-24T15:30:00Z", certs_exported="2025-06-24T15:12:30Z",
        actions=tuple(
            action for server in both for action in (
                Action("2025-06-24T08:24:40Z", server,
                       "Enable-ExchangeCertificate -Thumbprint {public-2025} -Server " + server + " -Services IIS,SMTP",
                       "enable"),
                Action("2025-06-24T08:31:15Z", server,
                       "Remove-ExchangeCertificate -Thumbprint {public-2024} -Server " + server, "remove"))),
        traffic=Traffic(office_rate=2.0, night_rate=0.3,
                        senders=("lukas.schmidt", "sabine.mueller", "jonas.becker"),
                        recipients=("katrin.wagner", "felix.hoffmann", "lea.schaefer"),
                        subjects=("AW: Angebot 2025-118", "Protokoll Teamrunde", "Rechnung Juni")),
        exports=(
            _x("TSEX01/events/Application.evtx", "evtx", one.name),
            _x("TSEX02/events/Application.evtx", "evtx", two.name),
            _x("TSEX01/events/MSExchangeTransport.csv", "event-csv", one.name, culture="de-DE",
               providers=("MSExchangeTransport",)),
            _x("TSEX02/events/MSExchangeTransport.txt", "event-txt", two.name, culture="de-DE",
               providers=("MSExchangeTransport",)),
            _x("TSEX02/events/MSExchangeTransport-WinEvent.xml", "event-winevent", two.name, culture="de-DE",
               providers=("MSExchangeTransport",)),
            _x("TSEX01/certs/Get-ExchangeCertificate-fl.txt", "exchange-certs", one.name, shape="fl*",
               culture="de-DE"),
            _x("TSEX02/certs/Get-ExchangeCertificate.xml", "exchange-certs", two.name, shape="clixml-local",
               culture="de-DE"),
            _x("TSEX01/logs/ProtocolLog/SmtpSend", "protocol-log", one.name),
            _x("TSEX02/logs/ProtocolLog/SmtpSend", "protocol-log", two.name),
            _x("TSEX01/logs/MessageTracking", "tracking-log", one.name),
            _x("TSEX02/logs/MessageTracking", "tracking-log", two.name),
            _x("config/Get-SendConnector.txt", "send-connector", None, shape="fl"),
            _x("config/Get-ExchangeServer.txt", "exchange-server", None, shape="fl"),
        ),
    )


def _woodgrove() -> Scenario:
    ex = ServerSpec("WGEX01", "wgex01.woodgrovebank.com", "10.40.2.15", exchange_version="14.3 (Build 123.4)")
    certs = (
        CertSpec("public-2024", (ex.name,), "public", "mail.woodgrovebank.com",
                 ("mail.woodgrovebank.com", "autodiscover.woodgrovebank.com"),
                 "2024-04-01T17:05:00Z", "2025-04-02T04:59:59Z", "Woodgrove 2024",
                 (("2024-04-02T14:00:00Z", ("IIS", "SMTP")),), organization="Woodgrove Bank"),
        CertSpec("public-2025", (ex.name,), "public", "mail.woodgrovebank.com",
                 ("mail.woodgrovebank.com", "autodiscover.woodgrovebank.com"),
                 "2025-04-02T18:55:00Z", "2026-04-03T23:59:59Z", "Woodgrove 2025",
                 (("2025-04-02T19:36:06Z", ()), ("2025-04-02T19:40:31Z", ("IIS", "SMTP"))),
                 organization="Woodgrove Bank"),
        *_exchange_defaults((ex,), "2021-10-04T21:30:12Z"),
    )
    return Scenario(
        case="woodgrove-expired",
        story=("The only certificate for mail.woodgrovebank.com, from the lab public CA, ran out on 2 April "
               "at 04:59 UTC. Exchange had warned with event 12018 every day for a month; nobody renewed "
               "it in time. From the expiry the transport logs event 12016 and Exchange Online refuses "
               "the expired certificate, so mail to the cloud queues. A renewed certificate was imported "
               "and enabled for IIS and SMTP that evening and the transport service restarted; the queue "
               "drained. Not KB 2888788."),
        verdict="ruled_out", cause="certificate-expired", culprit="public-2024",
        org="Woodgrove Bank", domain="woodgrovebank.com", tenant="woodgrovebank", tz="America/Chicago",
        culture="en-US",
        servers=(ex,),
        connector=ConnectorSpec("Outbound to Office 365", "woodgrovebank-com.mail.protection.outlook.com",
                                ("smtp:woodgrovebank.mail.onmicrosoft.com;1",), (ex.name,),
                                fqdn="mail.woodgrovebank.com"),
        certificates=certs,
        start="2025-04-01T00:00:00Z", end="2025-04-03T14:00:00Z",
        collected="2025-04-03T14:00:00Z", certs_exported="2025-04-02T16:05:44Z",
        actions=(
            Action("2025-04-02T19:40:31Z", ex.name,
                   "Enable-ExchangeCertificate -Thumbprint {public-2025} -Services IIS,SMTP", "fix"),
            Action("2025-04-02T19:42:10Z", ex.name, "Restart-Service MSExchangeTransport", "restart"),
        ),
        traffic=Traffic(office_rate=3.0, night_rate=0.3,
                        senders=("nestor.wilke", "pradeep.gupta", "isaiah.langer"),
                        recipients=("adele.vance", "christie.cline", "patti.fernandez"),
                        subjects=("Loan file 4471", "RE: branch audit", "Wire confirmation")),
        exports=(
            _x("events/Application.evtx", "evtx", ex.name, dirty=True),
            _x("events/Application.xml", "event-xml", ex.name, style="viewer", culture="en-US",
               providers=("MSExchangeTransport",)),
            _x("events/Application-EventLog.xml", "event-clixml", ex.name, providers=("MSExchangeTransport",),
               levels=(2, 3)),
            _x("certs/Get-ExchangeCertificate.csv", "exchange-certs", ex.name, shape="csv", culture="en-US"),
            _x("certs/Get-ExchangeCertificate.txt", "exchange-certs", ex.name, shape="table", culture="en-US"),
            _x("certs/woodgrove-2024.cer", "cer", ex.name, cert="public-2024"),
            _x("logs/ProtocolLog/SmtpSend", "protocol-log", ex.name),
            _x("logs/MessageTracking", "tracking-log", ex.name),
            _x("config/Get-SendConnector.txt", "send-connector", None, shape="fl"),
        ),
    )


def _northwind() -> Scenario:
    one = ServerSpec("NWEX01", "nwex01.northwindtraders.com", "192.168.50.21", smtp_send_log_level="Lowest")
    two = ServerSpec("NWEX02", "nwex02.northwindtraders.com", "192.168.50.22", smtp_send_log_level="Lowest")
    both = (one.name, two.name)
    enable = "2025-09-09T13:47:22Z"
    certs = (
        CertSpec("public", both, "public", "mail.northwindtraders.com",
                 ("mail.northwindtraders.com", "autodiscover.northwindtraders.com"),
                 "2025-02-10T09:00:00Z", "2026-03-13T23:59:59Z", "Northwind 2025",
                 (("2025-02-10T10:15:00Z", ALL_SERVICES),), organization="Northwind Traders"),
        CertSpec("internal", (two.name,), "internal", "mail.northwindtraders.com",
                 ("mail.northwindtraders.com", "nwex02.northwindtraders.com", "autodiscover.northwindtraders.com"),
                 "2025-09-09T13:30:05Z", "2027-09-09T13:30:05Z", "NWEX02 SSL",
                 (("2025-09-09T13:41:50Z", ()), (enable, ALL_SERVICES))),
        *_exchange_defaults((one, two), "2024-01-22T10:40:31Z"),
    )
    return Scenario(
        case="northwind-quiet",
        story=("KB 2888788 on one of two transport servers, with no event 2004 to show for it: diagnostic "
               "logging for MSExchangeTransport\\SmtpSend was never raised. On 9 September an admin "
               "requested a certificate from the internal CA for NWEX02 and enabled it for "
               "IIS,POP,IMAP,SMTP; NWEX02 has presented it to Exchange Online ever since and every attempt "
               "ends in 454 4.7.0 ... UntrustedRoot, while NWEX01 delivers normally. Users noticed the next "
               "morning, when delay notifications arrived for half of their mail to cloud mailboxes. The "
               "protocol logs (thumbprint of the certificate sent), the tracking logs (DEFER rows) and the "
               "certificate exports still show it. No fix in the evidence."),
        verdict="confirmed", cause="kb2888788", culprit="internal",
        org="Northwind Traders", domain="northwindtraders.com", tenant="northwindtraders", tz="Europe/Berlin",
        culture="de-DE",
        servers=(one, two),
        connector=ConnectorSpec("Outbound to Office 365 a7c2e4f1-5b3d-4e9a-8c21-6d0f9e8b7a53",
                                "northwindtraders-com.mail.protection.outlook.com",
                                ("smtp:northwindtraders.mail.onmicrosoft.com;1",), both,
                                fqdn="mail.northwindtraders.com"),
        certificates=certs,
        start="2025-09-09T04:00:00Z", end="2025-09-10T11:30:00Z",
        collected="2025-09-10T11:30:00Z", certs_exported="2025-09-10T11:12:09Z",
        actions=(
            Action(enable, two.name, "Enable-ExchangeCertificate -Thumbprint {internal} -Services IIS,POP,IMAP,SMTP",
                   "enable"),
        ),
        traffic=Traffic(office_rate=1.5, night_rate=0.2,
                        senders=("hanna.keller", "moritz.braun", "julia.roth"),
                        recipients=("nina.vogel", "paul.krueger", "sophie.lang"),
                        subjects=("Lieferavis 0915", "Bestellung 88231", "WG: Urlaubsplanung")),
        noise_per_server=300,
        exports=(
            _x("NWEX01/Application.evtx", "evtx", one.name),
            _x("NWEX02/Application.evtx", "evtx", two.name, dirty=True),
            _x("NWEX02/Application.csv", "event-csv", two.name, culture="de-DE"),
            _x("NWEX01/Get-ExchangeCertificate.txt", "exchange-certs", one.name, shape="fl", culture="de-DE"),
            _x("NWEX02/Get-ExchangeCertificate.txt", "exchange-certs", two.name, shape="fl", culture="de-DE"),
            _x("NWEX02/Get-ExchangeCertificate.xml", "exchange-certs", two.name, shape="clixml-remote",
               culture="de-DE"),
            _x("NWEX02/NWEX02-SSL.p7b", "p7b", two.name, cert="internal"),
            _x("NWEX01/Logs/ProtocolLog/SmtpSend", "protocol-log", one.name),
            _x("NWEX02/Logs/ProtocolLog/SmtpSend", "protocol-log", two.name),
            _x("NWEX01/Logs/MessageTracking", "tracking-log", one.name),
            _x("NWEX02/Logs/MessageTracking", "tracking-log", two.name),
            _x("Get-SendConnector.json", "send-connector", None, shape="json"),
            _x("Get-ExchangeServer.txt", "exchange-server", None, shape="fl"),
        ),
    )


def _litware() -> Scenario:
    one = ServerSpec("LWEX01", "lwex01.litwareinc.com", "10.60.1.11")
    two = ServerSpec("LWEX02", "lwex02.litwareinc.com", "10.60.1.12")
    branch = ServerSpec("LWEX03", "lwex03.litwareinc.com", "10.62.8.13")
    enable = "2025-10-14T13:05:18Z"
    certs = (
        CertSpec("public", (one.name, two.name), "public", "mail.litwareinc.com",
                 ("mail.litwareinc.com", "autodiscover.litwareinc.com"),
                 "2025-04-07T12:00:00Z", "2026-05-08T23:59:59Z", "Litware 2025",
                 (("2025-04-07T15:20:00Z", ("IIS", "SMTP")),), organization="Litware Inc"),
        CertSpec("internal", (one.name,), "internal", "mail.litwareinc.com",
                 ("mail.litwareinc.com", "lwex01.litwareinc.com", "autodiscover.litwareinc.com"),
                 "2025-10-14T12:48:30Z", "2027-10-14T12:48:30Z", "LWEX01 internal",
                 (("2025-10-14T12:51:02Z", ()), (enable, ALL_SERVICES))),
        CertSpec("internal-branch", (branch.name,), "internal", "mail.litwareinc.com",
                 ("mail.litwareinc.com", "lwex03.litwareinc.com"),
                 "2025-08-19T09:10:00Z", "2027-08-19T09:10:00Z", "LWEX03 internal",
                 (("2025-08-19T09:14:45Z", ALL_SERVICES),)),
        *_exchange_defaults((one, two, branch), "2024-03-04T16:25:10Z"),
    )
    return Scenario(
        case="litware-servers",
        story=("Three Exchange servers, two of them the source transport servers of the hybrid send connector. "
               "On 14 October an admin enabled a certificate from the company's own CA for IIS,POP,IMAP,SMTP on "
               "LWEX01 only; LWEX01 has presented it to Exchange Online since and every delivery is refused "
               "with 454 4.7.0 ... UntrustedRoot, while LWEX02 keeps delivering with the public certificate. "
               "LWEX03, a mailbox server in the branch office, has had an internal certificate enabled for "
               "SMTP since August, but it is not a source server of the connector and never sends to Exchange "
               "Online: it needs no fix. Only LWEX01 gets the KB 2888788 fix. No fix in the evidence."),
        verdict="confirmed", cause="kb2888788", culprit="internal",
        org="Litware", domain="litwareinc.com", tenant="litwareinc", tz="America/Los_Angeles", culture="en-US",
        servers=(one, two, branch),
        connector=ConnectorSpec("Outbound to Office 365", "litwareinc-com.mail.protection.outlook.com",
                                ("smtp:litwareinc.mail.onmicrosoft.com;1",), (one.name, two.name),
                                fqdn="mail.litwareinc.com"),
        certificates=certs,
        start="2025-10-14T07:00:00Z", end="2025-10-15T01:30:00Z",
        collected="2025-10-15T01:30:00Z", certs_exported="2025-10-15T01:12:40Z",
        actions=(
            Action(enable, one.name, "Enable-ExchangeCertificate -Thumbprint {internal} -Services IIS,POP,IMAP,SMTP",
                   "enable"),
        ),
        traffic=Traffic(office_rate=1.5, night_rate=0.2,
                        senders=("kim.akers", "jeff.hay", "ana.trujillo"),
                        recipients=("ben.smith", "gail.erickson", "luis.bonifaz"),
                        subjects=("Order 5561", "RE: shipping dates", "Quarterly review")),
        noise_per_server=150,
        exports=(
            _x("LWEX01/Application.evtx", "evtx", one.name),
            _x("LWEX02/Application.evtx", "evtx", two.name),
            _x("LWEX03/Application.evtx", "evtx", branch.name),
            _x("LWEX01/Get-ExchangeCertificate.txt", "exchange-certs", one.name, shape="fl", culture="en-US"),
            _x("LWEX02/Get-ExchangeCertificate.txt", "exchange-certs", two.name, shape="fl", culture="en-US"),
            _x("LWEX03/Get-ExchangeCertificate.txt", "exchange-certs", branch.name, shape="fl", culture="en-US"),
            _x("LWEX01/Logs/ProtocolLog/SmtpSend", "protocol-log", one.name),
            _x("LWEX02/Logs/ProtocolLog/SmtpSend", "protocol-log", two.name),
            _x("LWEX01/Logs/MessageTracking", "tracking-log", one.name),
            _x("LWEX02/Logs/MessageTracking", "tracking-log", two.name),
            _x("Get-SendConnector.txt", "send-connector", None, shape="fl"),
            _x("Get-ExchangeServer.txt", "exchange-server", None, shape="fl"),
        ),
    )


_BUILDERS = {
    "contoso-kb2888788": _contoso,
    "fabrikam-healthy": _fabrikam,
    "tailspin-tlscertname": _tailspin,
    "woodgrove-expired": _woodgrove,
    "northwind-quiet": _northwind,
    "litware-servers": _litware,
}


def names() -> tuple[str, ...]:
    """The names of the lab cases, in the order README.md tells them."""
    return tuple(_BUILDERS)


def case(name: str) -> Scenario:
    """The scenario of the case called ``name`` (KeyError naming the known ones otherwise).

    >>> case("contoso-kb2888788").connector.name
    'Outbound to Office 365'
    """
    try:
        return _BUILDERS[name]()
    except KeyError:
        raise KeyError(f"no lab case {name!r}; known: {', '.join(_BUILDERS)}") from None
