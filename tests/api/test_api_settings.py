"""Service settings from the environment (prefix ENERGYOPT_)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from energyopt.service.settings import SQLITE_FILE, Settings, get_settings


def test_settings_come_from_prefixed_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("ENERGYOPT_DATA_DIR", str(tmp_path / "svc"))
    monkeypatch.setenv("ENERGYOPT_WORKER_COUNT", "3")
    monkeypatch.setenv("ENERGYOPT_PLANNING_TIME", "10:30")
    monkeypatch.setenv("ENERGYOPT_CORS_ORIGINS", '["https://plant.example"]')
    settings = Settings()
    assert settings.data_dir == tmp_path / "svc"
    assert settings.worker_count == 3
    assert settings.planning_time == dt.time(10, 30)
    assert settings.cors_origins == ["https://plant.example"]
    assert settings.db_url == f"sqlite:///{tmp_path / 'svc' / SQLITE_FILE}"
    assert settings.allowed_data_roots == (settings.scenarios_dir, settings.data_dir)


def test_database_url_wins_over_the_sqlite_default(monkeypatch):
    url = "postgresql+psycopg://energy@db:5432/energyopt"
    monkeypatch.setenv("ENERGYOPT_DATABASE_URL", url)
    assert Settings().db_url == url


def test_get_settings_is_cached_per_process(monkeypatch):
    get_settings.cache_clear()
    first = get_settings()
    monkeypatch.setenv("ENERGYOPT_WORKER_COUNT", "5")
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().worker_count == 5
    get_settings.cache_clear()


def test_bad_settings_name_the_field(monkeypatch):
    monkeypatch.setenv("ENERGYOPT_WORKER_COUNT", "0")
    with pytest.raises(ValidationError, match="worker_count"):
        Settings()
