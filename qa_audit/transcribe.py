"""Recordings -> transcripts (formats.md "Transcript"), with faster-whisper.

Each stream is cut into speech chunks by the VAD; the chunks of all streams, in the order
they were spoken, are glued together (so one 30-second Whisper window holds as much speech
as possible: the encoder costs the same for any window, and on a small CPU it is most of
the time; and each party is heard in the context of the conversation) and decoded once.
Words come back with timestamps; every word is put back into the chunk it was spoken in
(by its end: see _spoken_at), so an utterance never spans a pause in which the other
party spoke. Domain words Whisper mishears are put back (asr_lexicon.py).

Stereo: each channel is one party, and every word keeps the channel it came from, so roles
are certain. Mono and dual-mono: one stream, cut into pieces at sentence ends and at short
pauses; roles.py tells the agent from the resident, piece by piece.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from qa_audit import __version__
from qa_audit.audio import SAMPLE_RATE, Recording, file_digest, load_recording
from qa_audit.callmeta import AUDIO_SUFFIXES
from qa_audit.errors import AudioError, QaAuditError
from qa_audit.normalize import normalize, to_simplified
from qa_audit.records import RecordingQuality, Role, Station, Transcript, Utterance
from qa_audit.roles import Turn, assign_roles

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

    from qa_audit.asr_lexicon import Lexicon
    from qa_audit.asr_model import ModelSource

# Bump when the way transcripts are made changes, so cached ones are not reused.
_PIPELINE_VERSION = 4
# Full-width punctuation is three byte-tokens in Whisper's vocabulary; in a prompt it makes
# the model emit broken byte sequences (Ｇ for ？). 、 is one token and keeps words apart.
_PROMPT_BREAKS = re.compile(r"[，,。.？?！!：:；;\s]+")
_PLACEHOLDER = re.compile(r"[xX]{3,}")
# Speech that came back short of words is decoded again (see _short_of_words) when the
# run of such chunks is at least _MIN_RETRY_S long. Mandarin runs 3-6 characters a second.
_MIN_RETRY_S = 0.5
_MIN_CHARS_PER_S = 1.5
_MAX_UNHEARD_S = 1.2
# A piece this long is checked for loops; nobody says more than this many characters a second.
_LOOP_MIN_CHARS = 12
# One stream with both parties: a piece (a turn to be) ends at these, at a pause this long
# (parties answer each other within half a second, under the VAD's min_silence), or where
# the word times leave a gap this long.
_SENTENCE_ENDS = frozenset("。？！?!")
_TURN_GAP_MS = 250
_TURN_GAP_S = 0.3
_MAX_CHARS_PER_S = 15.0
# A word's end is good to about this much (Whisper's alignment runs in 20 ms frames
# and smears a little).
_WORD_END_SLACK_S = 0.1


@dataclass
class TranscribeOptions:
    """How recordings are transcribed. The defaults are the settings measured fastest at
    the accuracy the audit needs on 8 kHz calls (scripts/bench_transcribe.py)."""

    model: str = "embedded"  # "embedded", a faster-whisper model name, or a CTranslate2 dir
    device: str = "auto"  # auto: CUDA when CTranslate2 sees a GPU, else CPU
    compute_type: str = "int8"
    cpu_threads: int = 0  # 0: as many as the cores this process may use
    beam_size: int = 2
    agent_channel: Literal["left", "right"] = "left"  # stereo: the agent's side
    language: str = "zh"
    temperature: float = 0.0  # 0: deterministic beam search
    # Nudges Whisper to simplified characters from the first window on.
    initial_prompt: str = "以下是普通话的句子。"
    use_hotwords: bool = True  # give the domain vocabulary to the decoder
    # Put back domain words Whisper writes as near-homophones (asr_lexicon.py).
    correct_words: bool = True
    # Its token budget: Whisper allows 223; a shorter prompt leaves the decoder less to
    # echo back on unclear audio.
    hotword_tokens: int = 160
    # Guards against Whisper's loops (one phrase over and over after the speech ends).
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    # VAD (Silero): pauses this long end a speech chunk; chunks are padded by this much.
    # 300 ms: parties answer each other within about half a second, so a longer pause
    # glues a reply to the question before it (scripts/bench_transcribe.py: samples resident
    # CER 20.9% at 500 ms, 19.0% at 300 ms; devset resident 15.7% either way, agent 4.8% ->
    # 5.4%: shorter chunks give the decoder less context).
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 300
    vad_speech_pad_ms: int = 200
    vad_max_speech_s: float = 20.0
    window_s: float = 28.0  # speech packed per Whisper window (it takes 30 s at most)
    batch_size: int = 8  # windows decoded together
    # A segment whose text compresses better than this is a loop, not speech: dropped.
    compression_ratio_threshold: float = 2.4
    max_duration_s: float = 3 * 3600.0
    use_cache: bool = True  # reuse transcripts of identical audio made the same way

    def __post_init__(self) -> None:
        if self.agent_channel not in ("left", "right"):
            raise QaAuditError(f"agent channel {self.agent_channel!r} is not left or right")
        if self.beam_size < 1:
            raise QaAuditError(f"beam size {self.beam_size} must be 1 or more")

    def decoding(self) -> dict[str, Any]:
        """The options that shape the text: part of the cache key and the provenance."""
        out = asdict(self)
        for name in ("model", "device", "cpu_threads", "use_cache", "max_duration_s",
                     "batch_size"):
            out.pop(name)
        return out


@dataclass
class _Piece:
    """Words of one Whisper segment that fall into one VAD chunk: an utterance to be."""

    owner: int  # which stream of the call
    chunk: tuple[int, int]  # (stream, first sample of its VAD chunk)
    start: float
    end: float
    stretch: int = -1  # which stretch between short pauses (one stream, both parties)
    words: list[str] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    corrected: str | None = None  # the text with misheard domain words put back

    @property
    def heard(self) -> str:
        """What the recognizer wrote, in simplified characters."""
        # 、 separates the prompt's words, and Whisper copies it where a comma belongs.
        return to_simplified("".join(self.words)).strip().replace("、", "，")

    @property
    def text(self) -> str:
        return self.corrected if self.corrected is not None else self.heard

    @property
    def confidence(self) -> float:
        return math.exp(sum(self.logprobs) / len(self.logprobs)) if self.logprobs else 0.0

    def looped(self, compression_ratio_threshold: float) -> bool:
        """One phrase over and over (1-1-1-…), or more words than the time could hold."""
        text = self.text
        if len(text) < _LOOP_MIN_CHARS:
            return False
        data = text.encode("utf-8")
        return (len(data) / len(zlib.compress(data)) > compression_ratio_threshold
                or len(text) / max(self.end - self.start, 0.1) > _MAX_CHARS_PER_S)


class Transcriber:
    """Turns recordings into transcripts; holds the model (loaded once, lazily) and the cache."""

    def __init__(self, options: TranscribeOptions | None = None, *,
                 vocabulary: Sequence[str] = (), agent_phrases: Sequence[str] = (),
                 cache_dir: Path | None = None, model: Any = None) -> None:
        from qa_audit.asr_model import cache_root

        self.options = options or TranscribeOptions()
        self.vocabulary = list(vocabulary)
        self.agent_phrases = list(agent_phrases)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else cache_root()
        self._model = model
        self._source: ModelSource | None = None
        self._hotwords: str | None = None
        self._pipeline: Any = None
        self._lexicon: Lexicon | None = None

    # -- the model ------------------------------------------------------------------------

    @property
    def model_source(self) -> ModelSource:
        from qa_audit.asr_model import ModelSource, resolve_model

        if self._source is None:
            if self._model is not None:
                # A model handed in (tests, an app that shares one): named by what it says.
                name = str(getattr(self._model, "name", type(self._model).__name__))
                self._source = ModelSource(name=name, path=Path("."),
                                           sha256=str(getattr(self._model, "sha256", name)))
            else:
                self._source = resolve_model(self.options.model, self.cache_dir)
        return self._source

    @property
    def model(self) -> WhisperModel:
        from qa_audit.asr_model import load_model

        if self._model is None:
            self._model = load_model(self.model_source, device=self.options.device,
                                     compute_type=self.options.compute_type,
                                     cpu_threads=self.options.cpu_threads or usable_cores())
        return self._model

    def share_model(self, other: Transcriber) -> None:
        """Use the model another transcriber loaded (one per station directory, say):
        loaded once, named the same in provenance and the cache."""
        self._model, self._source = other.model, other.model_source
        self._pipeline = None

    @property
    def pipeline(self) -> Any:
        """faster-whisper's batched pipeline: one decoding pass per window, no seeking
        back into a window's last second (where the sequential decoder hallucinates)."""
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        if self._pipeline is None:
            model = self.model
            # Anything else handed in (a test's fake) already speaks the pipeline's API.
            self._pipeline = BatchedInferencePipeline(model) \
                if isinstance(model, WhisperModel) else model
        return self._pipeline

    @property
    def device(self) -> str:
        from qa_audit.asr_model import resolved_device

        return resolved_device(self.options.device)

    # -- one call -------------------------------------------------------------------------

    def transcribe(self, audio: Path, call_id: str | None = None) -> Transcript:
        """Transcribe one recording; AudioError (one line) if it cannot be decoded."""
        audio = Path(audio)
        call_id = call_id or audio.stem
        digest = file_digest(audio)
        recording = None
        quality = self._quality_get(digest)
        if quality is None:
            # Measured before the model is touched: a recording with no call in it
            # (recording_check.py) never reaches Whisper.
            recording = load_recording(audio, max_duration_s=self.options.max_duration_s)
            quality = self._assess(recording, digest)
        if quality.unusable:
            return Transcript(call_id=call_id, utterances=[], duration=quality.duration,
                              role_source="channel" if len(quality.channels) == 2 else "inferred",
                              audio=str(audio), recording_quality=quality,
                              warnings=[f"{(quality.reason_code or '').replace('_', ' ')}: "
                                        f"{quality.reason}; empty transcript"])
        key = self._cache_key(digest)
        if self.options.use_cache:
            cached = self._cache_get(key)
            if cached is not None:
                return cached.model_copy(update={"call_id": call_id, "audio": str(audio),
                                                 "recording_quality": quality})
        if recording is None:
            recording = load_recording(audio, max_duration_s=self.options.max_duration_s)
        try:
            transcript = self._transcribe_recording(recording, call_id)
        except RuntimeError as err:  # CTranslate2 on input it cannot take, or out of memory
            reason = str(err).strip().splitlines()[0] if str(err).strip() else "RuntimeError"
            raise AudioError(f"{audio}: the speech model failed on this recording ({reason}); "
                             f"try --device cpu, or check the file") from err
        transcript.recording_quality = quality
        self._cache_put(key, transcript)
        return transcript

    def _assess(self, recording: Recording, digest: str) -> RecordingQuality:
        from qa_audit.recording_check import assess

        quality = assess(recording, agent_channel=self.options.agent_channel)
        path = self._quality_path(digest)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(quality.model_dump_json(), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass  # the measurement is cheap to take again
        return quality

    def _quality_path(self, digest: str) -> Path:
        from qa_audit.recording_check import VERSION

        return (self.cache_dir / "quality" / digest[:2]
                / f"{digest}.{self.options.agent_channel}.v{VERSION}.json")

    def _quality_get(self, digest: str) -> RecordingQuality | None:
        try:
            return RecordingQuality.model_validate_json(self._quality_path(digest).read_bytes())
        except (OSError, ValueError):
            return None

    def _transcribe_recording(self, recording: Recording, call_id: str) -> Transcript:
        warnings = list(recording.warnings)
        role_source: Literal["channel", "inferred"]
        if recording.silent:
            utterances: list[Utterance] = []
            role_source = "channel" if recording.layout == "stereo" else "inferred"
            role_confidence = 1.0  # no utterance whose speaker could be wrong
        elif recording.layout == "stereo":
            left, right = recording.streams
            agent, customer = (left, right) if self.options.agent_channel == "left" \
                else (right, left)
            agent_pieces, customer_pieces = self._decode([agent, customer])
            utterances = [*(_utterance(p, "agent") for p in agent_pieces),
                          *(_utterance(p, "customer") for p in customer_pieces)]
            utterances.sort(key=lambda u: (u.start, u.end))
            role_source, role_confidence = "channel", 1.0
        else:
            stream = recording.streams[0]
            (pieces,) = self._decode([stream], by_sentence=True)
            turns = [Turn(start=p.start, end=p.end, text=p.text) for p in pieces]
            assignment = assign_roles(turns, stream, self.agent_phrases,
                                      sample_rate=SAMPLE_RATE)
            utterances = [_utterance(p, role) for p, role in zip(pieces, assignment.roles)]
            role_source, role_confidence = "inferred", assignment.confidence
            if assignment.note:
                warnings.append(assignment.note)
        utterances = [u for u in utterances if u.text]
        if not utterances and not recording.silent:
            warnings.append("no speech recognized; empty transcript")
        return Transcript(
            call_id=call_id, utterances=utterances, duration=round(recording.duration, 2),
            role_source=role_source, role_confidence=round(role_confidence, 3),
            audio=str(recording.path), provenance=self._provenance(recording),
            warnings=warnings)

    def _decode(self, streams: Sequence[np.ndarray], *, by_sentence: bool = False
                ) -> list[list[_Piece]]:
        """Each stream -> pieces (the words of one segment within one VAD chunk), in time
        order. All streams of a call go through the model in one batch. `by_sentence`
        (one stream holding both parties): pieces also end at a sentence's end and at a
        pause between words, since the other party may speak next without a VAD gap."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        o = self.options
        vad = VadOptions(threshold=o.vad_threshold, min_silence_duration_ms=o.vad_min_silence_ms,
                         speech_pad_ms=o.vad_speech_pad_ms,
                         max_speech_duration_s=min(o.vad_max_speech_s, o.window_s))
        # Every VAD chunk of every stream, in time order, packed into windows: the two
        # sides of a stereo call share windows as they share the conversation (fewer
        # windows to encode, and each side's words heard in the context of the other's).
        chunks = sorted(({**chunk, "stream": index} for index, stream in enumerate(streams)
                         for chunk in get_speech_timestamps(stream, vad,
                                                            sampling_rate=SAMPLE_RATE)),
                        key=lambda c: (c["start"], c["stream"]))
        plan = _windows(chunks, o.window_s * SAMPLE_RATE)
        # Where the parties may take turns inside a chunk: the pauses too short to end
        # one (Whisper's word times cannot show them: a word starts where the last ended).
        pauses = [_pauses(stream, o.vad_threshold) for stream in streams] \
            if by_sentence else None
        heard = self._decode_windows(streams, plan, pauses=pauses)
        # Where Whisper heard nothing it knows, it may write the prompt back as what was
        # said ("以下是普通话的句子。" for a phone number): no words of the call.
        heard = {key: kept for key, found in heard.items()
                 if (kept := [p for p in found if not _echoes(p.text, o.initial_prompt)])}
        # Whisper sometimes ends a window early, or takes a sentence of the vocabulary
        # prompt for one already said and skips or loops on it (short windows most). Runs
        # of chunks that came back short of words are decoded again, alone and without
        # the prompt; a chunk keeps whichever reading has more of it.
        retry: list[list[dict]] = []
        for group in plan:
            run: list[dict] = []
            for chunk in [*group, None]:
                if chunk is not None and _short_of_words(chunk, heard.get(_key(chunk), [])):
                    run.append(chunk)
                    continue
                if sum(c["end"] - c["start"] for c in run) >= _MIN_RETRY_S * SAMPLE_RATE:
                    retry.append(run)
                run = []
        for key, again in self._decode_windows(streams, retry, hotwords=False, prompt=False,
                                               pauses=pauses).items():
            if sum(len(p.text) for p in again) > sum(len(p.text) for p in heard.get(key, [])):
                heard[key] = again
        pieces: list[list[_Piece]] = [[] for _ in streams]
        for (owner, _), chunk_pieces in heard.items():
            pieces[owner].extend(chunk_pieces)
        for stream_pieces in pieces:
            stream_pieces.sort(key=lambda p: p.start)
            # Before roles are inferred: the script's words are what tells the agent apart.
            self._correct(stream_pieces)
        return pieces

    def _decode_windows(self, streams: Sequence[np.ndarray], plan: list[list[dict]],
                        hotwords: bool = True, pauses: list[np.ndarray] | None = None,
                        prompt: bool = True) -> dict[tuple[int, int], list[_Piece]]:
        """Decode the planned windows (lists of VAD chunks, each naming its stream) in one
        batch: the pieces of each chunk heard, keyed by (stream, the chunk's first sample).
        With `pauses` (per stream, the times of short pauses), a piece also ends at a
        sentence's end and at a pause."""
        if not plan:
            return {}
        o = self.options
        chunks = [chunk for group in plan for chunk in group]
        audio = np.concatenate([streams[c["stream"]][c["start"]:c["end"]] for c in chunks])
        # Where each chunk lies in the glued audio (seconds), and where each window does.
        seams = np.cumsum([0] + [c["end"] - c["start"] for c in chunks]) / SAMPLE_RATE
        firsts = np.cumsum([0] + [len(group) for group in plan])
        window_starts = seams[firsts[:-1]]
        clips = [{"start": float(seams[firsts[i]]), "end": float(seams[firsts[i + 1]])}
                 for i in range(len(plan))]
        segments, _ = self.pipeline.transcribe(
            audio, language=o.language, beam_size=o.beam_size,
            temperature=o.temperature, initial_prompt=(o.initial_prompt or None) if prompt else None,
            hotwords=(self.hotwords or None) if hotwords else None,
            repetition_penalty=o.repetition_penalty,
            no_repeat_ngram_size=o.no_repeat_ngram_size, clip_timestamps=clips,
            vad_filter=False, word_timestamps=True, without_timestamps=False,
            batch_size=o.batch_size)
        heard: dict[tuple[int, int], list[_Piece]] = {}
        for segment in segments:
            if segment.compression_ratio > o.compression_ratio_threshold:
                continue  # a loop (one phrase over and over), not speech
            current: _Piece | None = None
            for word in segment.words or ():
                # The chunk the word was said in, among its window's chunks.
                said_at = _spoken_at(word.start, word.end)
                window = int(np.clip(np.searchsorted(window_starts, said_at, side="right") - 1,
                                     0, len(plan) - 1))
                index = int(np.clip(np.searchsorted(seams, said_at, side="right") - 1,
                                    firsts[window], firsts[window + 1] - 1))
                found = chunks[index]
                chunk = _key(found)
                # Seconds in the recording; a start taken from the pause before the chunk
                # (the other party's time) is moved to the chunk's start.
                shift = found["start"] / SAMPLE_RATE - seams[index]
                start = max(word.start, seams[index]) + shift
                end = max(word.end + shift, start)
                stretch = -1
                if pauses is not None:
                    stretch = int(np.searchsorted(pauses[found["stream"]], said_at + shift))
                    if stretch > 0:  # nor from the pause before it (the other party's)
                        start = min(max(start, pauses[found["stream"]][stretch - 1]), end)
                if current is None or current.chunk != chunk or pauses is not None and (
                        current.words[-1].rstrip()[-1:] in _SENTENCE_ENDS
                        or stretch != current.stretch or start - current.end >= _TURN_GAP_S):
                    current = _Piece(owner=found["stream"], chunk=chunk, start=start, end=end,
                                     stretch=stretch)
                    heard.setdefault(chunk, []).append(current)
                current.words.append(word.word)
                current.logprobs.append(math.log(max(word.probability, 1e-6)))
                current.end = max(current.end, end)
        # A loop inside a long segment escapes the segment's compression check: judged
        # again piece by piece.
        return {key: kept for key, found in heard.items()
                if (kept := [p for p in found if not p.looped(o.compression_ratio_threshold)])}

    @property
    def lexicon(self) -> Lexicon:
        """The domain words to put back where Whisper misheard them: the vocabulary and
        the script's words (empty when `correct_words` is off)."""
        from qa_audit.asr_lexicon import Lexicon

        if self._lexicon is None:
            self._lexicon = Lexicon([*self.vocabulary, *self.agent_phrases]
                                    if self.options.correct_words else [])
        return self._lexicon

    def _correct(self, pieces: list[_Piece]) -> None:
        if self.lexicon:
            for piece in pieces:
                piece.corrected = self.lexicon.correct(piece.heard)

    @property
    def hotwords(self) -> str:
        """The domain vocabulary as a decoder prompt, most useful words first, within budget."""
        if self._hotwords is None:
            self._hotwords = build_hotwords(self.vocabulary, self._count_tokens,
                                            self.options.hotword_tokens) \
                if self.options.use_hotwords else ""
        return self._hotwords

    def _count_tokens(self, text: str) -> int:
        tokenizer = getattr(self.model, "hf_tokenizer", None)
        if tokenizer is None:
            return len(text.encode("utf-8"))  # a byte never takes less than a token
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    def _provenance(self, recording: Recording) -> dict[str, Any]:
        source = self.model_source
        return {
            "qa_audit": __version__,
            "model": {"name": source.name, "sha256": source.sha256},
            "device": self.device,
            "options": self.options.decoding(),
            "hotwords": self.hotwords,
            "layout": recording.layout,
            "source_audio": {"codec": recording.info.codec,
                             "sample_rate": recording.info.sample_rate,
                             "channels": recording.info.channels},
        }

    # -- the transcript cache -------------------------------------------------------------

    def _cache_key(self, audio_digest: str) -> str:
        source = self.model_source
        basis = {"audio": audio_digest, "model": source.sha256, "device": self.device,
                 "options": self.options.decoding(), "vocabulary": self.vocabulary,
                 "agent_phrases": self.agent_phrases, "pipeline": _PIPELINE_VERSION}
        return hashlib.sha256(json.dumps(basis, ensure_ascii=False, sort_keys=True)
                              .encode("utf-8")).hexdigest()

    def _cache_path(self, key: str) -> Path:
        return self.cache_dir / "transcripts" / key[:2] / f"{key}.json"

    def _cache_get(self, key: str) -> Transcript | None:
        try:
            return Transcript.model_validate_json(self._cache_path(key).read_bytes())
        except (OSError, ValueError):
            return None  # missing or damaged: transcribe again

    def _cache_put(self, key: str, transcript: Transcript) -> None:
        # Written even when not read (use_cache=False): a forced re-run refreshes the cache.
        path = self._cache_path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(transcript.model_dump_json(), encoding="utf-8")
            tmp.replace(path)  # readers never see half a file
        except OSError:
            pass  # the cache only saves time; a read-only cache must not fail the call


def _windows(chunks: list[dict], capacity: float) -> list[list[dict]]:
    """VAD chunks grouped, in order, into windows of at most `capacity` samples of speech.

    A window is one encoder pass whatever it holds, so filling it is what makes a small
    CPU fast enough. (faster_whisper.vad.collect_chunks does the same, but its metadata
    loses the first chunk of every window after the first.)
    """
    groups: list[list[dict]] = []
    used = capacity
    for chunk in chunks:
        length = chunk["end"] - chunk["start"]
        if used + length > capacity:
            groups.append([])
            used = 0
        groups[-1].append(chunk)
        used += length
    return groups


def _pauses(stream: np.ndarray, threshold: float) -> np.ndarray:
    """The middles of the pauses of at least _TURN_GAP_MS in a stream, in seconds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    speech = get_speech_timestamps(stream, VadOptions(
        threshold=threshold, min_silence_duration_ms=_TURN_GAP_MS, speech_pad_ms=0),
        sampling_rate=SAMPLE_RATE)
    return np.array([(before["end"] + after["start"]) / 2 / SAMPLE_RATE
                     for before, after in zip(speech, speech[1:])])


def _key(chunk: dict) -> tuple[int, int]:
    """A VAD chunk's name: (its stream, its first sample)."""
    return chunk["stream"], chunk["start"]


def _spoken_at(start: float, end: float) -> float:
    """Where a word was said, for putting it back into its chunk. Whisper's word
    timestamps come from a monotonic alignment in which a word starts where the one
    before it ended: the first word after a pause (the seam between two glued chunks)
    takes the pause in, and its middle can fall in the chunk before. Its end is where it
    was said."""
    return max(end - _WORD_END_SLACK_S, (start + end) / 2)


def _echoes(text: str, prompt: str) -> bool:
    """Whether a piece is the decoder prompt written back (all of it, or four characters
    and more of it and nothing else)."""
    said, asked = normalize(text), normalize(prompt or "")
    return bool(said and asked) and (asked in said and len(said) <= len(asked) + 2
                                     or len(said) >= 4 and said in asked)



def _short_of_words(chunk: dict, pieces: list[_Piece]) -> bool:
    """Did a chunk come back with much less text than its length holds? (Nothing at all,
    under _MIN_CHARS_PER_S, or a second and more of it before the first word or after the
    last.) Words' times come from cross-attention and are good to a few tenths."""
    start, end = chunk["start"] / SAMPLE_RATE, chunk["end"] / SAMPLE_RATE
    if not pieces:
        return True
    chars = sum(len(p.text) for p in pieces)
    first, last = min(p.start for p in pieces), max(p.end for p in pieces)
    return (chars < _MIN_CHARS_PER_S * (end - start - 0.5)
            or first - start > _MAX_UNHEARD_S or end - last > _MAX_UNHEARD_S)


def _utterance(piece: _Piece, role: Role) -> Utterance:
    # Where domain words were put back, what the recognizer wrote stays beside the text,
    # for a reviewer who doubts it.
    heard = {"heard": piece.heard} if piece.text != piece.heard else {}
    return Utterance(role=role, start=round(piece.start, 2),
                     end=round(max(piece.end, piece.start), 2), text=piece.text,
                     confidence=round(piece.confidence, 3), **heard)


def usable_cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def build_hotwords(vocabulary: Iterable[str], count_tokens: Callable[[str], int],
                   budget: int = 160) -> str:
    """Vocabulary -> one prompt string: phrases split at punctuation, deduplicated,
    joined by 、, cut at the token budget (earlier entries are kept)."""
    phrases: list[str] = []
    seen: set[str] = set()
    for entry in vocabulary:
        for phrase in _PROMPT_BREAKS.split(_PLACEHOLDER.sub("", to_simplified(entry))):
            phrase = phrase.strip("、")
            if phrase and phrase not in seen:
                seen.add(phrase)
                phrases.append(phrase)
    kept: list[str] = []
    for phrase in phrases:
        if count_tokens("、".join([*kept, phrase])) > budget:
            break
        kept.append(phrase)
    return "、".join(kept)


# -- batches ------------------------------------------------------------------------------


def transcribe_many(transcriber: Transcriber, paths: Sequence[Path], *, progress: bool = True,
                    on_done: Callable[[Transcript], None] | None = None,
                    ) -> tuple[list[Transcript], list[tuple[Path, str]]]:
    """Transcribe a batch; a bad file is reported and skipped, never the end of the batch.

    `on_done` sees each transcript as soon as it exists (the CLI writes it at once, so an
    interrupted batch keeps what was done). Warnings (silent, truncated) go to stderr.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    done: list[Transcript] = []
    failures: list[tuple[Path, str]] = []
    with Progress(TextColumn("transcribing"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), TextColumn("{task.description}"), console=console,
                  disable=not progress, transient=True) as bar:
        task = bar.add_task("", total=len(paths))
        for path in paths:
            bar.update(task, description=Path(path).name)
            try:
                transcript = transcriber.transcribe(Path(path))
            except AudioError as err:
                failures.append((Path(path), str(err)))  # the caller reports them at the end
            else:
                done.append(transcript)
                for warning in getattr(transcript, "warnings", None) or ():
                    console.print(f"warning: {path}: {warning}", markup=False, highlight=False,
                                  soft_wrap=True)  # one line, whatever the width
                if on_done is not None:
                    on_done(transcript)
            bar.advance(task)
    return done, failures


def audio_files(inputs: Iterable[Path]) -> list[Path]:
    """Files as given, and the recordings (by suffix) inside directories, sorted."""
    found: list[Path] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            found.extend(sorted(p for p in item.rglob("*")
                                if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES))
        else:
            found.append(item)
    return found


def default_transcriber(options: TranscribeOptions | None = None, *,
                        stations: Iterable[Station] | Path | None = None,
                        phrasebook: Any = None, cache_dir: Path | None = None,
                        share_model_with: Transcriber | None = None) -> Transcriber:
    """A transcriber primed with the phrasebook's vocabulary and agent phrases, and the
    communities (and their aliases) of a station directory when one is given."""
    from qa_audit.phrasebook import load_phrasebook

    book = phrasebook if phrasebook is not None else load_phrasebook()
    places: list[str] = []
    if isinstance(stations, (str, Path)):
        from qa_audit.dispatch import load_stations

        stations = list(load_stations(stations).stations)
    for station in stations or ():
        places.extend([station.community, *station.aliases])
    # Places first: community names are what Whisper gets wrong most and the script least.
    built = Transcriber(options, vocabulary=[*places, *book.vocabulary()],
                        agent_phrases=book.agent_phrases(), cache_dir=cache_dir)
    if share_model_with is not None:
        built.share_model(share_model_with)
    return built
