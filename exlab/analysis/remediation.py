"""The commands that fix each cause, and those that collect missing evidence, built safely.

Values taken from the evidence go into PowerShell only in two checked shapes: a
thumbprint must be 40 hex digits, and any other text becomes a single-quoted literal
(no variable expansion) with its quotes doubled, including the typographic ones that
PowerShell also treats as single quotes.

>>> ps_quote("Outbound to O'Brien's 365")
"'Outbound to O''Brien''s 365'"
>>> steps = kb2888788_steps("3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55", ("IMAP", "POP", "IIS", "SMTP"),
...                         connector="Outbound to Office 365",
...                         public=("CN=GlobalSign RSA OV SSL CA 2018", "CN=mail.contoso.com"))
>>> print(steps[2].command)
Enable-ExchangeCertificate -Thumbprint 3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55 -Services IMAP,POP,IIS
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

_HEX40 = re.compile(r"^[0-9A-F]{40}$")
_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")   # control characters and line separators

THUMBPRINT_PLACEHOLDER = "<thumbprint>"
CONNECTOR_PLACEHOLDER = "<send connector name>"
SERVER_PLACEHOLDER = "<server>"
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$")
# the cmdlets of a fix that act on one server's certificates and take -Server
_SERVER_CMDLETS = ("Get-ExchangeCertificate", "Enable-ExchangeCertificate", "Import-ExchangeCertificate", "Get-Queue")
_RESTART = "Restart-Service MSExchangeTransport"
# commands that act on the machine they run on, not through Exchange (a service, the machine's certificate store,
# its event log, its log folders): aimed at a server, they run there (Invoke-Command)
_LOCAL = re.compile(r"^(?:Restart-Service (?:MSExchangeTransport(?:, MSExchangeFrontEndTransport)?|"
                    r"MSExchangeFrontEndTransport)$|certutil )"
                    r"|(?:^|; )wevtutil |\$env:ExchangeInstallPath")
# the event logging category of one server: Set-EventLogLevel's identity is <server>\<log>\<category>
_EVENT_LOG_LEVEL = re.compile(r'^Set-EventLogLevel "(?=MSExchange)')
_EDGE_SYNC = "Start-EdgeSynchronization"
_RESTART_PURPOSE = ("Let the transport service pick up the change (while it restarts, a minute or so, the server "
                    "takes and sends no mail: senders retry, and its queue is kept)")
_FRONT_END_RESTART_PURPOSE = ("Let the Front End Transport service pick up the change: it connects to Exchange Online "
                              "for the Mailbox servers, and this server runs no Transport service (while it restarts, "
                              "a minute or so, it relays no mail: the Mailbox servers queue it and retry)")
PIN_PLACEHOLDER = "'<I><issuer><S><subject>'"
#: what a step that enables a certificate for SMTP must say: the cmdlet asks before it replaces the
#: default SMTP certificate (the self-signed one internal mail between Exchange servers uses)
SMTP_PROMPT = (" (it asks whether to replace the default SMTP certificate: answer N, so the self-signed one stays "
               "for mail between the Exchange servers)")


@dataclass(frozen=True)
class Step:
    """One step of a fix: what it is for, the PowerShell to run (None for advice only) and the
    PowerShell that puts back what it changed (None when it changes nothing to put back, or the
    evidence does not say what was there before)."""

    purpose: str
    command: str | None = None
    undo: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready.

        >>> Step("restart", "Restart-Service MSExchangeTransport").to_dict()["command"]
        'Restart-Service MSExchangeTransport'
        """
        return {"purpose": self.purpose, "command": self.command, "undo": self.undo}


def rollback(steps: Sequence[Step]) -> list[str]:
    """The commands that undo a fix, last step first.

    >>> rollback([Step("a", "Set-A", "Set-A -Back"), Step("b", "Restart"), Step("c", "Set-C", "Set-C -Back")])
    ['Set-C -Back', 'Set-A -Back']
    """
    return [step.undo for step in reversed(steps) if step.undo]


def thumbprint_or_placeholder(value: str | None) -> str:
    """A thumbprint fit for a command line: 40 upper-case hex digits, else a placeholder.

    >>> thumbprint_or_placeholder("3f2a9c01d4e8b7766a5c0b1e92d4f0a8c3b71e55")[:8]
    '3F2A9C01'
    >>> thumbprint_or_placeholder("3F2A; Remove-Item C:\\\\")
    '<thumbprint>'
    """
    if value is None:
        return THUMBPRINT_PLACEHOLDER
    text = str(value).strip().upper()
    return text if _HEX40.match(text) else THUMBPRINT_PLACEHOLDER


