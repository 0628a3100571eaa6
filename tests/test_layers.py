"""The layering rules, checked on the source: who may import whom, and one MetaData."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "newsletter"
STAGES = ("sources", "match", "render", "delivery", "llm")


def _modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): p
        for p in PACKAGE.rglob("*.py")
    }


def _imports(path: Path) -> set[str]:
    """Every imported module and imported name (``pkg.mod`` and ``pkg.mod.name``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_only_the_application_layer_chains_ingest_and_send() -> None:
    both = [
        module
        for module, path in _modules().items()
        if _layer(module) != "app"
        and any(i.startswith("newsletter.app.ingest.ingest") for i in _imports(path))
        and any(i.startswith("newsletter.delivery.outbox.send_due") for i in _imports(path))
    ]
    assert both == []


def test_the_store_imports_no_file_parsing_web_cli_or_app() -> None:
    banned = ("newsletter.subscriber_files", "newsletter.web", "newsletter.cli", "newsletter.app")
    offenders = {
        module: sorted(i for i in _imports(path) if i.startswith(banned))
        for module, path in _modules().items()
        if _layer(module) == "store"
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_stages_do_not_import_each_other_or_the_application() -> None:
    offenders = {}
    for module, path in _modules().items():
        layer = _layer(module)
        if layer not in STAGES:
            continue
        others = ("newsletter.app", *(f"newsletter.{s}" for s in STAGES if s != layer))
        bad = sorted(i for i in _imports(path) if i.startswith(others))
        if bad:
            offenders[module] = bad
    assert offenders == {}


def test_the_store_declares_its_tables_in_one_metadata() -> None:
    calls = [
        path.name
        for path in (PACKAGE / "store").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "MetaData"
    ]
    assert calls == ["tables.py"]


FRONT_DOORS = ("cli", "web")
# What a front door may import besides the application layer and its own package: the shared
# models and settings (``layer == ""``: config, models, profile, errors, wording, addresses,
# signed_links ...) are top-level modules, never a stage or the store.
STAGE_OR_STORE = tuple(f"newsletter.{s}" for s in (*STAGES, "store"))
WIRING = {  # start-up wiring, by name: the one front door that starts the other
    "newsletter.cli.serve": ("newsletter.web.app", "newsletter.web.server"),  # app, uvicorn
    "newsletter.cli.preview": ("newsletter.web.preview",),
}


def test_front_doors_reach_stages_and_the_store_only_through_the_application() -> None:
    offenders = {}
    for module, path in _modules().items():
        layer = _layer(module)
        if layer not in FRONT_DOORS:
            continue
        others = tuple(f"newsletter.{d}" for d in FRONT_DOORS if d != layer)
        allowed = WIRING.get(module, ())
        bad = sorted(
            i for i in _imports(path)
            if i.startswith((*STAGE_OR_STORE, *others)) and not i.startswith(allowed)
        )
        if bad:
            offenders[module] = bad
    assert offenders == {}
