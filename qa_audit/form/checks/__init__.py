"""The check families, one module each; every module registers its checks with
`qa_audit.form.registry` when imported. The registry imports the families in the order
FAMILIES gives (the order of the spot-check form; finding checks run in it), then any module
here FAMILIES does not name. A new family is a new module here and a case file
`tests/checks/<family>.yaml`."""

FAMILIES = ("script", "guided", "readback", "ticket_problem", "ticket_name", "ticket_phone",
            "ticket_address", "ticket_station", "call_record", "followup", "conduct", "timing")
