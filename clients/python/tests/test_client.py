"""Queries, pagination, the notebook calls, downloads and errors, against the real demo stack."""

import json
import math
import os
import subprocess
import sys
import time

import pytest

import omero_graph
from omero_graph import (BadUserInput, ConnectionFailed, Graph, GraphError, InvalidQuery, LoginFailed, NotFound,
                         RateLimited, Records, Unauthenticated)

IMAGES_PAGE = "query($first: Int, $after: String) { images(first: $first, after: $after) { nodes { id name } pageInfo { hasNextPage endCursor } } }"


def test_query_returns_data(graph):
    assert graph.query("query($id: ID!) { image(id: $id) { id name } }", id="1")["image"]["id"] == "1"
    assert graph.query("{ me { userName } }") == {"me": {"userName": "alice"}}


def test_paginate_follows_page_info_to_the_end(graph):
    everything = [n["id"] for n in graph.query(IMAGES_PAGE, first=500)["images"]["nodes"]]
    assert len(everything) > 8  # at least three pages of 4
    calls = []
    original = graph.query
    graph.query = lambda document, **v: calls.append(v["after"]) or original(document, **v)
    paged = [n["id"] for n in graph.paginate(IMAGES_PAGE, first=4)]
    assert paged == everything
    assert len(calls) == math.ceil(len(everything) / 4)
    assert calls[0] is None and len(set(calls)) == len(calls)


def test_images_of_a_dataset_have_their_key_value_pairs_as_columns(graph, world):
    ids = world["ids"]
    rows = graph.images(dataset=ids["datasets"]["aliceRaw"])
    assert isinstance(rows, Records) and all(type(r) is dict for r in rows)
    expected = graph.query("""query($id: ID!) { dataset(id: $id) { images(first: 100) { nodes { id
        mapAnnotations { pairs { key value } } } } } }""", id=str(ids["datasets"]["aliceRaw"]))["dataset"]["images"]["nodes"]
    assert sorted(r["image_id"] for r in rows) == sorted(int(i["id"]) for i in expected)
    for image in expected:
        row = next(r for r in rows if r["image_id"] == int(image["id"]))
        assert row["dataset_id"] == ids["datasets"]["aliceRaw"]
        for pair in (p for a in image["mapAnnotations"] for p in a["pairs"]):
            assert pair["value"] in row[pair["key"]].split("; ")
    row1 = next(r for r in rows if r["image_id"] == ids["images"]["aliceRaw1"])
    assert row1["UUID"] == ids["importOrders"]["completed"]
    assert "UUID" in rows.columns()


def test_images_of_a_plate_one_row_per_field(graph, world):
    ids = world["ids"]
    rows = graph.images(plate=ids["plates"]["plate1"], page_size=2)  # several pages of wells
    by_well = {r["well"]: r for r in rows}
    assert set(by_well) == {"A1", "A2", "A3", "B1", "B2", "B3"}
    assert by_well["A1"]["image_id"] == ids["images"]["plateA1"]
    assert by_well["B3"]["image_id"] == ids["images"]["plateB3"]
    assert (by_well["B3"]["row"], by_well["B3"]["column"], by_well["B3"]["field"]) == (1, 2, 0)


def test_images_of_a_missing_dataset_is_not_found(graph):
    with pytest.raises(NotFound) as err:
        graph.images(dataset=999999)
    assert err.value.code == "NOT_FOUND"


def test_import_orders_with_filters(graph, world):
    orders = world["ids"]["importOrders"]
    everything = graph.import_orders()
    assert {orders["completed"], orders["screen"]} <= {o["uuid"] for o in everything}
    created = [o["created_at"] for o in everything]
    assert created == sorted(created, reverse=True)  # newest first
    completed = graph.import_orders(stage="COMPLETED")
    assert completed and all(o["stage"] == "COMPLETED" for o in completed)
    assert orders["started"] not in {o["uuid"] for o in completed}
    assert [o["uuid"] for o in graph.import_orders(destination=("Screen", world["ids"]["screens"]["drugScreen"]))] == [orders["screen"]]
    assert len(graph.import_orders(limit=2)) == 2
    assert all(o["user"] == "alice" for o in graph.import_orders(user="alice"))
    assert graph.import_orders(created_after="2100-01-01T00:00:00Z") == []


