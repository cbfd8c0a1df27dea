"""The spot-check form (录音抽查测评) as a rules engine.

- `facts`: what a call says, read once (`CallContext`).
- `verdict`: what a check gives for one form item (`Verdict`).
- `registry`: every check, declared once: its name, label, the finding it raises, what it
  needs and the fact it is about; `registered_checks(script)` is what a form may name.
- `checks/`: one module per family of checks, each registering its checks; `ticket` is the
  frame the ticket checks share.
- `answers`: the resident's answers to the follow-up questions.
- `findings`: fines raised by failed items and by the follow-up answers.
- `engine`: fills in a call's form (`score_call`).

Adding a check is one module and one case file. The timing checks are the example:
`checks/timing.py` declares each with `@register_finding("timing.dead_air", label="冷场",
findings=("dead_air",), needs={"audio"})` over a function of the call's facts that returns
its findings, and its docstring states the criterion; `tests/checks/timing.yaml` holds
calls with times (`a@21.5-23.0: 您的地址是？`) and the finding each raises or not. An item
check is the same with `@register("name", label=…, scripts=…, finding=…)` over a function
`(ctx, item) -> Verdict`, and a form file may then name it. The family's name goes into
`checks.FAMILIES` where it belongs in the form's order.

Nothing is imported here, so that any module of the package can be imported on its own.
"""
