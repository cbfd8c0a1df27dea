"""A newcomer on a fresh clone finds every file the README and the docs mention."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOP = ("docs/", "samples/", "scripts/", "phrasebook/", "tests/", "qa_audit/")
# What the commands write, not what the clone holds.
WRITTEN = ("out/", "review-", "tally-")


def _mentioned(text: str) -> set[str]:
    spans = re.findall(r"`([^`\n]+)`", text)
    words = {w.strip("()[],.;:") for span in spans for w in span.split()}
    return {w for w in words if w.startswith(TOP) or w.startswith("../")}


@pytest.mark.parametrize("doc", ["README.md", "docs/formats.md", "docs/domain.md",
                                 "docs/recordings.md", "samples/README.md"])
def test_every_path_mentioned_is_in_the_repository(doc):
    text = (REPO / doc).read_text(encoding="utf-8")
    assert "../shared" not in text and "seeds/" not in text
    missing = []
    for path in sorted(_mentioned(text)):
        if path.startswith(WRITTEN) or any(c in path for c in "*<{"):
            continue
        if not (REPO / path).exists():
            missing.append(path)
    assert not missing, f"{doc} mentions {missing}, not in the repository"
