"""One exception tree for every error a user can cause; each message is one clear line."""

from __future__ import annotations


class NewsletterError(Exception):
    """Base of every error the CLI reports as a single line instead of a traceback."""


class ConfigError(NewsletterError):
    """A bad configuration file, key or value."""


class SubscriberError(NewsletterError):
    """A subscriber file or record that does not validate."""


class SourceError(NewsletterError):
    """A source that could not be fetched or parsed; names the source."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


class StoreError(NewsletterError):
    """The database could not be opened or migrated."""


class MatchError(NewsletterError):
    """Matching could not run (for example a broken embedding model)."""


class RenderError(NewsletterError):
    """A template is missing or does not compile or render."""


class DeliveryError(NewsletterError):
    """A message could not be handed to the mail system."""


class TransientDeliveryError(DeliveryError):
    """A failure worth retrying later (4xx, timeout, dropped connection, HTTP 429/5xx)."""


class PermanentDeliveryError(DeliveryError):
    """A failure that will not go away by retrying (5xx, invalid recipient)."""


class TokenError(NewsletterError):
    """A signed link token that is forged, altered or expired."""


class ModelInstallError(NewsletterError):
    """The sentence model could not be downloaded, checked or unpacked; names the URL or file."""
