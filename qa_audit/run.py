"""A run over a batch of calls: each call's transcript read or made, audited, and handed on
the moment it is done, so a killed run keeps (and has written out) every call it finished.

`run_calls` takes the list of work, a function that does one call, and a callback per
finished call; another engine plugs in by doing the same with its own scheduling. With a
`ClaimBoard` (the store's claims), runs started together over the same calls share them:
a call being audited by one run is not started by another, a run that was killed gives
its calls back when its lease runs out (at once, when it ran on this machine), and each
run waits for the others' calls at the end, so it reports every call it was asked for.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from qa_audit.errors import AudioError, InputError, QaAuditError
from qa_audit.pipeline import DispatchData, is_audio
from qa_audit.records import CallAudit, Transcript
from qa_audit.transcripts import read_transcript

if TYPE_CHECKING:
    from qa_audit.phrasebook import Phrasebook
    from qa_audit.store import Store
    from qa_audit.transcribe import Transcriber

# How long a claim holds without being renewed; renewed every third of it while the call
# is worked on, so only a run that died loses its calls to another.
DEFAULT_LEASE_S = 120.0
# How often a run that waits for another's calls looks at the store.
POLL_S = 0.25


@dataclass(frozen=True)
class Work:
    """One call to audit: its file, its id and what its result depends on."""

    path: Path
    call_id: str
    fingerprint: str | None = None


ClaimState = Literal["mine", "done", "taken"]


class ClaimBoard(Protocol):
    """Where runs that share calls say which call each is doing."""

    def claim(self, work: Work) -> ClaimState: ...

    def release(self, work: Work) -> None: ...

    def result(self, work: Work) -> CallAudit | None: ...

    def working_on(self, work: Work | None) -> None: ...


Failures = list[tuple[Path, str]]


def run_calls(work: Sequence[Work], audit_one: Callable[[Work], CallAudit],
              on_done: Callable[[Work, CallAudit], None], failures: Failures, *,
              claims: ClaimBoard | None = None, progress: bool = True,
              poll_s: float = POLL_S) -> int:
    """Audit each call once across all runs sharing `claims`; `on_done` sees every call of
    `work` that has a result (done here, before, or by another run), as soon as it has one.
    A call that fails is added to `failures` and the batch goes on. Returns how many calls
    were audited by this run."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    with Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), console=console,
                  disable=not (progress and console.is_terminal), transient=True) as bar:
        task = bar.add_task("", total=len(work))
        audited = 0

        def attempt(item: Work) -> bool:
            """Whether the call is settled (done by someone, or failed here)."""
            state = claims.claim(item) if claims is not None else "mine"
            if state == "taken":
                return False
            bar.update(task, description=item.path.name)
            if state == "done":
                result = claims.result(item) if claims is not None else None
                if result is not None:
                    on_done(item, result)
                bar.advance(task)
                return True
            nonlocal audited
            try:
                if claims is not None:
                    claims.working_on(item)
                result = audit_one(item)
            except (InputError, AudioError) as err:
                # A bad file: named at the end, the batch goes on. Anything else (the model,
                # the store, --out) is the run's problem, not the file's, and ends the run.
                failures.append((item.path, str(err)))
            else:
                audited += 1
                on_done(item, result)
            finally:
                if claims is not None:
                    claims.working_on(None)
                    claims.release(item)
            bar.advance(task)
            return True

        waiting = [item for item in work if not attempt(item)]
        while waiting:
            # Other runs hold these; take each as it is done, or over when its run died.
            time.sleep(poll_s)
            waiting = [item for item in waiting if not attempt(item)]
    return audited


class TranscriptSource:
    """Where a call's transcript comes from: its JSON file as read, or its recording
    transcribed (the model is loaded on the first recording; transcripts are cached)."""

    def __init__(self, *, phrasebook: Phrasebook, data: DispatchData, model: str,
                 agent_channel: str, warn: Callable[[str], None]) -> None:
        self.phrasebook, self.data = phrasebook, data
        self.model, self.agent_channel = model, agent_channel
        self.warn = warn
        self._transcriber: Transcriber | None = None

    @property
    def transcriber(self) -> Transcriber:
        from qa_audit.transcribe import TranscribeOptions, default_transcriber

        if self._transcriber is None:
            stations = self.data.stations.stations if self.data.stations else None
            self._transcriber = default_transcriber(
                TranscribeOptions(model=self.model,
                                  agent_channel=self.agent_channel),  # type: ignore[arg-type]
                phrasebook=self.phrasebook, stations=stations)
        return self._transcriber

    def get(self, path: Path) -> tuple[Transcript, Transcriber | None]:
        """The transcript, and the transcriber that made it (None for a JSON file); a
        QaAuditError (one line) for a file that is neither."""
        if not is_audio(path):
            return read_transcript(path), None
        transcriber = self.transcriber
        try:
            transcript = transcriber.transcribe(path)
        except RuntimeError as err:  # the model itself, on input it cannot take
            raise AudioError(f"{path}: the speech model failed ({err}); check the file") \
                from None
        quality = transcript.recording_quality
        if quality is not None and quality.verdict != "ok":
            return transcript, transcriber  # named with the run's results, at the end
        for warning in getattr(transcript, "warnings", None) or ():
            self.warn(f"{path}: {warning}")
        return transcript, transcriber


def owner_name() -> str:
    """Who holds a claim: this machine, this process, and a token for this run."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_gone(owner: str) -> bool:
    """Whether a claim's owner ran on this machine and its process has ended (killed)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine: only its lease can tell
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class StoreClaims:
    """The store's claims table as a ClaimBoard, with a lease renewed while working."""

    def __init__(self, store: Store, *, lease_s: float = DEFAULT_LEASE_S,
                 owner: str | None = None) -> None:
        self.store = store
        self.lease_s = lease_s
        self.owner = owner or owner_name()
        self._current: Work | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def claim(self, work: Work) -> ClaimState:
        return self.store.claim(work.call_id, self.owner, lease_s=self.lease_s,
                                fingerprint=work.fingerprint, gone=owner_gone)

    def release(self, work: Work) -> None:
        self.store.release_claim(work.call_id, self.owner)

    def result(self, work: Work) -> CallAudit | None:
        return self.store.get_audit(work.call_id, final=False)

    def working_on(self, work: Work | None) -> None:
        self._current = work
        if work is not None and self._heartbeat is None:
            self._heartbeat = threading.Thread(target=self._renew, daemon=True,
                                               name="qa-audit-lease")
            self._heartbeat.start()

    def close(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)

    def _renew(self) -> None:
        from qa_audit.store import Store

        # SQLite connections stay in their thread: the heartbeat has its own.
        try:
            store = Store(self.store.path)
        except QaAuditError:
            return
        with store:
            while not self._stop.wait(self.lease_s / 3):
                current = self._current
                if current is not None:
                    try:
                        store.renew_claim(current.call_id, self.owner, lease_s=self.lease_s)
                    except QaAuditError:
                        pass  # busy right now; the lease has two more tries before it ends
