"""Every zebrunner-mcp tool through the official MCP Python SDK client, over
stdio and Streamable HTTP (initialize handshake and stateless 2026-07-28),
checked against the sandbox's own REST answers."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import pytest
from conftest import BINARY, Oracle, SuiteTree, server_env

from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.anyio

# Write tools: (idempotent, destructive); all are not read-only and not open-world.
WRITE_TOOLS = {
    "create_test_suite": (False, False),
    "update_test_suite": (True, False),
    "create_test_case": (False, False),
    "update_test_case": (True, False),
    "create_test_run": (False, False),
    "update_test_run": (True, False),
    "add_test_cases_to_run": (False, False),
    "record_test_results": (False, True),
    "rerun_launch_failures": (False, True),
    "start_launch": (False, True),
}

TOOLS = sorted(
    [
        "list_projects",
        "get_test_case",
        "search_test_cases",
        "list_test_suites",
        "get_test_suite",
        "get_project_settings",
        "list_test_runs",
        "get_test_run",
        "list_launches",
        "get_launch",
        "list_launch_tests",
        "list_milestones",
        "get_test_case_history",
        "analyze_launch_failures",
        "analyze_launch_runtime",
        "analyze_test_failure",
        "get_test_artifact",
        "coverage_report",
        "pass_rate_report",
        "find_duplicate_test_cases",
        "find_flaky_tests",
        "regression_report",
        "release_readiness",
        "defect_analytics",
        "review_test_case",
        *WRITE_TOOLS,
    ]
)

# (transport, Client mode, protocol version the connection must end up on)
TRANSPORTS = [
    pytest.param(("stdio", "auto", None), id="stdio-auto"),
    pytest.param(("http", "legacy", "2025-11-25"), id="http-legacy-session"),
    pytest.param(("http", "2026-07-28", "2026-07-28"), id="http-stateless-2026-07-28"),
]


@pytest.fixture(params=TRANSPORTS)
def connect(request, sandbox):
    kind, mode, expected_version = request.param

    @asynccontextmanager
    async def _connect(user: str = "alice"):
        if kind == "stdio":
            target = StdioServerParameters(
                command=str(BINARY), args=["serve", "--transport", "stdio"], env=server_env(sandbox, user)
            )
        else:
            assert user == "alice", "the shared HTTP server runs as alice"
            target = request.getfixturevalue("http_server")
        async with Client(target, mode=mode, read_timeout_seconds=60) as client:
            if expected_version:
                assert client.protocol_version == expected_version
            yield client

    return _connect


async def call_ok(client, name: str, args: dict | None = None) -> dict:
    result = await client.call_tool(name, args or {})
    assert not result.is_error, f"{name}({args}) failed: {result.content}"
    assert result.structured_content is not None, f"{name} returned no structuredContent"
    return result.structured_content


def text_of(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", None) == "text")


def live_cases(oracle: Oracle, project: str) -> list[dict]:
    return [c for c in oracle.test_cases(project) if not c.get("deleted")]


def key_order(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


async def search_all(client, args: dict, limit: int = 100) -> list[str]:
    keys: list[str] = []
    cursor = None
    for _ in range(200):
        out = await call_ok(client, "search_test_cases", {**args, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert out["returned"] == len(out["test_cases"]) <= limit
        keys.extend(c["key"] for c in out["test_cases"])
        if not out["has_more"]:
            assert out["total_matched"] == len(keys)
            return keys
        cursor = out["next_cursor"]
        assert cursor
    raise AssertionError("cursor walk did not end")


async def test_tools_list(connect):
    async with connect() as client:
        tools = (await client.list_tools()).tools
    assert sorted(t.name for t in tools) == TOOLS
    for tool in tools:
        assert tool.input_schema["type"] == "object", tool.name
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
        a = tool.annotations
        assert a is not None, tool.name
        if tool.name in WRITE_TOOLS:
            idempotent, destructive = WRITE_TOOLS[tool.name]
            expected = (False, destructive, idempotent, False)
        else:
            expected = (True, False, True, False)
        assert (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint) == expected, tool.name


async def test_list_projects(connect, oracle):
    expected = sorted(
        (p["id"], p["key"], p["name"]) for p in oracle.projects() if not p["deleted"]
    )
    async with connect() as client:
        out = await call_ok(client, "list_projects")
        as_json = await client.call_tool("list_projects", {"format": "json"})
    assert sorted((p["id"], p["key"], p["name"]) for p in out["projects"]) == expected
    assert out["total"] == len(expected) == 3
    assert json.loads(text_of(as_json)) == as_json.structured_content


async def test_get_test_case(connect, oracle):
    rest = oracle.case_by_key("DEMO-1")
    async with connect() as client:
        out = await call_ok(client, "get_test_case", {"key": "DEMO-1", "include_execution_history": True, "execution_limit": 5})
    c = out["test_case"]
    assert (c["id"], c["title"]) == (rest["id"], rest["title"])
    assert [(s["action"], s["expected_result"]) for s in c["steps"]] == [(s["action"], s["expectedResult"]) for s in rest["steps"]]
    assert c["priority"] == rest["priority"]["name"]
    assert c["automation_state"] == rest["automationState"]["name"]
    project_id = oracle.request("/api/projects/v1/projects/DEMO", auth="bearer")["data"]["id"]
    executions = oracle.request(f"/api/tcm/v1/test-cases/{rest['id']}/executions", {"projectId": project_id}, auth="bearer")
    executions = executions.get("items", executions)
    assert out["executions"]["total"] == len(executions)
    assert out["executions"]["shown"] == min(5, len(executions))


async def test_search_count_and_cursor_walk(connect, oracle):
    expected = sorted((c["key"] for c in live_cases(oracle, "DEMO")), key=key_order)
    async with connect() as client:
        count = await call_ok(client, "search_test_cases", {"project_key": "DEMO", "count_only": True})
        keys = await search_all(client, {"project_key": "DEMO"}, limit=64)
    assert count["total_matched"] == len(expected)
    assert len(keys) == len(set(keys)), "a key was returned twice"
    assert sorted(keys, key=key_order) == expected


FILTERS = [
    pytest.param({"automation_states": ["Automated"]}, lambda c, t: c["automationState"]["name"] == "Automated", id="automation-state"),
    pytest.param({"priorities": ["Critical"]}, lambda c, t: c["priority"]["name"] == "Critical", id="priority"),
    pytest.param({"title_contains": "password"}, lambda c, t: "password" in c["title"].lower(), id="title-contains"),
    pytest.param({"draft": True}, lambda c, t: bool(c.get("draft")), id="draft"),
    pytest.param(
        {"suite_path": "Checkout > Payments"},
        lambda c, t: c["testSuite"]["id"] in t.subtree(t.find("Checkout > Payments")),
        id="suite-with-sub-suites",
    ),
    pytest.param(
        {"field_path": "customField.component", "field_value": "cart"},
        lambda c, t: str((c.get("customField") or {}).get("component", "")).lower() == "cart",
        id="field-path",
    ),
]


@pytest.mark.parametrize("args,predicate", FILTERS)
async def test_search_filters(connect, oracle, args, predicate):
    tree = SuiteTree([s for s in oracle.suites("DEMO") if not s.get("deleted")])
    args = dict(args)
    if "suite_path" in args:
        args["suite_id"] = tree.find(args.pop("suite_path"))
    live = live_cases(oracle, "DEMO")
    expected = sorted((c["key"] for c in live if predicate(c, tree)), key=key_order)
    assert 0 < len(expected) < len(live), "oracle: the filter is selective"
    async with connect() as client:
        keys = await search_all(client, {"project_key": "DEMO", **args})
    assert sorted(keys, key=key_order) == expected


async def test_list_test_suites_paths(connect, oracle):
    tree = SuiteTree([s for s in oracle.suites("DEMO") if not s.get("deleted")])
    async with connect() as client:
        out = await call_ok(client, "list_test_suites", {"project_key": "DEMO", "limit": 200})
    assert out["total"] == len(tree.by_id)
    assert {r["id"]: r["path"] for r in out["suites"]} == {sid: tree.path(sid) for sid in tree.by_id}
    assert "Checkout > Payments > Cards > Visa > 3-D Secure" in {r["path"] for r in out["suites"]}


async def test_get_test_suite_counts(connect, oracle):
    tree = SuiteTree([s for s in oracle.suites("DEMO") if not s.get("deleted")])
    live = live_cases(oracle, "DEMO")
    payments = tree.find("Checkout > Payments")
    async with connect() as client:
        out = await call_ok(client, "get_test_suite", {"project_key": "DEMO", "suite_id": payments})
    assert out["suite"]["path"] == "Checkout > Payments"
    assert out["case_counts"]["direct"] == sum(1 for c in live if c["testSuite"]["id"] == payments)
    assert out["case_counts"]["including_descendants"] == sum(1 for c in live if c["testSuite"]["id"] in tree.subtree(payments))
    assert sorted(ch["id"] for ch in out["children"]) == sorted(tree.children.get(payments, []))


async def test_get_project_settings(connect, oracle):
    async with connect() as client:
        out = await call_ok(client, "get_project_settings", {"project_key": "API"})
    named = lambda items: [{"id": i["id"], "name": i["name"], "is_default": bool(i.get("isDefault"))} for i in items]  # noqa: E731
    assert out["automation_states"] == named(oracle.items("/api/public/v1/test-case-settings/automation-states", "API"))
    assert out["priorities"] == named(oracle.items("/api/public/v1/test-case-settings/priorities", "API"))
    statuses = oracle.items("/api/public/v1/test-run-settings/result-statuses", "API")
    assert [(s["id"], s["name"], s["is_success"]) for s in out["result_statuses"]] == [
        (s["id"], s["name"], bool(s.get("isSuccess"))) for s in statuses
    ]
    groups = oracle.items("/api/public/v1/test-run-settings/configuration-groups", "API")
    assert [(g["id"], g["name"], [o["name"] for o in g["options"]]) for g in out["configuration_groups"]] == [
        (g["id"], g["name"], [o["name"] for o in g["options"]]) for g in groups
    ]


async def test_errors_are_tool_results_with_advice(connect):
    async with connect() as client:
        missing = await client.call_tool("get_test_case", {"key": "DEMO-999999"})
        bad_project = await client.call_tool("list_test_suites", {"project_key": "9NOPE"})
    assert missing.is_error is True
    assert "search_test_cases" in text_of(missing) or "list_test_suites" in text_of(missing)
    assert bad_project.is_error is True
    assert "list_projects" in text_of(bad_project)


async def test_bob_is_forbidden_on_api_project(sandbox):
    """bob's token gets 403 on API; the tool says so and what to do."""
    bob = sandbox.users["bob"]
    target = StdioServerParameters(command=str(BINARY), args=["serve", "--transport", "stdio"], env=server_env(sandbox, "bob"))
    async with Client(target, read_timeout_seconds=60) as client:
        denied = await client.call_tool("search_test_cases", {"project_key": "API", "count_only": True})
        projects = await call_ok(client, "list_projects")
    bob_oracle = Oracle(sandbox.url, bob["login"], bob["token"])
    assert denied.is_error is True
    assert "permission" in text_of(denied).lower()
    assert sorted(p["key"] for p in projects["projects"]) == sorted(p["key"] for p in bob_oracle.projects() if not p["deleted"])


