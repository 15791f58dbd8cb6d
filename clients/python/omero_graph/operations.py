"""The GraphQL operations behind the convenience calls (docs/clients.md lists them per call)."""

_KV = "mapAnnotations(namespace: $namespace) { namespace pairs { key value } }"
_IMAGE = f"id name acquisitionDate owner {{ userName }} {_KV}"
_PAGE = "pageInfo { hasNextPage endCursor }"

LOGIN = """mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) { sessionKey userId userName isAdmin memberOfGroups leaderOfGroups }
}"""

LOGOUT = "mutation Logout { logout }"

DATASET_IMAGES = f"""query DatasetImages($id: ID!, $namespace: String, $first: Int, $after: String) {{
  dataset(id: $id) {{ id name images(first: $first, after: $after) {{ nodes {{ {_IMAGE} }} {_PAGE} }} }}
}}"""

PLATE_IMAGES = f"""query PlateImages($id: ID!, $namespace: String, $first: Int, $after: String) {{
  plate(id: $id) {{ id name wells(first: $first, after: $after) {{
    nodes {{ id label row column samples {{ image {{ {_IMAGE} }} }} }} {_PAGE}
  }} }}
}}"""

IMPORT_ORDERS = f"""query ImportOrders($filter: ImportOrderFilter, $first: Int, $after: String) {{
  importOrders(filter: $filter, first: $first, after: $after) {{
    nodes {{
      uuid stage stageRaw user {{ userName }} group {{ name }} destinationType destinationId
      fileNames createdAt updatedAt finishedAt durationSeconds description
    }}
    {_PAGE}
  }}
}}"""

WORKFLOW_RUNS = f"""query WorkflowRuns($filter: WorkflowRunFilter, $first: Int, $after: String) {{
  workflowRuns(filter: $filter, first: $first, after: $after) {{
    nodes {{
      id name version status statusRaw slurmState progress user {{ id userName }} group {{ id name }}
      createdAt startedAt finishedAt error tasks {{ name }}
    }}
    {_PAGE}
  }}
}}"""

_DURATION = "{ count mean p50 p90 p99 }"

WORKFLOW_STATISTICS = f"""query WorkflowStatisticsTable($range: TimeRange!, $groupBy: [WorkflowStatisticsKey!]!, $period: WorkflowStatisticsPeriod, $filter: WorkflowRunFilter) {{
  workflowStatisticsTable(range: $range, groupBy: $groupBy, period: $period, filter: $filter) {{
    length periodStart workflow workflowVersion userId groupId status runs byStatus {{ status counts }}
    succeeded failed successRate failureRate slurmJobs queueWait {_DURATION} runTime {_DURATION} total {_DURATION}
  }}
}}"""

LINEAGE = """query Lineage($of: ID!, $direction: LineageDirection, $depth: Int, $asOf: DateTime) {
  lineage(of: $of, direction: $direction, depth: $depth, asOf: $asOf) {
    root truncated redactedCount
    nodes { id: nodeId type kind hop redacted label startedAt endedAt status }
    edges { relation from to }
  }
}"""

_EVENT = "cursor runId taskId type timestamp data run { id status statusRaw progress finishedAt }"

WORKFLOW_RUN_HISTORY = f"""query WorkflowRunHistory($id: ID!, $first: Int, $after: String) {{
  workflowRun(id: $id) {{ id events(first: $first, after: $after) {{ nodes {{ {_EVENT} }} {_PAGE} }} }}
}}"""

#: the same selection as clients/operations/WorkflowRunEvents.graphql, plus the event's data
WORKFLOW_RUN_EVENTS = f"""subscription WorkflowRunEvents($runId: ID, $after: String) {{
  workflowRunEvents(runId: $runId, after: $after) {{ {_EVENT} }}
}}"""
