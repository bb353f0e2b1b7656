"""The default tables of the cmdlets whose output a case needs, which show too little to read.

Run without ``| fl`` or an export, Get-MessageTrackingLog, Get-SendConnector, Get-ReceiveConnector and
Get-Queue print a table of a few columns chosen by Exchange's view, and those columns leave out what a
diagnosis reads (the time and Exchange Online's answer, the connector's Fqdn and TlsCertificateName, a queue's
LastError).
Saved or pasted, such a table is no evidence exlab reads; :func:`default_table` names it, so the case
says what to export instead of only that no reader took the file.

>>> default_table("EventId  Source  Sender            Recipients        MessageSubject\\r\\n"
...               "-------  ------  ------            ----------        --------------\\r\\n")
"Get-MessageTrackingLog's default table: it shows no Timestamp and no RecipientStatus (Exchange Online's answer); \
export it with | Export-Clixml or | fl"
"""

from __future__ import annotations

import re

# the header of each default table (its columns, in order, one space or more apart), and what to say of it
_TABLES = (
    (("EventId", "Source", "Sender", "Recipients", "MessageSubject"),
     "Get-MessageTrackingLog's default table: it shows no Timestamp and no RecipientStatus (Exchange Online's "
     "answer); export it with | Export-Clixml or | fl"),
    (("Identity", "AddressSpaces", "Enabled"),
     "Get-SendConnector's default table: it shows no Fqdn and no TlsCertificateName; export it with | fl"),
    (("Identity", "Bindings", "Enabled"),
     "Get-ReceiveConnector's default table: it shows no Fqdn and no TlsCertificateName; export it with | fl"),
    (("Identity", "DeliveryType", "Status", "MessageCount"),
     "Get-Queue's default table: it shows no LastError (Exchange Online's answer) and no retry times; export it "
     "with | fl or | Export-Clixml"),
)
_HEADERS = [(re.compile(r"^[ \t]*" + r" +".join(columns) + r"\b[^\n]*\n[ \t]*-+ +-+", re.MULTILINE), said)
            for columns, said in _TABLES]


def default_table(text: str) -> str | None:
    """What ``text`` (a file's start) is, when it is one of those default tables; else None.

    >>> default_table("Identity               AddressSpaces                       Enabled\\n"
    ...               "--------               -------------                       -------\\n").split(":")[0]
    "Get-SendConnector's default table"
    >>> default_table("Name : Outbound to Office 365") is None
    True
    """
    head = text[:8192]
    return next((said for header, said in _HEADERS if header.search(head)), None)