def ps_quote(text: str | None, placeholder: str = CONNECTOR_PLACEHOLDER) -> str:
    """``text`` as a PowerShell single-quoted string; the placeholder when empty or unsafe.

    Control characters (a line break in an evidence string) cannot be shown in one
    command line, so such text gives the placeholder instead.

    >>> ps_quote("Outbound to Office 365")
    "'Outbound to Office 365'"
    >>> ps_quote("a\\u2019b"), ps_quote("line\\nbreak")
    ("'a\\u2019\\u2019b'", '<send connector name>')
    """
    if not text or _CONTROL.search(text):
        return placeholder
    return "'" + "".join(ch * 2 if ch in _SINGLE_QUOTES else ch for ch in text) + "'"


def server_or_placeholder(value: str | None) -> str:
    """A server name fit for a command line: a host name (NetBIOS or FQDN), else a placeholder.

    >>> server_or_placeholder("ex01.contoso.com"), server_or_placeholder("EX01; Stop-Computer")
    ('ex01.contoso.com', '<server>')
    """
    text = (value or "").strip()
    return text if len(text) <= 253 and _HOST.match(text) else SERVER_PLACEHOLDER


def on_server(steps: Sequence[Step], server: str | None, *, edge: bool = False) -> list[Step]:
    """The steps of a fix aimed at one server of several: its certificate cmdlets take
    ``-Server``, the transport restart runs there, and those steps say where (settings of
    the organisation, such as the send connector, stay as they are).

    >>> step = on_server([Step("Take SMTP off it", "Enable-ExchangeCertificate -Thumbprint AB -Services IIS"),
    ...                   Step("Restart", "Restart-Service MSExchangeTransport")], "EX02")
    >>> print("\\n".join(s.command for s in step))
    Enable-ExchangeCertificate -Thumbprint AB -Server EX02 -Services IIS
    Invoke-Command -ComputerName EX02 { Restart-Service MSExchangeTransport }
    >>> step[0].purpose
    'On EX02: take SMTP off it'

    An Edge Transport server (``edge``) is out of the organisation's reach: ``-Server`` cannot
    configure an Edge remotely, and remote PowerShell does not reach it (no domain, a perimeter
    network). Its steps are run on it, in its own Exchange Management Shell, as they are:

    >>> step = on_server([Step("Take SMTP off it", "Enable-ExchangeCertificate -Thumbprint AB -Services IIS"),
    ...                   Step("Restart", "Restart-Service MSExchangeTransport")], "EDGE01", edge=True)
    >>> [s.command for s in step], step[1].purpose
    (['Enable-ExchangeCertificate -Thumbprint AB -Services IIS', 'Restart-Service MSExchangeTransport'], \
'On the Edge Transport server EDGE01 itself: restart')
    """
    if not server:
        return list(steps)
    host = server_or_placeholder(server)
    out = []
    for step in steps:
        command = _on_host(step.command, host)
        if command == step.command:     # a setting of the organisation: run wherever the organisation is managed
            out.append(step)
        elif edge:
            out.append(Step(_on_edge(step.purpose, host, first=not any(s.purpose.startswith("On the Edge ")
                                                                    for s in out)), step.command, step.undo))
        else:
            out.append(Step(f"On {host}: {_lower_first(step.purpose)}", command, _on_host(step.undo, host)))
    return out


