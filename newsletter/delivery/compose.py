"""Turn a rendered subject, text and HTML into a complete ``OutgoingEmail`` ready to enqueue.

The pipeline calls this once per subscriber: it picks the Message-ID, signs the unsubscribe
link, adds the list headers and stores the final (optionally DKIM-signed) MIME bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from newsletter import addresses, signed_links
from newsletter.config import Config, DeliverySettings, NewsletterSettings
from newsletter.delivery.dkim import dkim_signer
from newsletter.delivery.message import domain_of, list_headers, list_id, make_message_id, render
from newsletter.models import OutgoingEmail


@dataclass(frozen=True)
class Composer:
    """Everything needed to compose messages for one newsletter; build it once per run."""

    newsletter: NewsletterSettings
    delivery: DeliverySettings
    secret: str = field(repr=False)
    signer: Callable[[bytes], bytes] | None = field(default=None, repr=False)

    def unsubscribe_url(self, to: str, *, now: datetime) -> str:
        """The signed one-click unsubscribe link for ``to`` (also shown in the footer)."""
        return signed_links.unsubscribe_url(
            self.newsletter.base_url, self.secret, addresses.key(to), now=now
        )

    def compose(
        self, *, to: str, subject: str, text: str, html: str, now: datetime,
        unsubscribe_url: str = "", message_id: str = "", sender: str = "",
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> OutgoingEmail:
        """The finished message, dated ``now``; pass the same ``unsubscribe_url`` the body
        shows, and the ``message_id`` and ``sender`` it was enqueued with when it was;
        ``extra_headers`` follow the list headers (``Archived-At`` of an issue, say)."""
        n = self.newsletter
        headers = list_headers(
            list_id_value=list_id(n.name, n.sender, n.list_id),
            unsubscribe_url=unsubscribe_url or self.unsubscribe_url(to, now=now),
            unsubscribe_mailto=self.delivery.unsubscribe_mailto,
            reply_to=n.reply_to,
        ) + extra_headers
        sender = sender or n.sender
        email = OutgoingEmail(message_id=message_id or make_message_id(sender), sender=sender,
                              to=to, subject=subject, text=text, html=html, headers=headers)
        return render(email, date=now, signer=self.signer)


def composer_from_config(config: Config) -> Composer:
    """A composer with the secret from NEWSLETTER_SECRET_KEY and DKIM when configured."""
    d = config.delivery
    signer = None
    if d.dkim_key_file:
        domain = d.dkim_domain or domain_of(config.newsletter.sender)
        signer = dkim_signer(config.path(d.dkim_key_file), d.dkim_selector, domain)
    return Composer(config.newsletter, d, config.secrets.get("SECRET_KEY"), signer)
