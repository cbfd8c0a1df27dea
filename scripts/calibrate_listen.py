"""How well listening again tells a right ticket (or script) from a wrong one.

    python scripts/calibrate_listen.py [--set DIR ...]

For every recording with a label and a ticket in each set (default: samples/ and the shared
devset), the calls are transcribed (cached) and, for what the resident said (phone, name,
house numbers) and for the agent's greeting, the expected text is looked for in the
recording as the audit does it (`qa_audit.listen.heard`: the weakest token of the best
reading, None when the recognizer's digits rule it out). Printed per field: how many true
values (the reference's phone, the ticket's name and address where nothing is planted, the
standard greeting) and how many wrong values made from them (one digit changed, two digits
swapped, another given name, another agent id, a part left out, 供热 for 供暖) reach the
bar (ACCEPT_FACT, ACCEPT_SCRIPT), with the weights; and, for each repair greeting, how much
better it fits with the agent id left out (the id counts as unsaid at ID_UNSAID_MARGIN).
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from qa_audit.audio import load_recording
from qa_audit.callmeta import AUDIO_SUFFIXES
from qa_audit.dispatch import load_stations, load_tickets
import qa_audit.listen
from qa_audit.listen import (ACCEPT_FACT, ACCEPT_SCRIPT, ID_UNSAID_MARGIN, Listener, hearing,
                             sounds_alike)
from qa_audit.normalize import digits_only, spoken
from qa_audit.transcribe import default_transcriber

ROOT = Path(__file__).resolve().parents[1]
SETS = [ROOT / "samples", ROOT.parent / "shared" / "devset"]
GIVEN_NAMES = "明华强军芳丽伟敏静磊洋勇艳杰娟涛超秀霞平刚桂英"


def best_utterance(utterances, role: str, value: str):
    """The utterance of `role` with a stretch most like `value` (None if none is)."""
    from rapidfuzz import fuzz

    from qa_audit.listen import written_as_spoken

    want = written_as_spoken(value)
    scored = [(fuzz.partial_ratio(want, written_as_spoken(u.text)), u) for u in utterances
              if u.role == role]
    scored = [s for s in scored if s[0] >= 50]
    return max(scored, key=lambda s: s[0])[1] if scored else None


def opening_pieces(utterances):
    """The agent's utterances before the resident first speaks (within 12 s)."""
    first = min((u.start for u in utterances if u.role == "customer"), default=12.0)
    return [u for u in utterances if u.role == "agent" and u.start < min(first, 12.0)]


def wrong_digits(value: str, rng: random.Random) -> list[str]:
    spots = [i for i, ch in enumerate(value) if ch.isdigit()]
    out = []
    for i in rng.sample(spots, min(2, len(spots))):
        out.append(value[:i] + rng.choice([d for d in "0123456789" if d != value[i]])
                   + value[i + 1:])
    pairs = [i for i in spots[:-1] if i + 1 in spots and value[i] != value[i + 1]]
    if pairs:
        i = rng.choice(pairs)
        out.append(value[:i] + value[i + 1] + value[i] + value[i + 2:])
    return out


# Digits a telephone line blurs into each other (yi/qi, liu/jiu).
NEAR_DIGITS = {"1": "7", "7": "1", "6": "9", "9": "6"}


def near_sound_digits(value: str, rng: random.Random) -> list[str]:
    """The value with one digit replaced by one that sounds like it, where it has one."""
    spots = [i for i, ch in enumerate(value) if ch in NEAR_DIGITS]
    return [value[:i] + NEAR_DIGITS[value[i]] + value[i + 1:]
            for i in rng.sample(spots, min(2, len(spots)))]


def common_characters(limit: int = 3000) -> list[str]:
    """The most frequent single characters of jieba's dictionary: a pool of wrong names made
    independently of the listener's own rival lists."""
    from qa_audit.asr_lexicon import _dictionary

    singles = [(f, w) for w, f in _dictionary().items()
               if len(w) == 1 and "\u4e00" <= w <= "\u9fff"]
    return [w for _, w in sorted(singles, reverse=True)[:limit]]


