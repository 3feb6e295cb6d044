"""The server certificate of the CSTA server (the MX-ONE command ``mxone_certificate``): stored in
the data directory, checked before it is installed, and served by TLS listeners that pick up
a newly installed certificate for new connections without a restart.

Storage: one PEM file, ``<data>/tls/server.pem`` (mode 0600): the private key, the
certificate, then any chain certificates - replaced atomically as one file, so a reader never
sees a key of one pair and a certificate of another.
"""

from __future__ import annotations

import datetime
import os
import re
import tempfile
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cstaserver.config.files import FileRefused, read_regular_file

TLS_DIRECTORY = "tls"
PEM_FILE = "server.pem"
#: The largest PEM file read (a key, a certificate and a long chain take a few kB).
MAX_PEM_BYTES = 1024 * 1024


class CertificateError(Exception):
    """A certificate or key that cannot be used; the message is one line for the user."""


@attrs.frozen
class CertificateInfo:
    subject: str
    issuer: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    fingerprint: str  # SHA-256, colon-separated hex
    names: tuple[str, ...]  # subjectAltName DNS / IP entries
    chain_length: int

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    def valid_at(self, when: datetime.datetime) -> bool:
        return self.not_before <= when <= self.not_after


@attrs.frozen
class CertificateBundle:
    """A private key, its certificate and the chain, as PEM bytes."""

    key_pem: bytes
    certificate_pem: bytes
    chain_pem: tuple[bytes, ...] = ()

    def pem(self) -> bytes:
        return self.key_pem + self.certificate_pem + b"".join(self.chain_pem)

    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem)

    def info(self) -> CertificateInfo:
        return describe(self.certificate(), len(self.chain_pem))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def describe(cert: x509.Certificate, chain_length: int = 0) -> CertificateInfo:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(str(n.value) for n in san)
    except x509.ExtensionNotFound:
        names = ()
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        names=names,
        chain_length=chain_length,
    )


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----\r?\n?", re.S)


def _split_pem(data: bytes) -> tuple[list[bytes], list[bytes]]:
    """(private key blocks, certificate blocks) of a PEM file, in order."""
    keys: list[bytes] = []
    certs: list[bytes] = []
    for match in _PEM_BLOCK.finditer(data):
        block = match.group(0).rstrip(b"\r\n") + b"\n"
        (certs if match.group(1) == b"CERTIFICATE" else keys).append(block)
    return keys, certs


def make_bundle(
    key_pem: bytes,
    certificate_pem: bytes,
    chain_pem: bytes = b"",
    *,
    now: datetime.datetime | None = None,
) -> CertificateBundle:
    """Check a key and certificate (and chain) for use; raise CertificateError if not."""
    keys, _ = _split_pem(key_pem)
    _, certs = _split_pem(certificate_pem)
    _, chain = _split_pem(chain_pem) if chain_pem else ([], [])
    if not keys:
        raise CertificateError("the key file holds no private key")
    if not certs:
        raise CertificateError("the certificate file holds no certificate")
    try:
        key = serialization.load_pem_private_key(keys[0], password=None)
    except TypeError:
        raise CertificateError("the private key is encrypted; install an unencrypted key") from None
    except ValueError as exc:
        raise CertificateError(f"the private key cannot be read ({exc})") from None
    try:
        leaf = x509.load_pem_x509_certificate(certs[0])
        chain_certs = [x509.load_pem_x509_certificate(c) for c in certs[1:] + chain]
    except ValueError as exc:
        raise CertificateError(f"a certificate cannot be read ({exc})") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.PEM
    if key.public_key().public_bytes(encoding, public) != leaf.public_key().public_bytes(
        encoding, public
    ):
        raise CertificateError("the private key does not match the certificate")
    when = now or _now()
    if leaf.not_valid_after_utc < when:
        raise CertificateError(f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    if leaf.not_valid_before_utc > when:
        raise CertificateError(
            f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}"
        )
    key_out = key.private_bytes(
        encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return CertificateBundle(
        key_pem=key_out,
        certificate_pem=leaf.public_bytes(encoding),
        chain_pem=tuple(c.public_bytes(encoding) for c in chain_certs),
    )


def self_signed(cn: str = "localhost", *, days: int = 825) -> CertificateBundle:
    """A new self-signed certificate (ECDSA P-256) for ``cn``, with localhost SANs."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cstaserver (simulated MX-ONE)"),
        ]
    )
    alt: list[x509.GeneralName] = [x509.DNSName(cn)]
    if cn != "localhost":
        alt.append(x509.DNSName("localhost"))
    alt += [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    encoding = serialization.Encoding.PEM
    return CertificateBundle(
        key_pem=key.private_bytes(
            encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        certificate_pem=cert.public_bytes(encoding),
    )


@attrs.define
class CertificateStore:
    """The certificate files of one data directory."""

    data: Path = attrs.field(converter=Path)

    @property
    def path(self) -> Path:
        return self.data / TLS_DIRECTORY / PEM_FILE

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> CertificateBundle:
        """The installed bundle, checked again (CertificateError if unusable or missing)."""
        try:
            data = read_regular_file(self.path, MAX_PEM_BYTES)
        except FileRefused as exc:
            raise CertificateError(f"{self.path}: {exc.problem}") from None
        except FileNotFoundError:
            raise CertificateError(
                f"no certificate installed ({self.path}); use mxone_certificate"
            ) from None
        except OSError as exc:
            raise CertificateError(f"{self.path}: {exc.strerror}") from None
        keys, certs = _split_pem(data)
        if not keys or not certs:
            raise CertificateError(f"{self.path}: needs a private key and a certificate")
        return make_bundle(keys[0], certs[0], b"".join(certs[1:]))

    def install(self, bundle: CertificateBundle) -> None:
        """Write the bundle atomically (temporary file, fsync, rename), mode 0600."""
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".server.", suffix=".tmp", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(bundle.pem())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def ensure_self_signed(self, cn: str = "localhost") -> bool:
        """Create a self-signed certificate when none is installed; True if created."""
        if self.exists():
            return False
        self.install(self_signed(cn))
        return True
