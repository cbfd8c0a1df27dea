"""Transcription and scoring on a Ray cluster, with Ray Data (`qa-audit audit --engine ray`).

The pattern of Ray's batch-inference examples: the recordings are a dataset; an actor pool
of `AuditWorker`s, each of which loads the speech model, the phrasebook and the dispatch
data once (`__init__`), takes the recordings in batches (`__call__`): transcribes, scores
and listens again exactly as the local engine does, and gives back each call's transcript
and audit as JSON. The driver (the `qa-audit audit` process) takes the results as they
arrive and hands each to the same callback as the local loop, which writes it to the store
in its own transaction: a killed run keeps what arrived, and a re-run skips it by its
fingerprint.

Workers read the recordings from shared storage when they can see the driver's paths (an
NFS or object-store mount under the same path on every machine); with `send_audio=True`
(`--ray-send-audio`) the driver sends each recording's bytes instead.

Needs `pip install 'qa-audit[ray]'`; `ray_available()` says in one line what to install.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_audit.errors import QaAuditError
from qa_audit.phrasebook import Phrasebook
from qa_audit.pipeline import DispatchData, audit_transcript, is_audio
from qa_audit.records import CallAudit, Transcript

INSTALL_HINT = ("--engine ray needs Ray: pip install 'qa-audit[ray]' "
                "(or pip install 'ray[data]>=2.9,<3')")


# Recordings sent as bytes per dataset (about 1-3 MB each); each part starts its own pool.
SEND_CHUNK = 500


class RayMissing(QaAuditError):
    """Ray is not installed where `--engine ray` runs."""


def require_ray() -> Any:
    """The `ray` module, or RayMissing with what to install (one line)."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise RayMissing(INSTALL_HINT) from None
    return ray


@dataclass(frozen=True)
class RayOptions:
    """How the work is spread. `workers`: actors in the pool (default: one per
    `cpus_per_worker` CPUs of the cluster); each uses `cpus_per_worker` threads for the
    model. `batch_size`: recordings a worker takes at once (small: a call takes seconds,
    and small batches keep results flowing back and the pool evenly loaded)."""

    address: str | None = None  # None: a local runtime (or RAY_ADDRESS); "auto": a cluster
    workers: int | None = None
    cpus_per_worker: int = 1
    batch_size: int = 2
    send_audio: bool = False


