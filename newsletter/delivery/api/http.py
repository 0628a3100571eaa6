"""What every HTTP provider shares: an httpx client, the API key, and status classification.

429, 5xx, 401/403 and network errors are transient (not the recipient's fault); any other
4xx is a permanent refusal of the message. The key never appears in results or ``repr``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from email.utils import formataddr
from typing import Any, final

import httpx

from newsletter import addresses
from newsletter.delivery.base import Mailer, OnResult, permanent, report, transient
from newsletter.errors import ConfigError
from newsletter.models import OutgoingEmail, SendResult

_RETRY_STATUSES = {401, 403, 408, 409, 425, 429}


class HttpMailer(Mailer):
    """Base of the provider mailers: ``open`` makes the client, ``post`` sends JSON or forms."""

    provider = "provider"
    reaches_inboxes = True
    _client: httpx.Client | None = None

    def auth(self, key: str) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client`` that authenticate with ``key``."""
        return {"headers": {"Authorization": f"Bearer {key}"}}

    def open(self) -> bool:
        if self._client is not None:
            return False
        key = self.secret("API_KEY")
        if not key:
            raise ConfigError(f"mailers.{self.name}: environment variable "
                              f"{self.secret_name('API_KEY')} is not set")
        self._client = httpx.Client(base_url=self.options.base_url, timeout=self.options.timeout,
                                    **self.auth(key))
        return True

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    @property
    def client(self) -> httpx.Client:
        self.open()
        assert self._client is not None
        return self._client

    @final
    def send_request(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        """Fail, each alone, the messages no provider API can carry (see ``api_problem``);
        hand the rest to ``send_api``."""
        ready = []
        for email in emails:
            problem = api_problem(email)
            if problem:
                report(permanent(email, f"{self.provider}: {problem}"), on_result)
            else:
                ready.append(email)
        if ready:
            self.send_api(ready, on_result)

    @abstractmethod
    def send_api(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        """Send one request of messages whose addresses ``formatted`` can write."""

    def post(self, path: str, **kwargs: Any) -> httpx.Response | str:
        """The response, or a description of the network failure."""
        try:
            return self.client.post(path, **kwargs)
        except httpx.TimeoutException:
            return f"{self.provider} did not answer in {self.options.timeout} s"
        except httpx.TransportError as exc:
            return f"{self.provider} unreachable: {type(exc).__name__}"

    def failure(self, email: OutgoingEmail, response: httpx.Response | str) -> SendResult:
        """The result for a failed request: transient or permanent by status."""
        if isinstance(response, str):
            return transient(email, response)
        detail = f"{self.provider} HTTP {response.status_code}: {error_text(response)}"
        if response.status_code in _RETRY_STATUSES or response.status_code >= 500:
            return transient(email, detail)
        return permanent(email, detail)

    def fail_all(
        self, batch: Sequence[OutgoingEmail], response: httpx.Response | str,
        on_result: OnResult | None,
    ) -> list[SendResult]:
        return [report(self.failure(e, response), on_result) for e in batch]


def error_text(response: httpx.Response) -> str:
    """The provider's own error message from a JSON body, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("Message", "message", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])[:300]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return "; ".join(str(e.get("message", e)) for e in errors)[:300]
    return str(body)[:200]


def api_problem(email: OutgoingEmail) -> str:
    """Why a provider API cannot take ``email``'s addresses, or "": APIs take ASCII addresses
    only, so a non-ASCII local part (which only SMTPUTF8 carries) or a domain IDNA cannot
    encode is a permanent failure of that message alone."""
    for role, address in (("recipient", email.to), ("sender", email.sender)):
        bare = addresses.split(address)[1]
        if addresses.needs_smtputf8(address):
            return (f"{role} {bare} has a non-ASCII local part, which provider APIs cannot "
                    "take (only SMTP with SMTPUTF8 can carry it)")
        if not addresses.ascii_address(address).isascii():
            return f"{role} {bare} has a domain that IDNA cannot encode"
    return ""


def formatted(address: str) -> str:
    """``address`` with its domain in IDNA (``jo@xn--bcher-kva.de``) and its display name
    quoted as needed (an unquoted "Smith, Jo" would otherwise read as two recipients).
    The address passed ``api_problem``."""
    name, _ = addresses.split(address)
    return formataddr((name, addresses.ascii_address(address)))


def extra_headers(email: OutgoingEmail, *, skip: tuple[str, ...] = ("reply-to",)) -> dict[str, str]:
    """The message's own headers (List-Id, List-Unsubscribe ...) minus those with a field."""
    return {k: v for k, v in email.headers if k.lower() not in skip}


def reply_to(email: OutgoingEmail) -> str:
    return next((v for k, v in email.headers if k.lower() == "reply-to"), "")
