"""Mainstream consumers of /openapi.json accept it: Ajv (default options, so ECMAScript unicode-mode patterns),
Redocly's linter (0 errors, examples valid against their schemas), and openapi-generator's ``python`` client
(imports) and ``typescript-fetch`` client (compiles with tsc).

The npm tools are pinned in tests/consumers/package.json (with its lockfile) and installed by the ``npm_tools``
fixture; openapi-generator's jar comes from the PyPI package ``openapi-generator-cli`` (a test extra), since
the npm wrapper fetches the jar from Maven Central, which may be out of reach. A tool that cannot install is a
skip with the reason shown (pytest runs with ``-rs``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONSUMERS = Path(__file__).parent / "consumers"
BIN = CONSUMERS / "node_modules" / ".bin"
GENERATOR = Path(sys.executable).parent / "openapi-generator-cli"
EXAMPLE_RULES = {"no-invalid-media-type-examples", "no-invalid-parameter-examples", "no-invalid-schema-examples"}


def _run(args: list[str | Path], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def npm_tools() -> Path:
    """tests/consumers/node_modules, installed from the lockfile when missing or older than it."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: Ajv, Redocly and tsc cannot run")
    installed = CONSUMERS / "node_modules" / ".package-lock.json"
    lock = CONSUMERS / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        result = _run([npm, "ci", "--no-audit", "--no-fund"], CONSUMERS, timeout=600)
        if result.returncode != 0:
            pytest.skip(f"npm ci in tests/consumers failed: {result.stderr.strip()[-500:]}")
    return BIN


@pytest.fixture(scope="module")
def document(app, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("openapi-consumers") / "openapi.json"
    answer = app.test_client().get("/openapi.json")
    assert answer.status_code == 200
    path.write_bytes(answer.data)
    return path


@pytest.fixture(scope="module")
def generator() -> Path:
    """openapi-generator, when a JRE is there to run its jar."""
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (java): openapi-generator cannot run; .ci/run installs one")
    if not GENERATOR.is_file():
        pytest.skip("the openapi-generator-cli test extra is not installed: pip install -e '.[test]'")
    return GENERATOR


def _generate(generator: Path, document: Path, kind: str, out: Path, *extra: str) -> None:
    result = _run([generator, "generate", "-i", document, "-g", kind, "-o", out, "--skip-validate-spec", *extra],
                  out.parent)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_ajv_compiles_every_pattern(npm_tools, document):
    node = shutil.which("node")
    result = _run([node, CONSUMERS / "patterns.js", document], CONSUMERS)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["patterns"] > 5, found  # the document's patterns were found at all
    assert found["failures"] == []


def test_redocly_lint_finds_no_errors_and_no_invalid_examples(npm_tools, document):
    result = _run([npm_tools / "redocly", "lint", document, "--format=json"], CONSUMERS)
    report = json.loads(result.stdout)
    wrong = [f"{p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}" for p in report["problems"]
             if p["severity"] == "error" or p["ruleId"] in EXAMPLE_RULES]
    assert wrong == []
    assert report["totals"]["errors"] == 0


def test_the_generated_python_client_imports(generator, document):
    out = document.parent / "python-client"
    _generate(generator, document, "python", out, "--package-name", "workflows_generated")
    probe = ("import importlib, pkgutil, workflows_generated as p\n"
             "for m in pkgutil.walk_packages(p.__path__, 'workflows_generated.'): importlib.import_module(m.name)\n"
             "print(len(p.__all__))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=out, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(out)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.strip()) > 50  # its models and APIs, not an empty package


def test_the_generated_typescript_fetch_client_compiles(npm_tools, generator, document):
    out = document.parent / "typescript-fetch"
    _generate(generator, document, "typescript-fetch", out)
    result = _run([npm_tools / "tsc", "--noEmit", "--strict", "--target", "es2020", "--lib", "es2020,dom",
                   "--module", "commonjs", "--moduleResolution", "node", "index.ts"], out)
    assert result.returncode == 0, result.stdout[-3000:]
    assert (out / "apis" / "RequestsApi.ts").is_file() or any((out / "apis").glob("*.ts"))
