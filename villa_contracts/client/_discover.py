"""Against a villa-contracts mock, the Cognito pool's settings come from the mock itself.

A mock answers ``GET /__admin/cognito`` with its pool (``userPoolId``, ``clientId``,
``clientSecret``, ``region``, ``issuer``) and serves Cognito on its own origin. When the settings
name no pool and no app client, ``ask_mock`` fills them in from there (the secret is kept, never
shown); a backend that is not a mock, or a mock whose admin API is off or protected, changes nothing
and the reason is returned, for the message that says which variables to set.
"""

from __future__ import annotations

import dataclasses

import httpx

from villa_contracts.client._settings import Settings
from villa_contracts.client._transport import http_client
from villa_contracts.errors import NotAnswering

ADMIN_COGNITO = "/__admin/cognito"
COGNITO_VARIABLES = (
    "VILLA_COGNITO_USER_POOL_ID, VILLA_COGNITO_CLIENT_ID, VILLA_COGNITO_CLIENT_SECRET (if the app client has one) "
    "and VILLA_COGNITO_REGION, or VILLA_COGNITO_ENDPOINT for a mock"
)


def ask_mock(settings: Settings, http: httpx.Client | None = None, *, timeout: float = 10) -> tuple[Settings, str]:
    """The settings with the Cognito pool of the mock at ``settings.base_url``, when they name none.

    Args:
        settings: the settings; returned as they are when they name a pool or an app client.
        http: the HTTP client to ask with; a new one by default.
        timeout: seconds to wait for the answer.

    Returns:
        The settings (filled in when the backend is a mock) and, when not filled in, why not.

    Raises:
        NotAnswering: nothing answers at the base URL.
    """
    if settings.cognito_client_id or settings.cognito_user_pool_id:
        return settings, ""
    url = settings.base_url + ADMIN_COGNITO
    try:
        if http is None:
            with http_client(timeout=timeout) as own:
                response = own.get(url)
        else:
            response = http.get(url, timeout=timeout)
    except httpx.ConnectError as exc:
        raise NotAnswering(f"cannot reach {settings.base_url}: {type(exc).__name__}: {exc}") from None
    except httpx.HTTPError as exc:
        return settings, f"GET {ADMIN_COGNITO} failed ({type(exc).__name__})"
    if response.status_code in (401, 403):
        return settings, f"its admin API is protected (GET {ADMIN_COGNITO} answered {response.status_code})"
    try:
        pool = response.json() if response.status_code == 200 else None
    except ValueError:
        pool = None
    if not isinstance(pool, dict) or not pool.get("userPoolId") or not pool.get("clientId"):
        answered = f"GET {ADMIN_COGNITO} answered {response.status_code}"
        return settings, f"it is not a villa-contracts mock with its admin API on ({answered})"
    filled = dataclasses.replace(
        settings,
        cognito_user_pool_id=str(pool["userPoolId"]),
        cognito_client_id=str(pool["clientId"]),
        cognito_client_secret=settings.cognito_client_secret or (str(pool.get("clientSecret") or "") or None),
        cognito_region=str(pool.get("region") or settings.cognito_region),
        cognito_endpoint=settings.cognito_endpoint or settings.base_url,
    )
    return filled, ""