@dataclass
class RayRun:
    """What a run did: calls handed to the callback, and the seconds the workers spent
    auditing (the rest of the wall time is Ray's and the driver's: scripts/bench_ray.py)."""

    calls: int = 0
    worker_seconds: float = 0.0


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs to audit a call as the local engine would; pickled once per
    actor (the phrasebook and dispatch data are small beside the model each loads)."""

    phrasebook: Phrasebook
    data: DispatchData
    pattern: str
    model: str
    agent_channel: str
    cpu_threads: int


class AuditWorker:
    """One actor of the pool: loads the model once, audits batches of recordings."""

    def __init__(self, setup: WorkerSetup) -> None:
        from qa_audit.transcribe import TranscribeOptions, default_transcriber

        self.setup = setup
        stations = setup.data.stations.stations if setup.data.stations else None
        self.transcriber = default_transcriber(
            TranscribeOptions(model=setup.model, agent_channel=setup.agent_channel,  # type: ignore[arg-type]
                              cpu_threads=setup.cpu_threads),
            phrasebook=setup.phrasebook, stations=stations)
        self.transcriber.model  # noqa: B018 - load it now, not inside the first batch
        self.scratch = Path(tempfile.mkdtemp(prefix="qa-audit-ray-"))

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"path": [], "transcript": [], "audit": [], "error": [],
                                     "seconds": []}
        for path, audio in zip(batch["path"], batch["audio"]):
            path = str(path)
            start = time.perf_counter()
            transcript_json, audit_json, error = self.audit_one(path, audio)
            out["path"].append(path)
            out["transcript"].append(transcript_json)
            out["audit"].append(audit_json)
            out["error"].append(error)
            out["seconds"].append(time.perf_counter() - start)
        return out

    def audit_one(self, path: str, audio: bytes | None) -> tuple[str, str, str]:
        """(transcript JSON, audit JSON, "") or ("", "", the one-line error)."""
        from qa_audit.callmeta import call_id_of

        source = Path(path)
        local = source
        if audio is not None and len(audio):
            local = self.scratch / source.name
            local.write_bytes(bytes(audio))
        try:
            transcript = self.transcriber.transcribe(local, call_id=call_id_of(source.name))
            result = audit_transcript(transcript, self.setup.data, self.setup.phrasebook,
                                      pattern=self.setup.pattern, transcriber=self.transcriber)
        except QaAuditError as err:
            return "", "", str(err).replace(str(local), path)
        finally:
            if local != source:
                local.unlink(missing_ok=True)
        # The driver's path, as the local engine records it (the review page plays it).
        transcript = transcript.model_copy(update={"audio": path})
        if result.audio in (None, str(local)):
            result.audio = path
        return transcript.model_dump_json(), result.model_dump_json(), ""


def _items(paths: Sequence[Path], send_audio: bool) -> Iterator[dict[str, Any]]:
    for path in paths:
        yield {"path": str(path), "audio": path.read_bytes() if send_audio else b""}


def run(
    paths: Sequence[Path],
    on_result: Callable[[Transcript, CallAudit], None],
    *,
    phrasebook: Phrasebook,
    data: DispatchData,
    pattern: str,
    model: str,
    agent_channel: str,
    failures: list[tuple[Path, str]],
    options: RayOptions | None = None,
) -> RayRun:
    """Audit the recordings on Ray; each result goes to `on_result` on this process as it
    arrives. Transcript files (.json) are scored here: they need no model. Bad files go
    to `failures` as with the local engine."""
    options = options or RayOptions()
    ray = require_ray()
    done = RayRun()
    for path in (p for p in paths if not is_audio(p)):
        from qa_audit.transcripts import read_transcript

        try:
            transcript = read_transcript(path)
        except QaAuditError as err:
            failures.append((path, str(err)))
            continue
        on_result(transcript, audit_transcript(transcript, data, phrasebook, pattern=pattern))
        done.calls += 1
    audio = [p for p in paths if is_audio(p)]
    if not audio:
        return done
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=options.address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise QaAuditError(
                f"cannot start or reach the Ray cluster at {options.address or 'a local runtime'}"
                f" ({reason}); check --ray-address, or start the cluster with "
                "`ray start --head`") from None
    # Ray Data's progress lines would drown the one-line messages of the audit.
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    setup = WorkerSetup(phrasebook=phrasebook, data=data, pattern=pattern, model=model,
                        agent_channel=agent_channel, cpu_threads=options.cpus_per_worker)
    # Sent bytes go through the driver's memory: a day's recordings are sent a part at a time.
    step = SEND_CHUNK if options.send_audio else len(audio)
    try:
        for first in range(0, len(audio), step):
            _run_pool(ray, audio[first:first + step], on_result, failures, options, done, setup)
    finally:
        if started_here:
            ray.shutdown()
    return done


def _run_pool(ray: Any, audio: list[Path], on_result: Callable[[Transcript, CallAudit], None],
              failures: list[tuple[Path, str]], options: RayOptions, done: RayRun,
              setup: WorkerSetup) -> None:
    workers = options.workers or max(
        1, int(ray.cluster_resources().get("CPU", 1)) // options.cpus_per_worker)
    workers = min(workers, len(audio))
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    dataset = ray.data.from_items(list(_items(audio, options.send_audio)),
                                  override_num_blocks=max(1, len(audio) // options.batch_size))
    results = dataset.map_batches(
        AuditWorker, fn_constructor_kwargs={"setup": setup},
        compute=ray.data.ActorPoolStrategy(size=workers),
        batch_size=options.batch_size, num_cpus=options.cpus_per_worker,
        batch_format="numpy")
    by_path = {str(p): p for p in audio}
    for row in results.iter_rows():
        path = by_path.get(str(row["path"]), Path(str(row["path"])))
        done.worker_seconds += float(row["seconds"])
        if row["error"]:
            failures.append((path, str(row["error"])))
            continue
        on_result(Transcript.model_validate_json(row["transcript"]),
                  CallAudit.model_validate_json(row["audit"]))
        done.calls += 1


def cluster_cpus() -> int:
    """CPUs of the cluster this process is connected to (for benchmarks)."""
    ray = require_ray()
    return int(ray.cluster_resources().get("CPU", os.cpu_count() or 1))
