"""Reading and writing transcript files (formats.md "Transcript"), with one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from qa_audit.errors import InputError
from qa_audit.records import Transcript


def read_transcript(path: Path) -> Transcript:
    """One transcript JSON file. Malformed JSON, a wrong field or an empty call -> InputError."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a text file; a transcript is UTF-8 JSON") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: malformed JSON at line {err.lineno} column {err.colno}: "
                         f"{err.msg}; fix the file or transcribe the recording again") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected one JSON object with call_id and utterances, got "
                         f"a {type(data).__name__}")
    data.setdefault("call_id", path.stem)
    try:
        transcript = Transcript.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        got = first.get("input")
        got_text = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
        raise InputError(f"{path}: field {where}: {first['msg']}{got_text}") from None
    if not any(u.text.strip() for u in transcript.utterances):
        raise InputError(f"{path}: the call has no utterances (empty call); nothing to audit — "
                         "check the recording or its transcription")
    return transcript


def write_transcript(transcript: Transcript, path: Path) -> None:
    """Write atomically, so an interrupted run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(transcript.model_dump_json(indent=1, exclude_none=True), encoding="utf-8")
    tmp.replace(path)
