"""TLS for the sandboxes: a local CA (made with trustme) and a server certificate from it.

Clients trust the sandbox through the CA file (``session.verify = ca_file`` or
``REQUESTS_CA_BUNDLE``), never by turning verification off. With a directory that already
holds ``ca.pem``/``ca.key`` the same CA is reused, so exported settings survive restarts.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import trustme

__all__ = ["SandboxTLS"]


class SandboxTLS:
    """A CA in ``directory`` (created or reused) and a server certificate for ``hosts``."""

    def __init__(
        self, directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = directory / "ca.pem"
        key_file = directory / "ca.key"
        if self.ca_file.exists() and key_file.exists():
            self._ca = trustme.CA.from_pem(self.ca_file.read_bytes(), key_file.read_bytes())
        else:
            self._ca = trustme.CA(organization_name="refsync sandbox")
            self._ca.cert_pem.write_to_path(str(self.ca_file))
            self._ca.private_key_pem.write_to_path(str(key_file))
            os.chmod(key_file, 0o600)
        self._cert = self._ca.issue_cert(*hosts)

    def server_context(self) -> ssl.SSLContext:
        """An SSL context serving the sandbox certificate."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(ctx)
        return ctx
