"""The documentation holds together: every relative link in README.md and docs/*.md leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testkit.servers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(page: Path) -> str:
    """The page without its fenced code blocks (a `[x](y)` in code is not a link)."""
    kept, fenced = [], False
    for line in page.read_text().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            kept.append(line)
    return "\n".join(kept)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces become hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in prose(page).splitlines() if re.match(r"#{1,6} ", line)}


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def test_slug_follows_github():
    assert slug("The moto service: Moto behind a validating gateway") == (
        "the-moto-service-moto-behind-a-validating-gateway"
    )
    assert slug("Limits (known, deliberate)") == "limits-known-deliberate"


def test_the_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text().splitlines()) < 200


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_the_docs_pages_are_linked_from_the_readme():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in relative_links(ROOT / "README.md")}
    unlinked = [page.name for page in PAGES[1:] if page.resolve() not in linked]
    assert not unlinked


SERVICE_PAGES = {
    "exporter.md": ("exporter.settings", "ExporterSettings"),
    "gateway.md": ("moto_gateway.settings", "GatewaySettings"),
    "uploader.md": ("uploader.settings", "UploaderSettings"),
}
LEADING_DEFAULTS = re.compile(r"^`[^`]*`(?:\s*/\s*`[^`]*`)*")


def variables_table(page: Path) -> dict[str, str | None]:
    """{VARIABLE: documented default} from the table under `## Variables`; None for a default written in
    words (unset, empty), `A` / `B` rows pair names and defaults in order (or share one default)."""
    rows, inside = {}, False
    for line in prose(page).splitlines():
        if line.startswith("## "):
            inside = line == "## Variables"
            continue
        if not inside or not line.startswith("| `"):
            continue
        name_cell, default_cell = (cell.strip() for cell in line.strip("|").split("|")[:2])
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", name_cell)
        leading = LEADING_DEFAULTS.match(default_cell)
        defaults = re.findall(r"`([^`]*)`", leading.group(0)) if leading else []
        if len(defaults) != len(names):
            defaults = [defaults[0] if defaults else None] * len(names)
        rows.update(zip(names, defaults))
    return rows


def as_documented(value: object) -> str | None:
    """A settings default as the docs write it: `true`, `15`, `a,b`; None for unset or empty."""
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if value is None or value == []:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def settings_defaults(module: str, class_name: str) -> dict[str, str | None]:
    import importlib

    from common.settings import env_name

    cls = getattr(importlib.import_module(module), class_name)
    defaults = {}
    for field_name, field in cls.model_fields.items():
        default = as_documented(field.get_default(call_default_factory=True))
        for name in env_name(cls, field_name).split(" / "):
            defaults[name] = default
    return defaults


@pytest.mark.parametrize("page_name", sorted(SERVICE_PAGES))
def test_each_services_variables_table_matches_its_settings_class(page_name: str):
    documented = variables_table(ROOT / "docs" / page_name)
    expected = settings_defaults(*SERVICE_PAGES[page_name])
    assert sorted(documented) == sorted(expected), "every setting has one row, and every row a setting"
    wrong = {}
    for name, default in expected.items():
        shown = documented[name]
        if default is not None and shown is not None and shown.removeprefix("./") == default:
            continue  # ./moto_export and moto_export are one path
        if shown != default:
            wrong[name] = (shown, default)
    assert not wrong, f"documented vs actual defaults: {wrong}"


def test_log_level_is_documented_with_every_level():
    for page_name in SERVICE_PAGES:
        lines = prose(ROOT / "docs" / page_name).splitlines()
        row = next(line for line in lines if line.startswith("| `LOG_LEVEL`"))
        assert all(level in row for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")), page_name


def test_benchmarks_page_has_one_dated_row_per_benchmark():
    """docs/benchmarks.md's index: each benchmark `python -m bench` runs, once, with the commit and the
    date its figures were measured at."""
    from bench.__main__ import BENCHMARKS

    rows = [line for line in (ROOT / "docs" / "benchmarks.md").read_text().splitlines()
            if line.startswith("| `bench.")]
    named = [name for row in rows for name in re.findall(r"`bench\.(\w+)`", row.split("|")[1])]
    assert sorted(named) == sorted(BENCHMARKS)
    for row in rows:
        assert re.search(r"\b[0-9a-f]{7,40}\b.*\b\d{4}-\d{2}-\d{2}\b", row.split("|")[3]), row
