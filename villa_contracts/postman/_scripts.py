"""The JavaScript of a collection: Cognito login, link variables, guards, tests. Each function returns lines.

Scripts run in Postman's sandbox (the app, or Newman): ``pm``, ``require("crypto-js")`` and ES2017. They never
log a password, a token or a card number.
"""

from __future__ import annotations

import json
from typing import Any

LOGIN_PRE_REQUEST = """\
// Cognito's SECRET_HASH (app clients with a secret): Base64(HMAC-SHA256(secret, username + client id)).
const cryptoJs = require("crypto-js");
const clientId = pm.variables.get("cognitoClientId") || "";
const secret = pm.variables.get("cognitoClientSecret") || "";
const login = JSON.parse(pm.request.body.raw);
if (secret) {
    const username = pm.variables.replaceIn(login.AuthParameters.USERNAME);
    pm.variables.set("secretHash", cryptoJs.enc.Base64.stringify(cryptoJs.HmacSHA256(username + clientId, secret)));
} else {
    // A public app client has no secret, and Cognito refuses a SECRET_HASH it cannot check.
    delete login.AuthParameters.SECRET_HASH;
    pm.request.body.update(JSON.stringify(login, null, 2));
}"""

LOGIN_TEST = """\
pm.test("Cognito logs the user in (InitiateAuth answers 200)", function () {
    pm.response.to.have.status(200);
});
const result = (pm.response.json() || {}).AuthenticationResult || {};
pm.test("the answer carries an ID token", function () {
    pm.expect(result.IdToken, "AuthenticationResult.IdToken").to.be.a("string");
});
if (typeof result.IdToken === "string") {
    const cryptoJs = require("crypto-js");
    // Every request sends the ID token; the caller's sub is what ownerId, basketId and userId must be.
    pm.collectionVariables.set("idToken", result.IdToken);
    const part = result.IdToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = part + "===".slice((part.length + 3) % 4);
    const claims = JSON.parse(cryptoJs.enc.Utf8.stringify(cryptoJs.enc.Base64.parse(padded)));
    pm.collectionVariables.set("sub", claims.sub);
}"""

FILL = """\
// Linked values are JSON (a number, a list, a string): put each in place of its "{{variable}}".
function linkedValue(name) {
    return linked.indexOf(name) >= 0 && pm.collectionVariables.get(name) ? pm.collectionVariables.get(name) : null;
}
function fillLinked() {
    if (pm.request.body && pm.request.body.mode === "raw" && pm.request.body.raw) {
        pm.request.body.update(pm.request.body.raw.replace(/"\\{\\{([^{}"]+)\\}\\}"/g, function (match, name) {
            return linkedValue(name) === null ? match : linkedValue(name);
        }));
    }
    pm.request.url.variables.each(function (variable) {
        const match = /^\\{\\{([^{}]+)\\}\\}$/.exec(String(variable.value));
        if (match && linkedValue(match[1]) !== null) {
            variable.value = String(JSON.parse(linkedValue(match[1])));
        }
    });
}"""

REPLAY = """\
// Fresh data first: re-send what this request depends on (a request before used it up, e.g. paid the order
// or removed the cart line, or it comes later in the run).
function pick(value, path) {
    return path.reduce(function (v, key) { return v === undefined || v === null ? undefined : v[key]; }, value);
}
function resend(index) {
    if (index >= replay.length) {
        fillLinked();  // only now: the values come from the answers just received
        return;
    }
    const step = replay[index];
    const text = step.body === null ? "" : JSON.stringify(step.body);
    const raw = text.replace(/"\\{\\{([^{}"]+)\\}\\}"/g, function (match, name) {
        const value = replayed.indexOf(name) >= 0 ? pm.collectionVariables.get(name) : null;
        return value ? value : match;
    });
    const header = Object.keys(step.header).map(function (key) {
        return { key: key, value: pm.variables.replaceIn(step.header[key]) };
    });
    const url = step.url.replace(/\\{\\{([^{}]+)\\}\\}/g, function (match, name) {
        const value = replayed.indexOf(name) >= 0 ? pm.collectionVariables.get(name) : null;
        return value ? encodeURIComponent(String(JSON.parse(value))) : match;
    });
    pm.sendRequest({
        url: pm.variables.replaceIn(url),
        method: step.method,
        header: header,
        body: { mode: "raw", raw: pm.variables.replaceIn(raw) }
    }, function (error, response) {
        if (error || response.code !== step.status) {
            console.warn("re-sending " + step.name + " failed: " + (error ? error.message : "HTTP " + response.code));
            return;
        }
        const answer = response.json();
        step.captures.forEach(function (capture) {
            const value = pick(answer, capture[1]);
            if (value !== undefined) {
                pm.collectionVariables.set(capture[0], JSON.stringify(value));
            }
        });
        resend(index + 1);
    });
}
resend(0);"""


