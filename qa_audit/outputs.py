"""Output paths checked before any work starts: a run that cannot write its results must
say so at once, in one line, not after an hour of transcription."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from qa_audit.errors import OutputError


def _existing_ancestor(path: Path) -> Path:
    for parent in path.parents:
        if parent.exists():
            return parent
    return Path(".")


def _probe_folder(folder: Path, option: str, path: Path) -> None:
    """Can a file be made in `folder`? Tried for real: permissions say nothing for root,
    nor on a read-only mount."""
    try:
        fd, name = tempfile.mkstemp(prefix=".qa-audit-probe-", dir=folder)
    except OSError as err:
        raise OutputError(f"{option} {path}: cannot write in folder {folder} "
                          f"({err.strerror or err}); choose another {option} or make the "
                          "folder writable") from None
    os.close(fd)
    os.unlink(name)


def check_output_file(path: Path, option: str = "--out", *, example: str = "results.jsonl"
                      ) -> None:
    """A file the command will write (and may replace); OutputError if it cannot be."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a folder; give a file name, e.g. "
                          f"{option} {path / example}")
    if path.exists():
        try:
            with path.open("ab"):
                pass
        except OSError as err:
            raise OutputError(f"{option} {path}: cannot write to the file ({err.strerror}); "
                              f"choose another {option} or make it writable") from None
        return
    check_output_folder(path.parent, option, target=path)


def check_output_folder(folder: Path, option: str = "--out", *, target: Path | None = None
                        ) -> None:
    """A folder the command will write into (made if missing)."""
    folder = Path(folder)
    target = target or folder
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{option} {target}: {folder} is a file, not a folder; choose "
                          f"another {option}")
    base = folder if folder.exists() else _existing_ancestor(folder)
    if not base.is_dir():
        raise OutputError(f"{option} {target}: {base} is a file, not a folder; choose "
                          f"another {option}")
    _probe_folder(base, option, target)
