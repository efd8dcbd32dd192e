"""Traffic full of secrets, in every place and encoding, through the proxy: its recording and reports hold none.

Issue 21's attack on the proxy, as one run: a CVV in a form body, a query string and headers, under
every common name (``card_code``, ``csc``, ``cvn``, ``security-code``...); a shop token key sent as
``?token=<key>``; card numbers with dots, double spaces, NBSPs, fullwidth and Arabic-Indic digits, in
bodies, queries and paths; a password holding ``"`` in a body that is not JSON. Every request is one
a client could send; most are refused, so the reports hold their reproductions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.fixtures.faults import serve_unbroken
from tests.villa_contracts.test_proxy import proxy_for
from villa_contracts.contract import load
from villa_contracts.domain.cards import is_cvv_name

pytestmark = pytest.mark.socket

CVVS = {"cvv": "8642", "card_code": "9753", "csc": "7531", "cvn": "6428", "security-code": "5319", "cid": "4286"}
CARDS = (
    "4111.1111.1111.1111",
    "4111  1111  1111  1111",
    "4111\u00a01111\u00a01111\u00a01111",
    "４１１１１１１１１１１１１１１１",
    "٤١١١١١١١١١١١١١١١",
    "5105-1051-0510-5100",
    "3782 822463 10005",
)
PASSWORD_TAIL = "tail-of-the-password-Zq81"
API_KEY = "ak-live-7f3a9c2e5b1d"
SESSION = "sess-0b9e77c1d4"


def _forms(text: str) -> set[str]:
    """``text`` as a recording or a report may hold it: raw, JSON-escaped, percent-encoded, form-encoded."""
    return {
        text,
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        quote(text, safe=""),
        quote(text, safe="/"),
        quote(text).replace("%20", "+"),
    }


def _send_secrets(base: str, key: str, jwt: str) -> None:
    shop = {"Authorization": f"Token {key}"}
    bearer = {"Authorization": f"Bearer {jwt}"}
    cvv_query = "&".join(f"{name}={value}" for name, value in CVVS.items())
    cvv_headers = {f"X-Card-{name}": value for name, value in CVVS.items()}
    with httpx.Client(base_url=base, timeout=30) as http:
        # A shop token key in the query string (a client that put it in the wrong place), with an invalid page.
        http.get(f"/api/shop/orders?token={key}&page=x")
        http.get(f"/api/shop/no-such-thing?token={key}&access_token={key}&api_key={API_KEY}")
        # CVVs in a query, in headers, and as a form body.
        http.get(f"/api/shop/orders?page=x&{cvv_query}", headers={**shop, **cvv_headers})
        form = {**CVVS, "number": CARDS[0], "password": f'pa"ss{PASSWORD_TAIL}', "note": CARDS[1]}
        http.post("/api/payment3devapi/cardtoken", data=form, headers={**bearer, "Cookie": f"session={SESSION}"})
        # CVVs under every name and card numbers in every writing, in JSON, refused by the contract or the rules.
        card = {**CVVS, "number": CARDS[3], "expirationMonth": "12", "expirationYear": "2030"}
        body = {"orderId": "x", "basketId": "b", "grandTotal": "174", "card": card, "note": list(CARDS)}
        http.post("/api/payment3devapi/cardtoken", json=body, headers={**bearer, "X-Api-Key": API_KEY})
        for number in CARDS:
            http.put("/api/shop/profile", json={"first_name": number, **CVVS}, headers=shop)
            http.get(f"/api/shop/orders/{number}", headers=shop)
            http.get("/api/orders.json", params={"state": number, "csc": "7531"}, headers=bearer)
        # A password holding a quote in a body that does not parse: its tail must go too.
        broken = f'{{"username": "test.user@villa.example", "password": "pa"ss{PASSWORD_TAIL}", "x": 1'
        http.post("/api/shop/auth/token", content=broken, headers={"Content-Type": "application/json"})
        # A JWT and a token key where no header name says so.
        http.post("/api/shop/cart/items", content=f"id={jwt}&key=Token {key}", headers={**shop, "X-Note": jwt})


def test_no_secret_of_any_place_or_encoding_reaches_the_recording_or_a_report(tmp_path: Path) -> None:
    user = load().data("users")[0]
    with serve_unbroken() as mock, proxy_for(mock, tmp_path, villa_record=str(tmp_path / "recording")) as proxy:
        credentials = {"username": user["username"], "password": user["password"]}
        answer = httpx.post(f"{proxy.url}/api/shop/auth/token", json=credentials)  # a password through the proxy
        key = answer.json()["token"]
        jwt = httpx.post(f"{mock}/__admin/users/{user['username']}/tokens").json()["IdToken"]
        _send_secrets(proxy.url, key, jwt)
    files = list((tmp_path / "recording").iterdir()) + list((tmp_path / "reports").rglob("*"))
    written = {
        path.relative_to(tmp_path).as_posix(): path.read_bytes().decode("utf-8", "replace")
        for path in files
        if path.is_file()
    }
    assert {
        "recording/flows.mitm",
        "recording/traffic.har",
        "reports/summary.json",
        "reports/junit.xml",
        "reports/index.html",
    } <= set(written)
    summary = json.loads(written["reports/summary.json"])
    reproductions = "\n".join(f["reproduction"] for f in summary["failures"] + summary["warnings"])
    assert "/api/shop/orders?token=***&page=x" in reproductions  # the request is reproduced, without its key
    secrets = [key, jwt, user["password"], PASSWORD_TAIL, API_KEY, SESSION, *CARDS, "4111111111111111"]
    leaked = {
        (name, secret[:12])
        for name, text in written.items()
        for secret in secrets
        for form in _forms(secret)
        if form in text
    }
    assert not leaked
    cvv_shown = re.compile(
        r"(?i)(cvv|card.code|csc|cvn|security.code|cid)[\"'\\]*\s*[:=]\s*[\"'\\]*(" + "|".join(CVVS.values()) + ")"
    )
    assert not {name for name, text in written.items() if cvv_shown.search(text)}
    har = json.loads(written["recording/traffic.har"])["log"]["entries"]
    named = [
        (item["name"], item["value"])
        for entry in har
        for place in ("headers", "queryString", "cookies")
        for item in entry["request"][place]
    ] + [
        (item["name"], item.get("value", ""))
        for entry in har
        for item in entry["request"].get("postData", {}).get("params", [])
    ]
    cvv_places = [(name, value) for name, value in named if is_cvv_name(name.removeprefix("X-Card-"))]
    assert len(cvv_places) > 20 and {value for _, value in cvv_places} <= {"***"}, cvv_places
    assert "411111xxxxxx1111" in written["recording/traffic.har"]  # masked, not dropped
