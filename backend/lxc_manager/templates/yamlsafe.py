"""A safe YAML loader that remembers where every value sits, so validation errors name file, line and column.

Only plain data is accepted: mappings, sequences and the core scalar types. Tags such as
``!!python/object/apply``, ``!!set`` or ``!!binary``, anchors/aliases (billion-laughs) and duplicate keys are
refused. Every failure is a :class:`YAMLProblem`; nothing else escapes :func:`load_yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

try:  # libyaml is ~10x faster; the pure-Python loader gives the same nodes and marks.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[str | int, ...]
Positions = dict[Path, tuple[int, int]]

MAX_YAML_BYTES = 256 * 1024
MAX_DEPTH = 32

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


@dataclass
class YAMLProblem(Exception):
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line is not None else ""
        return f"{where}{self.message}"


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.positions: Positions = {}
        self.seen: set[int] = set()

    def build(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        line, column = _mark(node)
        if depth > MAX_DEPTH:
            raise YAMLProblem("nesting too deep", line, column)
        # With aliases the composer hands back the same node object twice: refuse anchors/aliases outright.
        if id(node) in self.seen:
            raise YAMLProblem("YAML anchors and aliases are not allowed", line, column)
        self.seen.add(id(node))
        self.positions[path] = (line, column)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                raise YAMLProblem(f"unsupported YAML tag {node.tag}", line, column)
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key_line, key_column = _mark(key_node)
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    raise YAMLProblem("mapping keys must be plain strings (no merge keys)", key_line, key_column)
                key = self.build(key_node, (*path, "<key>"), depth + 1)
                if not isinstance(key, str):
                    key = str(key) if isinstance(key, int | float | bool) else key
                    if not isinstance(key, str):
                        raise YAMLProblem("mapping keys must be strings", key_line, key_column)
                if key in result:
                    raise YAMLProblem(f"duplicate key {key!r}", key_line, key_column)
                result[key] = self.build(value_node, (*path, key), depth + 1)
            self.positions.pop((*path, "<key>"), None)
            return result
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise YAMLProblem(f"unsupported YAML tag {node.tag}", line, column)
            return [self.build(item, (*path, index), depth + 1) for index, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _TIMESTAMP_TAG and not node.style:
                return str(node.value)  # an unquoted date stays the text the author wrote
            if node.tag not in _SCALAR_TAGS:
                raise YAMLProblem(f"unsupported YAML tag {node.tag}", line, column)
            return self.loader.construct_object(node, deep=True)
        raise YAMLProblem("unsupported YAML node", line, column)  # pragma: no cover


def load_yaml(text: str | bytes) -> tuple[Any, Positions]:
    """Parse one YAML document into plain data plus ``{path: (line, column)}`` (1-based)."""
    if isinstance(text, bytes):
        if len(text) > MAX_YAML_BYTES:
            raise YAMLProblem(f"file larger than {MAX_YAML_BYTES // 1024} KiB")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YAMLProblem(f"not valid UTF-8 (byte {exc.start})") from None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise YAMLProblem(f"file larger than {MAX_YAML_BYTES // 1024} KiB")
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            builder = _Builder(loader)
            return builder.build(node, ()), builder.positions
        finally:
            loader.dispose()
    except YAMLProblem:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        if mark is None:
            raise YAMLProblem(message) from None
        raise YAMLProblem(message, mark.line + 1, mark.column + 1) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError, UnicodeError) as exc:
        raise YAMLProblem(f"invalid YAML: {type(exc).__name__}: {exc}"[:300]) from None


def locate(positions: Positions, loc: tuple[Any, ...]) -> tuple[tuple[int, int] | None, int]:
    """Position of the deepest existing prefix of ``loc`` and how many parts of ``loc`` it covers."""
    parts = tuple(loc)
    for size in range(len(parts), -1, -1):
        found = positions.get(parts[:size])
        if found is not None:
            return found, size
    return None, 0


def field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
