"""The hub's HTTPS: a site certificate authority made on this machine, or a configured certificate.

Without a configured certificate the hub makes, at install (`python -m hub.web.tls`) or on its first
start, a small site CA (`ca.crt`, `ca.key`) and a server certificate signed by it (`hub.crt`,
`hub.key`) for the names and addresses the site uses. Devices trust the site CA: `motcua enroll`
pins it by its SHA-256 fingerprint (printed on the fleet page's enrolment command) and writes it
next to the device's TOML; Mosquitto's TLS listener can use the same server certificate.

The server certificate is renewed (by the same CA) when a name is missing or it expires within 30
days; the CA lasts 20 years and is never replaced silently (devices pin it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import ipaddress
import os
import socket
import ssl
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 20 * 365
SERVER_DAYS = 825  # the longest a browser accepts for a certificate it is told to trust
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class SiteCertificates:
    """Paths of the PEM files the hub serves with; `ca` is None for a configured certificate."""

    cert: Path
    key: Path
    ca: Path | None

    def ca_pem(self) -> str | None:
        return self.ca.read_text(encoding="ascii") if self.ca is not None else None


def fingerprint(pem: str | bytes) -> str:
    """SHA-256 of a certificate's DER bytes, as 64 lowercase hex digits (what `--ca-sha256` takes)."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    der = x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def default_hosts() -> list[str]:
    """Names a device or browser on the LAN may use for this machine."""
    name = socket.gethostname()
    hosts = ["localhost", "127.0.0.1", "::1", name]
    if "." not in name:
        hosts.append(f"{name}.local")
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(name, None):
            address = info[4][0]
            if isinstance(address, str) and "%" not in address:
                hosts.append(address)
    return list(dict.fromkeys(hosts))


def ensure_site_certificates(folder: Path, hosts: Iterable[str], *, site: str = "motcua") -> SiteCertificates:
    """Make (once) the site CA and (when needed) the server certificate in `folder`."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    ca_cert_path, ca_key_path = folder / "ca.crt", folder / "ca.key"
    cert_path, key_path = folder / "hub.crt", folder / "hub.key"
    wanted = list(dict.fromkeys(host for host in hosts if host))
    if not ca_cert_path.exists() or not ca_key_path.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, site)
        _write(ca_key_path, _key_pem(ca_key), 0o600)
        _write(ca_cert_path, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        with contextlib.suppress(FileNotFoundError):
            cert_path.unlink()  # a certificate of another CA must not be served with this one
    if _needs_server_certificate(cert_path, key_path, wanted):
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _server_certificate(key, ca_key, ca_cert, wanted, site)
        _write(key_path, _key_pem(key), 0o600)
        # The chain (server, then CA) lets a client that trusts the CA verify the server.
        chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert_path.read_bytes()
        _write(cert_path, chain, 0o644)
    return SiteCertificates(cert_path, key_path, ca_cert_path)


def server_context(certificates: SiteCertificates) -> ssl.SSLContext:
    """TLS 1.2+ server context with the certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(certificates.cert), str(certificates.key))
    return context


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def _ca_certificate(key: ec.EllipticCurvePrivateKey, site: str) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "motcua"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"motcua site CA {site}"[:64]),
        ]
    )
    start = _now() - dt.timedelta(days=1)  # a device whose clock is a little behind still trusts it
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    hosts: list[str],
    site: str,
) -> x509.Certificate:
    start = _now() - dt.timedelta(days=1)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "motcua"),
            x509.NameAttribute(NameOID.COMMON_NAME, (hosts[0] if hosts else f"hub {site}")[:64]),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _needs_server_certificate(cert_path: Path, key_path: Path, hosts: list[str]) -> bool:
    if not cert_path.exists() or not key_path.exists():
        return True
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        present = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return True
    if cert.not_valid_after_utc - RENEW_BEFORE < _now():
        return True
    have = {str(name.value) for name in present}
    return any(str(ipaddress.ip_address(h)) not in have if _is_ip(h) else h not in have for h in hosts)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hub.web.tls",
        description="Make the site CA and the hub's server certificate (kept if already there).",
    )
    parser.add_argument("--dir", type=Path, default=Path("/var/lib/motcua/tls"))
    parser.add_argument("--site", default="motcua")
    parser.add_argument("--host", action="append", default=[], help="a name or address (repeatable)")
    args = parser.parse_args(argv)
    made = ensure_site_certificates(args.dir, [*args.host, *default_hosts()], site=args.site)
    ca_pem = made.ca_pem() or ""
    print(f"site CA: {made.ca}\nserver certificate: {made.cert}\nCA SHA-256: {fingerprint(ca_pem)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
