"""Run a collection with Newman (Node.js), the pinned one of ``tools/newman`` (``npm ci`` installs it).

Secrets (the client secret, the test account's password) go to Newman in an environment file that
only this user can read, removed after the run, never on its command line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from villa_contracts.errors import ConfigError

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "newman"
"""``tools/newman`` of a checkout: package.json and package-lock.json pin Newman."""
INSTALL = "npm ci --prefix tools/newman (bash .ci/setup does it when Node.js is installed)"


class NewmanMissing(ConfigError):
    """Node.js or Newman is not installed (the message says how to install it)."""


def newman_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """The command that starts Newman: ``$VILLA_NEWMAN``, the pinned one of ``tools/newman``, or one on PATH.

    Raises:
        NewmanMissing: no Node.js, or no Newman.
    """
    environ = os.environ if environ is None else environ
    if environ.get("VILLA_NEWMAN"):
        return [environ["VILLA_NEWMAN"]]
    node = shutil.which("node")
    if node is None:
        raise NewmanMissing(
            f"Newman needs Node.js, which is not installed: install Node.js 18 or later, then {INSTALL}"
        )
    pinned = TOOLS / "node_modules" / "newman" / "bin" / "newman.js"
    if pinned.is_file():
        return [node, str(pinned)]
    on_path = shutil.which("newman")
    if on_path:
        return [on_path]
    raise NewmanMissing(f"Newman is not installed: run {INSTALL}")


@dataclass(frozen=True, slots=True)
class NewmanResult:
    """What a Newman run of one collection did.

    Attributes:
        collection: the collection file.
        junit: its JUnit report.
        output: Newman's console output.
        requests: requests sent.
        assertions: assertions run.
        failed: failed assertions, test scripts and requests.
        failures: each failure, one line (``<request>: <assertion>: <message>``).
        error: why Newman did not run the collection, if it did not.
    """

    collection: Path
    junit: Path
    output: str
    requests: int = 0
    assertions: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the run ran something and nothing failed."""
        return self.error is None and self.failed == 0 and self.requests > 0


def _summary(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_collection(
    collection: Path,
    environment: dict[str, Any],
    junit: Path,
    *,
    timeout: float = 600.0,
    environ: Mapping[str, str] | None = None,
) -> NewmanResult:
    """Run ``collection`` with ``environment`` through Newman and write its JUnit report to ``junit``.

    Args:
        collection: a Postman collection file.
        environment: the Postman environment (it may hold secrets: it is written to a private file).
        junit: where Newman writes its JUnit XML.
        timeout: seconds before the run is stopped.
        environ: the environment variables (``VILLA_NEWMAN`` picks another Newman).

    Returns:
        The counts and failures of the run.

    Raises:
        NewmanMissing: Node.js or Newman is not installed.
    """
    command = newman_command(environ)
    junit.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="villa-newman-") as scratch:
        env_file = Path(scratch) / "environment.json"
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(environment, fh)
        summary_file = Path(scratch) / "summary.json"
        args = [*command, "run", str(collection), "-e", str(env_file), "--color", "off", "--disable-unicode",
                "--reporters", "cli,junit,json", "--reporter-junit-export", str(junit),
                "--reporter-json-export", str(summary_file)]  # fmt: skip
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return NewmanResult(collection, junit, "", error=f"Newman did not finish within {timeout:.0f} s")
        output = done.stdout + done.stderr
        summary = _summary(summary_file)
    if summary is None:
        last = next((line for line in reversed(output.splitlines()) if line.strip()), "no output")
        return NewmanResult(collection, junit, output, error=f"Newman could not run {collection.name}: {last.strip()}")
    run = summary.get("run") or {}
    stats = run.get("stats") or {}

    def count(kind: str, key: str = "total") -> int:
        return int((stats.get(kind) or {}).get(key) or 0)

    failures = []
    for failure in run.get("failures") or []:
        source = (failure.get("source") or {}).get("name") or "?"
        error = failure.get("error") or {}
        test = error.get("test") or error.get("name") or "error"
        message = " ".join(str(error.get("message") or "").split())[:300]
        failures.append(f"{source}: {test}: {message}")
    failed = count("assertions", "failed") + count("requests", "failed")
    failed += count("testScripts", "failed") + count("prerequestScripts", "failed")
    return NewmanResult(
        collection,
        junit,
        output,
        requests=count("requests"),
        assertions=count("assertions"),
        failed=failed,
        failures=failures,
        error=str((run.get("error") or {}).get("message") or "") or None,
    )


