"""Certificates of a real node, signed by the sandbox's own CA (kwokctl's pki/ca.*).

The API server trusts that CA for client certificates and authorizes a node by the
identity its certificate states (`system:node:NAME` in group `system:nodes`, the Node
authorizer's convention), and kube-proxy as `system:kube-proxy` (bound to the
`system:node-proxier` role by default). The kubelet serves its API (logs, exec,
port-forward) with a certificate for the node's address, which the API server checks
against the same CA, so `kubectl logs` and `kubectl exec` work as on a real cluster.
"""

from __future__ import annotations

import datetime
import ipaddress
import warnings
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_FOR = datetime.timedelta(days=365)


@dataclass(frozen=True)
class KeyPair:
    certificate: Path
    key: Path


def _load_ca(
    ca: KeyPair,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]:
    with warnings.catch_warnings():
        # kwokctl's CA has a negative serial number, which cryptography warns about.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        certificate = x509.load_pem_x509_certificate(ca.certificate.read_bytes())
    key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca.key}: not an RSA or EC key")
    return certificate, key


def issue(
    ca: KeyPair,
    target: KeyPair,
    common_name: str,
    organization: str | None = None,
    addresses: tuple[str, ...] = (),
    dns_names: tuple[str, ...] = (),
    server: bool = False,
) -> KeyPair:
    """A new key and certificate for `common_name` (O=`organization`), signed by `ca`;
    a serving certificate (`server`) names `addresses` and `dns_names`."""
    ca_certificate, ca_key = _load_ca(ca)
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    now = datetime.datetime.now(datetime.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    names: list[x509.GeneralName] = [
        *(x509.IPAddress(ipaddress.ip_address(address)) for address in addresses),
        *(x509.DNSName(name) for name in dns_names),
    ]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    certificate = builder.sign(ca_key, hashes.SHA256())
    target.key.parent.mkdir(parents=True, exist_ok=True)
    target.key.touch(mode=0o600)
    target.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    target.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return target