def near_sound_names(name: str, pool: list[str], rng: random.Random, n: int = 3) -> list[str]:
    """Wrong tickets a typist makes by ear: one character of the name replaced by a common
    character that sounds like it (王/黄, 陈/程, 刘/牛, 张/章, 帆/芳)."""
    options = [name[:i] + c + name[i + 1:] for i, ch in enumerate(name) for c in pool
               if sounds_alike(ch, c)]
    return rng.sample(options, min(n, len(options)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", dest="sets", type=Path, action="append")
    ap.add_argument("--name-margin", type=float, default=None,
                    help="weigh names with this margin over their rivals instead (e.g. -99 to "
                         "see every margin)")
    args = ap.parse_args()
    if args.name_margin is not None:
        qa_audit.listen.NAME_MARGIN = args.name_margin
    rng = random.Random(7)
    pool = common_characters()
    margins: dict[str, dict[str, list[float | None]]] = defaultdict(lambda: defaultdict(list))
    for root in args.sets or SETS:
        stations = next(root.rglob("stations.csv"), None)
        transcriber = default_transcriber(
            stations=load_stations(stations).stations if stations else None)
        tickets = {t.call_id: t for t in load_tickets(next(root.rglob("tickets.csv"))).tickets}
        labels = {p.stem: json.loads(p.read_text(encoding="utf-8"))
                  for p in (root / "labels").glob("*.json")}
        for audio in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
            label = labels.get(audio.stem)
            if label is None:
                continue
            transcript = transcriber.transcribe(audio)
            listener = Listener(transcriber.model, load_recording(audio))
            reference = label["utterances"]
            agent_id = audio.stem.split("_")[2]
            kind = audio.stem.split("_")[3]
            facts = {}
            for u in reference:
                if u["role"] != "customer":
                    continue
                digits = digits_only(u["text"])
                if len(digits) == 11 and "phone" not in facts:
                    facts["phone"] = digits
            checks: list[tuple[str, str, str, str | None, list[str]]] = []
            if "phone" in facts:
                true = facts["phone"]
                checks.append(("phone", "customer", true, true, wrong_digits(true, rng)))
                checks.append(("phone~", "customer", true, None, near_sound_digits(true, rng)))
            ticket = tickets.get(audio.stem)
            planted = set(label.get("findings", []))
            if ticket is not None and ticket.caller_name and "wrong_name" not in planted:
                true = ticket.caller_name
                others = [c for c in GIVEN_NAMES if c != true[-1]]
                checks.append(("name", "customer", true, true,
                               [true[:-1] + rng.choice(others) for _ in range(2)]))
                checks.append(("name~", "customer", true, None,
                               near_sound_names(true, pool, rng)))
            if ticket is not None and ticket.address:
                if "wrong_address" in planted:  # the ticket itself is a wrong value
                    checks.append(("address", "customer", ticket.address, None,
                                   [ticket.address]))
                else:
                    checks.append(("address", "customer", ticket.address, ticket.address,
                                   wrong_digits(ticket.address, rng)))
                    checks.append(("address~", "customer", ticket.address, None,
                                   near_sound_digits(ticket.address, rng)))
            first_agent = next((u for u in reference if u["role"] == "agent"), None)
            if first_agent and kind == "repair":
                true = first_agent["text"]
                other = str(int(agent_id) + rng.choice([1, 2, 7, 11]))
                wrong = [true.replace(spoken(agent_id), spoken(other)),
                         true.replace("为您服务", ""), true.replace("供暖", "供热")]
                checks.append(("greeting", "agent", true, true, [w for w in wrong if w != true]))
                # How much better the greeting with its id left out fits than the true one
                # (the agent id is ruled unsaid at ID_UNSAID_MARGIN and above).
                opening = opening_pieces(transcript.utterances)
                if opening and spoken(agent_id) in true:
                    start, end = opening[0].start, opening[-1].end
                    without = true.replace(spoken(agent_id) + "号", "")
                    gain = (listener.weigh("agent", start, end, ("", without, "")).total
                            - listener.weigh("agent", start, end, ("", true, "")).total)
                    margins["id_left_out"][
                        "unsaid" if "nonstandard_phrase" in planted else "said"].append(gain)
            for name, role, locate, true, wrongs in checks:
                if name == "greeting":
                    # As the audit hears it: the agent's pieces before the resident speaks
                    # (a recognizer cuts the greeting at its pauses).
                    stretch = opening_pieces(transcript.utterances)
                else:
                    utterance = best_utterance(transcript.utterances, role, locate)
                    stretch = [utterance] if utterance is not None else []
                if not stretch:
                    margins[name]["unfound"].append(None)
                    continue
                is_name = name.startswith("name")
                if true:
                    margins[name]["true"].append(hearing(listener, stretch, true, name=is_name))
                for wrong in wrongs:
                    margins[name]["wrong"].append(hearing(listener, stretch, wrong, name=is_name))
            print(audio.name, "done", flush=True)
    print(f"\nbars: facts {ACCEPT_FACT}, script {ACCEPT_SCRIPT} (nats, weakest token); a name "
          f"beats every near-sound rival by {qa_audit.listen.NAME_MARGIN}; "
          "'~' rows: near-sound wrong "
          "tickets (name~: a character replaced by a common one that sounds alike; phone~, "
          "address~: 1/7 or 6/9 swapped)")
    for name, kinds in margins.items():
        if name == "id_left_out":
            for kind, values in kinds.items():
                print(f"id left out of the greeting, id {kind}: n={len(values)}  gain over the "
                      f"greeting with it (unsaid at >= {ID_UNSAID_MARGIN}): "
                      + " ".join(f"{v:.1f}" for v in sorted(values)))
            continue
        bar = ACCEPT_SCRIPT if name == "greeting" else ACCEPT_FACT
        for kind, values in kinds.items():
            weighed = sorted((v for v in values if v is not None), key=lambda h: h.weakest)
            reached = sum(v.weakest >= bar for v in weighed)
            rate = f"{reached / len(values):.0%}" if values else "-"
            print(f"{name:9} {kind:7} n={len(values):3}  pass {reached:3} ({rate:>4})  "
                  f"ruled out (digits or a rival) {len(values) - len(weighed):3}  weights "
                  + " ".join(f"{v.weakest:.1f}" for v in weighed))
            if name.startswith("name"):
                print(f"{'':17} margins over the closest rival (reaching the bar): " + " ".join(
                    f"{v.margin:.1f}" for v in sorted(weighed, key=lambda h: h.margin)
                    if v.weakest >= bar))


if __name__ == "__main__":
    main()
