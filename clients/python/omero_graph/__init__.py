"""omero-graph for notebooks: the federated OMERO + BIOMERO graph with the standard library only.

    from omero_graph import Graph
    graph = Graph("http://localhost:4000/graphql", session_key=conn.getSession().getUuid().val)
    graph.images(dataset=1).to_dataframe()

Calls and their GraphQL operations: docs/clients.md ("Python client").
"""

__version__ = "0.1.0"

from .client import Graph, Subscription  # noqa: E402
from .errors import (  # noqa: E402
    BadUserInput,
    ConnectionFailed,
    Forbidden,
    GraphError,
    InvalidQuery,
    LoginFailed,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
)
from .records import Lineage, Records  # noqa: E402

__all__ = [
    "Graph", "Subscription", "Records", "Lineage",
    "GraphError", "Unauthenticated", "Forbidden", "NotFound", "BadUserInput", "InvalidQuery",
    "LoginFailed", "ServiceUnavailable", "RateLimited", "ConnectionFailed",
]
