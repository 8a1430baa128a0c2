"""The generated TypeScript types (clients/ts, @huddle/types) against the real socket.io-client
types, and docs/asyncapi.yaml against the official AsyncAPI parser; both from npm, locked by
tests/ts/package-lock.json.

- ``tsc --noEmit --strict`` compiles frontends written with the types (tests/ts/good);
- it refuses tests/ts/bad/mistakes.ts with exactly the diagnostics its ``expect`` comments
  name: the code, the line and the words, and nothing else;
- ``@asyncapi/parser`` reads docs/asyncapi.yaml with no error, and does report errors in a
  broken copy (so a pass means something).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT

pytestmark = pytest.mark.js

TS_DIR = ROOT / "tests" / "ts"
TIMEOUT_S = 120
DIAGNOSTIC = re.compile(r"^(?P<file>[^(\s]+)\((?P<line>\d+),\d+\): error (?P<code>TS\d+): "
                        r"(?P<message>.*)$")
EXPECT = re.compile(r"// expect (?P<code>TS\d+) (?P<words>.+)$")


def _node() -> str:
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/bootstrap --test"
    assert (TS_DIR / "node_modules" / "typescript").is_dir(), \
        "tests/ts/node_modules is missing: run scripts/bootstrap --test"
    return node


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_node(), *args], cwd=TS_DIR, capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)


def tsc(project: str) -> subprocess.CompletedProcess[str]:
    return _run("node_modules/typescript/bin/tsc", "-p", project, "--pretty", "false")


def diagnostics(output: str) -> list[dict[str, str]]:
    """tsc's errors; a continuation line (indented) belongs to the error above it."""
    found: list[dict[str, str]] = []
    for line in output.splitlines():
        match = DIAGNOSTIC.match(line)
        if match:
            found.append(match.groupdict())
        elif found and line.startswith(" "):
            found[-1]["message"] += "\n" + line.strip()
    return found


def test_the_types_are_the_package_the_examples_import() -> None:
    package = json.loads((ROOT / "clients" / "ts" / "package.json").read_text())
    assert package["name"] == "@huddle/types"
    assert package["types"] == "index.d.ts"
    linked = TS_DIR / "node_modules" / "@huddle" / "types"
    assert linked.resolve() == (ROOT / "clients" / "ts").resolve()


def test_frontends_written_with_the_types_compile_strictly() -> None:
    config = json.loads((TS_DIR / "tsconfig.json").read_text())["compilerOptions"]
    assert config["strict"] is True and config["noEmit"] is True
    result = tsc("tsconfig.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(list((TS_DIR / "good").glob("*.ts"))) >= 2


def test_mistakes_fail_with_the_expected_diagnostics() -> None:
    source = TS_DIR / "bad" / "mistakes.ts"
    expected = {}
    for number, line in enumerate(source.read_text().splitlines(), 1):
        match = EXPECT.search(line)
        if match:
            expected[number] = (match["code"], match["words"].strip())
    assert len(expected) >= 10
    result = tsc("tsconfig.bad.json")
    assert result.returncode != 0
    got = {int(d["line"]): d for d in diagnostics(result.stdout)}
    assert all(d["file"] == "bad/mistakes.ts" for d in got.values()), result.stdout
    assert sorted(got) == sorted(expected), result.stdout
    for number, (code, words) in expected.items():
        assert got[number]["code"] == code, (number, got[number])
        assert words.strip("'\"").replace("'", "").replace('"', "") in \
            got[number]["message"].replace("'", "").replace('"', ""), (number, got[number])


def parse_asyncapi(path: Path) -> tuple[int, list[dict[str, Any]]]:
    result = _run("validate-asyncapi.mjs", str(path))
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines or result.returncode == 0, result.stderr
    return result.returncode, lines


def test_the_asyncapi_document_is_valid_for_the_official_parser() -> None:
    code, lines = parse_asyncapi(ROOT / "docs" / "asyncapi.yaml")
    errors = [d for d in lines if d.get("severity") == "error"]
    assert code == 0 and errors == [], lines
    summary = next(d for d in lines if d.get("parsed"))
    assert summary["version"].startswith("3.0")
    assert {"/", "/chat"} <= set(summary["channels"])
    assert summary["operations"] >= 28


def test_the_parser_reports_a_broken_document(tmp_path: Path) -> None:
    document = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
    first = next(iter(document["operations"].values()))
    first["action"] = "fetch"  # only send and receive exist
    first["messages"] = [{"$ref": "#/channels/Nowhere/messages/x"}]
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(document, sort_keys=False))
    code, lines = parse_asyncapi(broken)
    assert code != 0
    assert any(d.get("severity") == "error" for d in lines), lines
