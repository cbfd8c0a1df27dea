"""Helpers of the console tests: a console on a realistic store, the ten sample calls as
the recognizer heard them (tests/data/console/transcripts: Whisper's own words, sound-alikes
and all, with the sample tickets), audited without the model, plus one user of each role."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from qa_audit.cli.main import main
from qa_audit.console.accounts import Accounts
from qa_audit.store import Store

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
DATA = REPO / "tests" / "data" / "console"
PASSWORD = "correct-horse-7"
# name -> (role, agent id)
USERS = {
    "王班长": ("lead", None), "赵部长": ("head", None), "钱会计": ("office", None),
    "a301": ("agent", "301"), "a305": ("agent", "305"), "a309": ("agent", "309"),
    "a318": ("agent", "318"), "a322": ("agent", "322"),
}
AGENT_OF = {agent: name for name, (role, agent) in USERS.items() if role == "agent"}


def build_store(path: Path) -> Path:
    """Audit the sample transcripts into `path` and add the users (a few seconds)."""
    code = main(["audit", str(DATA / "transcripts"), "--calls", str(DATA / "calls.csv"),
                 "--tickets", str(SAMPLES / "tickets.csv"), "--stations",
                 str(SAMPLES / "stations.csv"), "--db", str(path)])
    assert code == 0
    with Store(path) as store:
        accounts = Accounts(store)
        for name, (role, agent) in USERS.items():
            accounts.add(name, role, PASSWORD, agent_id=agent)
    return path


def login(client: TestClient, name: str, password: str = PASSWORD) -> dict:
    """Sign in as `name`; returns /api/me (with the CSRF token)."""
    response = client.post("/login", data={"username": name, "password": password},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    return client.get("/api/me").json()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningConsole:
    """`qa-audit serve` as a real process on a free port (what a user starts)."""

    def __init__(self, db: Path, *, audio_dir: Path = SAMPLES) -> None:
        import subprocess
        import sys
        import time
        import urllib.request

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qa_audit.cli.main", "serve", "--db", str(db),
             "--port", str(self.port), "--audio-dir", str(audio_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"qa-audit serve ended: {self.process.stderr.read()}")
            try:
                urllib.request.urlopen(self.url + "/login", timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("qa-audit serve did not answer within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
