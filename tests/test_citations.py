"""Every document the project cites exists in the project."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("daemon", "drivers", "hil", "analysis", "tests", "docs", "config", "bench", "scripts")
# A project-relative path to a Markdown file as the code cites it: `docs/datasheets.md`,
# `hil/README.md`, `SOURCES.md` (a bare name: some file of that name). Absolute paths name
# files outside the project (the machine's data sets) and are not checked here.
# Documents of other projects that the docs name as such (not ours to ship).
EXTERNAL: frozenset[str] = frozenset(
    {"DEV_UPDATE.md"}  # in the C.A.S.P.E.R.-2 repository a recording comes from (docs/realdata.md)
)
CITED_DOCUMENT = re.compile(r"(?<![/\w.-])((?:[a-z_]+/)*[A-Za-z_-]+\.md)\b")


def _cited_documents() -> dict[str, list[str]]:
    cited: dict[str, list[str]] = {}
    files = [ROOT / "README.md"]
    for folder in SOURCES:
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md", ".toml")]
    for path in files:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for name in CITED_DOCUMENT.findall(line):
                cited.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{number}")
    return cited


def test_every_cited_document_exists() -> None:
    cited = _cited_documents()
    assert "docs/datasheets.md" in cited  # the scan finds citations at all
    missing = {
        name: places
        for name, places in cited.items()
        if name not in EXTERNAL
        and not (ROOT / name).exists()
        and not ("/" not in name and any(p for p in ROOT.rglob(name) if ".venv" not in p.parts))
    }
    assert missing == {}
