"""Drives a `decision-matrix` MCP server with the official MCP Python SDK client.

The Rust integration test `host/tests/it/mcp_python.rs` runs this script over stdio and over
streamable HTTP, so the server is checked against a client that shares no code with rmcp.

    python mcp_client.py --stdio PATH/TO/decision-matrix [--mode legacy] [--expect-tool NAME ...]
    python mcp_client.py --http http://127.0.0.1:PORT/mcp [--mode legacy] [--expect-tool NAME ...]
    python mcp_client.py [--mode legacy] [--expect-tool NAME ...] --launch COMMAND [ARG ...]

With --stdio the script launches `decision-matrix serve` itself; with --launch it runs the
command line given, as an install channel starts the server (`scripts/check-dist`). It runs
the reference workflow, checks what a client of the Python `decision-matrix-mcp` server relies on, and
prints ONE JSON object on stdout with what it saw; the Rust test checks the scores against
its judge. Anything unexpected ends the script with a message on stderr and a non-zero exit
status, so a partial run can never pass.

Every tool must publish an `outputSchema`, and every successful result is validated against
its tool's schema twice: by the SDK itself (its `call_tool` checks structured content whenever
the tool has a schema) and explicitly here with `jsonschema`, the validator the SDK uses.

The shapes and types a client of the Python server reads are checked as that server returns
them: the evaluation counts of a second `evaluate_options`, the `insufficient_data` result of a
matrix without criteria, the error naming a bad initial criterion, and every timestamp, which
must parse by the rules of Python 3.10's `datetime.fromisoformat` (the oldest Python the
reference server supports: 3 or 6 fractional digits, an offset such as `+00:00`, never `Z`),
whatever Python runs this script.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
from datetime import datetime, timedelta
from typing import Any

import anyio
from jsonschema import exceptions as schema_errors
from jsonschema.validators import validator_for
from mcp import Client, StdioServerParameters

TOPIC = "Pick a database"
OPTIONS = ["Postgres", "SQLite", "DynamoDB"]
ADDED_OPTION = "Redis"
CRITERIA = [
    {"name": "cost", "description": "Total cost of ownership", "weight": 2.0},
    {"name": "latency", "description": "Read latency", "weight": 1.5},
]
WEIGHT_ERROR = "Invalid weight: must be between 0.1 and 10.0"
INITIAL_CRITERION_ERROR = "Invalid weight: must be between 0.1 and 10.0 for 'speed'"
INSUFFICIENT_DATA = "Need both options and criteria to generate matrix"

# What Python 3.10's `datetime.fromisoformat` reads, with the UTC offset the reference server
# writes: newer Pythons also take `Z` and any number of fractional digits, so the grammar is
# checked here rather than left to the Python running the script.
PY310_UTC_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6})?\+00:00")

# A whole run takes a few seconds; the bounds only keep a hung server from hanging the test.
CALL_TIMEOUT_SECONDS = 60
RUN_TIMEOUT_SECONDS = 240
PROGRESS_GRACE_SECONDS = 5


# The validator of each tool's `outputSchema`, from `tools/list`; the names of the tools whose
# results were validated, for the report.
VALIDATORS: dict[str, Any] = {}
VALIDATED: set[str] = set()


class Unexpected(Exception):
    """Something the server did that a client could not rely on."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Unexpected(message)


def text_of(result: Any) -> str:
    texts = [block.text for block in result.content if getattr(block, "type", None) == "text"]
    expect(len(texts) == 1, f"expected one text block, got {result.content!r}")
    return texts[0]


async def call(client: Client, tool: str, args: dict[str, Any], **kwargs: Any) -> Any:
    return await client.call_tool(tool, args, read_timeout_seconds=CALL_TIMEOUT_SECONDS, **kwargs)


