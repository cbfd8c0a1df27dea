"""Masking of residents' personal data (保密制度) in anything an agent or a wider audience sees.

What has to be hidden is learnt from the call itself: the ticket's caller name, phone and
address; every run of five or more digits the resident spoke (spoken 一三八… or written
138…); the name the resident gave after the agent asked for it. Those are masked wherever
they occur — in the transcript, in evidence, reasons, finding details and notes — and on
top of that house numbers (号楼/单元/室…) and phone-length digit runs are masked in any text,
because ASR may spell a number differently from the ticket — also as it mishears them:
号罗/龙/元 for 号楼/楼/单元, 单言/单人/带远 for 单元, 灵/爱/物 for 零/二/五 (六灵爱 is 602),
read as digits only next to such a word. In a person's free text (`Masker.note`: a lead's
note, an appeal and its answer) every number is masked.

Masking keeps what a reviewer needs to follow the call: the first 3 and last 2 digits of a
phone (138******00), the surname (杨* / 欧阳**) and the community (宏城花园**号楼*单元***).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from qa_audit.normalize import SPOKEN_DIGITS
from qa_audit.records import CallAudit, Evidence, Role, Ticket, Transcript, Utterance

MASK = "*"

# Digits as written (ASCII, full width) or spoken one by one.
_DIGIT_CHARS = "0-9０-９" + "".join(SPOKEN_DIGITS)
# Numerals of house numbers may also be quantities (十一号楼).
_NUMERAL = f"[{_DIGIT_CHARS}十百]"
_DIGIT = f"[{_DIGIT_CHARS}]"
_DIGIT_RE = re.compile(_DIGIT)

# Residents read numbers in groups; ASR and typists put spaces, dashes or commas between.
_RUN_IN_SPEECH = re.compile(f"{_DIGIT}(?:[\\s\\-–—,，、.·]*{_DIGIT})*")
# Elsewhere (reasons, details) only spaces split a number: dashes there are dates.
_RUN_IN_TEXT = re.compile(f"{_DIGIT}(?: ?{_DIGIT})*")
# A run glued to ASCII letters, digits or '_' is an id (call id, ticket T1110204), not a phone.
_ID_NEIGHBOUR = re.compile(r"[0-9A-Za-z_]")

SPOKEN_PHONE_MIN_DIGITS = 5  # what a resident says: landline without area code and longer
TEXT_PHONE_MIN_DIGITS = 7  # anywhere else: a landline or a mobile number
SPOKEN_GROUP_MIN_DIGITS = 4  # a group of a known number read back on its own (…一四一五…)

# What a recognizer writes for a digit it heard as another word (六灵爱 for 六零二, 物 for
# 五, 龙二三 for 楼二三): read as a digit only where a house number stands, never elsewhere.
_SOUND_ALIKE = "灵玲铃令幺要腰衣依医因爱尔耳伞散死似寺物舞武午吴溜留流陆柳期妻奇齐吧巴爸把酒久玖"
_HOUSE_DIGIT = f"[{_DIGIT_CHARS}十百{_SOUND_ALIKE}]"
# The building and unit words, and what the recognizer writes for them (号罗, 单言, 单人).
_BUILDING_WORDS = "号楼|号罗|号龙|号漏|号院|号门|栋|幢"
_UNIT_WORDS = "[单般带但担丹][元言人园员圆原严远院愿]"
# House numbers: a numeral right before a building/unit/room word.
_HOUSE_NUMBER = re.compile(
    f"({_NUMERAL}+)(?=号{_NUMERAL}|座|室|层|楼|户|排)"
    f"|({_HOUSE_DIGIT}+)(?={_BUILDING_WORDS}|{_UNIT_WORDS})"
)
# A room (or unit) number after the unit or building word, with or without 室
# (一单元三零一); after the misheard single words too: 七号，龙二三，元一零二一.
_ROOM_NUMBER = re.compile(
    f"({_UNIT_WORDS}|{_BUILDING_WORDS}|座|楼|罗|龙|元|远)([，,、\\s]*)({_HOUSE_DIGIT}+)")
# 11-2-503; a first group of 4 digits would be a year, so it is left alone.
_DASHED_HOUSE = re.compile(r"(?<![0-9A-Za-z_\-])\d{1,3}(?:-\d{1,4}){1,3}(?![0-9A-Za-z_\-])")
# Residents end an address with the house number: 我家是十一号。 (and agents read it back)
_HOUSE_AT_END = re.compile(f"({_HOUSE_DIGIT}+)(?=号(?:[，。,.！!？?\\s]|$))")
# In a person's free text (a lead's note, an appeal) any number may be a resident's: every
# written digit goes, and spoken digits that come two or more together (六零二).
_WRITTEN_DIGIT = re.compile(r"[0-9０-９]")
_SPOKEN_RUN = re.compile(f"[{''.join(SPOKEN_DIGITS)}]{{2,}}")

# The agent asked for the name; the resident's next words carry it.
_ASKS_NAME = re.compile(r"姓名|名字|贵姓|怎么称呼|称呼您|您叫什么|叫什么")
_NAME_FILLERS = re.compile(r"^(?:嗯|啊|哦|呃|噢|喂|那个|免贵姓|免贵|我叫|我姓|我是|叫|姓|是|就是)+")
_INTRODUCES_NAME = re.compile(r"我叫|我姓|免贵姓")
_HONORIFIC = re.compile(r"(先生|女士|小姐|阿姨|大爷|大妈|师傅|老师)$")
_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
_SPLIT = re.compile(r"[\s，,。.、！!？?；;：:]+")

COMPOUND_SURNAMES = frozenset({
    "欧阳", "上官", "司马", "东方", "独孤", "南宫", "夏侯", "诸葛", "尉迟", "皇甫", "公孙", "慕容",
    "长孙", "宇文", "司徒", "司空", "令狐", "轩辕", "端木", "西门", "百里", "呼延", "澹台", "公冶",
    "太史", "万俟", "钟离", "申屠", "鲜于", "闻人", "赫连", "拓跋", "第五",
})


def mask_phone(number: str) -> str:
    """138******00: a mobile (or area code + landline) keeps its first 3 and last 2 digits,
    a shorter number only its first and last; separators stay."""
    positions = [i for i, ch in enumerate(number) if _DIGIT_RE.fullmatch(ch)]
    hidden = set(positions[3:-2]) if len(positions) >= 10 else set(positions[1:-1])
    return "".join(MASK if i in hidden else ch for i, ch in enumerate(number))


def mask_name(name: str) -> str:
    """Keep the surname: 杨帆 -> 杨*, 欧阳明月 -> 欧阳**; a bare surname stays as it is."""
    name = name.strip()
    surname_len = 2 if name[:2] in COMPOUND_SURNAMES else 1
    if len(name) <= surname_len:
        return name
    return name[:surname_len] + MASK * (len(name) - surname_len)


def _stars(match: re.Match[str], group: int = 0) -> str:
    return MASK * len(match.group(group))


def mask_house_numbers(text: str, *, spoken_by_resident: bool = False) -> str:
    """Mask building, unit and room numbers; the community name before them stays."""
    text = _HOUSE_NUMBER.sub(_stars, text)
    text = _ROOM_NUMBER.sub(lambda m: m.group(1) + m.group(2) + MASK * len(m.group(3)), text)
    text = _DASHED_HOUSE.sub(lambda m: re.sub(r"\d", MASK, m.group(0)), text)
    if spoken_by_resident:
        text = _HOUSE_AT_END.sub(_stars, text)
    return text


def mask_address(address: str) -> str:
    """宏城花园11号楼2单元503 -> 宏城花园**号楼*单元***: every written digit goes."""
    masked = mask_house_numbers(address, spoken_by_resident=True)
    # Written digits are never part of a community's name; spoken ones can be (五里仓).
    return re.sub(r"[0-9０-９]", MASK, masked)


def digits_of(text: str) -> str:
    """The digit sequence of a run, spoken or written (一三八 -> 138)."""
    out = []
    for ch in text:
        if "0" <= ch <= "9":
            out.append(ch)
        elif "０" <= ch <= "９":
            out.append(chr(ord(ch) - ord("０") + ord("0")))
        elif ch in SPOKEN_DIGITS:
            out.append(SPOKEN_DIGITS[ch])
    return "".join(out)


def names_given(transcript: Transcript) -> list[str]:
    """Names the resident said: right after the agent asked for the name, or anywhere
    introduced with 我叫/我姓/免贵姓 (residents often start with who they are)."""
    names: list[str] = []
    asked = False
    for utterance in transcript.utterances:
        if utterance.role == "agent":
            asked = bool(_ASKS_NAME.search(utterance.text))
            continue
        for part in _SPLIT.split(utterance.text):
            if not asked:
                intro = _INTRODUCES_NAME.search(part)
                if intro is None:
                    continue
                part = part[intro.start():]
            word = _NAME_FILLERS.sub("", part)
            if _HONORIFIC.search(word):
                continue  # 杨女士: a surname only, nothing more to hide
            if _CJK_WORD.match(word):
                names.append(word)
    return names


@dataclass
class Masker:
    """Masks one call's personal data in any text shown about that call."""

    names: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)
    # Digit sequences the resident said or the ticket holds: masked however they are written.
    numbers: set[str] = field(default_factory=set)

    @classmethod
    def for_call(
        cls,
        transcript: Transcript | None = None,
        tickets: Iterable[Ticket | None] = (),
    ) -> Masker:
        masker = cls()
        for ticket in tickets:
            if ticket is None:
                continue
            if ticket.caller_name and ticket.caller_name.strip():
                masker.names.add(ticket.caller_name.strip())
            if ticket.address and ticket.address.strip():
                masker.addresses.add(ticket.address.strip())
            phone = digits_of(ticket.caller_phone or "")
            if len(phone) >= SPOKEN_PHONE_MIN_DIGITS:
                masker.numbers.add(phone)
        if transcript is not None:
            masker.names.update(names_given(transcript))
            for utterance in transcript.by_role("customer"):
                for run in _RUN_IN_SPEECH.finditer(utterance.text):
                    digits = digits_of(run.group(0))
                    if len(digits) >= SPOKEN_PHONE_MIN_DIGITS:
                        masker.numbers.add(digits)
        return masker

    def __call__(self, text: str, *, said_by: Role | None = None) -> str:
        """The text with this call's names, addresses and numbers masked.

        said_by: who spoke it (a transcript line or evidence); None for written text.
        """
        if not text:
            return text
        for address in sorted(self.addresses, key=len, reverse=True):
            text = text.replace(address, mask_address(address))
        for name in sorted(self.names, key=len, reverse=True):
            text = text.replace(name, mask_name(name))
        text = mask_house_numbers(text, spoken_by_resident=said_by is not None)
        pattern = _RUN_IN_TEXT if said_by is None else _RUN_IN_SPEECH
        return pattern.sub(lambda m: self._mask_run(m, said_by), text)

    def _mask_run(self, match: re.Match[str], said_by: Role | None) -> str:
        run = match.group(0)
        if said_by is None and _is_id(match):
            return run
        digits = digits_of(run)
        if len(digits) >= (
            SPOKEN_PHONE_MIN_DIGITS if said_by == "customer" else TEXT_PHONE_MIN_DIGITS
        ):
            return mask_phone(run)
        # The agent reading back, or a reason quoting, what the resident said.
        # Spoken numbers come in groups (一三三，一四一五…), so a shorter piece of one counts.
        piece = SPOKEN_GROUP_MIN_DIGITS if said_by else SPOKEN_PHONE_MIN_DIGITS
        for number in self.numbers:
            if number in digits:
                return mask_phone(run)
            if len(digits) >= piece and digits in number:
                return _DIGIT_RE.sub(MASK, run)  # a piece: no first/last digits to keep
        return run

    def note(self, text: str) -> str:
        """A person's free text (a lead's note or answer, an appeal's reason): masked as any
        text, and then every number in it, which no template can tell from a house number."""
        if not text:
            return text
        text = self(text)
        text = _WRITTEN_DIGIT.sub(MASK, text)
        return _SPOKEN_RUN.sub(lambda m: MASK * len(m.group(0)), text)

    def utterance(self, utterance: Utterance) -> Utterance:
        # What the recognizer first wrote (kept where domain words were put back) is masked
        # as the text is.
        heard = (utterance.model_extra or {}).get("heard")
        extra = {"heard": self(heard, said_by=utterance.role)} if isinstance(heard, str) else {}
        return utterance.model_copy(
            update={"text": self(utterance.text, said_by=utterance.role), **extra}
        )

    def evidence(self, evidence: Evidence) -> Evidence:
        return evidence.model_copy(
            update={"text": self(evidence.text, said_by=evidence.role)}
        )

    def transcript(self, transcript: Transcript) -> Transcript:
        return transcript.model_copy(
            update={"utterances": [self.utterance(u) for u in transcript.utterances]}
        )

    def audit(self, audit: CallAudit) -> CallAudit:
        """Reasons, evidence, finding details and people's notes masked; verdicts untouched."""
        items = [
            item.model_copy(
                update={
                    "reason": self(item.reason),
                    "evidence": [self.evidence(e) for e in item.evidence],
                    **_masked_extras(item.model_extra, self.note),
                }
            )
            for item in audit.items
        ]
        findings = [
            finding.model_copy(
                update={
                    "detail": self(finding.detail),
                    "evidence": [self.evidence(e) for e in finding.evidence],
                    **_masked_extras(finding.model_extra, self.note),
                }
            )
            for finding in audit.findings
        ]
        return audit.model_copy(update={"items": items, "findings": findings})


# Free-text extras the store adds to a final verdict (a lead's note, an appeal's reason).
_FREE_TEXT_EXTRAS = ("decision_note", "appeal_reason", "appeal_note")


def _masked_extras(extra: dict | None, mask: Callable[[str], str]) -> dict[str, str]:
    return {k: mask(v) for k, v in (extra or {}).items()
            if k in _FREE_TEXT_EXTRAS and isinstance(v, str)}


def _is_id(match: re.Match[str]) -> bool:
    text, start, end = match.string, match.start(), match.end()
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    return bool(_ID_NEIGHBOUR.match(before) or _ID_NEIGHBOUR.match(after))
