"""A team's issue from its members: a profile that names member subscribers gets the papers
that match any of them (each marked with whom it is for), ranked across members in turns so
that one member's broad topic does not take every place.

Each member is matched as a reader of their own (their topics, library, excludes and the
team's), against the team's history: what the team was sent, its feedback. The team's own
topics, when it has some, count as one more member, whose papers are marked for no one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from newsletter.models import Pick, Subscriber

log = logging.getLogger(__name__)
Picker = Callable[[Sequence[Subscriber]], dict[str, list[Pick]]]


def member_name(member: Subscriber) -> str:
    """How a paper says whom it is for: the member's name, else their address's local part."""
    return member.name or member.email.rsplit("@", 1)[0]


def stand_ins(team: Subscriber, members: Sequence[Subscriber]) -> list[tuple[Subscriber, str]]:
    """One reader per member (and one for the team's own interests, when it has some), each
    with the team's excludes and size, under a key no address takes (``team@host#n``); with
    the name each is for."""
    own = (team.topics or team.papers or team.library or team.authors)
    readers = [(replace(team, members=()), "")] if own else []
    readers += [(replace(m, members=()), member_name(m)) for m in members]
    return [
        (replace(reader, email=f"{team.email}#{n}", max_papers=team.max_papers,
                 exclude=tuple(dict.fromkeys((*reader.exclude, *team.exclude))),
                 min_upvotes=max(reader.min_upvotes, team.min_upvotes)), name)
        for n, (reader, name) in enumerate(readers)
    ]


def in_turns(lists: Sequence[tuple[str, Sequence[Pick]]], most: int) -> list[Pick]:
    """Picks from each list in turns: every list's best, then every list's second..., each
    turn best score first; a paper in several lists once, marked for each of them (its place
    and what brought it in from the list that ranks it highest). At most ``most``."""
    chosen: dict[str, Pick] = {}
    whom: dict[str, list[str]] = {}
    for name, picks in lists:  # who each paper is for, among all the lists' picks
        for p in picks:
            whom.setdefault(p.paper.key, []).extend([name] if name else [])
    depth = max((len(picks) for _, picks in lists), default=0)
    for turn in range(depth):
        ranked = sorted((picks[turn] for _, picks in lists if turn < len(picks)),
                        key=lambda p: -p.score)
        for p in ranked:
            if p.paper.key not in chosen and len(chosen) < most:
                chosen[p.paper.key] = replace(p, members=tuple(dict.fromkeys(whom[p.paper.key])))
    return list(chosen.values())


def team_picks(
    subs: Sequence[Subscriber], members: Mapping[str, Sequence[Subscriber]], pick: Picker,
    sent: dict[str, set[str]] | None = None, judged: dict[str, dict[str, int]] | None = None,
) -> dict[str, list[Pick]]:
    """Each reader's picks by ``pick`` (one batch), a team's from its ``members`` in turns.

    ``sent`` and ``judged`` (by address) gain each stand-in's entry: its team's."""
    batch: list[Subscriber] = []
    teams: dict[str, list[tuple[str, str]]] = {}  # team -> (stand-in key, name) each
    for sub in subs:
        if not sub.members:
            batch.append(sub)
            continue
        found = members.get(sub.email, ())
        readers = stand_ins(sub, found)
        teams[sub.email] = [(r.email, name) for r, name in readers]
        batch += [r for r, _ in readers]
        for r, _ in readers:
            if sent is not None:
                sent[r.email] = sent.get(sub.email, set())
            if judged is not None:
                judged[r.email] = judged.get(sub.email, {})
    picks = pick(batch)
    out = {s.email: picks.get(s.email, []) for s in subs if not s.members}
    for sub in subs:
        if sub.members:
            lists = [(name, picks.get(key, [])) for key, name in teams[sub.email]]
            out[sub.email] = in_turns(lists, sub.max_papers)
    return out