def through_frontend(steps: Sequence[Step], *, alone: bool = False, unknown: bool = False) -> list[Step]:
    """The steps of a fix whose send connector has FrontendProxyEnabled: the Front End Transport service
    connects to Exchange Online and presents the certificate, so the restart that makes the change take
    restarts it too; ``alone``: it only, on a server that runs no Transport service (Exchange 2013's Client
    Access server, where MSExchangeTransport does not exist); ``unknown``: whether the server runs one is not
    known, and the step says what Restart-Service does where it does not.

    >>> [step] = through_frontend([Step("Restart", "Restart-Service MSExchangeTransport")])
    >>> step.command
    'Restart-Service MSExchangeTransport, MSExchangeFrontEndTransport'
    >>> step.purpose
    'Restart, and the Front End Transport service, which connects to Exchange Online (FrontendProxyEnabled)'
    >>> through_frontend([Step("Restart", "Restart-Service MSExchangeTransport")], alone=True)[0].command
    'Restart-Service MSExchangeFrontEndTransport'
    >>> print(through_frontend([Step("Restart", "Restart-Service MSExchangeTransport")], unknown=True)[0].purpose)
    Restart, and the Front End Transport service, which connects to Exchange Online (FrontendProxyEnabled); on an \
Exchange 2013 Client Access server, which runs no Transport service, it reports MSExchangeTransport not found and \
restarts the Front End Transport service all the same
    """
    if alone:
        return [Step(_FRONT_END_RESTART_PURPOSE, "Restart-Service MSExchangeFrontEndTransport", step.undo)
                if step.command == _RESTART else step for step in steps]
    where = ("; on an Exchange 2013 Client Access server, which runs no Transport service, it reports "
             "MSExchangeTransport not found and restarts the Front End Transport service all the same"
             if unknown else "")
    return [Step(f"{step.purpose}, and the Front End Transport service, which connects to Exchange Online "
                 f"(FrontendProxyEnabled){where}", f"{_RESTART}, MSExchangeFrontEndTransport", step.undo)
            if step.command == _RESTART else step for step in steps]


def _on_edge(purpose: str, host: str, *, first: bool) -> str:
    """A step's purpose on an Edge Transport server; the first such step says why it is run there.

    >>> print(_on_edge("Restart", "EDGE01", first=True))
    On the Edge Transport server EDGE01 itself, in its own Exchange Management Shell (-Server and remote \
PowerShell from the organisation do not reach an Edge): restart
    """
    why = (", in its own Exchange Management Shell (-Server and remote PowerShell from the organisation do not "
           "reach an Edge)") if first else ""
    return f"On the Edge Transport server {host} itself{why}: {_lower_first(purpose)}"


def _lower_first(text: str) -> str:
    """A step's purpose as the rest of a sentence: its first letter in lower case, unless the first
    word is an acronym.

    >>> _lower_first("Take SMTP off it"), _lower_first("KB 2888788's own step"), _lower_first("")
    ('take SMTP off it', "KB 2888788's own step", '')
    """
    return text if text[1:2].isupper() else f"{text[:1].lower()}{text[1:]}"


def through_edge_sync(steps: Sequence[Step], edges: Sequence[str]) -> list[Step]:
    """The steps of a fix whose send connector EdgeSync replicates to the Edge Transport servers ``edges``
    (its SourceTransportServers are their Edge Subscriptions): the connector is changed in the
    organisation (a Mailbox server's Exchange Management Shell; the Edge's copy cannot be changed),
    then ``Start-EdgeSynchronization`` takes the change to the Edge at once (else at the next
    synchronization, within the hour); its undo the same way. No ``edges``: the steps as they are.

    >>> [step] = through_edge_sync([Step("Pin it", "Set-SendConnector 'Outbound' -TlsCertificateName 'x'",
    ...                                  "Set-SendConnector 'Outbound' -TlsCertificateName $null")], ["EDGE01"])
    >>> step.command
    "Set-SendConnector 'Outbound' -TlsCertificateName 'x'; Start-EdgeSynchronization"
    >>> step.undo
    "Set-SendConnector 'Outbound' -TlsCertificateName $null; Start-EdgeSynchronization"
    >>> step.purpose.split(" (")[0], step.purpose.split(": ")[-1]
    ('In the organisation, in the Exchange Management Shell of a Mailbox server', 'pin it')
    """
    if not edges:
        return list(steps)
    named = ", ".join(server_or_placeholder(edge) for edge in edges)
    where = (f"In the organisation, in the Exchange Management Shell of a Mailbox server (EdgeSync replicates the "
             f"connector to {named}, where it cannot be changed; Start-EdgeSynchronization sends the change now, "
             "not at the next synchronization)")
    return [Step(f"{where}: {_lower_first(step.purpose)}", _synchronized(step.command), _synchronized(step.undo))
            if _changes_connector(step.command) else step for step in steps]


def _changes_connector(command: str | None) -> bool:
    return bool(command) and command.startswith("Set-SendConnector ")


def _synchronized(command: str | None) -> str | None:
    """A change to a replicated send connector, then EdgeSync at once.

    >>> _synchronized("Set-SendConnector 'x' -Enabled $true"), _synchronized(None)
    ("Set-SendConnector 'x' -Enabled $true; Start-EdgeSynchronization", None)
    """
    return f"{command}; {_EDGE_SYNC}" if _changes_connector(command) else command


