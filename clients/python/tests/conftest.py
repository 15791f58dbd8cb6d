"""The demo stack these tests run against: started by test/clients/python.test.ts (npm test),
which passes its addresses and the demo world in the environment."""

import json
import os
import urllib.request
import uuid

import pytest

from omero_graph import Graph


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: run through npm test (test/clients/python.test.ts)")
    return value


@pytest.fixture(scope="session")
def url() -> str:
    return _env("OMERO_GRAPH_URL")


@pytest.fixture(scope="session")
def session_key() -> str:
    """alice's demo session key"""
    return _env("OMERO_GRAPH_SESSION_KEY")


@pytest.fixture(scope="session")
def world() -> dict:
    """{"ids": DEMO, "sessions": {user: key}, "passwords": {user: password}}"""
    return json.loads(_env("OMERO_GRAPH_TEST_WORLD"))


@pytest.fixture(scope="session")
def limited_url() -> str:
    """a second gateway over the same subgraphs: 1 request/s per identity, burst 1"""
    return _env("OMERO_GRAPH_LIMITED_URL")


@pytest.fixture()
def graph(url, session_key) -> Graph:
    return Graph(url, session_key=session_key)


class Control:
    """Appends workflow events to the demo BIOMERO database (through the jest side)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def _post(self, path: str, body) -> None:
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 204

    def new_run(self) -> tuple[str, str]:
        """A new run of alice's with one task: WorkflowInitiated and TaskAdded (run versions 0-1),
        TaskCreated (task version 0). Returns (run id, task id)."""
        run_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
        self._post("/runs", {"runId": run_id, "taskId": task_id})
        return run_id, task_id

    def append(self, *events: tuple) -> None:
        """Events (originator id, version, type[, fields]) in one transaction."""
        self._post("/events", [{"originatorId": e[0], "version": e[1], "type": e[2], "fields": e[3] if len(e) > 3 else {}} for e in events])


@pytest.fixture(scope="session")
def control() -> Control:
    return Control(_env("OMERO_GRAPH_CONTROL_URL"))
