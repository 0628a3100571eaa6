"""SMTP over STARTTLS and implicit TLS with AUTH, against aiosmtpd with a throw-away certificate."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from newsletter.config import MailerSettings, Secrets
from newsletter.delivery.base import Mailer, MailerEnv, create_mailer

from .conftest import sample
from .smtp_sink import Sink

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed; it makes the test certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, crt = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(crt), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return crt, key


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    return context


class Accounts:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password.decode() == PASSWORD
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)


def mailer(port: int, cert: Path | None, password: str = PASSWORD, **opts: Any) -> Mailer:
    options = {"host": "127.0.0.1", "port": port, "username": "digest", "timeout": 5.0} | opts
    if cert is not None:
        options["ca_file"] = str(cert)
    secrets = Secrets({"NEWSLETTER_MAILER_RELAY_PASSWORD": password})
    return create_mailer("relay", MailerSettings("smtp", options), MailerEnv(secrets, Path(".")))


def test_starttls_and_auth(cert: tuple[Path, Path]) -> None:
    accounts = Accounts()
    with Sink(tls_context=server_context(cert), require_starttls=True, auth_required=True,
              authenticator=accounts) as sink:
        emails = [sample(i) for i in range(3)]
        with mailer(sink.port, cert[0], security="starttls") as m:
            results = m.send_messages(emails)
        received = dict(sink.received)
    assert [r.status for r in results] == ["sent"] * 3
    assert received == {e.message_id: 1 for e in emails}
    assert accounts.logins == ["digest"]  # one login: the connection was reused


def test_implicit_tls(cert: tuple[Path, Path]) -> None:
    # aiosmtpd offers AUTH only after STARTTLS, so this one sends without logging in
    with Sink(ssl_context=server_context(cert)) as sink:
        with mailer(sink.port, cert[0], security="ssl", username="") as m:
            (result,) = m.send_messages([sample(1)])
        assert len(sink.received) == 1
    assert result.status == "sent" and result.provider_id


def test_wrong_password_defers_and_names_no_secret(cert: tuple[Path, Path]) -> None:
    with Sink(tls_context=server_context(cert), require_starttls=True, auth_required=True,
              authenticator=Accounts()) as sink:
        with mailer(sink.port, cert[0], password="wrong-password-123", security="starttls") as m:
            (result,) = m.send_messages([sample(1)])
        assert sink.received == {}
    assert result.status == "deferred" and "535" in result.detail
    assert "wrong-password-123" not in result.detail


def test_untrusted_certificate_is_refused(cert: tuple[Path, Path]) -> None:
    with Sink(tls_context=server_context(cert), require_starttls=True) as sink:
        with mailer(sink.port, None, security="starttls", username="") as m:
            (result,) = m.send_messages([sample(1)])
        assert sink.received == {}
    assert result.status == "deferred" and "CERTIFICATE_VERIFY_FAILED" in result.detail


def test_starttls_is_never_skipped_when_the_server_lacks_it(sink: Sink) -> None:
    with mailer(sink.port, None, security="starttls", username="") as m:
        (result,) = m.send_messages([sample(1)])
    assert result.status == "deferred" and "STARTTLS" in result.detail
    assert sink.received == {}