def _on_host(command: str | None, host: str) -> str | None:
    """A command aimed at one server: its certificate cmdlets take ``-Server``, an event logging category
    is the server's, and a command local to a machine (:data:`_LOCAL`: a restart, certutil) runs there.
    A thumbprint not known yet (a ``<placeholder>`` of words) is kept whole:

    >>> _on_host("Enable-ExchangeCertificate -Thumbprint <the public certificate's thumbprint> -Services SMTP", "EX02")
    "Enable-ExchangeCertificate -Thumbprint <the public certificate's thumbprint> -Server EX02 -Services SMTP"
    >>> _on_host("certutil -repairstore my " + "AB" * 4, "EX02")
    'Invoke-Command -ComputerName EX02 { certutil -repairstore my ABABABAB }'
    >>> print(_on_host('Set-EventLogLevel "MSExchangeTransport\\\\SmtpSend" -Level Expert', "EX02"))
    Set-EventLogLevel "EX02\\MSExchangeTransport\\SmtpSend" -Level Expert
    """
    if command and _LOCAL.search(command):
        return f"Invoke-Command -ComputerName {host} {{ {command} }}"
    if command and _EVENT_LOG_LEVEL.match(command):
        return _EVENT_LOG_LEVEL.sub(lambda m: f'{m.group(0)}{host}\\', command)
    for cmdlet in _SERVER_CMDLETS if command else ():
        command = re.sub(rf"((?:^|; |\| ){cmdlet}(?: -Thumbprint (?:<[^>]*>|\S+))?)(?= |$)", rf"\g<1> -Server {host}",
                         command)
    return command


def tls_certificate_name(issuer: str, subject: str) -> str:
    """The ``<I>issuer<S>subject`` form of TlsCertificateName (what the Hybrid wizard writes).

    >>> tls_certificate_name("CN=R3, O=Let's Encrypt, C=US", "CN=mail.contoso.com")
    "<I>CN=R3, O=Let's Encrypt, C=US<S>CN=mail.contoso.com"
    """
    return f"<I>{issuer}<S>{subject}"


def _services_arg(services: Sequence[str] | None) -> str:
    if services is None:
        return "<its services without SMTP>"
    kept = [s for s in services if s != "SMTP" and re.fullmatch(r"[A-Za-z]+", s)]
    return ",".join(kept) if kept else "None"


def kb2888788_steps(culprit: str | None, services: Sequence[str] | None, *, connector: str | None,
                    public: tuple[str, str] | None, enable_public: tuple[str, Sequence[str] | None] | None = None,
                    renew: str | None = None, pinned: bool = False, current_pin: str | None = None) -> list[Step]:
    """The fix of KB 2888788: pin the public certificate on the send connector, then the KB's own
    step, SMTP off the internal certificate (keeping its other services).

    The pin comes first: Microsoft's page of Enable-ExchangeCertificate says its services are
    additive ("you can't remove the existing services"), so on Exchange 2013 and later the KB's
    step may leave SMTP on the internal certificate, and only the pin (or removing that
    certificate) makes the transport present the public one.

    ``services`` are the culprit's current services (None when no export said);
    ``public`` is the (issuer, subject) of the public certificate to pin on the connector;
    ``enable_public`` the (thumbprint, services) of that certificate when it is not enabled
    for SMTP yet; ``renew`` why no public certificate of the evidence can be presented (then
    one must be got first); ``pinned``: the connector's TlsCertificateName names the culprit,
    so only pinning the public certificate changes what the transport presents; ``current_pin``
    the connector's TlsCertificateName now (what a rollback of the pin puts back).

    >>> steps = kb2888788_steps("AB" * 20, None, connector=None, public=None)
    >>> steps[0].command, steps[2].command
    ("Set-SendConnector <send connector name> -TlsCertificateName '<I><issuer><S><subject>'", \
'Enable-ExchangeCertificate -Thumbprint ABABABABABABABABABABABABABABABABABABABAB -Services <its services without SMTP>')
    >>> steps = kb2888788_steps("AB" * 20, None, connector="Outbound", public=None, renew="it expired on 2025-03-01")
    >>> steps[0].purpose[:85]
    'Get a certificate from a public CA for the name (it expired on 2025-03-01), import it'
    """
    thumb = thumbprint_or_placeholder(culprit)
    show = f"Get-ExchangeCertificate -Thumbprint {thumb} | fl FriendlyName,Services"
    pin = ps_quote(tls_certificate_name(*public), placeholder=PIN_PLACEHOLDER) if public else PIN_PLACEHOLDER
    set_pin = f"Set-SendConnector {ps_quote(connector)} -TlsCertificateName "
    unpin = set_pin + _pin_value(current_pin)
    steps = _public_steps(enable_public, renew)
    if pinned:
        return [*steps,
                Step("The send connector pins the internal certificate with TlsCertificateName: pin the public "
                     "one instead (taking SMTP off the internal certificate would not change what it presents)",
                     set_pin + pin, unpin),
                Step("Check the connector's pin",
                     f"Get-SendConnector {ps_quote(connector)} | fl Name,TlsCertificateName"),
                Step(_RESTART_PURPOSE, _RESTART)]
    where = "" if public is not None else " (issuer and subject from Get-ExchangeCertificate)"
    steps.append(Step(f"Pin the public certificate on the send connector{where}: the transport then presents it, "
                      "whatever else is enabled for SMTP", set_pin + pin, unpin))
    if services is not None and "SMTP" not in services:    # an export made after SMTP was taken off
        steps.append(Step("Check that SMTP stays off the internally issued certificate (its export lists no SMTP: "
                          "taken off since the failures?)", show))
    else:
        kept = services and all(re.fullmatch(r"[A-Za-z]+", s) for s in services)
        steps += [
            Step("See the services of the internally issued certificate (SMTP is among them)", show),
            Step("KB 2888788's own step: take SMTP off it, keeping its other services",
                 f"Enable-ExchangeCertificate -Thumbprint {thumb} -Services {_services_arg(services)}",
                 f"Enable-ExchangeCertificate -Thumbprint {thumb} -Services {','.join(services)}" if kept else None),
            Step("Check again. Exchange 2013 and later only add services, so SMTP may stay: the pin then keeps the "
                 "public certificate presented; to be rid of the internal one, enable its other services on "
                 "another certificate and remove it (Remove-ExchangeCertificate)", show),
        ]
    return [*steps, Step(_RESTART_PURPOSE, _RESTART)]


