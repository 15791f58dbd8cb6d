"""``Graph``: the notebook's handle on the omero-graph gateway."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
from typing import Any, Iterator

from . import operations as ops
from .errors import ConnectionFailed, GraphError, NotFound, RateLimited, ServiceUnavailable, error_from_response
from .records import Lineage, Records, key_value_columns, omero_id
from .sse import events as sse_events
from .transport import STREAM_BROKEN, Transport

#: a run's own events after which it does not change any more
FINAL_RUN_EVENTS = frozenset({"WorkflowRun.WorkflowCompleted", "WorkflowRun.WorkflowFailed"})
#: stream errors after which a subscription resumes from its cursor rather than failing
RESUMABLE_CODES = frozenset({"SLOW_CONSUMER", "SERVICE_UNAVAILABLE", "DOWNSTREAM_SERVICE_ERROR", "SHUTTING_DOWN", "RATE_LIMITED", "INTERNAL_SERVER_ERROR"})
#: the gateway's page-size limit (MAX_PAGE_SIZE; docs/limits.md)
MAX_PAGE_SIZE = 500
#: wells per page of images(plate=...): wells × fields × annotations count against MAX_COST
PLATE_WELLS_PER_PAGE = 20


def _graphql_url(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/graphql") else url + "/graphql"


def _global_id(of: Any, default_type: str = "Image") -> str:
    """42 → "Image:42"; "Plate:7", "WorkflowRun:<uuid>", … unchanged."""
    if isinstance(of, int) or (isinstance(of, str) and of.isdigit()):
        return f"{default_type}:{of}"
    return str(of)


def _listed(value: Any) -> list[Any] | None:
    if value is None:
        return None
    return [value] if isinstance(value, (str, int)) else list(value)


def _connection(value: Any) -> dict[str, Any] | None:
    """The first object holding pageInfo and nodes (or edges), depth first."""
    if isinstance(value, dict):
        if "pageInfo" in value and ("nodes" in value or "edges" in value):
            return value
        for child in value.values():
            found = _connection(child)
            if found is not None:
                return found
    return None


class Graph:
    """A signed-in connection to the gateway.

    ``Graph(url, session_key=...)`` uses an existing OMERO session (from OMERO.web, omero-py or
    ezomero: ``conn.getSession().getUuid().val``, see ``Graph.from_connection``);
    ``Graph(url, username=..., password=...)`` signs in through the gateway's ``login`` and
    ``close()`` (or leaving a ``with`` block) signs out again.
    """

    def __init__(self, url: str, session_key: str | None = None, *, username: str | None = None,
                 password: str | None = None, timeout: float = 60.0, max_retries: int = 3,
                 max_retry_wait: float = 60.0) -> None:
        if session_key and (username or password):
            raise ValueError("pass session_key, or username and password, not both")
        self.url = _graphql_url(url)
        self._transport = Transport(self.url, session_key=session_key, timeout=timeout,
                                    max_retries=max_retries, max_retry_wait=max_retry_wait)
        self._signed_in = False
        self.user: dict[str, Any] | None = None
        if username is not None or password is not None:
            if not username or not password:
                raise ValueError("username and password go together")
            self.user = self.query(ops.LOGIN, username=username, password=password)["login"]
            self._transport.session_key = self.user["sessionKey"]
            self._signed_in = True

    @classmethod
    def from_connection(cls, url: str, conn: Any, **options: Any) -> "Graph":
        """Reuses an omero-py ``BlitzGateway`` (or ezomero) connection's session: no second sign-in."""
        return cls(url, session_key=conn.getSession().getUuid().val, **options)

    @property
    def session_key(self) -> str | None:
        return self._transport.session_key

    # --- plain GraphQL -----------------------------------------------------------------------

    def query(self, document: str, **variables: Any) -> dict[str, Any]:
        """Runs a query or mutation; its ``data``. Any GraphQL error raises (partial data on it)."""
        return self._transport.post({"query": document, "variables": variables})["data"]

    def paginate(self, document: str, **variables: Any) -> Iterator[dict[str, Any]]:
        """The nodes of the (first) connection in a document that takes ``$after`` and selects
        ``pageInfo { hasNextPage endCursor }``, page after page to the end."""
        for _data, connection in self._pages(document, variables):
            nodes = connection.get("nodes")
            yield from nodes if nodes is not None else (edge["node"] for edge in connection["edges"])

    def _pages(self, document: str, variables: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        after = variables.pop("after", None)
        while True:
            data = self.query(document, **variables, after=after)
            connection = _connection(data)
            if connection is None:
                return  # the connection's parent is null (e.g. an unknown dataset)
            yield data, connection
            info = connection["pageInfo"]
            if not info.get("hasNextPage") or not info.get("endCursor") or info["endCursor"] == after:
                return
            after = info["endCursor"]

    # --- the common notebook jobs --------------------------------------------------------------

    def images(self, dataset: int | None = None, plate: int | None = None, *, namespace: str | None = None,
               page_size: int = 100) -> Records:
        """The images of a dataset, or of a plate's wells, one record per image, with their
        key-value pairs (map annotations, optionally of one namespace) as columns."""
        if (dataset is None) == (plate is None):
            raise ValueError("pass dataset=<id> or plate=<id>")
        page = min(page_size, MAX_PAGE_SIZE)
        rows = Records()
        if dataset is not None:
            pages = self._pages(ops.DATASET_IMAGES, {"id": str(dataset), "namespace": namespace, "first": page})
            for data, connection in self._found(pages, f"Dataset {dataset}"):
                for image in connection["nodes"]:
                    rows.append(self._image_row(image, {"dataset_id": omero_id(data["dataset"]["id"]), "dataset_name": data["dataset"]["name"]}))
        else:
            # wells × fields × annotations: 20 wells a page stay under the default cost limit
            pages = self._pages(ops.PLATE_IMAGES, {"id": str(plate), "namespace": namespace, "first": min(page, PLATE_WELLS_PER_PAGE)})
            for data, connection in self._found(pages, f"Plate {plate}"):
                for well in connection["nodes"]:
                    for field, sample in enumerate(well["samples"]):
                        if sample.get("image"):
                            rows.append(self._image_row(sample["image"], {
                                "plate_id": omero_id(data["plate"]["id"]), "plate_name": data["plate"]["name"], "well_id": omero_id(well["id"]),
                                "well": well["label"], "row": well["row"], "column": well["column"], "field": field}))
        return rows

    @staticmethod
    def _found(pages: Iterator[tuple[dict[str, Any], dict[str, Any]]], what: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        first = True
        for page in pages:
            first = False
            yield page
        if first:
            raise NotFound(f"{what} does not exist or you may not see it", "NOT_FOUND")

    @staticmethod
    def _image_row(image: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
        row = {"image_id": omero_id(image["id"]), "image_name": image["name"], **container,
               "acquisition_date": image["acquisitionDate"], "owner": (image.get("owner") or {}).get("userName")}
        return key_value_columns(row, image.get("mapAnnotations") or [])

    def import_orders(self, *, stage: str | list[str] | None = None, user: str | None = None, group: str | None = None,
                      destination: tuple[str, int] | None = None, created_after: Any = None, created_before: Any = None,
                      file_name_contains: str | None = None, limit: int | None = None, page_size: int = 100) -> Records:
        """Import orders you may see, newest first, filtered like the importer dashboard.
        ``stage``: PENDING, STARTED, PREPROCESSING, COMPLETED, FAILED or UNKNOWN (or a list);
        ``destination``: ("Dataset", 1) or ("Screen", 1); times: datetime or ISO 8601 text."""
        flt = {"stages": _listed(stage), "userName": user, "groupName": group,
               "destination": {"type": destination[0].upper(), "id": str(destination[1])} if destination else None,
               "createdAfter": created_after, "createdBefore": created_before, "fileNameContains": file_name_contains}
        rows = Records()
        for o in self._limited(ops.IMPORT_ORDERS, {k: v for k, v in flt.items() if v is not None}, limit, page_size):
            rows.append({
                "uuid": o["uuid"], "stage": o["stage"], "stage_raw": o["stageRaw"], "user": o["user"]["userName"],
                "group": o["group"]["name"], "destination_type": o["destinationType"], "destination_id": omero_id(o["destinationId"]),
                "file_names": o["fileNames"], "created_at": o["createdAt"], "updated_at": o["updatedAt"],
                "finished_at": o["finishedAt"], "duration_seconds": o["durationSeconds"], "description": o["description"]})
        return rows

    def workflow_runs(self, *, status: str | list[str] | None = None, user_id: int | None = None, group_id: int | None = None,
                      created_after: Any = None, created_before: Any = None, limit: int | None = None,
                      page_size: int = 100) -> Records:
        """BIOMERO workflow runs you may see, newest first. ``status``: e.g. "DONE", "FAILED",
        "JOB_RUNNING" (or a list); ``user_id`` / ``group_id``: OMERO ids."""
        flt = {"statuses": _listed(status), "userId": None if user_id is None else str(user_id),
               "groupId": None if group_id is None else str(group_id), "createdAfter": created_after, "createdBefore": created_before}
        rows = Records()
        for r in self._limited(ops.WORKFLOW_RUNS, {k: v for k, v in flt.items() if v is not None}, limit, page_size):
            rows.append({
                "id": r["id"], "name": r["name"], "version": r["version"], "status": r["status"], "status_raw": r["statusRaw"],
                "slurm_state": r["slurmState"], "progress": r["progress"],
                "user": (r["user"] or {}).get("userName"), "user_id": omero_id((r["user"] or {}).get("id")),
                "group": (r["group"] or {}).get("name"), "group_id": omero_id((r["group"] or {}).get("id")),
                "created_at": r["createdAt"], "started_at": r["startedAt"], "finished_at": r["finishedAt"], "error": r["error"],
                "tasks": ", ".join(t["name"] for t in r["tasks"])})
        return rows

    def workflow_statistics(self, start: Any, end: Any, *, group_by: str | list[str] = "PERIOD", period: str = "DAY",
                            workflow: str | None = None, status: str | list[str] | None = None, user_id: int | None = None,
                            group_id: int | None = None) -> Records:
        """Usage statistics of the workflow runs you may see that were created in [start, end), one
        row per bucket: ``group_by`` any of PERIOD, WORKFLOW, WORKFLOW_VERSION, USER, GROUP, STATUS
        (with PERIOD, ``period`` DAY, WEEK or MONTH, and empty periods as rows of zeros). Columns: the
        keys grouped by (``period_start``, ``workflow``, ``workflow_version``, ``user_id``,
        ``group_id``, ``status``), ``runs``, ``succeeded``, ``failed``, ``success_rate``,
        ``failure_rate``, ``slurm_jobs``, ``runs_<STATUS>`` per status, and ``queue_wait_``,
        ``run_time_``, ``total_`` + ``count``, ``mean``, ``p50``, ``p90``, ``p99`` (seconds).
        One request (workflowStatisticsTable); ``.to_dataframe()`` gives a pandas DataFrame."""
        keys = [k.upper() for k in _listed(group_by) or []]
        flt = {"workflow": workflow, "statuses": _listed(status), "userId": None if user_id is None else str(user_id),
               "groupId": None if group_id is None else str(group_id)}
        table = self.query(ops.WORKFLOW_STATISTICS, range={"from": start, "to": end}, groupBy=keys, period=period.upper(),
                           filter={k: v for k, v in flt.items() if v is not None} or None)["workflowStatisticsTable"]
        key_columns = {"PERIOD": ("period_start", "periodStart"), "WORKFLOW": ("workflow", "workflow"),
                       "WORKFLOW_VERSION": ("workflow_version", "workflowVersion"), "USER": ("user_id", "userId"),
                       "GROUP": ("group_id", "groupId"), "STATUS": ("status", "status")}
        columns: dict[str, list[Any]] = {name: table[field] for key, (name, field) in key_columns.items() if key in keys}
        for name, field in (("runs", "runs"), ("succeeded", "succeeded"), ("failed", "failed"), ("success_rate", "successRate"),
                            ("failure_rate", "failureRate"), ("slurm_jobs", "slurmJobs")):
            columns[name] = table[field]
        for by_status in table["byStatus"]:
            columns[f"runs_{by_status['status']}"] = by_status["counts"]
        for prefix, field in (("queue_wait", "queueWait"), ("run_time", "runTime"), ("total", "total")):
            for measure, values in table[field].items():
                columns[f"{prefix}_{measure}"] = values
        for name in ("user_id", "group_id"):
            if name in columns:
                columns[name] = [omero_id(v) for v in columns[name]]
        return Records({name: values[i] for name, values in columns.items()} for i in range(table["length"]))

    def _limited(self, document: str, flt: dict[str, Any], limit: int | None, page_size: int) -> Iterator[dict[str, Any]]:
        first = min(page_size, MAX_PAGE_SIZE, limit or MAX_PAGE_SIZE)
        for n, node in enumerate(self.paginate(document, filter=flt or None, first=first)):
            if limit is not None and n >= limit:
                return
            yield node

    def lineage(self, of: Any, *, direction: str = "UPSTREAM", depth: int = 5, as_of: Any = None) -> Lineage:
        """The provenance DAG around one object: 42 means Image:42; else a global id such as
        "Plate:7", "ImportOrder:<uuid>", "WorkflowRun:<uuid>". direction: UPSTREAM (where it came
        from), DOWNSTREAM (what was made from it) or BOTH."""
        data = self.query(ops.LINEAGE, of=_global_id(of), direction=direction, depth=depth, asOf=as_of)["lineage"]
        if data["root"].startswith("redacted:"):
            raise NotFound(f"{_global_id(of)} does not exist or you may not see it", "NOT_FOUND")
        return Lineage(data)

    def download_prov(self, of: Any, path: str | os.PathLike[str], **options: Any) -> str:
        """Writes the lineage as W3C PROV-JSON to path (a file, or a folder to put <id>.prov.json in)."""
        return self._download(of, "prov", path, **options)

    def download_crate(self, of: Any, path: str | os.PathLike[str], **options: Any) -> str:
        """Writes the lineage as a Workflow Run RO-Crate (JSON-LD) to path (file or folder)."""
        return self._download(of, "crate", path, **options)

    def _download(self, of: Any, kind: str, path: str | os.PathLike[str], *, direction: str | None = None,
                  depth: int | None = None, as_of: Any = None) -> str:
        gid = _global_id(of)
        params = {k: v for k, v in {"direction": direction, "depth": depth, "asOf": as_of.isoformat() if hasattr(as_of, "isoformat") else as_of}.items() if v is not None}
        url = f"{self.url[: -len('/graphql')]}/lineage/{urllib.parse.quote(gid, safe=':')}.{kind}.json"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        target = os.fspath(path)
        if os.path.isdir(target):
            target = os.path.join(target, re.sub(r"[^\w.:-]+", "_", gid).replace(":", "-") + f".{kind}.json")
        partial = target + ".part"
        try:
            with open(partial, "wb") as out:
                self._transport.download(url, out.write)
            os.replace(partial, target)  # never a half-written file under the real name
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        return target

    # --- live ---------------------------------------------------------------------------------

    def subscribe(self, document: str, *, after: str | None = None, read_timeout: float = 90.0,
                  max_reconnects: int = 10, **variables: Any) -> "Subscription":
        """Iterates the results (``data``) of a subscription that takes ``$after``, over SSE.
        After a dropped connection it subscribes again from the last event's ``cursor``: nothing
        lost, nothing repeated. Ctrl-C (or ``.close()``, or leaving the loop) ends it cleanly."""
        return Subscription(self._transport, document, variables, after, read_timeout, max_reconnects)

    def follow_workflow_run(self, run_id: str, *, after: str | None = None, **options: Any) -> Iterator[dict[str, Any]]:
        """The events of one workflow run, as they happen, until it completes or fails: first
        those already stored (unless ``after`` names where to start), then live. Ctrl-C ends it
        cleanly."""
        try:
            yield from self._follow(run_id, after, options)
        except KeyboardInterrupt:
            return

    def _follow(self, run_id: str, after: str | None, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
        cursor = after
        if cursor is None:
            found = False
            for _data, connection in self._pages(ops.WORKFLOW_RUN_HISTORY, {"id": run_id, "first": MAX_PAGE_SIZE}):
                found = True
                for event in connection["nodes"]:
                    cursor = event["cursor"]
                    yield event
                    if event["taskId"] is None and event["type"] in FINAL_RUN_EVENTS:
                        return
            if not found:
                raise NotFound(f"Workflow run {run_id} does not exist or you may not see it", "NOT_FOUND")
        live = self.subscribe(ops.WORKFLOW_RUN_EVENTS, runId=run_id, after=cursor, **options)
        try:
            for data in live:
                event = data["workflowRunEvents"]
                yield event
                if event["taskId"] is None and event["type"] in FINAL_RUN_EVENTS:
                    return
        finally:
            live.close()

    # --- session ------------------------------------------------------------------------------

    def logout(self) -> bool:
        """Closes the OMERO session this Graph uses (whoever opened it)."""
        closed = bool(self.query(ops.LOGOUT)["logout"])
        self._signed_in = False
        return closed

    def close(self) -> None:
        """Signs out when this Graph signed in (a session key you passed in stays open)."""
        if self._signed_in:
            self.logout()

    def __enter__(self) -> "Graph":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Subscription:
    """An SSE subscription that resumes from its last cursor. Iterate it; ``.cursor`` is the
    last event's cursor, ``.reconnects`` how often it had to resume."""

    def __init__(self, transport: Transport, document: str, variables: dict[str, Any], after: str | None,
                 read_timeout: float, max_reconnects: int) -> None:
        self._transport = transport
        self._document = document
        self._variables = variables
        self.cursor = after
        self.reconnects = 0
        self._read_timeout = read_timeout
        self._max_reconnects = max_reconnects
        self._response: Any = None
        self._closed = False
        self._iterator = self._run()

    def __iter__(self) -> "Subscription":
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._iterator)

    def close(self) -> None:
        """Ends the subscription and its connection."""
        self._closed = True
        self._iterator.close()
        self._drop()

    def drop_connection(self) -> None:
        """Breaks the current connection as a network failure would (the loop then resumes);
        for tests and for trying the resume rule by hand."""
        self._drop()

    def _drop(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            try:
                response.fp.raw._sock.shutdown(2)  # wakes a blocked read at once
            except (AttributeError, OSError):
                pass
            response.close()

    def _run(self) -> Iterator[dict[str, Any]]:
        failures = 0
        try:
            while not self._closed:
                got_event = False
                try:
                    self._response = self._transport.open_stream(
                        {"query": self._document, "variables": {**self._variables, "after": self.cursor}}, self._read_timeout)
                    for message in sse_events(self._response):
                        if message.event == "complete":
                            break  # the server ended the stream: resume below
                        if message.event != "next":
                            continue
                        result = json.loads(message.data)
                        if result.get("errors"):
                            error = error_from_response(result)
                            if error.code not in RESUMABLE_CODES:
                                raise error
                            if isinstance(error, RateLimited) and error.retry_after:
                                time.sleep(min(error.retry_after, self._transport.max_retry_wait))
                            break
                        got_event = True
                        failures = 0
                        data = result.get("data") or {}
                        cursor = _cursor_of(data)
                        if cursor:
                            self.cursor = cursor
                        yield data
                except (ConnectionFailed, ServiceUnavailable):
                    pass  # the gateway is (re)starting: resume below
                except GraphError:
                    raise
                except STREAM_BROKEN:
                    pass  # the connection broke mid-stream: resume below
                finally:
                    self._drop()
                if self._closed:
                    return
                failures = 0 if got_event else failures + 1
                if failures > self._max_reconnects:
                    raise ConnectionFailed(f"the subscription could not be resumed after {self._max_reconnects} attempts")
                self.reconnects += 1
                time.sleep(min(5.0, 0.1 * 2 ** max(0, failures - 1)) if failures else 0)
        except KeyboardInterrupt:
            return  # Ctrl-C ends the loop cleanly, the connection closed above


def _cursor_of(data: dict[str, Any]) -> str | None:
    for value in data.values():
        if isinstance(value, dict) and isinstance(value.get("cursor"), str):
            return value["cursor"]
    return None