def test_workflow_runs_with_filters(graph, world):
    cellpose = world["ids"]["workflows"]["cellpose"]["id"]
    done = graph.workflow_runs(status="DONE")
    assert cellpose in {r["id"] for r in done} and all(r["status"] == "DONE" for r in done)
    running = world["ids"]["workflows"]["running"]["id"]
    assert running not in {r["id"] for r in done}
    assert all(r["user_id"] == 2 for r in graph.workflow_runs(user_id=2))
    assert len(graph.workflow_runs(limit=1)) == 1


def test_workflow_statistics_rows_per_bucket(graph, world):
    # every day of a month, empty ones as rows of zeros
    days = graph.workflow_statistics("2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z")
    assert [r["period_start"] for r in days][:2] == ["2030-01-01T00:00:00.000Z", "2030-01-02T00:00:00.000Z"]
    assert len(days) == 31 and all(r["runs"] == 0 and r["queue_wait_p50"] is None for r in days)
    by_workflow = graph.workflow_statistics("2020-01-01T00:00:00Z", "2060-01-01T00:00:00Z", group_by=["workflow"], period="MONTH")
    assert by_workflow and all(set(r) >= {"workflow", "runs", "success_rate", "queue_wait_p50", "total_p99"} for r in by_workflow)
    assert "status" not in by_workflow.columns() and "period_start" not in by_workflow.columns()
    # over all time by status: the runs workflow_runs lists, counted per status
    everything = graph.workflow_statistics("2020-01-01T00:00:00Z", "2060-01-01T00:00:00Z", group_by="status", period="MONTH")
    counted = {r["status"]: r["runs"] for r in everything}
    listed: dict = {}
    for run in graph.workflow_runs():
        listed[run["status"]] = listed.get(run["status"], 0) + 1
    assert counted == listed
    assert all(r[f"runs_{r['status']}"] == r["runs"] for r in everything)
    mine = graph.workflow_statistics("2020-01-01T00:00:00Z", "2060-01-01T00:00:00Z", group_by=["user"], period="MONTH", user_id=2)
    assert [r["user_id"] for r in mine] in ([2], [])


def test_lineage_as_nodes_edges_and_adjacency(graph, world):
    ids = world["ids"]
    run = f"WorkflowRun:{ids['workflows']['cellpose']['id']}"
    seg = f"Image:{ids['images']['aliceSeg1']}"
    lineage = graph.lineage(ids["images"]["aliceSeg1"])
    assert lineage.root == seg and not lineage.truncated
    assert {"from": seg, "relation": "WAS_GENERATED_BY", "to": run} in lineage.edges
    assert lineage.node(run)["type"] == "WorkflowRun"
    adjacency = lineage.adjacency()
    assert set(adjacency) == {n["id"] for n in lineage.nodes}
    assert run in adjacency[seg] and f"Image:{ids['images']['aliceRaw1']}" in adjacency[run]
    assert seg in lineage.adjacency(reverse=True)[run]
    with pytest.raises(NotFound):
        graph.lineage(999999)


def test_prov_json_and_ro_crate_download_to_a_path(graph, world, tmp_path):
    seg = world["ids"]["images"]["aliceSeg1"]
    prov_path = graph.download_prov(seg, tmp_path)
    assert os.path.basename(prov_path) == f"Image-{seg}.prov.json"
    with open(prov_path) as f:
        prov = json.load(f)
    expected = graph.query("query($of: ID!) { lineage(of: $of) { provJson } }", of=f"Image:{seg}")["lineage"]["provJson"]
    assert prov == expected
    crate_path = graph.download_crate(f"Image:{seg}", tmp_path / "lineage.crate.json", depth=2)
    with open(crate_path) as f:
        assert "@graph" in json.load(f)
    with pytest.raises(NotFound) as err:
        graph.download_prov(999999, tmp_path / "missing.json")
    assert err.value.status == 404
    assert not os.path.exists(tmp_path / "missing.json") and not os.path.exists(tmp_path / "missing.json.part")