def _pin_value(current: str | None) -> str:
    """The connector's TlsCertificateName as a command's value: the one it holds now, else ``$null``.

    >>> _pin_value(None), _pin_value("<I>CN=CA<S>CN=mail")
    ('$null', "'<I>CN=CA<S>CN=mail'")
    """
    return "$null" if not current else ps_quote(current, placeholder=PIN_PLACEHOLDER)


def _public_steps(enable_public: tuple[str, Sequence[str] | None] | None, renew: str | None) -> list[Step]:
    """What the public certificate needs first: a new one (``renew`` says why), or SMTP
    added to its services (all kept: a list that replaced them would unbind IIS)."""
    if renew is not None:
        return [Step(f"Get a certificate from a public CA for the name ({renew}), import it and enable it for SMTP"
                     + SMTP_PROMPT, "Enable-ExchangeCertificate -Thumbprint <public thumbprint> -Services SMTP")]
    if enable_public is None:
        return []
    thumb, services = thumbprint_or_placeholder(enable_public[0]), enable_public[1]
    kept = ["<its services>"] if services is None else [s for s in services if re.fullmatch(r"[A-Za-z]+", s)]
    # no undo: services are only ever added (the cmdlet's page), so SMTP cannot be taken off it again
    return [Step(f"Enable SMTP on the public certificate {thumb}{', keeping its services' if kept else ''}"
                 + SMTP_PROMPT,
                 f"Enable-ExchangeCertificate -Thumbprint {thumb} -Services {','.join([*kept, 'SMTP'])}")]


