"""Fixtures of the console tests: a fresh copy of the sample store per test, the app, and
clients signed in as each role (see console_support)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from .console_support import SAMPLES, build_store, login
from fastapi.testclient import TestClient

from qa_audit.console.app import create_app


@pytest.fixture(scope="session")
def template_store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("console") / "template.sqlite")


@pytest.fixture()
def db(template_store, tmp_path) -> Path:
    """A fresh copy per test: tests decide and appeal."""
    path = tmp_path / "qa.sqlite"
    shutil.copy(template_store, path)
    return path


@pytest.fixture()
def app(db):
    return create_app(db, audio_root=SAMPLES)


@pytest.fixture()
def client(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture()
def as_user(app):
    """as_user(name) -> a signed-in TestClient with its CSRF header set."""
    clients = []

    def make(name: str) -> TestClient:
        test_client = TestClient(app)
        clients.append(test_client)
        me = login(test_client, name)
        test_client.headers["X-CSRF-Token"] = me["csrf"]
        return test_client

    yield make
    for test_client in clients:
        test_client.close()
