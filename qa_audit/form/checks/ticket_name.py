"""The ticket's name (报修人姓名) against the name the resident gave.

Spot-check criterion: the ticket carries the resident's name as said, so the repairman asks
for the right person. Names that sound the same (潘晓东/潘小东) pass unless the resident
spelled the character out; a surname with a title (刘先生) passes for a resident who gave only
the surname. A wrong name is a fine (wrong_name).
"""

from __future__ import annotations

from qa_audit.dialogue import name_read_back, spelled
from qa_audit.form.facts import CallContext
from qa_audit.form.registry import register
from qa_audit.form.ticket import against_ticket, fine_doubt, readback_of
from qa_audit.form.verdict import Verdict
from qa_audit.normalize import normalize, pinyin_key, sound_key


# What a ticket adds to a surname when the resident gives no more (刘先生).
_TITLES = frozenset({"先生", "女士", "小姐", "师傅", "阿姨", "大爷", "大妈", "大姐", "老师"})


def _sounds_alike(a: str, b: str) -> bool:
    """Names a recognizer could confuse: same length and at most one syllable apart in sound
    (东莉华 / 邓丽华)."""
    x, y = sound_key(a).split(), sound_key(b).split()
    return len(x) == len(y) and sum(p != q for p, q in zip(x, y)) <= 1


@register("ticket.name", label="报修人姓名", scripts={"repair"}, finding="wrong_name",
          needs={"ticket"}, fact="name")
@against_ticket("name")
def check_ticket_name(ctx: CallContext) -> Verdict:
    ticket = ctx.ticket
    assert ticket is not None
    said = ctx.name_turn
    recorded = normalize(ticket.caller_name or "")
    if not recorded:
        return Verdict("fail", "工单没有填写报修人姓名", [said] if said else [])
    if said is None:
        return Verdict("review", f"通话中找不到住户的姓名，无法核对工单姓名「{ticket.caller_name}」")
    echo = readback_of(ctx, said)
    name = name_read_back(said.text, echo.text if echo else None,
                          ctx.phrasebook.repair.facts.spelled_surnames)
    if normalize(name) == recorded:
        return Verdict("pass", "工单姓名与住户所说一致", [said])
    if len(name) == 1 and recorded[:1] == name and recorded[1:] in _TITLES:
        return Verdict("pass", f"住户只留了姓，工单记为「{ticket.caller_name}」", [said])
    if pinyin_key(name) == pinyin_key(recorded):
        # Heard on the phone, 潘晓东 and 潘小东 are the same; only a spelled-out character
        # ("桂花的桂") or a person's transcript tells which one the resident meant.
        spelled_out = [ch for ch in spelled(said.text, ctx.phrasebook.repair.facts.spelled_surnames)
                       if ch in name]
        if spelled_out and not all(ch in recorded for ch in spelled_out):
            return Verdict("fail", f"住户说明了「{'、'.join(spelled_out)}」字，工单姓名却记为"
                                   f"「{ticket.caller_name}」", [said])
        # Same sound and nothing spelled: no one can hear a wrong entry.
        return Verdict("pass", f"工单姓名「{ticket.caller_name}」与住户所说同音"
                               f"{'' if spelled_out else '（住户未说明用字）'}",
                       [said] + ([echo] if echo else []))
    doubt = fine_doubt(ctx, said, echo, complete=len(name) >= 2,
                       alike=_sounds_alike(name, recorded),
                       echo_agrees=echo is not None and normalize(name) in normalize(echo.text))
    if doubt:
        return Verdict("review", f"工单姓名「{ticket.caller_name}」与识别出的「{name}」不同，{doubt}，"
                                 "请听录音确认", [said] + ([echo] if echo else []))
    return Verdict("fail", f"工单姓名「{ticket.caller_name}」与住户所说「{name}」不符", [said])
