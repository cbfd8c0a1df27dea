"""What the Ray engine costs per call, and what it would do on 4, 16 and 64 workers.

    python scripts/bench_ray.py                 # the 10 sample recordings

Measured on this machine, each with `qa-audit audit` end to end (store included):

1. local, cold: the samples transcribed and scored with the local engine from an empty
   transcript cache. `t_call` = wall time / calls: a worker's time per call when it has
   this machine's cores.
2. the Ray engine's overhead per call: one Ray worker with all of this machine's CPUs, the
   transcript cache warm (transcription would drown it; scoring and listening again still
   run), results written to a store by the driver. The workers time their own auditing
   (W), so what is left of the wall time (R) is Ray's and the driver's — starting the actor
   pool, scheduling, moving recordings and results, parsing, the store write — measured in
   the same run, whatever else the machine is doing. A first run of one call starts the
   runtime's worker processes (its outside time is the startup); then the samples once (n)
   and twice (2n), so that what a run pays once cancels:
       overhead = ((R(2n) - R(n)) - (W(2n) - W(n))) / n
3. the driver's store write per call, `t_store` (`Store.save_audit` with its transcript,
   one transaction each, synchronous=FULL).

The model: W workers, each a machine like this one, each doing one call at a time, the
driver writing every result:

    calls/hour(W) = min(W * 3600 / (t_call + overhead), 3600 / t_store)

It leaves out what this machine cannot show: the network (recordings read from shared
storage or sent as bytes: 8 kHz audio is ~1–3 MB a call, nothing beside a call's seconds of
decoding), stragglers at the end of a batch (small batches keep them short), and the
startup, paid once per run. The store's limit is the driver's; `qa-audit import` of result
files written by the workers would lift it (~1,600 calls/s, scripts/bench_store.py).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _day(root: Path, calls: list[dict], name: str) -> Path:
    """A calls.csv naming these calls, beside the samples' recordings."""
    day = root / name
    day.mkdir()
    with (day / "calls.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(calls[0]))
        writer.writeheader()
        for row in calls:
            writer.writerow({**row, "recording": str((REPO / "samples" / row["recording"]))})
    return day


def _audit(day: Path, db: Path, *extra: str) -> float:
    from qa_audit.cli.main import main

    samples = REPO / "samples"
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the per-agent table: not needed here
        rc = main(["audit", str(samples / "recordings"), "--calls", str(day / "calls.csv"),
                   "--tickets", str(samples / "tickets.csv"), "--stations",
                   str(samples / "stations.csv"), "--db", str(db), *extra])
    if rc != 0:
        raise SystemExit(f"audit failed ({rc})")
    return time.perf_counter() - start


def _on_ray(calls: list[dict], db: Path, cores: int) -> tuple[float, float]:
    """(wall seconds, workers' seconds) of the Ray engine on these calls, one worker with
    every core, each result written to a store as `qa-audit audit` does."""
    from qa_audit.callmeta import DEFAULT_PATTERN
    from qa_audit.engines import ray_engine
    from qa_audit.phrasebook import load_phrasebook
    from qa_audit.pipeline import load_dispatch
    from qa_audit.store import Store

    samples = REPO / "samples"
    phrasebook = load_phrasebook()
    data = load_dispatch(calls=samples / "calls.csv", tickets=samples / "tickets.csv",
                         stations=samples / "stations.csv")
    paths = [samples / row["recording"] for row in calls]
    failures: list = []
    with Store(db) as store:
        start = time.perf_counter()
        run = ray_engine.run(
            paths, lambda t, a: store.save_audit(a, transcript=t), phrasebook=phrasebook,
            data=data, pattern=DEFAULT_PATTERN,
            model="embedded", agent_channel="left", failures=failures,
            options=ray_engine.RayOptions(workers=1, cpus_per_worker=cores))
        wall = time.perf_counter() - start
    if failures or run.calls != len(paths):
        raise SystemExit(f"ray run failed: {failures}")
    return wall, run.worker_seconds


def _store_write(db: Path, copies: int = 200) -> float:
    """Seconds per call to save an audit with its transcript."""
    from qa_audit.store import Store

    with Store(db) as store:
        audits = store.audits(final=False)
        transcripts = {a.call_id: store.get_transcript(a.call_id) for a in audits}
    with Store(db.with_name("write.sqlite")) as target:
        start = time.perf_counter()
        for k in range(copies):
            audit = audits[k % len(audits)]
            copy = audit.model_copy(update={"call_id": f"{audit.call_id}_{k}"})
            target.save_audit(copy, transcript=transcripts[audit.call_id])
        return (time.perf_counter() - start) / copies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="*", default=[4, 16, 64])
    args = parser.parse_args()

    from qa_audit.asr_model import cache_root, embedded_model_dir
    from qa_audit.transcribe import usable_cores

    embedded_model_dir()
    models = cache_root() / "models"
    root = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    cache = root / "cache"
    cache.mkdir()
    (cache / "models").symlink_to(models, target_is_directory=True)
    os.environ["QA_AUDIT_CACHE"] = str(cache)  # before Ray starts: its workers inherit it
    with (REPO / "samples" / "calls.csv").open(encoding="utf-8") as fh:
        calls = list(csv.DictReader(fh))
    n, cores = len(calls), usable_cores()
    all_calls = _day(root, calls, "all")

    cold = _audit(all_calls, root / "cold.sqlite")  # also warms the cache for Ray's run
    t_call = cold / n
    print(f"local, cold cache: {cold:.1f} s for {n} calls = {t_call:.1f} s a call "
          f"({cores} cores)", flush=True)

    import ray

    start = time.perf_counter()
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    init = time.perf_counter() - start
    try:
        ray_1, work_1 = _on_ray(calls[:1], root / "ray-1.sqlite", cores)
        ray_n, work_n = _on_ray(calls, root / "ray-n.sqlite", cores)
        ray_2n, work_2n = _on_ray(calls + calls, root / "ray-2n.sqlite", cores)
    finally:
        ray.shutdown()
    overhead = ((ray_2n - ray_n) - (work_2n - work_n)) / n
    startup = init + ray_1 - work_1
    print(f"ray, warm cache: R(1) {ray_1:.2f} s (workers {work_1:.2f} s), R(n) {ray_n:.2f} s "
          f"(workers {work_n:.2f} s), R(2n) {ray_2n:.2f} s (workers {work_2n:.2f} s), "
          f"ray.init {init:.1f} s", flush=True)
    t_store = _store_write(root / "ray-n.sqlite")

    print(f"\nper call: t_call {t_call:.2f} s (local, {cores} cores), Ray overhead "
          f"{overhead * 1000:.0f} ms, store write {t_store * 1000:.1f} ms; "
          f"startup {startup:.1f} s once per run")
    print(f"local: {3600 / t_call:,.0f} calls/hour on this machine")
    limit = 3600 / t_store
    for workers in args.workers:
        rate = min(workers * 3600 / (t_call + max(overhead, 0.0)), limit)
        print(f"{workers:>3} workers ({cores} cores each): {rate:,.0f} calls/hour"
              + (" (the driver's store writes limit it)" if rate == limit else ""))
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
