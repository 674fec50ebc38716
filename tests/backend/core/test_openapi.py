"""The committed contract must match the app, and every operation must declare its errors."""

from __future__ import annotations

import json

from fastapi import FastAPI

from lxc_manager.core.config import REPO_ROOT


def test_committed_openapi_matches_app(app: FastAPI) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "export_openapi.py"), "--check", "openapi/openapi.json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_operation_ids_are_readable_and_unique(app: FastAPI) -> None:
    spec = app.openapi()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    for op_id in ids:
        assert op_id.replace("_", "").isalnum() and op_id == op_id.lower(), op_id


def test_every_operation_declares_error_shape(app: FastAPI) -> None:
    spec = app.openapi()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            errors = {code: r for code, r in op["responses"].items() if code.startswith(("4", "5"))}
            assert errors, f"{method.upper()} {path} declares no error response"
            for code, response in errors.items():
                schema = json.dumps(response.get("content", {}))
                assert "ErrorResponse" in schema, f"{method.upper()} {path} {code} lacks the error shape"
