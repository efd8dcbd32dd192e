"""Every Villa endpoint refuses forged, tampered, expired and misdirected ID tokens with 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from jose import jwt

from villa_contracts.contract import load

SECURED = sorted((op.method, op.path) for op in load()["villa"].operations.values() if op.secured)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(api, alice) -> dict[str, Any]:
    return jwt.get_unverified_claims(alice.id_token)


def forged_tokens(api, alice) -> dict[str, str]:
    auth = api.app.state.mock.auth
    key = auth.signing_key
    claims = _claims(api, alice)
    header, payload, signature = alice.id_token.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered["sub"] = "someone-else"
    hs_header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    hs_body = _b64(json.dumps(claims).encode())
    hs_sig = _b64(hmac.new(key.public_pem().encode(), f"{hs_header}.{hs_body}".encode(), hashlib.sha256).digest())
    return {
        "tampered payload": f"{header}.{_b64(json.dumps(tampered).encode())}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "expired": key.sign({**claims, "iat": claims["iat"] - 7200, "exp": claims["iat"] - 3600}),
        "wrong audience": key.sign({**claims, "aud": "some-other-client"}),
        "wrong issuer": key.sign({**claims, "iss": "https://cognito-idp.example/other"}),
        "access token": auth.issue_tokens(alice.username)["AccessToken"],
        "alg none": f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload}.",
        "HS256 with the public key": f"{hs_header}.{hs_body}.{hs_sig}",
    }


@pytest.mark.parametrize(("method", "path"), SECURED)
def test_every_secured_endpoint_refuses_every_forged_token(api, alice, method, path) -> None:
    for name, token in forged_tokens(api, alice).items():
        for header in (f"Bearer {token}", token):
            response = api.request(method, path, json={"orderId": "100026000001"}, headers={"Authorization": header})
            assert response.status_code == 401, (name, path, response.text)
            assert token not in response.text
    valid = api.request(method, path, json={"orderId": "100026000001"}, headers=alice.headers)
    assert valid.status_code != 401
