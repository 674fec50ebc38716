"""The manifest parser and folder reader: precise errors, hostile YAML, paths that leave the folder, fuzzing."""

from __future__ import annotations

import copy
import json
import os
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lxc_manager.templates.format import BucketManifest, TemplateManifest
from lxc_manager.templates.loader import (
    InvalidTemplate,
    RawFile,
    RawTemplate,
    parse_bucket_text,
    parse_manifest_text,
    parse_template,
    read_template_dir,
)
from lxc_manager.templates.schema_export import stale_files
from lxc_tree import REPO_LXC, ROOT

MINIMAL = "format: 1\nname: demo\nos:\n  template: debian-12-standard\n"


def problems_of(text: str) -> list[dict[str, object]]:
    with pytest.raises(InvalidTemplate) as info:
        parse_manifest_text(text, file="demo/template.yaml")
    return [p.as_dict() for p in info.value.problems]


def make_template(root: Path, name: str = "demo", manifest: str = MINIMAL, files: dict[str, str] | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "template.yaml").write_text(manifest)
    for rel, content in (files or {}).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return folder


# ---------------------------------------------------------------- the schema is generated from the models


def test_committed_json_schemas_match_the_models() -> None:
    assert stale_files(REPO_LXC / "schema") == [], "run `make template-schema` and commit infra/lxc/schema"


