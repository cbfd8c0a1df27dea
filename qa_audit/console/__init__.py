"""The QA console: one web app on the office network for shift leads, agents, the
department head and the office (`qa-audit serve`, `qa_audit.console.app.create_app`).
Its JSON API is documented in docs/api.md. Nothing is imported here, so that the CLI's
`users` command does not load the web stack."""
