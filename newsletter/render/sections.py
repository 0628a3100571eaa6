"""An issue in sections: its picks grouped under the interest each matched best, in the
reader's order of topics, then other topics (a team's members'), then the papers that similar
liked papers or followed authors brought in. One topic, or none, is one flat list."""

from __future__ import annotations

from collections.abc import Sequence

from newsletter.models import Pick, Subscriber

LIKED = "Similar to papers you liked"
AUTHORS = "Authors you follow"
OTHERS = "More papers"
_APART = {"liked": LIKED, "author": AUTHORS}  # picks that no topic brought in


def sectioned(reader: Subscriber, picks: Sequence[Pick]) -> list[tuple[str, list[Pick]]]:
    """(title, picks) per section, picks in their order within each; [] for one flat list:
    the reader turned sections off, follows fewer than two topics, or the picks do not say
    what brought them in (an issue enqueued before sections)."""
    if not reader.sections or not any(p.via for p in picks):
        return []
    titles: dict[str, str] = {}  # a topic folded -> as the reader (or first member) wrote it
    for topic in (*reader.topics, *(p.topic for p in picks if p.via == "topic")):
        if topic:
            titles.setdefault(topic.casefold(), topic)
    if len(titles) < 2:
        return []
    # keys: ("topic", folded topic), ("liked", ""), ("author", ""), ("", "") for the rest
    groups: dict[tuple[str, str], list[Pick]] = {("topic", key): [] for key in titles}
    groups |= {(via, ""): [] for via in _APART} | {("", ""): []}
    for p in picks:
        groups[_group(p, titles)].append(p)
    return [(titles[key] if via == "topic" else _APART.get(via, OTHERS), members)
            for (via, key), members in groups.items() if members]


def _group(pick: Pick, titles: dict[str, str]) -> tuple[str, str]:
    if pick.via == "topic" and pick.topic.casefold() in titles:
        return "topic", pick.topic.casefold()
    return (pick.via if pick.via in _APART else ""), ""
