"""The server certificate: checks before install, atomic storage, self-signed generation."""

from __future__ import annotations

import datetime
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cstaserver.certificates import (
    CertificateError,
    CertificateStore,
    make_bundle,
    self_signed,
)


def signed(days_from: int, days_to: int) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "old")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now + datetime.timedelta(days=days_from))
        .not_valid_after(now + datetime.timedelta(days=days_to))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def test_self_signed_names_localhost_and_loopback_and_is_valid_now():
    info = self_signed("mx1.example.net").info()
    assert "CN=mx1.example.net" in info.subject
    assert info.self_signed
    assert {"mx1.example.net", "localhost", "127.0.0.1", "::1"} <= set(info.names)
    assert info.valid_at(datetime.datetime.now(datetime.timezone.utc))
    assert len(info.fingerprint.split(":")) == 32


def test_store_round_trip_is_private_and_leaves_no_temporary_files(tmp_path):
    store = CertificateStore(tmp_path)
    assert store.ensure_self_signed() is True
    assert store.ensure_self_signed() is False
    mode = stat.S_IMODE(store.path.stat().st_mode)
    assert mode == 0o600
    assert [p.name for p in store.path.parent.iterdir()] == ["server.pem"]
    assert store.load().info().self_signed


def test_key_that_does_not_match_is_refused():
    first, second = self_signed(), self_signed()
    with pytest.raises(CertificateError, match="does not match"):
        make_bundle(first.key_pem, second.certificate_pem)


def test_expired_and_not_yet_valid_certificates_are_refused():
    with pytest.raises(CertificateError, match="expired"):
        make_bundle(*signed(-30, -1))
    with pytest.raises(CertificateError, match="not valid before"):
        make_bundle(*signed(2, 30))


def test_unreadable_inputs_give_one_clear_line():
    good = self_signed()
    with pytest.raises(CertificateError, match="no private key"):
        make_bundle(b"garbage", good.certificate_pem)
    with pytest.raises(CertificateError, match="no certificate"):
        make_bundle(good.key_pem, b"garbage")
    broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    with pytest.raises(CertificateError, match="cannot be read"):
        make_bundle(good.key_pem, broken)
    key = ec.generate_private_key(ec.SECP256R1())
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    with pytest.raises(CertificateError, match="encrypted"):
        make_bundle(encrypted, good.certificate_pem)


def test_chain_is_kept_after_the_leaf(tmp_path):
    leaf, intermediate = self_signed("leaf"), self_signed("ca")
    bundle = make_bundle(leaf.key_pem, leaf.certificate_pem, intermediate.certificate_pem)
    store = CertificateStore(tmp_path)
    store.install(bundle)
    loaded = store.load()
    assert loaded.info().chain_length == 1
    assert loaded.chain_pem == bundle.chain_pem


def test_missing_store_says_what_to_do(tmp_path):
    with pytest.raises(CertificateError, match="mxone_certificate"):
        CertificateStore(tmp_path).load()
