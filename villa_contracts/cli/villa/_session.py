"""What every ``villa`` command shares: the ``.env`` file, the settings, and the login session on disk.

The SDK manual's set-up is ``cp .env.example .env`` then ``set -a && source .env && set +a``; the
CLI reads that ``.env`` itself (variables already set win, as with ``source``). ``villa auth login``
keeps the session's tokens in a file only its user can read (as the AWS CLI keeps its SSO tokens),
so that the next commands are logged in; ``VILLA_ID_TOKEN`` overrides it. A token is never printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from villa_contracts.client._settings import Settings
from villa_contracts.errors import ConfigError

if TYPE_CHECKING:
    from villa_contracts.client import Tokens, VillaClient

# The client's modules (httpx, python-jose) are imported where a command uses them: `villa --help` and the
# local commands start without them.

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def parse_dotenv(text: str) -> dict[str, str]:
    r"""The variables of a ``.env`` file as a shell's ``source`` reads the usual ones.

    ``KEY=value``, ``export KEY=value``, ``'single'`` (literal) and ``"double"`` quotes (``\"``,
    ``\n`` escapes), ``# comments`` on their own line or after an unquoted value.

    Args:
        text: the file's content.

    Returns:
        The variables, in file order.
    """
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match or line.lstrip().startswith("#"):
            continue
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        elif len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0]
        found[key] = value
    return found


def load_dotenv(path: Path, environ: dict[str, str]) -> bool:
    """Add the variables of ``path`` to ``environ`` unless already set there; whether the file was read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    for key, value in parse_dotenv(text).items():
        environ.setdefault(key, value)
    return True


def session_file(settings: Settings, environ: Mapping[str, str]) -> Path:
    """Where the session of this backend and Cognito app client is kept (``VILLA_SESSION_FILE`` overrides)."""
    if environ.get("VILLA_SESSION_FILE"):
        return Path(environ["VILLA_SESSION_FILE"])
    cache = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = f"{settings.base_url}|{settings.cognito_url}|{settings.cognito_client_id}"
    return cache / "villa" / f"session-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in user's tokens, kept between commands.

    Attributes:
        username: who logged in.
        sub: their ``sub`` (every ``ownerId``).
        expires_at: when the ID token expires (epoch seconds).
        tokens: the tokens (never shown).
    """

    username: str
    sub: str
    expires_at: float
    tokens: Tokens

    @classmethod
    def of(cls, username: str, tokens: Tokens) -> Session:
        """The session of a login's tokens (their claims read, not verified: the backend verifies)."""
        from villa_contracts.client._auth import unverified_claims

        claims = unverified_claims(tokens.id_token)
        expires = float(claims.get("exp") or time.time() + tokens.expires_in)
        return cls(username, str(claims.get("sub") or ""), expires, tokens)

    def save(self, path: Path) -> None:
        """Write the session to ``path``, readable by its user only."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = {
            "username": self.username,
            "sub": self.sub,
            "expiresAt": self.expires_at,
            "idToken": self.tokens.id_token,
            "accessToken": self.tokens.access_token,
            "expiresIn": self.tokens.expires_in,
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)

    @classmethod
    def load(cls, path: Path) -> Session | None:
        """The session kept at ``path``, or None (none, unreadable or expired)."""
        from villa_contracts.client._auth import Tokens

        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            tokens = Tokens(str(data["idToken"]), str(data["accessToken"]), None, int(data["expiresIn"]))
            session = cls(str(data["username"]), str(data["sub"]), float(data["expiresAt"]), tokens)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return session if session.expires_at > time.time() else None


class NotLoggedIn(ConfigError):
    """A command needs a login and there is none (the message says how to log in)."""


@dataclass
class Context:
    """The ``villa`` command's settings: the environment (``.env`` merged in) and the global options.

    Attributes:
        environ: ``VILLA_*`` variables, the global options applied.
        env_file: the ``.env`` file read, if any.
    """

    environ: dict[str, str]
    env_file: Path | None = None

    @property
    def settings(self) -> Settings:
        """The reference client's settings (``ConfigError`` names a wrong variable)."""
        return Settings.from_env(self.environ)

    @property
    def session_path(self) -> Path:
        """Where ``villa auth login`` keeps the session for these settings."""
        return session_file(self.settings, self.environ)

    def session(self) -> Session | None:
        """The session to use: ``VILLA_ID_TOKEN``, else the one ``villa auth login`` kept, else None.

        Raises:
            ConfigError: ``VILLA_ID_TOKEN`` is not a JWT (the message says what to do, not the token).
        """
        token = self.environ.get("VILLA_ID_TOKEN")
        if token:
            from villa_contracts.client._auth import AuthError, Tokens

            try:
                return Session.of("(VILLA_ID_TOKEN)", Tokens(token, "", None, 3600))
            except AuthError as exc:
                # A setting, not the backend's answer: exit 2. The message never shows the token.
                raise ConfigError(
                    f"VILLA_ID_TOKEN is not an ID token ({exc.message}): set it to a Cognito ID token, "
                    "or unset it and log in with `villa auth login --username USER`"
                ) from None
        return Session.load(self.session_path)

    def cognito_settings(self) -> Settings:
        """The settings with a Cognito pool: the variables', else (against a mock) the mock's own.

        Raises:
            ConfigError: none configured and the backend does not give its pool (the message names the variables).
            NotAnswering: none configured and nothing answers at the base URL.
        """
        from villa_contracts.client._discover import COGNITO_VARIABLES, ask_mock

        settings, why_not = ask_mock(self.settings)
        if not (settings.cognito_client_id and settings.cognito_user_pool_id):
            raise ConfigError(
                f"Cognito is not configured and the backend at {settings.base_url} does not give its pool: {why_not}; "
                f"set {COGNITO_VARIABLES} (.env.example lists them)"
            )
        return settings

    def client(self, *, login: bool = True, cognito: bool = False) -> VillaClient:
        """A reference client on these settings, carrying the session's ID token when ``login``.

        Args:
            login: carry the session's ID token (the command needs a login).
            cognito: the command calls Cognito: a mock's pool is asked for when none is configured.

        Raises:
            NotLoggedIn: ``login`` and no session.
        """
        from villa_contracts.client import VillaClient

        settings = self.cognito_settings() if cognito else self.settings
        client = VillaClient(settings, allow_prod_payments=self.environ.get("VILLA_ALLOW_PROD_PAYMENTS") == "1")
        if login:
            session = self.session()
            if session is None:
                client.close()
                raise NotLoggedIn(
                    "not logged in (or the session expired): run `villa auth login --username USER` "
                    "(or set VILLA_ID_TOKEN)"
                )
            client.auth.resume(session.tokens)
        return client
