"""Shared by unit and integration tests."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch):
    """A test never sees, nor stops, a sandbox the developer started: chaosllm state lives in a temp dir."""
    monkeypatch.setenv("CHAOSLLM_STATE_DIR", str(tmp_path_factory.mktemp("state")))
