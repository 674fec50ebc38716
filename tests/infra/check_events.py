"""Check that every line on stdin is a deploy.sh JSON-lines event of the documented shape (docs/engine.md)."""

import json
import sys

TYPES = {"phase", "log", "result"}
PHASES = {"create", "start", "provision", "verify", "finalize"}
STATUSES = {
    "phase": {"running", "succeeded", "failed"},
    "log": {"info", "warn", "error", "output", "plan"},
    "result": {"succeeded", "failed", "planned"},
}

for n, line in enumerate(sys.stdin, 1):
    event = json.loads(line)
    missing = {"type", "phase", "status", "message", "ts"} - event.keys()
    assert not missing, f"line {n}: missing {missing}: {line}"
    assert event["type"] in TYPES, f"line {n}: type {event['type']!r}"
    assert event["phase"] in PHASES, f"line {n}: phase {event['phase']!r}"
    assert event["status"] in STATUSES[event["type"]], f"line {n}: status {event['status']!r}"
    assert isinstance(event["message"], str), f"line {n}: message"
    assert len(event["ts"]) == 20 and event["ts"].endswith("Z"), f"line {n}: ts {event['ts']!r}"
    if event["type"] == "result":
        assert isinstance(event["exit_code"], int) and "deploy_id" in event, f"line {n}: result fields"
