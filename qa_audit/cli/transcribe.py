"""`qa-audit transcribe`: recordings -> transcript JSON files (formats.md "Transcript")."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from qa_audit.errors import InputError
from qa_audit.outputs import check_output_folder
from qa_audit.records import Transcript


class AgentChannel(str, Enum):
    left = "left"
    right = "right"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def transcribe(
    inputs: Annotated[list[Path], typer.Argument(
        metavar="AUDIO_OR_DIR...", show_default=False,
        help="Recordings (WAV, MP3, ...) or folders of them.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", show_default=False,
        help="Folder for the transcripts: one <call_id>.json per recording.")],
    model: Annotated[str, typer.Option(
        "--model", help="Speech model: 'embedded' (ships with qa-audit), a faster-whisper "
                        "model name (needs a reachable model hub), or a CTranslate2 folder.")
    ] = "embedded",
    agent_channel: Annotated[AgentChannel, typer.Option(
        "--agent-channel", help="Stereo recordings: the channel that carries the agent.")
    ] = AgentChannel.left,
    stations: Annotated[Path | None, typer.Option(
        "--stations", dir_okay=False, exists=True,
        help="Station directory (stations.csv): its community names help the recognizer.")
    ] = None,
    device: Annotated[Device, typer.Option(
        "--device", help="Where the model runs; auto takes a CUDA GPU when there is one.")
    ] = Device.auto,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Transcribe again even recordings transcribed before.")] = False,
) -> None:
    """Transcribe call recordings: who said what, when, in simplified Chinese.

    Stereo recordings are split by channel (the agent on --agent-channel); on mono and
    dual-mono recordings the roles are inferred, with a confidence the scorer respects.
    Transcripts of identical audio made the same way are reused from the cache
    ($QA_AUDIT_CACHE, else ~/.cache/qa-audit). A bad file is reported and skipped; the exit
    code is 1 if any failed.
    """
    from qa_audit.transcribe import (
        AUDIO_SUFFIXES,
        TranscribeOptions,
        audio_files,
        default_transcriber,
        transcribe_many,
    )
    from qa_audit.transcripts import write_transcript

    check_output_folder(out)
    paths = audio_files(inputs)
    if not paths:
        raise InputError(f"no recordings in {', '.join(map(str, inputs))} (looked for "
                         f"{', '.join(sorted(AUDIO_SUFFIXES))})")
    options = TranscribeOptions(model=model, device=device.value,
                                agent_channel=agent_channel.value, use_cache=not no_cache)
    # Stations are read by the dispatch module (qa_audit.dispatch.load_stations).
    transcriber = default_transcriber(options, stations=stations)

    def save(transcript: Transcript) -> None:
        # Written as soon as it exists: an interrupted batch keeps every call already done.
        write_transcript(transcript, out / f"{transcript.call_id}.json")

    done, failures = transcribe_many(transcriber, paths, on_done=save)
    for path, message in failures:
        typer.echo(f"error: {message}" if str(path) in message else f"error: {path}: {message}",
                   err=True)
    summary = f"{len(done)} of {len(paths)} recording(s) transcribed into {out}"
    if failures:
        typer.echo(f"{summary}; {len(failures)} failed (listed above)", err=True)
        raise typer.Exit(1)
    typer.echo(summary, err=True)


def register(app: typer.Typer) -> None:
    app.command("transcribe")(transcribe)
