"""`qa-audit audit --engine ray`: without Ray one line says what to install; on a local Ray
runtime (2 CPUs, two workers of one thread) the sample recordings get the same verdicts,
findings and answers as with the local engine, and a re-run skips what is stored."""

from __future__ import annotations

import builtins
import shutil
from pathlib import Path

import pytest

from qa_audit.cli.main import main
from qa_audit.store import Store

SAMPLES = Path(__file__).parent.parent / "samples"


def _args(db: Path, *extra: str) -> list[str]:
    return ["audit", str(SAMPLES / "recordings"), "--calls", str(SAMPLES / "calls.csv"),
            "--tickets", str(SAMPLES / "tickets.csv"), "--stations",
            str(SAMPLES / "stations.csv"), "--db", str(db), *extra]


def test_without_ray_the_engine_says_what_to_install(tmp_path, monkeypatch, capsys):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    rc = main(_args(tmp_path / "r.sqlite", "--engine", "ray"))
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.count("\n") == 0
    assert err == "error: --engine ray needs Ray: pip install 'qa-audit[ray]' " \
                  "(or pip install 'ray[data]>=2.9,<3')"
    assert not (tmp_path / "r.sqlite").exists()  # nothing was started


def test_an_unknown_engine_is_refused(tmp_path, capsys):
    rc = main(_args(tmp_path / "r.sqlite", "--engine", "spark"))
    assert rc == 2 and "spark" in capsys.readouterr().err


def _fresh_cache(path: Path) -> Path:
    """A transcript cache of its own (so neither run reads the other's transcripts), with
    the assembled model linked in rather than assembled again."""
    from qa_audit.asr_model import cache_root, embedded_model_dir

    path.mkdir(parents=True)
    embedded_model_dir()  # assembled once in the shared cache
    (path / "models").symlink_to(cache_root() / "models", target_is_directory=True)
    return path


def _verdicts(db: Path) -> dict[str, tuple]:
    with Store(db) as store:
        return {a.call_id: ([(i.id, i.status, i.points) for i in a.items],
                            sorted((f.code, f.fine_yuan) for f in a.findings), a.answers, a.score)
                for a in store.audits(final=False)}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning",
                            "ignore::ResourceWarning", "ignore::UserWarning")
def test_ray_engine_gives_the_local_results_on_the_samples(tmp_path, monkeypatch, capsys):
    ray = pytest.importorskip("ray")
    local_db, ray_db = tmp_path / "local.sqlite", tmp_path / "ray.sqlite"
    monkeypatch.setenv("QA_AUDIT_CACHE", str(_fresh_cache(tmp_path / "cache-local")))
    assert main(_args(local_db)) == 0, capsys.readouterr().err
    # The workers inherit the environment of the runtime ray.init starts.
    monkeypatch.setenv("QA_AUDIT_CACHE", str(_fresh_cache(tmp_path / "cache-ray")))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rc = main(_args(ray_db, "--engine", "ray", "--ray-workers", "2"))
        err = capsys.readouterr().err
        assert rc == 0, err
        assert "10 call(s) done" in err
        local, on_ray = _verdicts(local_db), _verdicts(ray_db)
        assert len(local) == 10 and on_ray.keys() == local.keys()
        for call_id in local:
            assert on_ray[call_id] == local[call_id], call_id
        # The audio path the review page plays is the driver's, as with the local engine.
        with Store(ray_db) as store, Store(local_db) as reference:
            for call_id in local:
                assert store.get_audit(call_id).audio == reference.get_audit(call_id).audio
                assert store.get_transcript(call_id).audio == \
                    reference.get_transcript(call_id).audio
        # Workers that cannot see the paths get the bytes (the transcripts come from the
        # workers' cache now: what is checked is the way there and back).
        sent_db = tmp_path / "sent.sqlite"
        assert main(_args(sent_db, "--engine", "ray", "--ray-send-audio")) == 0
        capsys.readouterr()
        assert _verdicts(sent_db) == local
        with Store(sent_db) as store, Store(local_db) as reference:
            for call_id in local:
                assert store.get_audit(call_id).audio == reference.get_audit(call_id).audio
        # Resume: a second run finds every call stored with the same fingerprint.
        assert main(_args(ray_db, "--engine", "ray")) == 0
        assert "10 call(s) already audited" in capsys.readouterr().err
    finally:
        ray.shutdown()

