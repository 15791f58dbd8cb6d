"""Following runs and subscriptions over SSE: resume from the cursor, end on completion, Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import pytest

from omero_graph import BadUserInput, Graph, Unauthenticated

RUN_EVENTS = """subscription($runId: ID, $after: String) {
  workflowRunEvents(runId: $runId, after: $after) { cursor type taskId }
}"""
HISTORY = "query($id: ID!, $after: String) { workflowRun(id: $id) { events(first: 500, after: $after) { nodes { cursor type } pageInfo { hasNextPage endCursor } } } }"


def test_subscribe_resumes_after_a_dropped_connection_with_nothing_repeated(graph, control):
    run, task = control.new_run()
    last = [e["cursor"] for e in graph.paginate(HISTORY, id=run)][-1]
    control.append((task, 1, "Task.TaskStarted"), (task, 2, "Task.StatusUpdated", {"status": "RUNNING"}), (run, 2, "WorkflowRun.WorkflowStarted"))
    sub = graph.subscribe(RUN_EVENTS, runId=run, after=last)
    received = [next(sub)["workflowRunEvents"]]
    sub.drop_connection()  # as a network failure would
    received += [next(sub)["workflowRunEvents"] for _ in range(2)]
    assert sub.reconnects == 1
    control.append((run, 3, "WorkflowRun.WorkflowCompleted"))
    received.append(next(sub)["workflowRunEvents"])
    sub.close()
    assert [e["type"] for e in received] == ["Task.TaskStarted", "Task.StatusUpdated", "WorkflowRun.WorkflowStarted", "WorkflowRun.WorkflowCompleted"]
    assert len({e["cursor"] for e in received}) == 4 and sub.cursor == received[-1]["cursor"]


def test_follow_workflow_run_replays_the_history_then_ends_on_completion(graph, control):
    run, task = control.new_run()
    seen = []
    for event in graph.follow_workflow_run(run):
        seen.append(event)
        if len(seen) == 3:  # the stored history: the rest happens while we follow
            control.append((task, 1, "Task.TaskStarted"), (run, 2, "WorkflowRun.WorkflowStarted"))
        if len(seen) == 4:
            control.append((run, 3, "WorkflowRun.WorkflowCompleted"))
    assert [e["type"] for e in seen] == ["WorkflowRun.WorkflowInitiated", "Task.TaskCreated", "WorkflowRun.TaskAdded",
                                         "Task.TaskStarted", "WorkflowRun.WorkflowStarted", "WorkflowRun.WorkflowCompleted"]
    assert len({e["cursor"] for e in seen}) == len(seen)
    assert seen[-1]["run"]["status"] == "DONE"


def test_follow_a_finished_run_ends_after_its_history(graph, world):
    events = list(graph.follow_workflow_run(world["ids"]["workflows"]["cellpose"]["id"]))
    assert events[0]["type"] == "WorkflowRun.WorkflowInitiated" and events[-1]["type"] == "WorkflowRun.WorkflowCompleted"


FOLLOW_SCRIPT = """
import os, sys
from omero_graph import Graph
graph = Graph(os.environ["OMERO_GRAPH_URL"], session_key=os.environ["OMERO_GRAPH_SESSION_KEY"])
for event in graph.follow_workflow_run(sys.argv[1]):
    print(event["type"], flush=True)
print("stopped", flush=True)
"""


def test_ctrl_c_ends_a_follow_cleanly(graph, world):
    running = world["ids"]["workflows"]["running"]["id"]  # never completes
    stored = len(list(graph.paginate(HISTORY, id=running)))
    child = subprocess.Popen([sys.executable, "-c", FOLLOW_SCRIPT, running], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        lines = [child.stdout.readline() for _ in range(stored)]  # the history: now it waits for live events
        assert all(lines), lines
        time.sleep(1)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert "Traceback" not in err
    assert out.strip().splitlines()[-1] == "stopped"


def test_a_refused_subscription_raises_its_code(url, graph):
    with pytest.raises(Unauthenticated) as err:
        next(Graph(url, session_key="not-a-session").subscribe(RUN_EVENTS))
    assert err.value.status == 401
    with pytest.raises(BadUserInput) as err:
        next(graph.subscribe(RUN_EVENTS, after="not-a-cursor"))
    assert err.value.code == "BAD_USER_INPUT"
