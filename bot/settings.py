"""One typed settings object, read from the environment (and a git-ignored ``.env``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "clinic.sqlite3"


def _read_dotenv(path: Path) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines of a ``.env`` file; comments and blanks are skipped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one clinic's deployment."""

    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    clinic_name: str = "the clinic"
    clinic_phone: str = "(555) 010-0123"
    phone_region: str = "US"
    clinic_today: date | None = None
    rasa_port: int = 5005
    actions_port: int = 5055
    web_port: int = 8000
    public_url: str = "http://localhost:5005"
    twilio_auth_token: str = field(default="", repr=False)
    twilio_account_sid: str = ""
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    sms_continue_days: int = 7
    secret_key: str = field(default="", repr=False)
    staff_idle_minutes: int = 15
    staff_cookie_secure: bool = False
    chat_socket_url: str = ""
    chat_allowed_origins: tuple[str, ...] = ()
    public_staff_url: str = ""
    notify_smtp_host: str = ""
    notify_smtp_port: int = 587
    notify_smtp_user: str = ""
    notify_smtp_password: str = field(default="", repr=False)
    notify_smtp_starttls: bool = True
    notify_email_to: tuple[str, ...] = ()
    notify_email_from: str = ""
    notify_webhook_url: str = field(default="", repr=False)  # a chat webhook's URL is its secret
    notify_poll_seconds: float = 30.0
    notify_max_age_hours: float = 72.0
    redis_url: str = field(default="", repr=False)  # may hold a password
    redis_prefix: str = "clinic"
    lock_lifetime_seconds: int = 120

    def chat_origins(self) -> list[str]:
        """Origins allowed to open the chat socket: ``CHAT_ALLOWED_ORIGINS``, else the local web app."""
        if self.chat_allowed_origins:
            return list(self.chat_allowed_origins)
        return [f"http://localhost:{self.web_port}", f"http://127.0.0.1:{self.web_port}"]

    def staff_url(self) -> str:
        """Where staff open the staff app, for links in notifications: ``PUBLIC_STAFF_URL``, else local."""
        return self.public_staff_url or f"http://localhost:{self.web_port}"

    def today(self) -> date:
        """The date the bot counts from: ``CLINIC_TODAY`` when set, else the real today."""
        return self.clinic_today or date.today()


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``.env`` overlaid with the process environment.

    An explicit ``environ`` is used alone (no ``.env``), so callers and tests get exactly it.
    """
    if environ is not None:
        env = dict(environ)
    else:
        env = _read_dotenv(PROJECT_ROOT / ".env")
        env.update(os.environ)
    today = env.get("CLINIC_TODAY", "").strip()
    return Settings(
        database_url=env.get("DATABASE_URL") or Settings.database_url,
        clinic_name=env.get("CLINIC_NAME") or Settings.clinic_name,
        clinic_phone=env.get("CLINIC_PHONE") or Settings.clinic_phone,
        phone_region=env.get("CLINIC_PHONE_REGION") or Settings.phone_region,
        clinic_today=date.fromisoformat(today) if today else None,
        rasa_port=int(env.get("RASA_PORT") or Settings.rasa_port),
        actions_port=int(env.get("ACTIONS_PORT") or Settings.actions_port),
        web_port=int(env.get("WEB_PORT") or Settings.web_port),
        public_url=(env.get("PUBLIC_URL") or Settings.public_url).rstrip("/"),
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", "").strip(),
        twilio_from_number=env.get("TWILIO_FROM_NUMBER", "").strip(),
        twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID", "").strip(),
        sms_continue_days=int(env.get("SMS_CONTINUE_DAYS") or Settings.sms_continue_days),
        secret_key=env.get("SECRET_KEY", ""),
        staff_idle_minutes=int(env.get("STAFF_IDLE_MINUTES") or Settings.staff_idle_minutes),
        staff_cookie_secure=env.get("STAFF_COOKIE_SECURE", "").strip().lower() in ("1", "true", "yes"),
        chat_socket_url=(env.get("CHAT_SOCKET_URL") or "").strip().rstrip("/"),
        chat_allowed_origins=tuple(
            origin.strip().rstrip("/") for origin in env.get("CHAT_ALLOWED_ORIGINS", "").split(",") if origin.strip()
        ),
        public_staff_url=(env.get("PUBLIC_STAFF_URL") or "").strip().rstrip("/"),
        notify_smtp_host=env.get("NOTIFY_SMTP_HOST", "").strip(),
        notify_smtp_port=int(env.get("NOTIFY_SMTP_PORT") or Settings.notify_smtp_port),
        notify_smtp_user=env.get("NOTIFY_SMTP_USER", "").strip(),
        notify_smtp_password=env.get("NOTIFY_SMTP_PASSWORD", ""),
        notify_smtp_starttls=_flag(env.get("NOTIFY_SMTP_STARTTLS"), Settings.notify_smtp_starttls),
        notify_email_to=tuple(
            address.strip() for address in env.get("NOTIFY_EMAIL_TO", "").split(",") if address.strip()
        ),
        notify_email_from=env.get("NOTIFY_EMAIL_FROM", "").strip(),
        notify_webhook_url=env.get("NOTIFY_WEBHOOK_URL", "").strip(),
        notify_poll_seconds=float(env.get("NOTIFY_POLL_SECONDS") or Settings.notify_poll_seconds),
        notify_max_age_hours=float(env.get("NOTIFY_MAX_AGE_HOURS") or Settings.notify_max_age_hours),
        redis_url=env.get("REDIS_URL", "").strip(),
        redis_prefix=_redis_prefix(env.get("REDIS_PREFIX")),
        lock_lifetime_seconds=int(env.get("TICKET_LOCK_LIFETIME") or Settings.lock_lifetime_seconds),
    )


def _redis_prefix(value: str | None) -> str:
    """``REDIS_PREFIX``: letters and digits only (Rasa's lock store drops any other prefix)."""
    prefix = (value or "").strip() or Settings.redis_prefix
    if not prefix.isalnum() or not prefix.isascii():
        raise ValueError("REDIS_PREFIX must be letters and digits only.")
    return prefix


def _flag(value: str | None, default: bool) -> bool:
    """A yes/no setting: 1/true/yes or 0/false/no; empty or unset is ``default``."""
    text = (value or "").strip().lower()
    if not text:
        return default
    return text in ("1", "true", "yes", "on")