def _with(environment: dict[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    changed: dict[str, Any] = json.loads(json.dumps(environment))
    for entry in changed["values"]:
        if entry["key"] in values:
            entry["value"] = values[entry["key"]]
    return changed


def mock_environment(template: dict[str, Any], base_url: str, cognito: Mapping[str, Any]) -> dict[str, Any]:
    """The mock environment pointed at the mock at ``base_url`` (its ``/__admin/cognito`` answer in ``cognito``)."""
    return _with(
        template,
        {
            "baseUrl": base_url,
            "cognitoUrl": base_url + "/",
            "cognitoClientId": str(cognito["clientId"]),
            "cognitoClientSecret": str(cognito.get("clientSecret") or ""),
            "cognitoUserPoolId": str(cognito["userPoolId"]),
            "cognitoRegion": str(cognito.get("region") or "ap-southeast-1"),
        },
    )


TARGET_VARIABLES = {
    "cognitoClientId": "VILLA_COGNITO_CLIENT_ID",
    "cognitoUserPoolId": "VILLA_COGNITO_USER_POOL_ID",
    "username": "VILLA_TEST_USERNAME",
    "password": "VILLA_TEST_PASSWORD",
}


def target_environment(
    template: dict[str, Any],
    base_url: str,
    environ: Mapping[str, str],
    *,
    allow_prod_payments: bool = False,
    cognito: bool = True,
    keys: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The dev template filled from the ``VILLA_*`` variables, for a backend that is not a mock.

    Args:
        template: the dev environment.
        base_url: the backend.
        environ: the environment variables.
        allow_prod_payments: on ``VILLA_ENV=prod``, run the payment requests too.
        cognito: whether a collection of the run logs in with Cognito (else its client and pool are not needed).
        keys: environment credential variable → the variable of ``environ`` that holds it
            (``gatewayKey`` → ``VILLA_SHOP_GATEWAY_KEY``); one not set stays empty, its requests skipped.

    Raises:
        ConfigError: naming every missing variable.
    """
    needed = {k: v for k, v in TARGET_VARIABLES.items() if cognito or k in ("username", "password")}
    missing = [name for name in needed.values() if not environ.get(name)]
    if missing:
        needs = "a test account and Cognito" if cognito else "a test account"
        extra = " (and VILLA_COGNITO_CLIENT_SECRET, VILLA_COGNITO_REGION or VILLA_COGNITO_ENDPOINT where they apply)"
        raise ConfigError(
            f"{base_url} is not a villa-contracts mock, so the collection needs {needs}: "
            f"set {', '.join(missing)}{extra if cognito else ''}"
        )
    region = environ.get("VILLA_COGNITO_REGION") or "ap-southeast-1"
    values = {key: environ[name] for key, name in needed.items()}
    values.update({key: environ[name] for key, name in (keys or {}).items() if environ.get(name)})
    env = environ.get("VILLA_ENV") or "dev"
    if env not in ("dev", "prod"):
        raise ConfigError(f"VILLA_ENV={env!r}: set it to dev or prod")
    return _with(
        template,
        {
            **values,
            "baseUrl": base_url,
            "cognitoUrl": environ.get("VILLA_COGNITO_ENDPOINT") or f"https://cognito-idp.{region}.amazonaws.com/",
            "cognitoRegion": region,
            "cognitoClientSecret": environ.get("VILLA_COGNITO_CLIENT_SECRET") or "",
            "villaEnv": env,
            "allowProdPayments": "true" if allow_prod_payments else "false",
        },
    )
