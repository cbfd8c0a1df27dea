"""One exception hierarchy for the domain.

Every error carries a one-line message that says what is wrong, where, and what to do;
the CLI prints it and exits 1. Nothing here should ever reach a user as a traceback.
"""

from __future__ import annotations


class QaAuditError(Exception):
    """Base of all domain errors: the message is shown to the user as one line."""

    exit_code = 1


class InputError(QaAuditError):
    """A user's input file (transcript, CSV, XLSX, JSON) is unreadable or malformed."""


class PhrasebookError(QaAuditError):
    """A phrasebook or form file is broken: names the file, the field and what is allowed."""


class AudioError(QaAuditError):
    """A recording cannot be decoded, is empty, silent, truncated or too long."""


class ModelError(QaAuditError):
    """The speech model cannot be found, assembled or loaded."""


class StoreError(QaAuditError):
    """The results database is unusable (locked, corrupt, wrong schema)."""


class OutputError(QaAuditError):
    """An output path (a results file, a folder for pages) cannot be written."""
