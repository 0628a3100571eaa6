"""Relevance matching: profiles x papers -> ranked, explained picks (pure scoring, no I/O).

``Matcher.match`` serves one subscriber, ``Matcher.match_many`` a whole batch with one
scoring pass; ``lexical``, ``semantic`` and ``fuse`` hold the signals and their fusion.
"""

from newsletter.match.matcher import Matcher
from newsletter.match.semantic import MemoryCache, VectorCache, load_embedder

__all__ = ["Matcher", "MemoryCache", "VectorCache", "load_embedder"]