async def ok(client: Client, tool: str, args: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The structured result of a call that must succeed."""
    result = await call(client, tool, args, **kwargs)
    expect(not result.is_error, f"{tool}({args}) failed: {result!r}")
    content = result.structured_content
    expect(isinstance(content, dict), f"{tool}: no structured content: {result!r}")
    # Clients that read only text content see the same JSON.
    expect(json.loads(text_of(result)) == content, f"{tool}: text and structured content differ")
    expect(isinstance(content.get("formatted_output"), str), f"{tool}: no formatted_output")
    validate(tool, content)
    return content


def validate(tool: str, content: dict[str, Any]) -> None:
    """Fails unless `content` conforms to the `outputSchema` the tool published."""
    expect(tool in VALIDATORS, f"{tool}: no output schema to validate against")
    error = schema_errors.best_match(VALIDATORS[tool].iter_errors(content))
    expect(error is None, f"{tool}: result does not match its outputSchema: {error}")
    VALIDATED.add(tool)


async def err(client: Client, tool: str, args: dict[str, Any]) -> str:
    """The error message of a call that must fail as a tool error (not a protocol error)."""
    result = await call(client, tool, args)
    expect(result.is_error, f"{tool}({args}) should fail: {result!r}")
    # The error dict comes as text only: it is not the tool's result, which its outputSchema
    # describes (TypeScript clients check structured content against it even in errors).
    expect(result.structured_content is None, f"{tool}: error with structured content: {result!r}")
    content = json.loads(text_of(result))
    expect(isinstance(content, dict), f"{tool}: error text is not a JSON object: {result!r}")
    for key in ("error", "context", "formatted_output"):
        expect(isinstance(content.get(key), str), f"{tool}: error dict lacks {key}: {content}")
    check_timestamp(f"{tool} error timestamp", content.get("timestamp"))
    return content["error"]


def check_timestamp(what: str, value: Any) -> datetime:
    """`value` as Python 3.10 parses it; fails unless it is a UTC timestamp that version reads."""
    expect(
        isinstance(value, str) and PY310_UTC_TIMESTAMP.fullmatch(value) is not None,
        f"{what}: {value!r} is not a timestamp Python 3.10's fromisoformat reads as UTC",
    )
    parsed = datetime.fromisoformat(value)
    expect(parsed.utcoffset() == timedelta(0), f"{what}: {value!r} is not in UTC")
    return parsed


def expect_types(what: str, content: dict[str, Any], types: dict[str, type | tuple[type, ...]]) -> None:
    """Fails unless each key of `types` is in `content` with a value of that Python type (a
    bool is not taken for an int)."""
    for key, kind in types.items():
        value = content.get(key)
        expect(
            key in content and isinstance(value, kind) and not (isinstance(value, bool) and kind is int),
            f"{what}: {key} = {value!r} is not {kind}",
        )


async def check_tools(client: Client, expected: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Every tool name, and the weight schema of `add_criterion`."""
    listed = await client.list_tools()
    expect(listed.next_cursor is None, "the server paginates its tool list")
    names = [tool.name for tool in listed.tools]
    for name in expected:
        expect(name in names, f"{name} missing from {names}")
    expect(len(set(names)) == len(names), f"duplicate tool names: {names}")
    by_name = {tool.name: tool for tool in listed.tools}
    for tool in listed.tools:
        schema = tool.output_schema
        expect(isinstance(schema, dict), f"{tool.name} has no outputSchema")
        expect(schema.get("type") == "object", f"{tool.name}: outputSchema is not an object: {schema}")
        validator = validator_for(schema)
        try:
            validator.check_schema(schema)
        except schema_errors.SchemaError as error:
            raise Unexpected(f"{tool.name}: outputSchema is not a valid JSON Schema: {error}") from error
        VALIDATORS[tool.name] = validator(schema)
    weight = by_name["add_criterion"].input_schema.get("properties", {}).get("weight", {})
    expect(
        (weight.get("minimum"), weight.get("maximum")) == (0.1, 10.0),
        f"add_criterion weight bounds: {weight}",
    )
    expect(isinstance(weight.get("description"), str), f"weight has no description: {weight}")
    # Nullable as the Python server writes it: anyOf a bounded number and null.
    temperature = by_name["add_criterion"].input_schema.get("properties", {}).get("temperature", {})
    branches = temperature.get("anyOf", [])
    number = next((branch for branch in branches if branch.get("type") == "number"), {})
    expect(
        (number.get("minimum"), number.get("maximum")) == (0.0, 2.0) and {"type": "null"} in branches,
        f"add_criterion temperature: {temperature}",
    )
    return names, weight


async def workflow(client: Client, expected_tools: list[str]) -> dict[str, Any]:
    tools, weight_schema = await check_tools(client, expected_tools)

    started = await ok(
        client,
        "start_decision_analysis",
        {"topic": TOPIC, "options": OPTIONS, "model_backend": "litellm"},
    )
    session_id = started.get("session_id")
    expect(isinstance(session_id, str) and session_id != "", f"no session id: {started}")
    expect(started.get("options") == OPTIONS, f"options: {started}")
    expect(started.get("criteria_added") == [], f"criteria_added: {started}")
    expect(started.get("model_backend") == "litellm", f"model_backend: {started}")

    # Before any criterion the matrix is the reference server's normal result saying so.
    lacking = await ok(client, "get_decision_matrix", {"session_id": session_id})
    expect(
        lacking
        == {
            "session_id": session_id,
            "topic": TOPIC,
            "error": INSUFFICIENT_DATA,
            "status": "insufficient_data",
            "has_options": True,
            "has_criteria": False,
            "options_count": len(OPTIONS),
            "criteria_count": 0,
            "next_steps": [None, "Add evaluation criteria", "Run evaluation", "Generate matrix"],
            "formatted_output": lacking.get("formatted_output"),
        },
        f"matrix before criteria: {lacking}",
    )

    added = []
    for criterion in CRITERIA:
        result = await ok(client, "add_criterion", {"session_id": session_id, **criterion})
        expect(result.get("criterion_added") == criterion["name"], f"add_criterion: {result}")
        expect(result.get("weight") == criterion["weight"], f"add_criterion weight: {result}")
        added.append(result)
    expect(
        added[-1].get("all_criteria") == [c["name"] for c in CRITERIA],
        f"all_criteria: {added[-1]}",
    )

    option = await ok(
        client,
        "add_option",
        {"session_id": session_id, "option_name": ADDED_OPTION, "description": "In-memory"},
    )
    expect(option.get("total_options") == len(OPTIONS) + 1, f"add_option: {option}")

    progress: list[list[float | None]] = []

    async def on_progress(done: float, total: float | None, _message: str | None) -> None:
        progress.append([done, total])

    evaluated = await ok(client, "evaluate_options", {"session_id": session_id}, progress_callback=on_progress)
    expect(evaluated.get("evaluation_complete") is True, f"evaluation incomplete: {evaluated}")
    expect(evaluated.get("errors") is None, f"evaluation errors: {evaluated}")
    cells = (len(OPTIONS) + 1) * len(CRITERIA)
    summary = evaluated.get("summary", {})
    expect_types(
        "evaluate_options summary",
        summary,
        {
            key: int
            for key in (
                "options_evaluated",
                "criteria_used",
                "total_evaluations",
                "successful_scores",
                "abstentions",
                "errors",
                "cells_computed",
                "cells_reused",
            )
        },
    )
    expect(summary.get("successful_scores") == cells, f"summary: {evaluated}")
    expect(summary.get("total_evaluations") == cells, f"summary: {evaluated}")
    # Every cell of the first pass, and every judgment the replicate rounds added.
    final = cells + (evaluated.get("adaptive") or {}).get("replicate_judgments", 0)
    # The SDK runs each progress callback as a task of its own, so the last ones may still
    # be pending when the result is already in.
    with anyio.move_on_after(PROGRESS_GRACE_SECONDS):
        while not progress or progress[-1][0] < final:
            await anyio.sleep(0.01)
    expect(progress != [], "no progress notification arrived")
    done = [p[0] for p in progress]
    totals = [p[1] for p in progress]
    expect(done == sorted(done), f"progress went backwards: {progress}")
    # The total starts at the first pass's cells and grows as replicate rounds are planned.
    expect(totals[0] == cells, f"progress did not start at the first pass's {cells} cells: {progress}")
    expect(totals == sorted(totals), f"progress total shrank: {progress}")
    expect(progress[-1] == [final, final], f"progress did not end at the total {final}: {progress}")

    # Again, on the unchanged session: nothing to compute, and every cell still counts as
    # scored, as a client checking successful_scores == total_evaluations expects.
    again = await ok(client, "evaluate_options", {"session_id": session_id})
    again_summary = again.get("summary", {})
    expect(
        (
            again_summary.get("successful_scores"),
            again_summary.get("total_evaluations"),
            again_summary.get("cells_computed"),
            again_summary.get("cells_reused"),
        )
        == (cells, cells, 0, cells),
        f"second evaluation: {again}",
    )
    expect(again.get("evaluation_complete") is True, f"second evaluation: {again}")

    matrix = await ok(client, "get_decision_matrix", {"session_id": session_id})
    expect(matrix.get("session_id") == session_id, f"matrix of another session: {matrix}")
    check_timestamp("evaluation_timestamp", matrix.get("evaluation_timestamp"))
    session_info = matrix.get("session_info") or {}
    check_timestamp("session_info.created_at", session_info.get("created_at"))
    expect_types(
        "session_info",
        session_info,
        {"evaluations_run": int, "total_options": int, "total_criteria": int},
    )
    rankings = matrix.get("rankings")
    expect(isinstance(rankings, list) and len(rankings) == len(OPTIONS) + 1, f"rankings: {rankings}")
    totals = [r.get("weighted_total") for r in rankings]
    expect(
        all(isinstance(t, float | int) and math.isfinite(t) for t in totals),
        f"weighted totals: {totals}",
    )
    expect(totals == sorted(totals, reverse=True), f"rankings are not best first: {rankings}")

    sessions = await ok(client, "list_sessions", {})
    expect(sessions.get("total_active") == 1, f"list_sessions: {sessions}")
    listed = sessions.get("sessions") or [{}]
    expect(listed[0].get("session_id") == session_id, f"list_sessions: {sessions}")
    expect(listed[0].get("status") == "evaluated", f"list_sessions status: {sessions}")
    check_timestamp("list_sessions created_at", listed[0].get("created_at"))
    stats = sessions.get("stats") or {}
    check_timestamp("stats.last_cleanup", stats.get("last_cleanup"))
    expect_types(
        "stats",
        stats,
        {
            key: int
            for key in (
                "sessions_created",
                "sessions_expired",
                "sessions_cleaned",
                "max_concurrent",
                "active_sessions",
            )
        },
    )

    current = await ok(client, "current_session", {})
    expect(current.get("session_id") == session_id, f"current_session: {current}")
    check_timestamp("current_session created_at", current.get("created_at"))

    error = await err(
        client,
        "add_criterion",
        {"session_id": session_id, "name": "risk", "description": "Operational risk", "weight": 11},
    )
    expect(error == WEIGHT_ERROR, f"weight error says {error!r}")
    # A bad entry of initial_criteria is named, and no session is left behind.
    initial = await err(
        client,
        "start_decision_analysis",
        {
            "topic": TOPIC,
            "options": OPTIONS,
            "initial_criteria": [{"name": "speed", "description": "How fast", "weight": 0}],
        },
    )
    expect(initial == INITIAL_CRITERION_ERROR, f"initial criterion error says {initial!r}")
    still = await ok(client, "list_sessions", {})
    expect(still.get("total_active") == 1, f"a failed start left a session: {still}")
    # A failed call changes nothing.
    after = await ok(client, "get_decision_matrix", {"session_id": session_id})
    expect(
        sorted(after.get("criteria_weights", {})) == sorted(c["name"] for c in CRITERIA),
        f"the failed add_criterion changed the session: {after.get('criteria_weights')}",
    )

    return {
        "tools": tools,
        "weight_schema": weight_schema,
        "started": started,
        "lacking": lacking,
        "second_evaluation": again,
        "initial_criterion_error": initial,
        "criteria_added": added,
        "option_added": option,
        "evaluated": evaluated,
        "progress": progress,
        "matrix": matrix,
        "sessions": sessions,
        "error": error,
    }


def leaves(error: BaseException) -> list[BaseException]:
    if not isinstance(error, BaseExceptionGroup):
        return [error]
    return [leaf for inner in error.exceptions for leaf in leaves(inner)]


def connect(args: argparse.Namespace) -> Client:
    server: str | StdioServerParameters = args.http
    command = [args.stdio, "serve"] if args.stdio else args.launch
    if command:
        # The SDK passes only a few safe variables to the server by default; the server needs
        # the caller's backend settings (LITELLM_BASE_URL and the like), so all are passed.
        server = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    elif args.token:
        return Client(with_token(args.http, args.token), mode=args.mode, read_timeout_seconds=CALL_TIMEOUT_SECONDS)
    return Client(server, mode=args.mode, read_timeout_seconds=CALL_TIMEOUT_SECONDS)


@contextlib.asynccontextmanager
async def with_token(url: str, token: str) -> Any:
    """The streamable HTTP transport, sending `Authorization: Bearer TOKEN` with every request,
    as a server listening beyond loopback requires (`scripts/container`)."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    # The SDK's own timeouts for the client it makes when given a bare URL.
    timeout = httpx2.Timeout(30.0, read=300.0)
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=timeout) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            yield streams


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with anyio.fail_after(RUN_TIMEOUT_SECONDS):
        async with connect(args) as client:
            info = client.server_info
            expect(info is not None and info.name != "", f"server did not identify itself: {info!r}")
            saw = await workflow(client, args.expect_tool)
            saw["validated"] = sorted(VALIDATED)
            saw["protocol_version"] = client.protocol_version
            saw["server_name"] = info.name
            return saw


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    transport = parser.add_argument_group("transport").add_mutually_exclusive_group(required=True)
    transport.add_argument("--stdio", metavar="BINARY", help="launch BINARY serve and talk over its stdio")
    transport.add_argument("--http", metavar="URL", help="connect to a streamable HTTP endpoint")
    # How an installed server is started (`uvx decision-matrix serve`, `podman run -i ...`):
    # the whole command line, so it comes last.
    transport.add_argument(
        "--launch",
        nargs=argparse.REMAINDER,
        metavar="COMMAND",
        help="launch this command line (everything after --launch) and talk over its stdio",
    )
    parser.add_argument(
        "--mode",
        choices=["auto", "legacy"],
        default="auto",
        help="auto: the SDK probes server/discover (2026 protocol) and falls back to the "
        "initialize handshake; legacy: the initialize handshake only, as older clients do",
    )
    parser.add_argument(
        "--expect-tool",
        action="append",
        default=[],
        metavar="NAME",
        help="fail unless the server lists this tool (repeatable; add_criterion is always needed)",
    )
    parser.add_argument(
        "--token",
        metavar="TOKEN",
        help="with --http: send Authorization: Bearer TOKEN (a server beyond loopback needs it)",
    )
    args = parser.parse_args()
    try:
        saw = anyio.run(run, args)
    except Exception as error:
        # The SDK's task groups wrap what the workflow raised; its message is what matters,
        # and anything else keeps its traceback.
        unexpected = [e for e in leaves(error) if isinstance(e, Unexpected)]
        if not unexpected:
            raise
        for e in unexpected:
            print(f"mcp_client.py: unexpected: {e}", file=sys.stderr)
        return 1
    json.dump(saw, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
