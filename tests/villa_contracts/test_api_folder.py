"""A whole throw-away API as one folder: the mock serves it, the gate runs it (its machine too), the proxy judges it.

The folder is written in a temporary directory and found on ``VILLA_API_PATH``: its contract, its domain
(``decide_*``), its model (pure predictions from the domain), its handlers, its suite (a state machine on the
engine) and its oracle (the same model, judging observed traffic). Nothing of the repository is edited: this
is ARCHITECTURE.md's "How to add an API", whole.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from villa_contracts.apis import API_PATH_VAR, EXTERNAL, packages
from villa_contracts.contract import lint, load
from villa_contracts.events import CheckFinished

pytestmark = pytest.mark.socket

CONTRACT = """\
openapi: 3.1.0
info: {title: Notes, version: 0.0.1}
x-villa: {role: api, refusalStatuses: [400, 404]}
security: []
paths:
  /api/notes:
    post:
      operationId: createNote
      summary: Keep a note.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [text]
              properties: {text: {type: string, minLength: 1, maxLength: 200}}
            example: {text: buy milk}
      responses:
        "201":
          description: The note kept.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Note"}
              example: {id: 1, text: buy milk}
          links:
            ReadIt: {operationId: getNote, parameters: {id: $response.body#/id}}
        "400": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
  /api/notes/{id}:
    get:
      operationId: getNote
      summary: Read a note.
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, minimum: 1, maximum: 1000000}, example: 1}
      responses:
        "200":
          description: The note.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Note"}
              example: {id: 1, text: buy milk}
        "400": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
components:
  schemas:
    Note:
      type: object
      additionalProperties: false
      required: [id, text]
      properties: {id: {type: integer, minimum: 1}, text: {type: string}}
    Error:
      type: object
      required: [error, code, details]
      properties:
        error: {type: string}
        code: {type: string}
        details: {type: array, items: {type: object}}
  responses:
    Error:
      description: Refused.
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
          example: {error: no such note, code: not_found, details: []}
"""

DOMAIN = '''
"""The notes' rules: a note's text is kept trimmed and must say something; a note is read by its id."""

from __future__ import annotations

from villa_contracts.domain.errors import RuleViolation


def decide_create(text: str) -> str:
    """The text kept (trimmed); a text of blanks only is refused."""
    kept = text.strip()
    if not kept:
        raise RuleViolation("invalid", "a note must say something", "/text", rule="note_says_something")
    return kept


def decide_get(known: bool, note_id: int) -> None:
    """A note that was never kept is 404."""
    if not known:
        raise RuleViolation("not_found", f"no note {note_id}", "/path/id", rule="exists")
'''

MODEL = '''
"""What a notes backend must answer: predictions from the notes' domain (pure, for the gate and the proxy)."""

from __future__ import annotations

from villa_apis.notes import domain
from villa_contracts.domain.errors import RuleViolation


class NotesModel:
    """The notes the target was seen to keep, by id."""

    def __init__(self) -> None:
        self.notes: dict[int, str] = {}

    def create(self, text: str) -> tuple[int, str | RuleViolation]:
        """(the status, the text kept or the refusal) of a create."""
        try:
            return 201, domain.decide_create(text)
        except RuleViolation as refusal:
            return refusal.status, refusal

    def get(self, note_id: int) -> tuple[int, str | RuleViolation | None]:
        """(the status, the text or the refusal) of a read; None: the note is not known to the model."""
        try:
            domain.decide_get(note_id in self.notes, note_id)
        except RuleViolation as refusal:
            return refusal.status, refusal
        return 200, self.notes[note_id]

    def kept(self, note_id: int, text: str) -> None:
        """The target kept a note."""
        self.notes[note_id] = text
'''

MOCK = '''
"""The notes in the mock."""

from __future__ import annotations

from typing import Any

from villa_apis.notes import domain

NOTES = "notes"


def create_note(call: Any) -> tuple[int, Any]:
    text = domain.decide_create(call.body["text"])
    note_id = call.state.store.next_sequence("notes")
    call.state.store.put(NOTES, str(note_id), {"id": note_id, "text": text})
    return 201, {"id": note_id, "text": text}


