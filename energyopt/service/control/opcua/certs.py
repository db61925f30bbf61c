"""Certificates of the OPC UA server and its clients (``energyopt opcua certs``).

The PKI directory (``ENERGYOPT_OPCUA_PKI_DIR``, default ``DATA_DIR/opcua``) holds:

* ``server_cert.der``, ``server_key.pem``: the server's self-signed
  application instance certificate (RSA 2048, SHA-256, as Basic256Sha256
  needs) and its private key (readable by the owner only);
* ``trusted/``: certificates (DER or PEM) of the clients allowed to open a
  signed or encrypted channel; any other client certificate is refused;
* ``clients/<name>/``: a client certificate and key made by
  ``energyopt opcua certs --client <name>`` (its certificate is copied to
  ``trusted/``); give both files to that client.

Application URIs: the server is :data:`SERVER_URI`; a client made here is
``urn:energyopt:opcua:client:<name>`` and must announce that URI.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import re
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from energyopt.errors import ControlFaceError

#: application URI of the server (also in its certificate)
SERVER_URI = "urn:energyopt:opcua:server"
#: application URI prefix of clients made by ``energyopt opcua certs --client``
CLIENT_URI_PREFIX = "urn:energyopt:opcua:client:"
#: validity of a new certificate [d]
DEFAULT_DAYS = 825
#: RSA key size for Basic256Sha256 [bit]
KEY_BITS = 2048
_CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclasses.dataclass(frozen=True)
class Pki:
    """The files of one PKI directory."""

    root: Path

    @property
    def server_cert(self) -> Path:
        return self.root / "server_cert.der"

    @property
    def server_key(self) -> Path:
        return self.root / "server_key.pem"

    @property
    def trusted(self) -> Path:
        return self.root / "trusted"

    def client_dir(self, name: str) -> Path:
        return self.root / "clients" / name

    def has_server_certificate(self) -> bool:
        """True when the server's certificate and key both exist."""
        return self.server_cert.is_file() and self.server_key.is_file()


@dataclasses.dataclass(frozen=True)
class CertificateFiles:
    """A certificate (DER) and its private key (PEM, unencrypted)."""

    certificate: Path
    private_key: Path


def client_uri(name: str) -> str:
    """Application URI of a client made by ``energyopt opcua certs --client name``."""
    return CLIENT_URI_PREFIX + name


def _subject_names(hostnames: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def make_certificate(
    files: CertificateFiles,
    *,
    common_name: str,
    uri: str,
    hostnames: list[str],
    server: bool,
    days: int = DEFAULT_DAYS,
) -> None:
    """Write a self-signed application certificate and its key (OPC UA Part 6 profile).

    The certificate carries ``uri`` and ``hostnames`` as subject alternative
    names, key usages for signing and key encipherment, and server or client
    authentication as extended usage.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "energyopt"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    alt_names = [x509.UniformResourceIdentifier(uri), *_subject_names(hostnames)]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    files.certificate.parent.mkdir(parents=True, exist_ok=True)
    files.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.DER))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(files.private_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)


def make_server_certificate(
    pki: Pki, hostnames: list[str] | None = None, *, replace: bool = False
) -> CertificateFiles:
    """The server's certificate and key, made unless they exist (or ``replace``)."""
    files = CertificateFiles(pki.server_cert, pki.server_key)
    pki.trusted.mkdir(parents=True, exist_ok=True)
    if replace or not pki.has_server_certificate():
        hosts = hostnames or [socket.gethostname(), "localhost", "127.0.0.1"]
        make_certificate(
            files,
            common_name="energyopt OPC UA server",
            uri=SERVER_URI,
            hostnames=hosts,
            server=True,
        )
    return files


def make_client_certificate(pki: Pki, name: str, *, replace: bool = False) -> CertificateFiles:
    """A client's certificate and key in ``clients/<name>/``, trusted by the server.

    Raises
    ------
    ControlFaceError
        ``name`` is not 1-64 letters, digits, ``.``, ``_`` or ``-``.
    """
    if not _CLIENT_NAME.match(name):
        msg = f"client: {name!r} must be 1-64 letters, digits, '.', '_' or '-'"
        raise ControlFaceError(msg)
    folder = pki.client_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    files = CertificateFiles(folder / "client_cert.der", folder / "client_key.pem")
    if replace or not files.certificate.is_file() or not files.private_key.is_file():
        make_certificate(
            files,
            common_name=f"energyopt OPC UA client {name}",
            uri=client_uri(name),
            hostnames=[socket.gethostname()],
            server=False,
        )
    trust(pki, files.certificate, name=f"{name}.der")
    return files


def trust(pki: Pki, certificate: Path, *, name: str | None = None) -> Path:
    """Copy a client's certificate into ``trusted/`` (DER or PEM, checked to parse).

    Raises
    ------
    ControlFaceError
        The file is missing or not an X.509 certificate.
    """
    try:
        data = certificate.read_bytes()
    except OSError as exc:
        raise ControlFaceError(f"trust: cannot read {certificate}: {exc.strerror}") from None
    try:
        parsed = (
            x509.load_pem_x509_certificate(data)
            if data.lstrip().startswith(b"-----BEGIN")
            else x509.load_der_x509_certificate(data)
        )
    except ValueError:
        raise ControlFaceError(f"trust: {certificate} is not an X.509 certificate") from None
    pki.trusted.mkdir(parents=True, exist_ok=True)
    target = pki.trusted / (name or f"{certificate.stem}.der")
    target.write_bytes(parsed.public_bytes(serialization.Encoding.DER))
    return target
