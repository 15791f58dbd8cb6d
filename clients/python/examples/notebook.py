"""A notebook's common jobs with omero_graph, standard library only (runs under `python3 -S`).

    npm start                                   # the demo stack; prints sessions and passwords
    PYTHONPATH=clients/python python3 clients/python/examples/notebook.py

Settings: OMERO_GRAPH_URL (default http://localhost:4000/graphql) and either
OMERO_GRAPH_SESSION_KEY (e.g. from omero-py: conn.getSession().getUuid().val) or
OMERO_GRAPH_USERNAME / OMERO_GRAPH_PASSWORD (default: the demo user alice).
"""

import os
import tempfile

from omero_graph import Graph

url = os.environ.get("OMERO_GRAPH_URL", "http://localhost:4000/graphql")
if os.environ.get("OMERO_GRAPH_SESSION_KEY"):
    graph = Graph(url, session_key=os.environ["OMERO_GRAPH_SESSION_KEY"])
else:
    graph = Graph(url, username=os.environ.get("OMERO_GRAPH_USERNAME", "alice"),
                  password=os.environ.get("OMERO_GRAPH_PASSWORD", "alice-demo-password"))

with graph:
    # 1. images of a dataset, key-value pairs as columns (graph.images(...).to_dataframe() with pandas)
    images = graph.images(dataset=1)
    print(f"{len(images)} images of dataset 1, columns: {', '.join(images.columns())}")
    for row in images:
        print(f"  {row['image_id']:>3} {row['image_name']:<32} import order {row.get('UUID')}")

    # 2. import orders and workflow runs, filtered
    completed = graph.import_orders(stage="COMPLETED", user="alice")
    print(f"{len(completed)} completed import orders of alice's; runs done: {[r['id'] for r in graph.workflow_runs(status='DONE', limit=3)]}")

    # 3. where a segmentation came from: the lineage as an adjacency, and as PROV-JSON
    lineage = graph.lineage(5)
    for node, targets in lineage.adjacency().items():
        print(f"  {node} -> {', '.join(targets) or '(origin)'}")
    with tempfile.TemporaryDirectory() as folder:
        print("PROV-JSON written to", graph.download_prov(5, folder))

    # 4. follow a workflow run to its end (a finished run: its stored events, then it stops)
    for event in graph.follow_workflow_run("0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b01"):
        print(f"  {event['timestamp']} {event['type']:<32} {event['run']['status']}")
