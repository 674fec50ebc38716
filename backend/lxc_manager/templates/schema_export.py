"""Render the JSON Schemas of the template format from the pydantic models (the single source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from lxc_manager.templates.format import BucketManifest, TemplateManifest

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS: dict[str, type[BaseModel]] = {
    "template.schema.json": TemplateManifest,
    "bucket.schema.json": BucketManifest,
}


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    # mode="validation" with aliases: the schema describes the YAML as written (hyphenated hook events).
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": SCHEMA_DIALECT, **schema}


def render_all() -> dict[str, str]:
    return {name: json.dumps(schema_of(model), indent=2, sort_keys=True) + "\n" for name, model in SCHEMAS.items()}


def stale_files(directory: Path) -> list[Path]:
    stale = []
    for name, text in render_all().items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
    return stale
