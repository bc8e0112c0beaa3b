"""Settings read from the environment (``TONGBAN_*``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: the secret key of a checkout: fit for a demo on this machine, refused anywhere else
DEFAULT_SECRET_KEY = "dev-only-secret-change-me"  # noqa: S105 (public on purpose)


class Settings(BaseSettings):
    """Every knob of the platform; each maps to ``TONGBAN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="TONGBAN_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'tongban.sqlite3'}",
        description="SQLAlchemy URL; postgresql+psycopg://... for production.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = Field(
        default=DEFAULT_SECRET_KEY,
        description="Signs the CSRF tokens of the forms shown before login; set it in "
        "production (`tongban serve` refuses the default there).",
    )
    session_hours: int = 12
    cookie_secure: bool = False
    default_locale: str = "zh_CN"
    upload_dir: Path = PROJECT_ROOT / "var" / "uploads"
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies (comma-separated addresses, or *) whose X-Forwarded-For is trusted "
        "for the client's address; the status-lookup limits count by that address.",
    )
    worker_interval: float = Field(
        default=60.0,
        description="Seconds between the in-process runner's sweeps in `serve` (escalation "
        "ladder, due jobs); 0 = off.",
    )
    public_base_url: str = Field(
        default="",
        description="The platform's public address (https://zwfw.example.gov.cn/), with which "
        "every IRI of the CPSV-AP export starts; empty: http://<host>:<port>/, fit only for a "
        "test or a demo.",
    )
    data_dir: Path | None = Field(
        default=None,
        description="Where the platform keeps files of its own (the demo bank's ledger, the "
        "demo's notification log); by default the folder of a SQLite database, else var/.",
    )
    job_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a runner's claim on a job holds; a runner killed mid-job is "
        "taken for dead after it, and the job runs again (its effect is keyed, so once).",
    )

    @field_validator("public_base_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("TONGBAN_PUBLIC_BASE_URL must start with https:// or http://")
        if value and any(c in value for c in ' <>"{}|\\^`#?'):
            raise ValueError("TONGBAN_PUBLIC_BASE_URL must be a plain URL (no query, no fragment)")
        return value

    def default_key_refused(self, host: str) -> bool:
        """The default secret key where the platform is in production: served on another
        interface than loopback, with secure cookies (HTTPS), or on PostgreSQL."""
        if self.secret_key != DEFAULT_SECRET_KEY:
            return False
        loopback = host in {"127.0.0.1", "::1", "localhost"}
        return not loopback or self.cookie_secure or self.database_url.startswith("postgresql")

    def public_base(self) -> str:
        """The public base URL, ending in ``/``."""
        base = self.public_base_url or f"http://{self.host}:{self.port}/"
        return base if base.endswith("/") else base + "/"

    def data_folder(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and len(self.database_url) > len(prefix):
            return Path(self.database_url[len(prefix) :]).parent
        return PROJECT_ROOT / "var"

    # --- notifications (tongban.notify; docs/notifications.md) ---
    notify: str = Field(default="file", description="file | smtp | sms | both")
    notify_timeout: float = 10.0
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "noreply@tongban.invalid"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    sms_url: str = "http://127.0.0.1:9090/sms"
    sms_token: str = ""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
