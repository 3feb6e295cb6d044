"""Server-side TLS for the CSTA listeners: TLS 1.2 or later, no compression, Twisted's sane
cipher defaults (``CertificateOptions``), and the certificate picked up from the data
directory for every new connection, so a certificate installed with ``mxone_certificate``
is used without a restart (the MX-ONE operational directions "CSTA Server (Phase III)": an
XML client running TLS, on 8883 by default, needs a server with a valid certificate, handled
with the command ``mxone_certificate``).
"""

from __future__ import annotations

import os
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from twisted.internet.ssl import CertificateOptions, TLSVersion
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.certificates import CertificateBundle, CertificateError, CertificateStore

log = Logger()


def certificate_options(bundle: CertificateBundle) -> CertificateOptions:
    """Twisted's options for the bundle (cryptography key objects: pyOpenSSL's own key
    type is deprecated)."""
    return CertificateOptions(
        privateKey=serialization.load_pem_private_key(bundle.key_pem, password=None),
        certificate=x509.load_pem_x509_certificate(bundle.certificate_pem),
        extraCertChain=[x509.load_pem_x509_certificate(pem) for pem in bundle.chain_pem],
        raiseMinimumTo=TLSVersion.TLSv1_2,
    )


@implementer(IOpenSSLServerConnectionCreator)
class ReloadingServerTLS:
    """Builds each server TLS connection from the store's current certificate; a file that
    changed is loaded again, and a bad new file keeps the last good certificate in use."""

    def __init__(self, store: CertificateStore) -> None:
        self.store = store
        self._stamp: tuple[int, int, int] | None = None
        self._context: SSL.Context | None = None
        self.fingerprint: str | None = None
        self.context()  # raises CertificateError when there is nothing usable

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.store.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def context(self) -> SSL.Context:
        stamp = self._file_stamp()
        if stamp != self._stamp or self._context is None:
            try:
                bundle = self.store.load()
                context = certificate_options(bundle).getContext()
            except CertificateError as exc:
                if self._context is None:
                    raise
                log.warn("keeping the current TLS certificate: {reason}", reason=str(exc))
            else:
                self._context = context
                self.fingerprint = bundle.info().fingerprint
                if self._stamp is not None:
                    log.info("TLS certificate reloaded: {fp}", fp=self.fingerprint)
            self._stamp = stamp
        return self._context

    def serverConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:  # noqa: N802
        return SSL.Connection(self.context(), None)