def look_alike_steps(cause: str, culprit: str | None, *, connector: str | None,
                     public: tuple[str, str] | None, services: Sequence[str] | None = None,
                     current_pin: str | None = None) -> list[Step]:
    """What to do for the incidents that look like KB 2888788 (EXCHANGE.md, "look alike").
    ``services`` are the culprit's (an expired certificate's are moved to its renewal);
    ``current_pin``: the connector's TlsCertificateName now, if it has one.

    >>> [s.command for s in look_alike_steps("network", None, connector=None, public=None)][:1]
    ['Test-NetConnection <smart host> -Port 25']
    >>> [s.command for s in look_alike_steps("certificate-expired", "AB" * 20, connector="Outbound",
    ...                                      public=None, services=("IIS", "SMTP"))][2]
    'Enable-ExchangeCertificate -Thumbprint <renewed thumbprint> -Services IIS,SMTP'
    """
    thumb = thumbprint_or_placeholder(culprit)
    quoted = ps_quote(connector)
    pin = ps_quote(tls_certificate_name(*public), placeholder=PIN_PLACEHOLDER) if public else PIN_PLACEHOLDER
    unpin = f"Set-SendConnector {quoted} -TlsCertificateName {_pin_value(current_pin)}"
    restart = Step(_RESTART_PURPOSE, "Restart-Service MSExchangeTransport")
    if cause == "tlscertificatename-missing":
        return [Step("See what the connector points at", f"Get-SendConnector {quoted} | fl Name,TlsCertificateName"),
                Step("List the certificates with their issuer and subject",
                     "Get-ExchangeCertificate | fl Thumbprint,Issuer,Subject,NotAfter,Services"),
                Step("Point the connector at the current public certificate",
                     f"Set-SendConnector {quoted} -TlsCertificateName {pin}", unpin), restart]
    if cause == "certificate-expired":
        kept = ["<its services>"] if services is None else [s for s in services if re.fullmatch(r"[A-Za-z]+", s)]
        steps = [Step("See the expired certificate and the services it holds",
                      f"Get-ExchangeCertificate -Thumbprint {thumb} | fl Subject,Issuer,NotAfter,Services"),
                 Step("Import the renewed certificate from the public CA (its .pfx, with the private key)",
                      "Import-ExchangeCertificate -FileData ([System.IO.File]::ReadAllBytes('<renewed .pfx path>')) "
                      "-Password (Read-Host 'PFX password' -AsSecureString)"),
                 Step("Enable the renewed certificate for the expired one's services (SMTP among them)" + SMTP_PROMPT,
                      f"Enable-ExchangeCertificate -Thumbprint <renewed thumbprint> "
                      f"-Services {','.join(dict.fromkeys([*kept, 'SMTP']))}")]
        if current_pin:
            steps.append(Step("The connector pins a certificate by issuer and subject: if the renewed one's differ, "
                              "pin the renewed one", f"Set-SendConnector {quoted} -TlsCertificateName {pin}", unpin))
        return [*steps, restart]
    if cause == "no-private-key":
        return [Step("Check the private key", f"Get-ExchangeCertificate -Thumbprint {thumb} | fl HasPrivateKey,Services"),
                Step("Repair the key link in the machine store (or re-import the .pfx with its key)",
                     f"certutil -repairstore my {thumb}"), restart]
    if cause == "self-signed-only":
        return [Step("Only a self-signed certificate covers the name: get one from a public CA, then enable it"
                     + SMTP_PROMPT,
                     "Enable-ExchangeCertificate -Thumbprint <public thumbprint> -Services SMTP"),
                Step("Pin it on the connector", f"Set-SendConnector {quoted} -TlsCertificateName {PIN_PLACEHOLDER}",
                     unpin), restart]
    if cause == "tenant-attribution":
        return [Step("Compare the connector's certificate name with the inbound connector in Exchange Online",
                     f"Get-SendConnector {quoted} | fl TlsCertificateName,Fqdn"),
                Step("In Exchange Online PowerShell", "Get-InboundConnector | fl Name,TlsSenderCertificateName,SenderDomains"),
                Step("Run the Hybrid Configuration Wizard again to align both sides")]
    if cause == "network":
        return [Step("Test the path to the smart host", "Test-NetConnection <smart host> -Port 25"),
                Step("Check name resolution of the smart host", "Resolve-DnsName <smart host> -Type A")]
    return []


