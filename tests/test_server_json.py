"""server.json, the MCP Registry's description of the package, follows the registry's server.json format
(schema 2025-09-29: the required fields, their forms and the properties a package may have) and agrees with
the package: its name and version, the command, and the settings it documents."""

from __future__ import annotations

import json
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest

from sdassist.config import ENV_FILE_VARIABLE, Settings

ROOT = Path(__file__).resolve().parent.parent
SERVER = json.loads((ROOT / "server.json").read_text())
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json"

# From the schema: what a Package may hold (additionalProperties is false), and what an Input may hold.
PACKAGE_FIELDS = {"registryType", "registryBaseUrl", "identifier", "version", "fileSha256", "runtimeHint",
                  "transport", "runtimeArguments", "packageArguments", "environmentVariables"}
PACKAGE_REQUIRED = {"registryType", "identifier", "version", "transport"}
INPUT_FIELDS = {"description", "isRequired", "format", "value", "isSecret", "default", "placeholder", "choices",
                "variables"}
FORMATS = {"string", "number", "boolean", "filepath"}
VERSION_RANGE = re.compile(r"^[\^~<>=]|[x*]$|^latest$")


def setting_names() -> dict[str, Any]:
    return {field.validation_alias: field for field in Settings.model_fields.values()}


def test_the_server_has_the_required_fields_in_their_forms() -> None:
    assert SERVER["$schema"] == SCHEMA_URL
    assert {"name", "description", "version"} <= SERVER.keys()
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", SERVER["name"]) and 3 <= len(SERVER["name"]) <= 200
    assert 1 <= len(SERVER["description"]) <= 100
    assert SERVER["version"] == PROJECT["version"] and not VERSION_RANGE.search(SERVER["version"])


def test_the_readme_carries_the_name_the_registry_checks_the_package_against() -> None:
    assert f"mcp-name: {SERVER['name']}" in (ROOT / "README.md").read_text()


def test_the_package_is_this_one_started_as_sdassist_mcp_over_stdio() -> None:
    (package,) = SERVER["packages"]
    assert package.keys() <= PACKAGE_FIELDS and package.keys() >= PACKAGE_REQUIRED
    assert package["registryType"] == "pypi" and package["identifier"] == PROJECT["name"]
    assert package["version"] == PROJECT["version"] and not VERSION_RANGE.search(package["version"])
    assert package["transport"] == {"type": "stdio"}
    assert "sdassist.cli:main" == PROJECT["scripts"]["sdassist"]  # noqa: SIM300
    arguments = package["packageArguments"]
    assert all(a["type"] in ("positional", "named") for a in arguments)
    assert all("value" in a or "valueHint" in a for a in arguments if a["type"] == "positional")
    assert [a["value"] for a in arguments] == ["mcp"]


@pytest.mark.parametrize("variable", SERVER["packages"][0]["environmentVariables"], ids=lambda v: v["name"])
def test_each_environment_variable_is_a_real_setting_described_as_it_is(variable: dict[str, Any]) -> None:
    assert "name" in variable and variable.keys() - {"name"} <= INPUT_FIELDS
    assert variable.get("format", "string") in FORMATS and variable["description"]
    name = variable["name"]
    fields = setting_names()
    assert name in fields or name == ENV_FILE_VARIABLE, f"{name} is not a setting sdassist reads"
    if name in fields:
        field = fields[name]
        secret = "SecretStr" in str(field.annotation) or name == "SDASSIST_DATABASE_URL"  # a URL may hold a password
        assert variable.get("isSecret", False) == secret
        if "default" in variable:
            Settings(_env_file=None, **{name: variable["default"]})  # a default sdassist accepts
        if "choices" in variable:
            allowed = next(a for a in (field.annotation, *typing.get_args(field.annotation)) if typing.get_args(a))
            assert set(variable["choices"]) == set(typing.get_args(allowed))
    assert name in (ROOT / "docs" / "configuration.md").read_text()


def test_every_setting_the_stdio_server_needs_to_be_useful_is_listed() -> None:
    listed = {v["name"] for v in SERVER["packages"][0]["environmentVariables"]}
    assert {"SOCIALDOCK_API_KEY", "SDASSIST_TIMEZONE", "SDASSIST_APPROVAL", "SDASSIST_TOOLSETS"} <= listed
