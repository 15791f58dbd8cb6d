"""Flat records (a list of dicts, always) and the lineage graph, with pandas only when asked."""

from __future__ import annotations

from typing import Any, Iterable


class Records(list):
    """A ``list[dict]`` of flat rows; ``.to_dataframe()`` when pandas is importable."""

    def to_dataframe(self) -> Any:
        try:
            import pandas  # optional: the client itself needs only the standard library
        except ImportError:
            raise ImportError("to_dataframe() needs pandas (pip install pandas); the records are a plain list of dicts") from None
        return pandas.DataFrame.from_records(list(self))

    def columns(self) -> list[str]:
        """Every key of every row, in first-seen order."""
        seen: dict[str, None] = {}
        for row in self:
            seen.update(dict.fromkeys(row))
        return list(seen)


def omero_id(value: Any) -> Any:
    """OMERO ids as ints (what omero-py and ezomero use); other ids (UUIDs) unchanged."""
    return int(value) if isinstance(value, str) and value.isdigit() else value


def key_value_columns(row: dict[str, Any], map_annotations: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Adds each key-value pair as a column. A key given several values (in one or several map
    annotations) gets them joined with "; ", in annotation order; a key that would overwrite one of
    the row's own columns is written as "kv:<key>"."""
    own = set(row)
    values: dict[str, list[str]] = {}
    for annotation in map_annotations or []:
        for pair in annotation.get("pairs") or []:
            values.setdefault(pair["key"], []).append(pair["value"])
    for key, vals in values.items():
        row["kv:" + key if key in own else key] = "; ".join(vals)
    return row


class Lineage:
    """The lineage DAG around one object: ``nodes`` and ``edges`` as records.

    An edge reads as PROV does: ``from`` is the subject, ``to`` the object, e.g.
    ``Image:5 WAS_GENERATED_BY WorkflowRun:…`` (from the image to the run that made it).
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.root: str = data["root"]
        self.truncated: bool = data["truncated"]
        self.redacted_count: int = data["redactedCount"]
        self.nodes = Records(
            {"id": n["id"], "type": n["type"], "kind": n["kind"], "label": n["label"], "hop": n["hop"],
             "redacted": n["redacted"], "status": n["status"], "started_at": n["startedAt"], "ended_at": n["endedAt"]}
            for n in data["nodes"]
        )
        self.edges = Records({"from": e["from"], "relation": e["relation"], "to": e["to"]} for e in data["edges"])

    def node(self, node_id: str) -> dict[str, Any] | None:
        return next((n for n in self.nodes if n["id"] == node_id), None)

    def adjacency(self, reverse: bool = False) -> dict[str, list[str]]:
        """Every node id → the ids its edges point to (``from`` → ``to``; reverse=True: ``to`` →
        ``from``), with nodes without such edges mapped to []. Plain dicts: no networkx needed."""
        result: dict[str, list[str]] = {n["id"]: [] for n in self.nodes}
        for e in self.edges:
            a, b = (e["to"], e["from"]) if reverse else (e["from"], e["to"])
            targets = result.setdefault(a, [])
            if b not in targets:
                targets.append(b)
        return result

    def __repr__(self) -> str:
        return f"Lineage(root={self.root!r}, nodes={len(self.nodes)}, edges={len(self.edges)}, truncated={self.truncated})"
