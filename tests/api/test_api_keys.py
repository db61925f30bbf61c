"""API keys through the API and the command line; tokens are shown once, stored hashed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from service_helpers import make_settings, open_client
from typer.testing import CliRunner

from energyopt.cli import app as cli
from energyopt.service.store import keys as key_store


def test_created_key_works_with_its_role_and_is_listed_without_token(api):
    created = api.post("/api/v1/keys", role="admin", json={"name": "scada", "role": "viewer"})
    assert created.status_code == 201
    body = created.json()
    token = body["token"]
    assert body["prefix"] == token[:10]
    headers = {"X-API-Key": token}
    assert api.http.get("/api/v1/runs", headers=headers).status_code == 200
    assert api.http.post("/api/v1/runs", headers=headers, json={}).status_code == 403
    listed = api.get("/api/v1/keys", role="admin").text
    assert token not in listed
    assert key_store.hash_token(token) not in listed
    with api.store.reading() as session:
        stored = session.scalars(sa.text("SELECT key_hash FROM api_keys")).all()
    assert key_store.hash_token(token) in stored
    assert token not in stored


def test_unknown_role_is_refused(api):
    answer = api.post("/api/v1/keys", role="admin", json={"name": "x", "role": "root"})
    assert answer.status_code == 422


def test_revoking_an_unknown_key_is_404(api):
    assert api.delete("/api/v1/keys/999", role="admin").status_code == 404


def test_cli_creates_a_key_the_service_accepts(tmp_path, executor, monkeypatch):
    data_dir = tmp_path / "data"
    result = CliRunner().invoke(
        cli, ["keys", "create", "--role", "planner", "--name", "ops", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("eo_")
    bad = CliRunner().invoke(
        cli, ["keys", "create", "--role", "boss", "--name", "x", "--data-dir", str(data_dir)]
    )
    assert bad.exit_code == 2
    assert "role 'boss'" in bad.output
    for api in open_client(make_settings(tmp_path), executor):
        answer = api.http.get("/api/v1/runs", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200


def test_admin_token_setting_creates_the_admin_key(tmp_path, executor):
    token = "a" * 40
    for api in open_client(make_settings(tmp_path, admin_token=token), executor):
        assert api.http.get("/api/v1/keys", headers={"X-API-Key": token}).status_code == 200
    with pytest.raises(ValueError, match="at least 32"):
        make_settings(tmp_path, admin_token="short")