@pytest.fixture(scope="module")
def headers_server(sandbox):
    """A server with credentials = "headers": no account of its own; each request names one."""
    from conftest import start_process
    import re as _re

    proc, url = start_process(
        ["serve", "--transport", "http", "--listen", "127.0.0.1:0"],
        lambda lines: (m := _re.match(r"^mcp listening on (http://\S+/mcp)$", lines[-1])) and m.group(1),
        env={"ZEBRUNNER_URL": sandbox.url, "ZMCP_CREDENTIALS": "headers", "ZEBRUNNER_LOGIN": "", "ZEBRUNNER_TOKEN": ""},
    )
    try:
        yield url
    finally:
        proc.stop()


async def list_projects_with_headers(url: str, headers: dict[str, str]):
    import httpx2  # the SDK's HTTP client library
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60)) as http_client:
        async with streamable_http_client(url, http_client=http_client) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await session.call_tool("list_projects", {"format": "json"})


async def test_headers_mode_calls_zebrunner_as_the_header_user(sandbox, headers_server):
    """X-Zebrunner-Username / X-Zebrunner-Api-Token from the Python SDK client: each person
    sees their own Zebrunner account's projects; without them, the error says what to send."""
    for name in ["alice", "bob"]:
        user = sandbox.users[name]
        result = await list_projects_with_headers(
            headers_server,
            {"X-Zebrunner-Username": user["login"], "X-Zebrunner-Api-Token": user["token"]},
        )
        assert not result.is_error, result.content
        own = Oracle(sandbox.url, user["login"], user["token"])
        assert sorted(p["key"] for p in result.structured_content["projects"]) == sorted(
            p["key"] for p in own.projects() if not p["deleted"]
        )
    bare = await list_projects_with_headers(headers_server, {})
    assert bare.is_error is True
    assert "X-Zebrunner-Api-Token" in text_of(bare)
    wrong = await list_projects_with_headers(
        headers_server, {"X-Zebrunner-Username": sandbox.users["alice"]["login"], "X-Zebrunner-Api-Token": "revoked"}
    )
    assert wrong.is_error is True
    assert "rejected your token" in text_of(wrong)
    assert "revoked" not in text_of(wrong)


async def test_closing_a_session_is_a_clean_termination(http_server, caplog):
    """The SDK ends its session with DELETE when it closes; the server answers 204, which the
    SDK takes as a clean end (it logs "Session termination failed: 202" for a 202)."""
    import logging

    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    caplog.set_level(logging.DEBUG, logger="mcp.client.streamable_http")
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(60)) as http_client:
        async with streamable_http_client(http_server, http_client=http_client) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                result = await session.call_tool("list_projects", {"format": "json"})
                assert not result.is_error
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "Session termination failed" in m], messages
