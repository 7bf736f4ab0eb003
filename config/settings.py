"""Process settings from the environment (``ORDERBOT_*`` and ``WECOM_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/orderbot.db"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """All settings. Build one with :func:`load_settings` and pass it on; there is no global."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # one default file for every command (make demo, chat, digest, outbox, serve …)
    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=_env("ORDERBOT_DATABASE_URL"))
    http_host: str = Field("127.0.0.1", validation_alias=_env("ORDERBOT_HTTP_HOST"))
    http_port: int = Field(8080, validation_alias=_env("ORDERBOT_HTTP_PORT"))
    stt_model: str | None = Field(None, validation_alias=_env("ORDERBOT_STT_MODEL"))
    stt_workers: int = Field(2, ge=1, le=8, validation_alias=_env("ORDERBOT_STT_WORKERS"))
    stt_queue: int = Field(8, ge=1, le=256, validation_alias=_env("ORDERBOT_STT_QUEUE"))
    tz: str = Field("Asia/Shanghai", validation_alias=_env("ORDERBOT_TZ"))
    config_dir: Path | None = Field(None, validation_alias=_env("ORDERBOT_CONFIG_DIR"))
    data_dir: Path = Field(Path("var"), validation_alias=_env("ORDERBOT_DATA_DIR"))
    log_level: str = Field("INFO", validation_alias=_env("ORDERBOT_LOG_LEVEL"))
    # privacy (issue 13): days raw inbox XML / outbox payloads are kept at most (orders.retention)
    retention_days: int = Field(30, ge=1, validation_alias=_env("ORDERBOT_RETENTION_DAYS"))
    # intake (issue 5): carrier push salt and Douyin push app key/secret
    kuaidi100_salt: str = Field("", validation_alias=_env("ORDERBOT_KUAIDI100_SALT"))
    douyin_app_key: str = Field("", validation_alias=_env("ORDERBOT_DOUYIN_APP_KEY"))
    douyin_app_secret: str = Field("", validation_alias=_env("ORDERBOT_DOUYIN_APP_SECRET"))

    # board (issue 19): session signing secret, session length, public base URL for links
    secret_key: str = Field("", validation_alias=_env("ORDERBOT_SECRET_KEY"))
    board_session_hours: float = Field(12, gt=0, le=24 * 30, validation_alias=_env("ORDERBOT_BOARD_SESSION_HOURS"))
    board_url: str = Field("", validation_alias=_env("ORDERBOT_BOARD_URL"))
    wecom_oauth_url: str = Field("https://open.weixin.qq.com/connect/oauth2/authorize",
                                 validation_alias=_env("WECOM_OAUTH_URL"))
    wecom_sso_url: str = Field("https://login.work.weixin.qq.com/wwlogin/sso/login",
                               validation_alias=_env("WECOM_SSO_URL"))

    wecom_corp_id: str = Field("", validation_alias=_env("WECOM_CORP_ID"))
    wecom_agent_id: int = Field(0, validation_alias=_env("WECOM_AGENT_ID"))
    wecom_secret: str = Field("", validation_alias=_env("WECOM_SECRET"))
    wecom_token: str = Field("", validation_alias=_env("WECOM_TOKEN"))
    wecom_aes_key: str = Field("", validation_alias=_env("WECOM_AES_KEY"))
    wecom_api_base: str = Field(
        "https://qyapi.weixin.qq.com/cgi-bin/", validation_alias=_env("WECOM_API_BASE")
    )

    @property
    def sqlite_file(self) -> Path | None:
        """The database file when the URL names a SQLite file (None for :memory: and servers)."""
        url = self.database_url
        if not url.startswith("sqlite"):
            return None
        _, _, rest = url.partition(":///")
        path = rest.split("?", 1)[0]
        return Path(path) if path and path != ":memory:" else None

    def __repr__(self) -> str:  # never print secrets
        return f"Settings(database_url={self.database_url!r}, http={self.http_host}:{self.http_port})"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword overrides win (tests use them)."""
    return Settings(**overrides)  # type: ignore[arg-type]
