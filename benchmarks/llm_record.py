"""Record a language model's answers to the exact requests the project sends, once.

    python benchmarks/llm_record.py requests papers|profiles|rerank --out DIR
        writes each request as DIR/<key>.txt (the system and user messages and the schema
        the reply must fit), for a recording session that sees that file and nothing else
    python benchmarks/llm_record.py collect DIR
        reads DIR/<key>.json answers, checks each against its request's schema, and adds
        them to tests/data/llm/ (papers and profiles keyed by request, rerank scores by
        profile and paper)

The held-out profiles' candidates for ``rerank`` are the doors' ranking's top K, as
``benchmarks/match_bench.py heldout`` computes them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from llm_replay import RECORDED, heldout_readers
from match_bench import seed_papers

from newsletter.llm.contract import (
    SCHEMAS,
    Reader,
    Request,
    paper_request,
    profile_request,
    read_paper_fields,
    read_profile_phrases,
    read_rerank_scores,
    rerank_request,
)


def as_text(request: Request) -> str:
    """What a recording session reads: the two messages and the reply's schema, verbatim."""
    schema = json.dumps(SCHEMAS[request.use], indent=2)
    return (
        f"=== SYSTEM MESSAGE ===\n{request.system}\n\n=== USER MESSAGE ===\n{request.user}\n\n"
        f"=== RESPONSE FORMAT ===\nA JSON object (schema name: {request.use}) fitting this "
        f"JSON schema:\n{schema}\n"
    )


def requests(use: str) -> list[Request]:
    if use == "papers":
        return [paper_request(p) for p in seed_papers()]
    if use == "profiles":
        return list({r.key: r for r in (profile_request(x) for _, x in heldout_readers())}.values())
    return [item[0] for item in rerank_items()]


def rerank_items() -> list[tuple[Request, Reader, list[str]]]:
    """Each rerank request, its reader and its candidates' titles, in order."""
    from llm_replay import rerank_candidates

    return [(rerank_request(reader, papers), reader, [p.title for p in papers])
            for _, reader, papers in rerank_candidates()]


NAME = 16  # hex digits of a request's key that name its files


def write_requests(use: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    done = RECORDED.answered()
    todo = [r for r in requests(use) if r.key not in done]
    for request in todo:
        (out / f"{request.key[:NAME]}.txt").write_text(as_text(request), encoding="utf-8")
    print(f"{len(todo)} {use} requests written to {out} ({len(done)} answers kept already)")


def collect(folder: Path, uses: list[str]) -> None:
    every = {r.key[:NAME]: r for use in uses if use != "rerank" for r in requests(use)}
    reranks = {r.key[:NAME]: (r, reader, titles) for r, reader, titles in rerank_items()
               } if "rerank" in uses else {}
    every |= {k: r for k, (r, _, _) in reranks.items()}
    added = refused = 0
    for path in sorted(folder.glob("*.json")):
        request = every.get(path.stem)
        if request is None:
            print(f"{path.name}: answers no current request; skipped")
            continue
        content = path.read_text(encoding="utf-8")
        try:
            if request.use == "paper_fields":
                read_paper_fields(content)
            elif request.use == "reader_profile":
                read_profile_phrases(content)
            else:
                read_rerank_scores(content, len(reranks[path.stem][2]))
        except ValueError as exc:
            print(f"{path.name}: {exc}; skipped")
            refused += 1
            continue
        _, reader, titles = reranks.get(path.stem, (request, None, None))
        RECORDED.add(request, json.loads(content), reader, titles)
        added += 1
    RECORDED.save()
    print(f"{added} answers kept, {refused} refused")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("requests")
    ask.add_argument("use", choices=("papers", "profiles", "rerank"))
    ask.add_argument("--out", type=Path, required=True)
    take = sub.add_parser("collect")
    take.add_argument("folder", type=Path)
    take.add_argument("--use", action="append", choices=("papers", "profiles", "rerank"))
    args = parser.parse_args()
    if args.command == "requests":
        write_requests(args.use, args.out)
    else:
        collect(args.folder, args.use or ["papers", "profiles", "rerank"])


if __name__ == "__main__":
    main()
