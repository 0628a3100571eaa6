"""Channel readers' names and the address each one has in the store and the outbox.

A channel (a Slack, Discord, Teams, Matrix or Telegram room, or a signed webhook) is a reader:
its profile is kept and matched like a subscriber's, under the address ``NAME@channels.invalid``
(``.invalid`` is reserved by RFC 2606, so no mail can ever be delivered there). Every layer
tells a channel row from an email row by that address alone.
"""

from __future__ import annotations

import re

from newsletter import addresses

DOMAIN = "channels.invalid"
NAME = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62})$")
KINDS = ("slack", "discord", "teams", "matrix", "telegram", "webhook")


def is_name(name: str) -> bool:
    """A channel name: lower-case letters, digits, '-' and '_', at most 63, as in a TOML key."""
    return bool(NAME.match(name))


def address(name: str) -> str:
    """The address a channel reader has in the store."""
    return f"{name}@{DOMAIN}"


def channel_of(address: str) -> str:
    """The channel name behind an address (``Lab <lab@channels.invalid>`` -> ``lab``), else
    ""."""
    local, at, domain = addresses.key(address).rpartition("@")
    return local if at and domain == DOMAIN else ""
