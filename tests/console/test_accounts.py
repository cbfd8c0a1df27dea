"""Console users from the command line, the lockout clock, and `serve` on a store without
users."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from qa_audit.cli.main import main
from qa_audit.console.accounts import Accounts
from qa_audit.console.app import create_app
from qa_audit.console.auth import LockedOut, sign_in
from qa_audit.store import Store

from .console_support import PASSWORD


@pytest.fixture()
def empty_store(tmp_path):
    path = tmp_path / "qa.sqlite"
    Store(path).close()
    return path


def _password_file(tmp_path, text: str = "s3cret-pass\n"):
    path = tmp_path / "pw.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_users_add_list_disable_password(empty_store, tmp_path, capsys):
    db = ["--db", str(empty_store)]
    assert main(["users", "add", "王班长", "--role", "lead", "--password-file",
                 _password_file(tmp_path), *db]) == 0
    assert main(["users", "add", "a307", "--role", "agent", "--agent-id", "307",
                 "--password-file", _password_file(tmp_path), *db]) == 0
    assert "user a307 added (agent, agent 307)" in capsys.readouterr().out
    assert main(["users", "list", *db]) == 0
    listed = capsys.readouterr().out
    assert "王班长" in listed and "领班 lead" in listed and "307" in listed
    assert main(["users", "disable", "a307", *db]) == 0
    assert main(["users", "list", *db]) == 0
    assert "停用 disabled" in capsys.readouterr().out
    with Store(empty_store) as store:
        assert sign_in(Accounts(store), "a307", "s3cret-pass") is None
    assert main(["users", "password", "a307", "--password-file",
                 _password_file(tmp_path, "another-pass\n"), *db]) == 0
    with Store(empty_store) as store:
        assert sign_in(Accounts(store), "a307", "another-pass").agent_id == "307"


def test_users_add_prompts_for_the_password_twice(empty_store):
    from typer.testing import CliRunner

    from qa_audit.cli.main import app

    result = CliRunner().invoke(app, ["users", "add", "钱会计", "--role", "office", "--db",
                                      str(empty_store)], input="office-pass\noffice-pass\n")
    assert result.exit_code == 0, result.output
    with Store(empty_store) as store:
        assert sign_in(Accounts(store), "钱会计", "office-pass").role == "office"


@pytest.mark.parametrize("args, message", [
    (["--role", "boss"], "not one of: lead, head, agent, office"),
    (["--role", "agent"], "needs --agent-id"),
    (["--role", "lead", "--agent-id", "307"], "only for the agent role"),
])
def test_users_add_bad_input_is_one_line(empty_store, tmp_path, capsys, args, message):
    code = main(["users", "add", "x", *args, "--password-file", _password_file(tmp_path),
                 "--db", str(empty_store)])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_short_password_and_a_duplicate_user_are_refused(empty_store, tmp_path, capsys):
    db = ["--db", str(empty_store)]
    assert main(["users", "add", "x", "--role", "lead", "--password-file",
                 _password_file(tmp_path, "short\n"), *db]) == 1
    assert "at least 8 characters" in capsys.readouterr().err
    assert main(["users", "add", "x", "--role", "lead", "--password-file",
                 _password_file(tmp_path), *db]) == 0
    assert main(["users", "add", "x", "--role", "head", "--password-file",
                 _password_file(tmp_path), *db]) == 1
    assert "already exists" in capsys.readouterr().err


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.now


def test_lockout_lasts_fifteen_minutes_after_the_fifth_wrong_password(empty_store):
    clock = Clock()
    with Store(empty_store) as store:
        accounts = Accounts(store, clock=clock)
        accounts.add("a307", "agent", PASSWORD, agent_id="307")
        for _ in range(4):
            assert sign_in(accounts, "a307", "wrong") is None
            clock.now += timedelta(minutes=3)
        assert sign_in(accounts, "a307", "wrong") is None  # the fifth, 12 min after the first
        with pytest.raises(LockedOut):
            sign_in(accounts, "a307", PASSWORD)
        clock.now += timedelta(minutes=14)
        with pytest.raises(LockedOut):
            sign_in(accounts, "a307", PASSWORD)
        clock.now += timedelta(minutes=1, seconds=1)
        assert sign_in(accounts, "a307", PASSWORD).name == "a307"


def test_wrong_passwords_spread_over_more_than_fifteen_minutes_do_not_lock(empty_store):
    clock = Clock()
    with Store(empty_store) as store:
        accounts = Accounts(store, clock=clock)
        accounts.add("a307", "agent", PASSWORD, agent_id="307")
        for _ in range(6):
            assert sign_in(accounts, "a307", "wrong") is None
            clock.now += timedelta(minutes=4)
        assert sign_in(accounts, "a307", PASSWORD) is not None


def test_disabling_a_user_ends_open_sessions(empty_store):
    with Store(empty_store) as store:
        Accounts(store).add("a307", "agent", PASSWORD, agent_id="307")
    with TestClient(create_app(empty_store)) as client:
        client.post("/login", data={"username": "a307", "password": PASSWORD})
        assert client.get("/api/me").status_code == 200
        with Store(empty_store) as store:
            Accounts(store).disable("a307")
        assert client.get("/api/me").status_code == 401
        assert client.post("/login", data={"username": "a307", "password": PASSWORD},
                           headers={"Accept": "application/json"}).status_code == 401


def test_serve_on_a_store_without_users_says_how_to_add_one(empty_store, monkeypatch, capsys):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append(kw))
    assert main(["serve", "--db", str(empty_store), "--port", "8999"]) == 0
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("no console users yet") and "qa-audit users add" in first
    assert started == [{"host": "127.0.0.1", "port": 8999, "log_level": "warning",
                        "access_log": False}]


def test_serve_refuses_a_missing_store_in_one_line(tmp_path, capsys):
    assert main(["serve", "--db", str(tmp_path / "nothing.sqlite")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no results database") and len(err.splitlines()) == 1


def test_the_login_page_says_how_to_add_a_user_when_there_is_none(empty_store):
    with TestClient(create_app(empty_store)) as client:
        assert "qa-audit users add" in client.get("/login").text


def test_a_new_password_ends_the_sessions_signed_before_it(empty_store):
    with Store(empty_store) as store:
        Accounts(store).add("a307", "agent", PASSWORD, agent_id="307")
    with TestClient(create_app(empty_store)) as client:
        client.post("/login", data={"username": "a307", "password": PASSWORD})
        assert client.get("/api/me").status_code == 200
        later = datetime.now() + timedelta(minutes=1)
        with Store(empty_store) as store:
            Accounts(store, clock=lambda: later).set_password("a307", "a-new-password")
        assert client.get("/api/me").status_code == 401


def test_a_session_cookie_expires(empty_store, monkeypatch):
    import itsdangerous.timed

    with Store(empty_store) as store:
        Accounts(store).add("a307", "agent", PASSWORD, agent_id="307")
    app = create_app(empty_store, session_hours=1)
    with TestClient(app) as client:
        client.post("/login", data={"username": "a307", "password": PASSWORD})
        assert client.get("/api/me").status_code == 200
        now = itsdangerous.timed.time.time()
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: now + 3601)
        assert client.get("/api/me").status_code == 401