# What to collect when a piece of evidence is missing, keyed by the frame it feeds.
COLLECT: dict[str, Step] = {
    "events_2004": Step("Event 2004 is only logged at the Expert level of SmtpSend: raise it, wait for the next "
                        "retry (up to 15 minutes), then export the Application log again "
                        "(wevtutil epl Application C:\\exlab\\events\\Application-Expert.evtx /ow:true) and set the "
                        "level back (-Level Lowest)",
                        'Set-EventLogLevel "MSExchangeTransport\\SmtpSend" -Level Expert'),
    "events": Step("Export the Application log of the transport server",
                   "New-Item -ItemType Directory -Force C:\\exlab\\events | Out-Null; "
                   "wevtutil epl Application C:\\exlab\\events\\Application.evtx /ow:true"),
    "certs": Step("Export the certificates as Exchange sees them (Format-List * carries Services, Status, "
                  "RootCAType and Identity as text; Export-Clixml from the Exchange Management Shell of a Mailbox "
                  "server, always a remote session, keeps them only in a serialized blob that some exports lose, "
                  "while an Edge Transport server's shell is local and keeps them whole; the shell cuts "
                  "lists at 16 items unless $FormatEnumerationLimit is -1) and each certificate itself as a .cer file",
                  "New-Item -ItemType Directory -Force C:\\exlab\\certs | Out-Null; $FormatEnumerationLimit = -1; "
                  "Get-ExchangeCertificate | Format-List * > C:\\exlab\\certs\\ExchangeCertificates.txt; "
                  "Get-ExchangeCertificate | ForEach-Object { [IO.File]::WriteAllBytes("
                  "\"C:\\exlab\\certs\\$($_.Thumbprint).cer\", $_.RawData) }"),
    "sessions": Step("Turn on the send protocol log of the connector, wait for the next retry, and copy "
                     "TransportRoles\\Logs\\Hub\\ProtocolLog\\SmtpSend\\SEND*.LOG of the transport server, and "
                     "FrontEnd\\ProtocolLog\\SmtpSend "
                     "too when the connector sends through the Front End Transport service (FrontendProxyEnabled; "
                     "Edge\\ProtocolLog\\SmtpSend on an Edge Transport server)",
                     "Set-SendConnector {connector} -ProtocolLoggingLevel Verbose"),
    "sessions_frontend": Step("Copy the Front End Transport service's send protocol log of the transport server, "
                              "TransportRoles\\Logs\\FrontEnd\\ProtocolLog\\SmtpSend\\SEND*.LOG (on the Client "
                              "Access servers in Exchange 2013): the send connector has FrontendProxyEnabled, so the "
                              "Front End connects to Exchange Online and its log shows the certificate it presents "
                              "(the Hub's log shows only its hand-offs to the Front End)",
                              "New-Item -ItemType Directory -Force C:\\exlab\\logs\\FrontEnd | Out-Null; "
                              "Copy-Item \"$env:ExchangeInstallPath\\TransportRoles\\Logs\\FrontEnd\\ProtocolLog"
                              "\\SmtpSend\\SEND*.LOG\" C:\\exlab\\logs\\FrontEnd\\"),
    "connectors": Step("Export the send connectors",
                       "New-Item -ItemType Directory -Force C:\\exlab\\config | Out-Null; "
                       "Get-SendConnector | Export-Clixml C:\\exlab\\config\\SendConnectors.xml"),
    "servers": Step("Export the servers' names",
                    "New-Item -ItemType Directory -Force C:\\exlab\\config | Out-Null; "
                    "Get-ExchangeServer | Export-Clixml C:\\exlab\\config\\ExchangeServers.xml"),
    "queues": Step("Export the queues of the transport server: a queue's LastError is Exchange Online's answer to "
                   "its last delivery attempt, to be had now, without waiting for the next retry",
                   "New-Item -ItemType Directory -Force C:\\exlab\\config | Out-Null; "
                   "Get-Queue | Export-Clixml C:\\exlab\\config\\Get-Queue.xml"),
    "tracking": Step("Copy the message tracking log files of the transport server (their DEFER rows show the held "
                     "messages)",
                     "New-Item -ItemType Directory -Force C:\\exlab\\logs\\MessageTracking | Out-Null; "
                     "Copy-Item \"$env:ExchangeInstallPath\\TransportRoles\\Logs\\MessageTracking\\MSGTRK*.LOG\" "
                     "C:\\exlab\\logs\\MessageTracking\\"),
}


def collect_step(kind: str, connector: str | None = None) -> Step:
    """The step that collects one missing kind of evidence (see :data:`COLLECT`).

    >>> collect_step("sessions", "Outbound to Office 365").command
    "Set-SendConnector 'Outbound to Office 365' -ProtocolLoggingLevel Verbose"
    """
    step = COLLECT[kind]
    if step.command and "{connector}" in step.command:
        return Step(step.purpose, step.command.replace("{connector}", ps_quote(connector)))
    return step


