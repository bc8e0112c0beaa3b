"""Settings read from the environment (``TONGBAN_*``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


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
        default="dev-only-secret-change-me",
        description="Signs session cookies and CSRF tokens; set it in production.",
    )
    session_hours: int = 12
    cookie_secure: bool = False
    default_locale: str = "zh_CN"
    upload_dir: Path = PROJECT_ROOT / "var" / "uploads"
    worker_interval: float = Field(
        default=60.0, description="Seconds between escalation/outbox sweeps in `serve`; 0 = off."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