def test_sign_in_with_a_demo_password_and_out_again(url, world):
    with Graph(url, username="carol", password=world["passwords"]["carol"]) as carol:
        assert carol.user["userName"] == "carol"
        key = carol.session_key
        assert carol.query("{ me { userName } }")["me"]["userName"] == "carol"
    with pytest.raises(Unauthenticated):
        Graph(url, session_key=key).query("{ me { userName } }")


def test_an_omero_py_connection_session_is_reused(url, session_key):
    class Uuid:  # the shape of omero-py's conn.getSession().getUuid().val
        val = session_key

    class Session:
        def getUuid(self):
            return Uuid()

    class Conn:
        def getSession(self):
            return Session()

    assert Graph.from_connection(url, Conn()).query("{ me { userName } }")["me"]["userName"] == "alice"


def test_error_classes_carry_the_graphql_code(url, graph, world):
    with pytest.raises(Unauthenticated) as err:
        Graph(url, session_key="not-a-session").query("{ me { userName } }")
    assert (err.value.code, err.value.status) == ("UNAUTHENTICATED", 401)
    with pytest.raises(LoginFailed) as err:
        Graph(url, username="alice", password="wrong")
    assert err.value.code == "LOGIN_FAILED"
    with pytest.raises(BadUserInput) as err:
        graph.query(IMAGES_PAGE, first=600)
    assert err.value.code == "BAD_USER_INPUT" and "first" in err.value.message
    with pytest.raises(InvalidQuery) as err:
        graph.query("{ noSuchField }")
    assert err.value.code == "GRAPHQL_VALIDATION_FAILED"
    with pytest.raises(NotFound) as err:
        list(graph.follow_workflow_run("00000000-0000-4000-8000-000000000000"))
    assert err.value.code == "NOT_FOUND"
    for cls in (Unauthenticated, LoginFailed, BadUserInput, InvalidQuery, NotFound, RateLimited, ConnectionFailed):
        assert issubclass(cls, GraphError)


def test_an_unreachable_gateway_is_a_graph_error_not_a_urllib_traceback():
    with pytest.raises(ConnectionFailed) as err:
        Graph("http://127.0.0.1:9/graphql", session_key="x").query("{ me { userName } }")
    assert err.value.code is None and err.value.__cause__ is None and err.value.__suppress_context__


def test_rate_limited_raises_with_retry_after_and_is_retried(limited_url, world):
    impatient = Graph(limited_url, session_key=world["sessions"]["bob"], max_retries=0)
    with pytest.raises(RateLimited) as err:
        for _ in range(10):  # burst 1: the second within a second is refused
            impatient.query("{ me { userName } }")
    assert (err.value.code, err.value.status) == ("RATE_LIMITED", 429)
    assert err.value.retry_after and err.value.retry_after >= 1
    patient = Graph(limited_url, session_key=world["sessions"]["dave"], max_retries=5)
    started = time.monotonic()
    for _ in range(3):
        assert patient.query("{ me { userName } }")["me"]["userName"] == "dave"
    assert time.monotonic() - started >= 1.5  # it waited for the bucket to refill


def test_importable_with_the_standard_library_only():
    code = ("import sys, omero_graph; "
            "print(sorted(m for m in sys.modules if m != '__main__' and m.split('.')[0] not in sys.stdlib_module_names))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(omero_graph.__file__))})
    assert eval(out.stdout) == ["omero_graph", "omero_graph.client", "omero_graph.errors", "omero_graph.operations",
                                "omero_graph.records", "omero_graph.sse", "omero_graph.transport"]


def test_to_dataframe_without_pandas_says_so(graph, world, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pandas"):
        graph.images(dataset=world["ids"]["datasets"]["aliceRaw"]).to_dataframe()


def test_to_dataframe_with_pandas(graph, world):
    pytest.importorskip("pandas")
    frame = graph.images(dataset=world["ids"]["datasets"]["aliceRaw"]).to_dataframe()
    assert "image_id" in frame.columns and "UUID" in frame.columns