def collect_on(steps: Sequence[Step], server: str | None, *, edge: bool = False) -> list[Step]:
    """The steps that collect missing evidence (:func:`collect_step`) for one server of several: aimed at it
    as :func:`on_server` aims a fix (an Edge Transport server's run on it, ``edge``), and each purpose names it
    for "the transport server". A command that now runs there (``Invoke-Command``) writes its files on it,
    and the step says where to fetch them; a setting of the organisation (the send connector) stays as it is.
    No ``server``: the steps as they are.

    >>> events, connectors = collect_on([collect_step("events"), collect_step("connectors")], "EX02")
    >>> print(events.purpose)
    On EX02: export the Application log of EX02 (the command writes in C:\\exlab on EX02: copy it from \
\\\\EX02\\C$\\exlab)
    >>> events.command.startswith("Invoke-Command -ComputerName EX02 { New-Item")
    True
    >>> connectors == collect_step("connectors")
    True
    >>> collect_on([collect_step("events")], "EDGE01", edge=True)[0].purpose.split(":")[0]
    'On the Edge Transport server EDGE01 itself, in its own Exchange Management Shell (-Server and remote PowerShell \
from the organisation do not reach an Edge)'
    """
    if not server:
        return list(steps)
    host = server_or_placeholder(server)
    named = [Step(step.purpose.replace("the transport server", f"the Edge Transport server {host}" if edge else host),
                  step.command, step.undo) for step in steps]
    fetch = f" (the command writes in C:\\exlab on {host}: copy it from \\\\{host}\\C$\\exlab)"
    return [replace(aimed, purpose=aimed.purpose + fetch) if aimed.command != step.command
            and aimed.command.startswith("Invoke-Command ") and "C:\\exlab" in aimed.command else aimed
            for step, aimed in zip(named, on_server(named, server, edge=edge))]


def copy_certificate_steps(thumbprint: str | None, source: str | None, *, source_edge: bool = False) -> list[Step]:
    """Copy a certificate with its private key from the server ``source``, which holds it, to the server a fix
    is for: export it there to a .pfx, then import it (:func:`on_server` aims the import at the server the fix
    is for). One command serves Exchange 2010, 2013, 2016 and 2019, whose cmdlets differ: Export-ExchangeCertificate
    writes a file itself (-FileName) only on 2013, so the command writes the FileData it returns on every
    version; Import-ExchangeCertificate takes -FileName from 2013 on, -FileData on all. ``source_edge``: the
    source is an Edge Transport server, where the export is run itself.

    >>> export, load = copy_certificate_steps("AB" * 20, "EX2016")
    >>> print(export.command)     # doctest: +ELLIPSIS
    New-Item ... C:\\exlab | Out-Null; $pfx = Export-ExchangeCertificate -Thumbprint ABAB...AB -Server EX2016 \
-BinaryEncoded -Password (Read-Host 'PFX password' -AsSecureString); \
[System.IO.File]::WriteAllBytes('C:\\exlab\\ABAB...AB.pfx', $pfx.FileData)
    >>> print(load.command)     # doctest: +ELLIPSIS
    Import-ExchangeCertificate -FileData ([System.IO.File]::ReadAllBytes('C:\\exlab\\ABAB...AB.pfx')) -Password ...
    """
    thumb, host = thumbprint_or_placeholder(thumbprint), server_or_placeholder(source)
    pfx = f"C:\\exlab\\{thumb}.pfx" if thumb != THUMBPRINT_PLACEHOLDER else "C:\\exlab\\public.pfx"
    password = "-Password (Read-Host 'PFX password' -AsSecureString)"
    where = (f"On the Edge Transport server {host} itself, in its own Exchange Management Shell" if source_edge else
             f"On {host}, in an Exchange Management Shell of its version")
    return [
        Step(f"{where}: export the public certificate {thumb} with its private key to {pfx} (on the machine that "
             "runs the shell). The same command serves Exchange 2010 to 2019: -FileName is in 2013 only (2010 never "
             "had it, the 2022 H1 updates took it out of 2016 and 2019), so the .pfx is written from the FileData "
             "the cmdlet returns; -BinaryEncoded makes it a binary PKCS #12 file and -Password puts the key in it. "
             "Exchange refuses when the key is not exportable (PrivateKeyExportable False): then use the .pfx the "
             "CA issued",
             f"New-Item -ItemType Directory -Force C:\\exlab | Out-Null; $pfx = Export-ExchangeCertificate "
             f"-Thumbprint {thumb}{'' if source_edge else f' -Server {host}'} -BinaryEncoded {password}; "
             f"[System.IO.File]::WriteAllBytes('{pfx}', $pfx.FileData)"),
        Step(f"Import it with the same password, in an Exchange Management Shell of this server's version (copy {pfx} "
             "first to the machine that runs it, if another): -FileData, which Exchange 2010 to 2019 all take "
             "(-FileName is not in 2010); the thumbprint stays the same",
             f"Import-ExchangeCertificate -FileData ([System.IO.File]::ReadAllBytes('{pfx}')) {password}"),
    ]
