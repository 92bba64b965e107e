"""TLS certificate facts for the HTTP check: days left and the names it was issued for.

The runbooks read these with ``openssl s_client -connect host:443 | openssl x509 -noout -dates``.
A certificate that does not verify (expired, self-signed, wrong host) is exactly the one a
responder needs to see, so :func:`fetch_peer_cert` reads it over a handshake with verification
off — only to look at it, never to send a request over it.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class CertInfo:
    """What a responder asks of a certificate."""

    not_after: datetime
    not_before: datetime
    #: Subject common name, if any.
    subject_cn: str | None
    #: The names it is valid for: SAN DNS names and IP addresses (the CN when there is no SAN).
    hostnames: tuple[str, ...]
    issuer: str
    self_signed: bool

    def days_left(self, now: datetime | None = None) -> float:
        """Days until notAfter; negative once expired."""
        now = datetime.now(UTC) if now is None else now
        return (self.not_after - now).total_seconds() / 86400.0


def parse_der(der: bytes) -> CertInfo:
    """A DER certificate (``SSLObject.getpeercert(binary_form=True)``) to :class:`CertInfo`."""
    # Imported on the first certificate, not with the check: cryptography's x509 is ~8 MiB of
    # the console's memory, and a console watching only plain-HTTP endpoints never needs it.
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID, NameOID

    cert = x509.load_der_x509_certificate(der)
    cn_attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    subject_cn = str(cn_attrs[0].value) if cn_attrs else None
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        san = None
    if isinstance(san, x509.SubjectAlternativeName):
        names += san.get_values_for_type(x509.DNSName)
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    if not names and subject_cn:
        names.append(subject_cn)
    return CertInfo(
        not_after=cert.not_valid_after_utc,
        not_before=cert.not_valid_before_utc,
        subject_cn=subject_cn,
        hostnames=tuple(dict.fromkeys(names)),
        issuer=cert.issuer.rfc4514_string(),
        self_signed=cert.issuer == cert.subject,
    )


def peer_cert_der(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> bytes | None:
    """The peer certificate of an established TLS connection, verified or not."""
    if ssl_object is None:
        return None
    try:
        # Positional: httpcore hands out the C-level _ssl._SSLSocket, which takes no keywords.
        der = ssl_object.getpeercert(True)
    except (ValueError, TypeError, ssl.SSLError):
        return None
    return der if isinstance(der, bytes) else None


def fetch_peer_cert(host: str, port: int, timeout: float) -> bytes:
    """Handshake with verification OFF, only to read the certificate the server presents.

    Used when the real request failed TLS verification, so the pane can still say *why*
    (expired 2 days ago, issued for another name). Raises OSError on any failure.
    """
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return der
