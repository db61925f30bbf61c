"""Service settings: how a deployment of the energyopt service is configured.

Every field is read from an environment variable with the ``ENERGYOPT_``
prefix (``ENERGYOPT_DATABASE_URL``, ``ENERGYOPT_DATA_DIR``, ...). Scenario
content (plants, tariffs, assets) is *not* here: that is the scenario
document. There is no module-level settings object: call :func:`get_settings`
(cached) or build :class:`Settings` explicitly, e.g. in tests.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from energyopt.service.store import Store

#: file name of the embedded SQLite database inside the data directory
SQLITE_FILE = "energyopt.sqlite3"
#: shortest accepted bootstrap admin token [characters]
MIN_TOKEN_CHARS = 32
#: longest instance id (the store's column) [characters]
MAX_INSTANCE_ID_CHARS = 64


def new_instance_id() -> str:
    """A fresh instance id: host name, process id and a random suffix."""
    suffix = f"-{os.getpid()}-{secrets.token_hex(3)}"
    return socket.gethostname()[: MAX_INSTANCE_ID_CHARS - len(suffix)] + suffix


#: OPC UA message security: none, Basic256Sha256 Sign, Basic256Sha256 SignAndEncrypt
SecurityMode = Literal["none", "sign", "sign_encrypt"]


def _secure_modes() -> list[SecurityMode]:
    return ["sign", "sign_encrypt"]


class Settings(BaseSettings):
    """Deployment settings of the service (environment prefix ``ENERGYOPT_``)."""

    model_config = SettingsConfigDict(
        env_prefix="ENERGYOPT_", env_file=None, extra="ignore", frozen=True
    )

    data_dir: Path = Field(
        Path("energyopt-data"),
        description="service data: the SQLite database and data files scenarios may name",
    )
    scenarios_dir: Path = Field(
        Path("scenarios"),
        description="scenario YAML files and their data; relative 'file:' paths of stored "
        "scenario documents resolve against it",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db; "
        "default: SQLite file in the data directory",
    )
    database_schema: str | None = Field(
        None,
        description="PostgreSQL only: keep the service's tables in this schema "
        "(created if missing); default: the server's search path",
    )
    sqlite_busy_timeout_s: float = Field(
        30.0, gt=0, description="how long SQLite waits for a lock [s]"
    )
    worker_count: int = Field(
        1,
        ge=1,
        le=64,
        description="runs' worker processes; the pool has one more for daily plans [-]",
    )
    planning_time: dt.time = Field(
        dt.time(11, 0), description="default local time of the daily planning run"
    )
    max_run_days: int = Field(366, ge=1, description="longest period one run may cover [d]")
    retry_after_s: int = Field(
        2, ge=1, description="poll interval suggested to clients of queued runs [s]"
    )
    admin_token: SecretStr | None = Field(
        None,
        description="if set, an admin API key with this token exists after start-up "
        f"(at least {MIN_TOKEN_CHARS} characters)",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="origins allowed to call the API from a browser"
    )
    log_level: str = Field("INFO", description="logging level of the service")
    max_body_bytes: int = Field(
        2_000_000, ge=1, description="longest accepted request body; longer ones answer 413 [bytes]"
    )
    max_json_depth: int = Field(
        64, ge=2, description="deepest accepted nesting of a JSON body; deeper answers 422 [-]"
    )
    instance_id: str = Field(
        default_factory=new_instance_id,
        min_length=1,
        max_length=MAX_INSTANCE_ID_CHARS,
        description="this service instance's id in the store; default: host, pid and a "
        "random suffix (new at every start)",
    )
    instance_heartbeat_s: float = Field(
        5.0, gt=0, description="how often the instance renews its heartbeat row [s]"
    )
    instance_timeout_s: float = Field(
        60.0,
        gt=0,
        description="heartbeat age after which another instance takes over this one's "
        "runs and planning claims [s]",
    )
    run_poll_s: float = Field(
        2.0, gt=0, description="how often the instance looks for queued runs it can start [s]"
    )

    study_executor: Literal["local", "dask"] = Field(
        "local",
        description="where study cases run: local (the service's worker pool) or dask "
        "(the Dask scheduler at dask_scheduler)",
    )
    dask_scheduler: str | None = Field(
        None,
        pattern=r"^(tcp|tls|ucx|inproc)://\S+$",
        description="Dask scheduler of the dask study executor, e.g. tcp://10.0.0.5:8786; "
        "none: a LocalCluster of worker_count workers per study",
    )
    max_study_cases: int = Field(200, ge=1, description="most cases one study may have [-]")

    opcua_endpoint: str | None = Field(
        None,
        pattern=r"^opc\.tcp://[^/\s]+:\d{1,5}(/\S*)?$",
        description="OPC UA server endpoint, e.g. opc.tcp://0.0.0.0:4840; none: no OPC UA server",
    )
    opcua_security: list[SecurityMode] = Field(
        default_factory=_secure_modes,
        min_length=1,
        description="OPC UA message security modes offered (Basic256Sha256 for sign and "
        "sign_encrypt, which need the server certificate of `energyopt opcua certs`)",
    )
    opcua_pki_dir: Path | None = Field(
        None,
        description="OPC UA certificates: server certificate and key, trusted/ client "
        "certificates; default: opcua/ in the data directory",
    )
    opcua_allow_anonymous: bool = Field(
        False, description="OPC UA sessions without a user (as viewer); off by default"
    )
    mqtt_url: str | None = Field(
        None,
        pattern=r"^mqtts?://([^@/\s]+@)?[^/\s:]+(:\d{1,5})?/?$",
        description="MQTT broker, e.g. mqtt://user:password@127.0.0.1:1883; none: no MQTT",
    )
    mqtt_topic_prefix: str = Field(
        "energyopt",
        pattern=r"^[^#+\s]+$",
        description="first level of every MQTT topic (no wildcards)",
    )

    @field_validator("data_dir", "scenarios_dir", "opcua_pki_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().resolve()

    @field_validator("admin_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_CHARS:
            msg = f"admin_token must have at least {MIN_TOKEN_CHARS} characters"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _heartbeat_within_timeout(self) -> Settings:
        if self.instance_heartbeat_s >= self.instance_timeout_s:
            msg = (
                f"instance_heartbeat_s ({self.instance_heartbeat_s}) must be shorter than "
                f"instance_timeout_s ({self.instance_timeout_s})"
            )
            raise ValueError(msg)
        return self

    @property
    def db_url(self) -> str:
        """Database URL in use: ``database_url`` or the SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / SQLITE_FILE}"

    def open_store(self) -> Store:
        """A :class:`~energyopt.service.store.Store` on the configured database (not
        migrated), acting for this instance (runs it claims record ``instance_id``)."""
        from energyopt.service.store import Store

        return Store(
            self.db_url,
            schema=self.database_schema,
            busy_timeout_s=self.sqlite_busy_timeout_s,
            instance_id=self.instance_id,
        )

    @property
    def opcua_pki(self) -> Path:
        """Directory of the OPC UA certificates (``opcua_pki_dir`` or ``DATA_DIR/opcua``)."""
        return self.opcua_pki_dir or self.data_dir / "opcua"

    @property
    def allowed_data_roots(self) -> tuple[Path, ...]:
        """Directories whose files scenario documents may name."""
        return (self.scenarios_dir, self.data_dir)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
