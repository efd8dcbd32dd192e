"""ID token verification (every secured Villa call runs it) and the pool's Python API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt

from mock_server.auth import AuthService, Principal
from mock_server.errors import BadRequest, Conflict, NotFound, Unauthorized
from mock_server.storage import MemoryStorage, SqliteStorage, Storage
from villa_contracts.contract import load
from villa_contracts.domain.clock import AdjustableClock

BASE_URL = "http://mock.test:8080"
USERS = load().data("users")
ALICE = USERS[0]
CLIENT_ID = load().data("cognito")["appClients"][0]["clientId"]


def make_auth(store: Storage | None = None, clock: AdjustableClock | None = None) -> AuthService:
    auth = AuthService.from_contract(
        load(), store=store or MemoryStorage(), clock=clock or AdjustableClock(), base_url=BASE_URL + "/"
    )
    auth.seed_users(USERS)
    return auth


@pytest.fixture
def clock() -> AdjustableClock:
    # Frozen: expiry is decided by the clock alone, never by how long a loaded machine takes.
    return AdjustableClock(frozen_at=time.time())


@pytest.fixture
def auth(clock: AdjustableClock) -> AuthService:
    return make_auth(clock=clock)


@pytest.fixture
def id_token(auth: AuthService) -> str:
    return str(auth.issue_tokens(ALICE["username"])["IdToken"])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload)), signature


def assemble(header: dict[str, Any], payload: dict[str, Any], signature: str) -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(payload).encode()), signature])


def hs256(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def rejected(auth: AuthService, token: str, *, bearer: bool = True) -> str:
    """Assert the token is refused both ways in; return the message (checked not to leak the token)."""
    with pytest.raises(Unauthorized) as direct:
        auth.verify_id_token(token)
    with pytest.raises(Unauthorized) as via_header:
        auth.principal_from_header(f"Bearer {token}" if bearer else token)
    for exc in (direct.value, via_header.value):
        text = json.dumps(exc.body()) + str(exc)
        if len(token) > 8:
            assert token not in text
            assert token.split(".")[-1] not in text or len(token.split(".")[-1]) < 8
    return direct.value.message


# -- valid tokens ----------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Bearer {}", "bearer {}", "{}", "  Bearer   {}  "])
def test_valid_token_with_and_without_bearer(auth: AuthService, id_token: str, header: str) -> None:
    principal = auth.principal_from_header(header.format(id_token))
    assert principal == Principal(sub=ALICE["sub"], username=ALICE["username"], email=ALICE["email"])
    assert principal.claims["aud"] == CLIENT_ID
    assert principal.claims["iss"] == f"{BASE_URL}/ap-southeast-1_bul3MgmNE"


def test_verification_is_cached_but_expiry_still_applies(
    auth: AuthService, clock: AdjustableClock, id_token: str
) -> None:
    first = auth.verify_id_token(id_token)
    for _ in range(3):  # the same object: the signature was checked once (speed is the bench's business)
        assert auth.principal_from_header(f"Bearer {id_token}") is first
    clock.advance(3599)
    assert auth.verify_id_token(id_token) is first
    clock.advance(1)
    assert "expired" in rejected(auth, id_token)


def test_expired_token_that_was_never_cached(auth: AuthService, clock: AdjustableClock, id_token: str) -> None:
    clock.advance(3601)
    assert "expired" in rejected(auth, id_token)


# -- forged and wrong tokens -----------------------------------------------------------------------


def test_tampered_payload(auth: AuthService, id_token: str) -> None:
    header, payload, signature = parts(id_token)
    forged = assemble(header, payload | {"sub": USERS[1]["sub"]}, signature)
    assert "signature" in rejected(auth, forged)


def test_tampered_signature(auth: AuthService, id_token: str) -> None:
    head, _, signature = id_token.rpartition(".")
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    assert "signature" in rejected(auth, f"{head}.{flipped}")
    assert "signature" in rejected(auth, f"{head}.")


def sign(auth: AuthService, id_token: str, **changes: Any) -> str:
    """The ID token with some claims changed, signed with the pool's own key (a valid signature)."""
    _, claims, _ = parts(id_token)
    return auth.signing_key.sign({k: v for k, v in (claims | changes).items() if v is not None})


def test_wrong_audience(auth: AuthService, id_token: str) -> None:
    assert "audience" in rejected(auth, sign(auth, id_token, aud="some-other-client"))
    assert "audience" in rejected(auth, sign(auth, id_token, aud=[CLIENT_ID]))


def test_wrong_issuer(auth: AuthService, id_token: str) -> None:
    real = "https://cognito-idp.ap-southeast-1.amazonaws.com/ap-southeast-1_bul3MgmNE"
    assert "issuer" in rejected(auth, sign(auth, id_token, iss=real))


def test_missing_claims(auth: AuthService, id_token: str) -> None:
    assert "sub" in rejected(auth, sign(auth, id_token, sub=None))
    assert "exp" in rejected(auth, sign(auth, id_token, exp=None))
    assert "exp" in rejected(auth, sign(auth, id_token, exp="tomorrow"))


def test_access_token_is_not_an_id_token(auth: AuthService) -> None:
    access = auth.issue_tokens(ALICE["username"])["AccessToken"]
    assert "token_use is 'access'" in rejected(auth, access)