def lines(text: str) -> list[str]:
    """A script as Postman stores it: a list of lines."""
    return text.split("\n")


def js(value: Any) -> str:
    """``value`` as a JavaScript literal (JSON, on one line)."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def guard(condition: str, why: str) -> str:
    """Skip the request unless ``condition`` holds (and say why, once, on the console)."""
    return f"if (!({condition})) {{\n    console.info({js('skipped: ' + why)});\n    pm.execution.skipRequest();\n}}"


def fill(variables: list[str], *, now: bool) -> str:
    """Define ``fillLinked()``, which puts the JSON values of ``variables`` in the body and path; call it ``now``."""
    return f"const linked = {js(variables)};\n{FILL}" + ("\nfillLinked();" if now else "")


def replay(steps: list[dict[str, Any]], variables: list[str]) -> str:
    """Re-send ``steps`` (name, method, url, header, body, status, captures) before this request.

    Their ``{{variables}}`` among ``variables`` (in the body and the URL) take the JSON values the
    answers before stored; any other is Postman's own (``{{baseUrl}}``, the credential).
    """
    return f"const replay = {js(steps)};\nconst replayed = {js(variables)};\n{REPLAY}"


def tests(label: str, status: str, schema: dict[str, Any] | None, schema_name: str, media: str | None) -> str:
    """The status the contract expects, and the answer against its schema (embedded as draft-07)."""
    parts = [
        f"pm.test({js(f'{label} answers {status}, as the contract says')}, function () {{\n"
        f"    pm.response.to.have.status({int(status)});\n}});"
    ]
    if schema is not None:
        parts.append(
            f"// The contract's {schema_name} schema, as JSON Schema draft-07 (what Postman's validator reads).\n"
            f"const schema = {js(schema)};\n"
            f"pm.test({js(f'the answer matches the contract schema {schema_name}')}, function () {{\n"
            "    pm.response.to.have.jsonSchema(schema);\n});"
        )
    elif media:
        parts.append(
            f"pm.test({js(f'the answer is {media}')}, function () {{\n"
            f'    pm.expect(pm.response.headers.get("Content-Type") || "").to.include({js(media)});\n}});'
        )
    return "\n".join(parts)


def captures(status: str, stored: list[tuple[str, tuple[str, ...]]]) -> str:
    """Store what later requests take from this answer, each value as JSON."""
    pairs = js([[name, list(path)] for name, path in stored])
    return (
        f"// Later requests take these values from this answer (the contract's links).\n"
        f"if (pm.response.code === {int(status)}) {{\n"
        "    const answer = pm.response.json();\n"
        f"    {pairs}.forEach(function (capture) {{\n"
        "        const value = capture[1].reduce(function (v, key) {\n"
        "            return v === undefined || v === null ? undefined : v[key];\n"
        "        }, answer);\n"
        "        if (value !== undefined) {\n"
        "            pm.collectionVariables.set(capture[0], JSON.stringify(value));\n"
        "        }\n"
        "    });\n"
        "}"
    )


def credential(status: str, variable: str, path: tuple[str, ...], sent: str) -> str:
    """Keep the credential this answer issues in ``variable`` (as it is, not as JSON) for every later request."""
    return (
        f"// The credential later requests send ({sent}).\n"
        f"if (pm.response.code === {int(status)}) {{\n"
        f"    const issued = {js(list(path))}.reduce(function (v, key) {{\n"
        "        return v === undefined || v === null ? undefined : v[key];\n"
        "    }, pm.response.json());\n"
        '    if (typeof issued === "string") {\n'
        f"        pm.collectionVariables.set({js(variable)}, issued);\n"
        "    }\n"
        "}"
    )
