"""The names outside code imported from the scorer before the form became a package
(`qa_audit.form`); kept so that `qa_audit.pipeline` and other work in flight import as they
did. New code imports from `qa_audit.form` directly."""

from __future__ import annotations

from qa_audit.form.answers import rating_in
from qa_audit.form.checks.script import standard_text as _standard
from qa_audit.form.engine import form_check, score_call
from qa_audit.form.facts import CallContext
from qa_audit.form.findings import nonstandard_opening

__all__ = ["CallContext", "_standard", "form_check", "nonstandard_opening", "rating_in",
           "score_call"]