def test_json_schema_and_models_agree_on_the_shipped_files() -> None:
    template_schema = json.loads((REPO_LXC / "schema" / "template.schema.json").read_text())
    bucket_schema = json.loads((REPO_LXC / "schema" / "bucket.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(template_schema)
    for manifest in (REPO_LXC / "templates").glob("*/template.yaml"):
        data = yaml.safe_load(manifest.read_text())
        jsonschema.validate(data, template_schema)
        TemplateManifest.model_validate(data)
    for bucket in (REPO_LXC / "buckets").glob("*.yaml"):
        data = yaml.safe_load(bucket.read_text())
        jsonschema.validate(data, bucket_schema)
        BucketManifest.model_validate(data)


@pytest.mark.parametrize(
    "patch",
    [
        {"format": 2},
        {"name": "Bad Name"},
        {"unknown_key": 1},
        {"container": {"cores": 0}},
        {"container": {"network": {"vlan": 5000}}},
        {"packages": {"extra": ["Bad_Package"]}},
        {"files": [{"source": "a", "destination": "/x", "mode": "999"}]},
        {"services": [{"name": "web", "port": 8080, "protocol": "ftp"}]},
        {"inputs": [{"name": "x", "type": "float"}]},
        {"hooks": {"on-boot": ["a.sh"]}},
        {"hooks": {"pre_create": ["a.sh"]}},  # keys only by their YAML spelling
        {"container": {"cores": "2"}},  # no coercion: the schema refuses strings for integers
        {"container": {"unprivileged": "yes"}},
        {"files": [{"source": "a", "destination": "/x", "mode": 644}]},  # unquoted octal is a YAML int
    ],
)
def test_models_and_json_schema_both_refuse(patch: dict[str, object]) -> None:
    schema = json.loads((REPO_LXC / "schema" / "template.schema.json").read_text())
    data = {**yaml.safe_load(MINIMAL), **patch}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
    with pytest.raises(ValueError):
        TemplateManifest.model_validate(data)


# ---------------------------------------------------------------- precise errors


def test_error_names_file_line_column_and_field() -> None:
    text = textwrap.dedent(
        """\
        format: 1
        name: demo
        os:
          template: debian-12-standard
        container:
          cores: 2
          network:
            ip: 10.0.0.300/24
        """
    )
    [problem] = problems_of(text)
    assert problem["file"] == "demo/template.yaml"
    assert problem["field"] == "container.network.ip"
    assert (problem["line"], problem["column"]) == (8, 9)


def test_missing_field_points_at_its_parent() -> None:
    [problem] = problems_of("format: 1\nname: demo\nos:\n  volid: null\n")
    assert problem["field"] == "os.template"
    assert problem["line"] == 4


def test_error_inside_a_list() -> None:
    text = MINIMAL + "inputs:\n  - name: ok\n  - name: port\n    type: int\n    default: seven\n"
    [problem] = problems_of(text)
    # A cross-field rule (default vs type) is reported on the list item that breaks it.
    assert problem["field"] == "inputs[1]"
    assert problem["line"] == 7
    assert "default must be an integer" in str(problem["message"])


def test_syntax_error_has_a_position() -> None:
    [problem] = problems_of("format: 1\nname: [demo\n")
    assert problem["line"] is not None


@pytest.mark.parametrize(
    "text,needle",
    [
        ("!!python/object/apply:os.system ['touch /tmp/pwned']\n", "tag"),
        ("format: !!python/object/apply:os.system ['id']\n", "tag"),
        ("format: 1\nname: !!python/name:os.system\n", "tag"),
        ("a: &x [1]\nb: *x\n", "aliases"),
        ("format: 1\nformat: 1\n", "duplicate"),
        ("format: 1\n<<: {name: x}\n", "merge"),
        ("format: !!binary aGVsbG8=\n", "tag"),
        ("tags: !!set {a, b}\n", "tag"),
        ("- 1\n- 2\n", "mapping"),
        ("a: 1\n---\nb: 2\n", "single document"),
        ("[" * 200 + "]" * 200, "deep"),
    ],
)
def test_hostile_yaml_is_refused(text: str, needle: str, tmp_path: Path) -> None:
    problems = problems_of(text)
    assert any(needle in str(p["message"]).lower() for p in problems), problems
    assert not (Path("/tmp/pwned")).exists()


def test_oversized_manifest_is_refused() -> None:
    problems = problems_of(MINIMAL + "description: " + "x" * (300 * 1024) + "\n")
    assert "larger than" in str(problems[0]["message"])


# ---------------------------------------------------------------- the folder


def test_references_must_exist(tmp_path: Path) -> None:
    manifest = MINIMAL + textwrap.dedent(
        """\
        scripts: [10-a.sh, 20-missing.sh]
        files:
          - {source: nope.conf, destination: /etc/nope.conf}
        hooks:
          post-start: [gone.sh]
        packages:
          buckets: [unknown]
        """
    )
    folder = make_template(tmp_path, manifest=manifest, files={"scripts/10-a.sh": "true\n"})
    with pytest.raises(InvalidTemplate) as info:
        parse_template(read_template_dir(folder), known_buckets={"base"})
    messages = " | ".join(p.message for p in info.value.problems)
    for needle in ("scripts/20-missing.sh", "files/nope.conf", "hooks/gone.sh", "unknown bucket"):
        assert needle in messages
    assert all(p.line is not None for p in info.value.problems)


def test_lexical_script_order_when_not_listed(tmp_path: Path) -> None:
    folder = make_template(
        tmp_path, files={"scripts/20-b.sh": "b", "scripts/10-a.sh": "a", "scripts/lib/helpers.sh": "h"}
    )
    parsed = parse_template(read_template_dir(folder))
    assert parsed.script_order == ["10-a.sh", "20-b.sh"]


def test_name_must_equal_folder(tmp_path: Path) -> None:
    folder = make_template(tmp_path, name="other")
    with pytest.raises(InvalidTemplate) as info:
        parse_template(read_template_dir(folder))
    assert info.value.problems[0].field == "name"


@pytest.mark.parametrize(
    "source",
    ["../../../etc/passwd", "/etc/passwd", "a/../../b", "./x", "a//b"],
)
def test_file_sources_cannot_leave_the_folder(source: str) -> None:
    text = MINIMAL + f"files:\n  - source: {json.dumps(source)}\n    destination: /x\n"
    [problem] = problems_of(text)
    assert problem["field"] == "files[0].source"


@pytest.mark.parametrize("destination", ["relative/path", "/etc/../shadow", "/etc//x", "/etc/x/"])
def test_file_destinations_are_normalised_absolute_paths(destination: str) -> None:
    text = MINIMAL + f"files:\n  - source: a\n    destination: {json.dumps(destination)}\n"
    [problem] = problems_of(text)
    assert problem["field"] == "files[0].destination"


@pytest.mark.parametrize("script", ["../x.sh", "/bin/sh", "sub/x.sh"])
def test_script_names_cannot_be_paths(script: str) -> None:
    problems = problems_of(MINIMAL + f"scripts: [{json.dumps(script)}]\n")
    assert problems[0]["field"] == "scripts[0]"


def test_symlink_pointing_outside_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    folder = make_template(tmp_path / "t", files={"scripts/10-a.sh": "true"})
    (folder / "files").mkdir()
    os.symlink(secret, folder / "files" / "leak.txt")
    with pytest.raises(InvalidTemplate) as info:
        read_template_dir(folder)
    assert "outside" in info.value.problems[0].message
    assert info.value.problems[0].file == "demo/files/leak.txt"


def test_symlinked_manifest_pointing_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "evil.yaml"
    outside.write_text(MINIMAL)
    folder = tmp_path / "t" / "demo"
    folder.mkdir(parents=True)
    os.symlink(outside, folder / "template.yaml")
    with pytest.raises(InvalidTemplate, match="outside"):
        read_template_dir(folder)


def test_symlink_inside_is_followed_and_folder_symlinks_refused(tmp_path: Path) -> None:
    folder = make_template(tmp_path, files={"files/real.txt": "data", "scripts/10-a.sh": "true"})
    os.symlink(folder / "files" / "real.txt", folder / "files" / "alias.txt")
    raw = read_template_dir(folder)
    assert raw.files["files/alias.txt"].data == b"data"
    os.symlink(folder / "scripts", folder / "files" / "inner")
    with pytest.raises(InvalidTemplate, match="symlinked folders"):
        read_template_dir(folder)
    (folder / "files" / "inner").unlink()
    os.symlink("/etc", folder / "files" / "etc")
    with pytest.raises(InvalidTemplate, match="outside"):
        read_template_dir(folder)


def test_special_files_are_refused(tmp_path: Path) -> None:
    folder = make_template(tmp_path, files={"files/a": "x"})
    os.mkfifo(folder / "files" / "pipe")
    with pytest.raises(InvalidTemplate, match="regular file"):
        read_template_dir(folder)


def test_content_hash_ignores_modes_and_tracks_content(tmp_path: Path) -> None:
    folder = make_template(tmp_path, files={"scripts/10-a.sh": "echo a\n"})
    first = read_template_dir(folder).content_hash
    os.chmod(folder / "scripts" / "10-a.sh", 0o700)
    assert read_template_dir(folder).content_hash == first
    (folder / "scripts" / "10-a.sh").write_text("echo b\n")
    assert read_template_dir(folder).content_hash != first
    (folder / ".hidden").write_text("ignored")
    (folder / "scripts" / ".swp").write_text("ignored")
    assert read_template_dir(folder).content_hash == read_template_dir(folder).content_hash


def test_bucket_packages_are_debian_names_with_pins() -> None:
    good = "format: 1\nname: web\npackages: [nginx, 'curl=7.88.1-10+deb12u5', 'python3=3.11*', libc6-dev]\n"
    assert parse_bucket_text(good, file="buckets/web.yaml").packages[1] == "curl=7.88.1-10+deb12u5"
    for bad in ("Nginx", "rm -rf /", "curl=", "curl=abc", "a", "curl;ls", "curl=1.0 ; reboot"):
        with pytest.raises(InvalidTemplate):
            parse_bucket_text(f"format: 1\nname: web\npackages: [{json.dumps(bad)}]\n", file="b.yaml")
    with pytest.raises(InvalidTemplate, match="twice"):
        parse_bucket_text("name: web\npackages: [curl, curl=1.0]\n", file="b.yaml")
    with pytest.raises(InvalidTemplate, match="file name"):
        parse_bucket_text("name: web\npackages: [curl]\n", file="b.yaml", expected_name="other")


# ---------------------------------------------------------------- fuzzing: only validation errors escape

_yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30))
_yaml_values = st.recursive(
    _yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from([*list(TemplateManifest.model_fields), "template", "ip", "source"]),
                st.text(max_size=10),
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_fuzz_arbitrary_text(text: str) -> None:
    try:
        parse_manifest_text(text)
    except InvalidTemplate as exc:
        assert exc.problems


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    try:
        parse_manifest_text(data)
    except InvalidTemplate as exc:
        assert exc.problems


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_yaml_values)
def test_fuzz_structured_yaml(value: object) -> None:
    text = yaml.safe_dump(value, allow_unicode=True)
    try:
        parse_manifest_text(text)
    except InvalidTemplate as exc:
        assert exc.problems


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["scripts/10-a.sh", "files/x", "hooks/h.sh", "README.md"]), st.binary(max_size=50), max_size=4
    ),
    _yaml_values,
)
def test_fuzz_whole_template(files: dict[str, bytes], extra: object) -> None:
    manifest = {**yaml.safe_load(MINIMAL), "extra": extra} if isinstance(extra, dict) else yaml.safe_load(MINIMAL)
    raw_files = {path: RawFile(data, 0o644) for path, data in files.items()}
    raw_files["template.yaml"] = RawFile(yaml.safe_dump(manifest).encode(), 0o644)
    try:
        parse_template(RawTemplate(name="demo", files=raw_files))
    except InvalidTemplate as exc:
        assert exc.problems