def get_note(call: Any) -> tuple[int, Any]:
    note = call.state.store.get(NOTES, str(call.params["id"]))
    domain.decide_get(note is not None, call.params["id"])
    return 200, note


HANDLERS = {"createNote": create_note, "getNote": get_note}
'''

SUITE = '''
"""The notes in the suites: a state machine on the engine, judged by the notes' model."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import rule

from suites.apis import Suite
from suites.property.engine import NOBODY, ApiMachine, Expect, run_machine, step
from suites.property.session import RunSession
from villa_apis.notes.model import NotesModel
from villa_contracts.domain.errors import RuleViolation


class NotesMachine(ApiMachine):
    API = "notes"

    def __init__(self) -> None:
        super().__init__()
        self.model = NotesModel()

    @rule(text=st.sampled_from(["buy milk", "  call mum  ", "   "]))
    @step
    def create(self, text: str) -> None:
        if self.skip:
            return
        status, kept = self.model.create(text)
        answer = self.call("createNote", "POST", "/api/notes", NOBODY, {"text": text})
        if isinstance(kept, RuleViolation):
            self.refused("createNote", answer, kept)
            return
        self.expect("createNote", answer, Expect(status, "expected_status", "a note that says something"))
        self.same("createNote", "note", "the note kept", kept, answer.doc.get("text"))
        self.model.kept(int(answer.doc["id"]), kept)
        self.read(len(self.model.notes) - 1, missing=False)  # and read it back at once

    @rule(pick=st.integers(0, 9), missing=st.booleans())
    @step
    def read(self, pick: int, missing: bool) -> None:
        # Only notes it saw kept, or one far past any (another client's notes are not the model's).
        if self.skip or not (missing or self.model.notes):
            return
        note_id = 999_999 if missing else sorted(self.model.notes)[pick % len(self.model.notes)]
        status, text = self.model.get(note_id)
        answer = self.call("getNote", "GET", f"/api/notes/{note_id}", NOBODY)
        if isinstance(text, RuleViolation):
            self.refused("getNote", answer, text)
            return
        self.expect("getNote", answer, Expect(status, "expected_status", "a note the target kept"))
        self.same("getNote", "note", "the note read back", text, answer.doc.get("text"))


def run_notes_machine(context: Any, **options: Any) -> Any:
    session = RunSession(context, progress=options.pop("progress", None), stop=options.pop("stop", None))
    return run_machine(NotesMachine, session, **options)


SUITE = Suite(machine=run_notes_machine)
'''

ORACLE = '''
"""The notes' checks of observed traffic: the same model as the gate's machine."""

from __future__ import annotations

from typing import Any, ClassVar

from suites.proxy.traffic_checks import TrafficCheck, traffic_check
from villa_apis.notes.model import NotesModel


@traffic_check
class NotesOracle(TrafficCheck):
    CONTRACTS: ClassVar[frozenset[str] | None] = frozenset({"notes"})

    def __init__(self, setup: Any) -> None:
        super().__init__(setup)
        self.model = NotesModel()

    def judge(self, seen: Any) -> dict[str, list[Any]]:
        operation, answer = seen.operation.operation_id, seen.response.value
        if operation == "createNote" and seen.exchange.status == 201 and isinstance(answer, dict):
            request = seen.request.value if isinstance(seen.request.value, dict) else {}
            status, kept = self.model.create(str(request.get("text", "")))
            self.model.kept(int(answer["id"]), str(answer["text"]))
            return {"notes_kept_trimmed": [] if kept == answer["text"] else [self.finding(seen, kept, answer)]}
        return {}

    def finding(self, seen: Any, kept: Any, answer: Any) -> Any:
        from suites.proxy.findings import Finding

        return Finding("notes_kept_trimmed", "response", "/text", f"expected {kept!r}, got {answer['text']!r}")
'''


@pytest.fixture
def notes_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "apis" / "notes"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text('"""A throw-away API: notes."""\n', encoding="utf-8")
    (folder / "openapi.yaml").write_text(CONTRACT, encoding="utf-8")
    for name, source in {"domain": DOMAIN, "model": MODEL, "mock": MOCK, "suite": SUITE, "oracle": ORACLE}.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    monkeypatch.setenv(API_PATH_VAR, str(folder.parent))
    _forget_external_apis()
    yield folder
    _forget_external_apis()


def _forget_external_apis() -> None:
    # Each test writes its own folder under one import name: none may see another's modules.
    for name in [name for name in sys.modules if name == EXTERNAL or name.startswith(f"{EXTERNAL}.")]:
        del sys.modules[name]


def test_discovery_finds_the_folder_and_its_contract(notes_api: Path) -> None:
    notes = next(api for api in packages() if api.name == "notes")
    assert notes.external and notes.contract_dir == notes_api
    assert [notes.has(part) for part in ("domain", "model", "mock", "suite", "oracle")] == [True] * 5
    contracts = load()
    assert "notes" in contracts.names and {c.name for c in contracts.apis} >= {"villa", "shop", "lineitems", "notes"}
    assert all(result.passed for result in lint(contracts["notes"])), [
        r for r in lint(contracts["notes"]) if not r.passed
    ]


def test_the_mock_serves_it_from_the_folder(notes_api: Path) -> None:
    with TestClient(create_app()) as api:
        created = api.post("/api/notes", json={"text": "  buy milk "})
        assert created.status_code == 201 and created.json()["text"] == "buy milk"
        assert api.get(f"/api/notes/{created.json()['id']}").json()["text"] == "buy milk"
        assert api.get("/api/notes/999").status_code == 404
        assert api.post("/api/notes", json={"text": "   "}).json()["details"][0]["pointer"] == "/text"
        assert api.get("/openapi/notes.json").json()["info"]["title"] == "Notes"


def test_the_gate_runs_it_with_its_state_machine(notes_api: Path, tmp_path: Path) -> None:
    from villa_contracts.cli import cli

    with serve_in_thread(lambda url: create_app(base_url=url), log_level="critical") as server:
        args = ["gate", "--base-url", server.base_url, "--contract", "notes", "--max-examples", "5", "--seed", "1"]
        args += ["--no-progress", "--report-dir", str(tmp_path), "--run-id", "notes"]
        result = CliRunner().invoke(cli, args)
    summary = json.loads((tmp_path / "notes" / "summary.json").read_text(encoding="utf-8"))
    assert result.exit_code == 0, result.output
    phases = {phase["name"]: phase for phase in summary["phases"]}
    assert phases["state-machine"]["checks"] > 0 and phases["schemathesis"]["checks"] > 0
    assert set(summary["operations"]) == {"notes"}


def test_the_proxy_judges_it_with_the_same_model(notes_api: Path, tmp_path: Path) -> None:
    from suites.proxy.addon import ContractProxy
    from suites.proxy.server import start_proxy

    with serve_in_thread(lambda url: create_app(base_url=url), log_level="critical") as server:
        addon = ContractProxy(listener=lambda verdict, new: None)
        settings = {"villa_upstream": server.base_url, "villa_contracts": ["notes"], "villa_run_id": "notes"}
        with start_proxy(addon, upstream=server.base_url, confdir=tmp_path / "conf", settings=settings) as proxy:
            created = httpx.post(f"{proxy.url}/api/notes", json={"text": " buy milk "}, timeout=10)
            httpx.get(f"{proxy.url}/api/notes/{created.json()['id']}", timeout=10)
        session = addon.session
        assert session is not None
        events = session.ledger.phase_events()
        judged = {(e.operation, e.check, e.passed) for e in events if isinstance(e, CheckFinished)}
    assert ("createNote", "notes_kept_trimmed", True) in judged
    assert ("getNote", "response_schema_conformance", True) in judged


def test_a_folder_whose_mock_lacks_a_handler_fails_loudly(notes_api: Path) -> None:
    from villa_contracts.errors import ContractError

    (notes_api / "mock.py").write_text(textwrap.dedent(MOCK).replace('"getNote": get_note', ""), encoding="utf-8")
    with pytest.raises(ContractError, match=r"contract 'notes'.*no handler for \['getNote'\]"):
        create_app()
    with pytest.raises(ContractError, match="did you mean 'notes'"):
        load()["notez"]
