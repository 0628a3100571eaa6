"""Bytes of one outbox snapshot of a 10-paper issue (compact JSON, zlib, as stored), with and
without what brought each pick in (the sections of issue 26):
``python benchmarks/snapshot_size.py``."""

from __future__ import annotations

from datetime import date

from newsletter.app.queued_issue import snapshot
from newsletter.models import Paper, Pick, Subscriber
from newsletter.store.packed import pack

TOPICS = ("spiking neural networks", "exoplanets", "graph neural networks")


def main() -> None:
    reader = Subscriber(email="ada.lovelace@example.org", name="Ada Lovelace", topics=TOPICS)
    picks = [
        Pick(Paper(title=f"Paper {i}", abstract="", arxiv_id=f"2511.{10000 + i}"),
             0.8123 - i / 50,
             (f"title matches '{TOPICS[i % 3]}'", f"close in meaning to '{TOPICS[i % 3]}'"),
             via="topic", topic=TOPICS[i % 3])
        for i in range(10)
    ]
    new = snapshot(reader, date(2026, 11, 23), picks)
    old = {k: v for k, v in new.items() if k != "sections"}
    old["picks"] = [p[:3] for p in new["picks"]]
    for label, value in (("without", old), ("with", new)):
        print(f"{label} what brought each pick in: {len(pack(value))} bytes packed")


if __name__ == "__main__":
    main()
