"""One table of the certificates that cover a name: who issued each, and which one is presented.

This is the heart of KB 2888788: two certificates for ``mail.contoso.com`` enabled for
SMTP, one from a public CA and a newer one from the internal CA, and the transport
presenting the internal one. :func:`compare_issuers` puts them side by side.

>>> from datetime import datetime, timezone
>>> from exlab.certs.schema import certs_frame
>>> from exlab.lab.pki import LabPki
>>> pki = LabPki("doc")
>>> leaf = pki.server("mail.contoso.com", ["mail.contoso.com"], ca="internal",
...                   not_before=datetime(2025, 3, 14, tzinfo=timezone.utc))
>>> certs = certs_frame([{"thumbprint": leaf.thumbprint, "subject": leaf.subject, "issuer": leaf.issuer,
...     "dns_names": ("mail.contoso.com",), "services": ("IIS", "SMTP"), "der": leaf.der,
...     "not_before": leaf.certificate.not_valid_before_utc, "not_after": leaf.certificate.not_valid_after_utc},
...     *({"thumbprint": ca.thumbprint, "der": ca.der} for ca in leaf.chain[1:])])
>>> table = compare_issuers(certs, "mail.contoso.com", at="2025-03-20")
>>> table[["issuer_class", "root_subject", "selected", "valid_at"]].values.tolist()
[['internal', 'CN=Contoso Root CA, DC=contoso, DC=com', True, True]]
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from exlab.certs.anchors import RootsArg
from exlab.certs.names import covers
from exlab.certs.selection import select_outbound
from exlab.certs.trust import TRUST_COLUMNS, judge_trust, judgement_time

COMPARISON_COLUMNS: tuple[str, ...] = (
    "thumbprint", "subject", "issuer", "issuer_class", "root_subject", "services", "not_before", "not_after",
    "valid_at", "selected", "trusted_by_microsoft365", "friendly_name", "trust_basis",
)


def compare_issuers(certs: pd.DataFrame, name: str, *, roots: RootsArg = None, at: Any = None,
                    connector_fqdn: str | None = None, tls_certificate_name: str | None = None) -> pd.DataFrame:
    """The certificates covering ``name``, newest first, with issuer class and the transport's choice.

    ``selected`` marks the certificate :func:`~exlab.certs.selection.select_outbound`
    predicts (``name`` as the server FQDN, ``connector_fqdn`` and ``tls_certificate_name``
    as the send connector says); ``valid_at`` whether it is within its dates at ``at``.
    Trust is judged with ``roots`` at ``at`` unless the frame already has the trust columns.
    ``attrs["outbound"]`` holds the selection's summary line.
    """
    judged = certs if all(c in certs.columns for c in TRUST_COLUMNS) else judge_trust(certs, roots=roots, at=at)
    choice = select_outbound(judged, server_fqdn=name, connector_fqdn=connector_fqdn,
                             tls_certificate_name=tls_certificate_name, at=at)
    moment = pd.Timestamp(judgement_time(at)[0])
    covering = judged.loc[pd.Series([covers(names, name) for names in judged["dns_names"]], index=judged.index,
                                    dtype=bool)]
    table = covering.reindex(columns=[c for c in COMPARISON_COLUMNS if c not in ("valid_at", "selected")])
    starts, ends = table["not_before"], table["not_after"]
    valid = (starts.isna() | (starts <= moment)) & (ends.isna() | (moment <= ends))
    table.insert(COMPARISON_COLUMNS.index("valid_at"), "valid_at",
                 pd.array(valid.where(~(starts.isna() & ends.isna())), dtype="boolean"))
    selected = [choice.thumbprint is not None and t == choice.thumbprint for t in table["thumbprint"]]
    table.insert(COMPARISON_COLUMNS.index("selected"), "selected", pd.array(selected, dtype="boolean"))
    table = table.sort_values(["not_before", "thumbprint"], ascending=[False, True], na_position="last")
    table = table.reset_index(drop=True)
    table.attrs = {"outbound": choice.summary}
    return table
