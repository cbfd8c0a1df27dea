"""The speech model: the embedded one assembled from its two wheels, and every way to miss."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from qa_audit import asr_model
from qa_audit.asr_model import EMBEDDED, cache_root, embedded_model_dir, load_model, resolve_model
from qa_audit.errors import ModelError


@pytest.fixture(scope="module")
def assembled(tmp_path_factory) -> Path:
    """One assembly shared by the tests that only read it (it is 145 MB)."""
    return embedded_model_dir(tmp_path_factory.mktemp("cache"))


def _sha256(path: Path) -> str:
    with open(path, "rb") as src:
        return hashlib.file_digest(src, "sha256").hexdigest()


def test_embedded_model_is_assembled_whole_and_verified(assembled):
    files = {p.name for p in assembled.iterdir()}
    assert {"model.bin", "config.json", "tokenizer.json", "vocabulary.json"} <= files
    manifest = json.loads((assembled / "qa-audit-manifest.json").read_text(encoding="utf-8"))
    parts = [asr_model._wheel_file(package, name)
             for _, package, name in asr_model._MODEL_PARTS]
    # model.bin is exactly part1 followed by part2, and the recorded digest is its own.
    expected = hashlib.sha256()
    for part in parts:
        expected.update(part.read_bytes())
    assert manifest["model_sha256"] == expected.hexdigest() == _sha256(assembled / "model.bin")
    assert (assembled / "model.bin").stat().st_size == sum(len(p.read_bytes()) for p in parts)
    # Nothing half-made is left next to it.
    assert [p.name for p in assembled.parent.iterdir()] == [assembled.name]


def test_second_use_reuses_the_assembly(assembled):
    before = (assembled / "model.bin").stat().st_mtime_ns
    source = resolve_model(EMBEDDED, assembled.parent.parent)
    assert source.path == assembled
    assert (assembled / "model.bin").stat().st_mtime_ns == before
    assert source.sha256 == _sha256(assembled / "model.bin")


def test_a_damaged_assembly_is_rebuilt_not_used(tmp_path):
    target = embedded_model_dir(tmp_path)
    with open(target / "model.bin", "r+b") as model:
        model.truncate(1000)  # e.g. a disk that filled up
    again = embedded_model_dir(tmp_path)
    assert again == target
    manifest = json.loads((target / "qa-audit-manifest.json").read_text(encoding="utf-8"))
    assert _sha256(target / "model.bin") == manifest["model_sha256"]


def test_a_corrupt_wheel_part_fails_clearly_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(asr_model, "_recorded", lambda dist, relative: "not-the-hash")
    with pytest.raises(ModelError) as err:
        embedded_model_dir(tmp_path)
    message = str(err.value)
    assert "corrupt" in message and "pip install --force-reinstall" in message
    assert "\n" not in message
    # Neither a finished-looking directory nor the staging directory is left behind.
    assert list((tmp_path / "models").iterdir()) == []


def test_missing_wheels_say_what_to_install(tmp_path, monkeypatch):
    def missing(package):
        raise ModuleNotFoundError(package)

    monkeypatch.setattr(asr_model.importlib.resources, "files", missing)
    with pytest.raises(ModelError, match="not installed; run: pip install"):
        embedded_model_dir(tmp_path)


def test_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_AUDIT_CACHE", str(tmp_path / "elsewhere"))
    assert cache_root() == tmp_path / "elsewhere"
    monkeypatch.delenv("QA_AUDIT_CACHE")
    assert cache_root() == Path.home() / ".cache" / "qa-audit"


def test_a_local_ctranslate2_directory_is_used_as_is(assembled, tmp_path):
    source = resolve_model(str(assembled), tmp_path)
    assert source.path == assembled
    assert source.sha256 == _sha256(assembled / "model.bin")
    # Hashed once: the digest is remembered for the next run.
    memo = json.loads((tmp_path / "models" / "digests.json").read_text(encoding="utf-8"))
    assert source.sha256 in memo.values()


@pytest.mark.parametrize("name", ["./no/such/model", "/no/such/model"])
def test_a_missing_local_directory_is_a_model_error(tmp_path, name):
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model(name, tmp_path)


def test_a_directory_without_a_model_says_what_is_missing(tmp_path):
    (tmp_path / "mymodel").mkdir()
    (tmp_path / "mymodel" / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelError, match=r"not a CTranslate2 Whisper model directory \(model.bin"):
        resolve_model(str(tmp_path / "mymodel"), tmp_path)


def test_an_unknown_model_name_lists_the_known_ones(tmp_path):
    with pytest.raises(ModelError) as err:
        resolve_model("whisper-gigantic", tmp_path)
    assert "unknown model 'whisper-gigantic'" in str(err.value)
    assert "large-v3" in str(err.value) and "\n" not in str(err.value)


def test_an_unreachable_hub_is_one_line_with_what_to_do(tmp_path, monkeypatch):
    import faster_whisper.utils
    from huggingface_hub.errors import LocalEntryNotFoundError

    asked = []

    def no_hub(name, local_files_only=False, **kwargs):
        asked.append(local_files_only)
        raise LocalEntryNotFoundError("Cannot reach https://huggingface.co: ConnectError")

    monkeypatch.setattr(faster_whisper.utils, "download_model", no_hub)
    with pytest.raises(ModelError) as err:
        resolve_model("tiny", tmp_path)
    message = str(err.value)
    assert "'tiny' is not cached" in message and "cannot be downloaded" in message
    assert "--model embedded" in message and "\n" not in message
    assert asked == [True, False]  # the local hub cache first, then the network


def test_a_broken_model_file_fails_to_load_with_one_line(assembled, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        (broken / name).write_bytes((assembled / name).read_bytes())
    (broken / "model.bin").write_bytes(b"\0" * 4096)
    source = resolve_model(str(broken), tmp_path)
    with pytest.raises(ModelError) as err:
        load_model(source, device="cpu")
    assert "cannot load model" in str(err.value) and "\n" not in str(err.value)
