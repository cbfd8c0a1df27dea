"""The spot-check form (录音抽查测评) as a rules engine.

- `facts`: what a call says, read once (`CallContext`).
- `verdict`: what a check gives for one form item (`Verdict`).
- `registry`: every check, declared once: its name, label, the finding it raises and what it
  needs; the phrasebook validates form files against it.
- `checks/`: one module per family of checks, each registering its checks.
- `answers`: the resident's answers to the follow-up questions.
- `findings`: fines raised by failed items and by the follow-up answers.
- `engine`: fills in a call's form (`score_call`).

Nothing is imported here, so that any module of the package can be imported on its own.
"""
