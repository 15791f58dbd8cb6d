"""Server-sent events, parsed by hand (WHATWG "event stream" framing).

The gateway answers a GraphQL request sent with ``Accept: text/event-stream`` in the
GraphQL-over-SSE "distinct connections" mode: a comment line ``:`` now and then (keep-alive), one
``event: next`` per result with the JSON result on ``data:`` lines, and ``event: complete`` (with
an empty ``data:``) when the operation ends.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator, NamedTuple


class Event(NamedTuple):
    event: str
    data: str
    id: str | None


def events(stream: BinaryIO) -> Iterator[Event]:
    """The events of a stream, until it ends. Comments (keep-alives) are skipped."""
    name, data, last_id = "", [], None
    while True:
        raw = stream.readline()
        if not raw:
            return  # the connection ended (a half-built event is dropped, as the standard says)
        line = raw.decode("utf-8").rstrip("\r\n")
        if line == "":
            if data or name:
                yield Event(name or "message", "\n".join(data), last_id)
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            last_id = value
        # "retry" and unknown fields: ignored
