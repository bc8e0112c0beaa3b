"""The JSON Schemas of the file formats: the committed files are what the commands print, the
demo files validate against them, and a wrong enum value fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

import tongban
from tongban.cli.main import app
from tongban.kit.safeyaml import load_yaml

ROOT = Path(__file__).parents[2]
DATA = Path(tongban.__file__).parent / "demo" / "data"
FORMATS = [("catalog", "catalog"), ("bundle", "bundles"), ("org", "org")]


def _schema(command: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, [command, "schema"])
    assert result.exit_code == 0, result.output
    schema: dict[str, Any] = json.loads(result.output)
    return schema


@pytest.mark.parametrize(("command", "name"), FORMATS)
def test_the_committed_schema_is_what_the_command_prints(command: str, name: str) -> None:
    printed = CliRunner().invoke(app, [command, "schema"]).output
    committed = (ROOT / "docs" / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
    assert printed == committed, f"regenerate: tongban {command} schema > docs/schemas/{name}…"
    schema = json.loads(printed)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def _demo(name: str) -> Any:
    path = DATA / f"{name}.yaml"
    return load_yaml(path.read_bytes(), path.name, max_bytes=20 * 1024 * 1024).data


@pytest.mark.parametrize(("command", "name"), FORMATS)
def test_the_demo_files_validate_against_their_schemas(command: str, name: str) -> None:
    validator = jsonschema.Draft202012Validator(_schema(command))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_demo(name))]
    assert errors == []


def _leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in _leaves(sub) if sub.validator != "type"]


def test_a_wrong_enum_value_fails_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(_schema("catalog"))
    data = _demo("catalog")
    item = next(i for i in data["items"] if i.get("materials"))
    item["materials"][0]["source"] = "e_license"
    item["steps"][0]["kind"] = "approval"
    # A list that may be left out (not yet recorded) is "an array or null": its error is an anyOf
    # whose branch for the array names the wrong value.
    errors = sorted(
        (leaf for e in validator.iter_errors(data) for leaf in _leaves(e)),
        key=lambda e: list(e.absolute_path),
    )
    assert [list(e.absolute_path)[-1] for e in errors] == ["source", "kind"]
    assert all("is not one of" in e.message for e in errors)
    bundles = _demo("bundles")
    bundles["bundles"][0]["kind"] = "citizen_event"
    assert not jsonschema.Draft202012Validator(_schema("bundle")).is_valid(bundles)


def test_fields_carry_descriptions_for_the_editor() -> None:
    material = _schema("catalog")["$defs"]["MaterialIn"]["properties"]
    assert "ITEM#OUTPUT" in material["source_ref"]["description"]
    step = _schema("catalog")["$defs"]["StepIn"]["properties"]
    assert "Working days" in step["limit_days"]["description"]
    member = _schema("bundle")["$defs"]["MemberIn"]["properties"]
    assert all(member[f].get("description") for f in ("item", "stage", "depends_on", "when"))