def test_repository_templates_parse_cleanly() -> None:
    from lxc_manager.templates.loader import list_template_dirs, read_buckets_dir

    buckets, problems = read_buckets_dir(REPO_LXC / "buckets")
    assert problems == []
    dirs = list_template_dirs(ROOT / "infra" / "lxc" / "templates")
    assert "minimal" in {d.name for d in dirs}
    for folder in dirs:
        parse_template(read_template_dir(folder), known_buckets=set(buckets))


def _mutations() -> st.SearchStrategy[dict[str, object]]:
    """The shipped minimal manifest with one leaf replaced by an arbitrary JSON value."""
    base = yaml.safe_load((REPO_LXC / "templates" / "minimal" / "template.yaml").read_text())
    paths: list[tuple[object, ...]] = []

    def collect(node: object, path: tuple[object, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for key, value in node.items():
                collect(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                collect(value, (*path, index))

    collect(base, ())
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 70000),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.sampled_from(["0644", "dhcp", "auto", "/srv", "10.0.0.5/24", "http", "password", "a.sh"]),
    )

    def mutate(path: tuple[object, ...], value: object) -> dict[str, object]:
        data = copy.deepcopy(base)
        if not path:
            return data  # type: ignore[no-any-return]
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        return data  # type: ignore[no-any-return]

    return st.builds(
        mutate,
        st.sampled_from(paths[1:]),
        st.one_of(scalars, st.lists(scalars, max_size=2), st.dictionaries(st.text(max_size=8), scalars, max_size=2)),
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_fuzz_models_never_accept_what_the_schema_refuses(data: dict[str, object]) -> None:
    schema = json.loads((REPO_LXC / "schema" / "template.schema.json").read_text())
    try:
        TemplateManifest.model_validate(data)
    except ValueError:
        return  # the models may refuse more (cross-field rules the schema cannot express)
    jsonschema.validate(data, schema)