def test_alg_none(auth: AuthService, id_token: str) -> None:
    header, payload, _ = parts(id_token)
    for alg in ("none", "None", "NONE"):
        assert "algorithm" in rejected(auth, assemble(header | {"alg": alg}, payload, ""))
    assert "no string 'alg'" in rejected(auth, assemble({"kid": header["kid"]}, payload, ""))


def test_hs256_signed_with_the_public_key_is_refused(auth: AuthService, id_token: str) -> None:
    header, payload, _ = parts(id_token)
    forged = hs256(header | {"alg": "HS256"}, payload, auth.signing_key.public_pem().encode())
    assert "algorithm 'HS256'" in rejected(auth, forged)


def test_unknown_kid(auth: AuthService, id_token: str) -> None:
    _, claims, _ = parts(id_token)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    foreign = jwt.encode(claims, pem.decode(), algorithm="RS256", headers={"kid": "someone-elses-key"})
    assert "unknown key" in rejected(auth, foreign)
    # The right kid does not help a token signed with another key.
    impostor = jwt.encode(claims, pem.decode(), algorithm="RS256", headers={"kid": auth.signing_key.kid})
    assert "signature" in rejected(auth, impostor)


@pytest.mark.parametrize(
    "garbage",
    ["abc", "a.b", "a.b.c", "....", "é.é.é", "eyJ.eyJ.sig", "x" * 20_000, "a.b.c.d.e", "%%%.%%%.%%%"],
)
def test_garbage(auth: AuthService, garbage: str) -> None:
    rejected(auth, garbage)


def test_header_array_or_payload_array(auth: AuthService, id_token: str) -> None:
    header, _, signature = parts(id_token)
    not_object = ".".join([b64(b"[1]"), b64(b"{}"), signature])
    assert "malformed" in rejected(auth, not_object)
    signed_list = auth.signing_key.sign({"x": 1})
    assert "token_use" in rejected(auth, signed_list)


@pytest.mark.parametrize("header", [None, "", "   ", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b"])
def test_missing_or_malformed_header(auth: AuthService, header: str | None) -> None:
    with pytest.raises(Unauthorized) as exc_info:
        auth.principal_from_header(header)
    assert "dXNlcjpwYXNz" not in exc_info.value.message


# -- keys, storage and the Python API --------------------------------------------------------------


def test_key_and_users_survive_a_restart_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "mock.db"
    first = make_auth(SqliteStorage(path))
    token = first.issue_tokens(ALICE["username"])["IdToken"]
    again = make_auth(SqliteStorage(path))
    assert again.signing_key.kid == first.signing_key.kid
    assert again.verify_id_token(token).sub == ALICE["sub"]


def test_reset_keeps_the_key_even_when_storage_was_wiped() -> None:
    store = MemoryStorage()
    auth = make_auth(store)
    kid = auth.signing_key.kid
    auth.admin_create_user("extra@villa.example", "Extra1234!")
    store.reset()
    auth.reset()
    auth.seed_users(USERS)
    assert [u["username"] for u in auth.list_users()] == sorted(u["username"] for u in USERS)
    assert (
        AuthService.from_contract(load(), store=store, clock=AdjustableClock(), base_url=BASE_URL).signing_key.kid
        == kid
    )


def test_python_admin_api(auth: AuthService) -> None:
    user = auth.admin_create_user("Carol@villa.example", "Carol1234!", email="carol@villa.example", confirmed=False)
    assert user == {
        "username": "Carol@villa.example",
        "sub": user["sub"],
        "email": "carol@villa.example",
        "status": "UNCONFIRMED",
    }
    assert all("passwordHash" not in u and "password" not in u for u in auth.list_users())
    with pytest.raises(Conflict):
        auth.issue_tokens("carol@villa.example")  # user names match case-insensitively
    auth.admin_confirm_user("carol@villa.example")
    auth.admin_confirm_user("carol@villa.example")  # idempotent
    tokens = auth.issue_tokens("Carol@villa.example")
    assert set(tokens) == {"IdToken", "AccessToken", "RefreshToken", "ExpiresIn", "TokenType"}
    assert auth.verify_id_token(tokens["IdToken"]).sub == user["sub"]
    with pytest.raises(Conflict):
        auth.admin_create_user("carol@villa.example", "Carol1234!")
    with pytest.raises(Conflict):
        auth.admin_create_user("dave@villa.example", "Dave12345!", sub=ALICE["sub"])
    with pytest.raises(BadRequest, match="uppercase"):
        auth.admin_create_user("erin@villa.example", "weakpass1")
    with pytest.raises(NotFound):
        auth.admin_confirm_user("nobody@villa.example")
    with pytest.raises(NotFound):
        auth.issue_tokens("nobody@villa.example")
    with pytest.raises(NotFound):
        auth.issue_tokens(ALICE["username"], client_id="nosuchclient")


def test_seed_users_is_idempotent_and_keeps_subs(auth: AuthService) -> None:
    auth.seed_users(USERS)
    assert {(u["username"], u["sub"], u["status"]) for u in auth.list_users()} == {
        (u["username"], u["sub"], "CONFIRMED") for u in USERS
    }


def test_cognito_info(auth: AuthService) -> None:
    info = auth.cognito_info()
    cognito = load().data("cognito")
    assert info == {
        "userPoolId": cognito["userPoolId"],
        "clientId": CLIENT_ID,
        "clientSecret": cognito["appClients"][0]["clientSecret"],
        "region": "ap-southeast-1",
        "issuer": f"{BASE_URL}/{cognito['userPoolId']}",
    }
