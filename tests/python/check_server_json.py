"""Checks packaging/registry/server.json, the server's entry in the MCP Registry.

The registry validates an entry only when it is published, which comes after the wheel, the
image and the release asset of that version are out. A mistake found then costs a version number.
This check runs the registry's own schema offline, from the copy vendored next to server.json
(see packaging/registry/README.md), and adds what the schema cannot know: that the entry
describes this version of this project, under the wheel's name, with environment variables the
server actually reads.

    check_server_json.py [--server-json FILE] [--require-pyproject] [--mcpb BUNDLE]
    check_server_json.py --write-release OUT --mcpb BUNDLE
    check_server_json.py --self-test

The committed server.json holds 64 zeros as the bundle's digest because the bundle is built at
release time. `--write-release` writes a copy with the digest of BUNDLE and checks that copy;
`--mcpb` checks that the entry's digest is the digest of BUNDLE.

Prints `<file>: valid against <$id>` and exits 0, or prints each problem on stderr and exits 1.
Needs only `jsonschema` and the standard library.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

ROOT = Path(__file__).resolve().parents[2]
REGISTRY_DIR = ROOT / "packaging" / "registry"
SERVER_JSON = REGISTRY_DIR / "server.json"
SCHEMA = REGISTRY_DIR / "server.schema.json"
CARGO_TOML = ROOT / "Cargo.toml"
PYPROJECT = ROOT / "packaging" / "python" / "pyproject.toml"
# The environment variables the server reads are documented here and nowhere else.
ENV_DOCS = (ROOT / "docs" / "configuration.md", ROOT / "docs" / "backends.md")

URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def format_checker() -> FormatChecker:
    checker = FormatChecker()
    # jsonschema checks "uri" only when rfc3987 or rfc3986-validator is installed, and neither
    # is here; without this every URL in the entry (repository, website, bundle) would go
    # unchecked. The fallback asks what those URLs need: a scheme, no whitespace, and a host
    # for http(s).
    if "uri" not in checker.checkers:

        @checker.checks("uri", raises=ValueError)
        def is_uri(value: object) -> bool:
            if not isinstance(value, str):
                return True
            parts = urllib.parse.urlsplit(value)
            if not URI_SCHEME.fullmatch(parts.scheme) or any(c.isspace() for c in value):
                return False
            return parts.scheme not in ("http", "https") or bool(parts.hostname)

    return checker


def schema_validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    # A damaged vendored copy would otherwise validate everything or nothing without a word.
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=format_checker())


def describe(error: ValidationError) -> list[str]:
    # A package that fits none of the oneOf branches is reported as "not valid under any of the
    # given schemas". What is wrong is in the branch of the package's own registryType (the
    # schema's discriminator); the other branches only complain that the type is not theirs.
    if error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for e in error.context:
            branches.setdefault(e.relative_schema_path[0], []).append(e)
        own = [
            errors
            for errors in branches.values()
            if not any(list(e.relative_path) == ["registryType"] for e in errors)
        ]
        if len(own) == 1:
            return [line for e in own[0] for line in describe(e)]
        type_errors = [e for e in error.context if list(e.relative_path) == ["registryType"]]
        if not own and type_errors:
            # No branch is for this type, so the type is the mistake; the longest enum is the
            # one listing every type there is.
            error = max(type_errors, key=lambda e: len(e.validator_value or ()))
        else:
            error = best_match(error.context)
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    return [f"{where}: {error.message}"]


def schema_problems(validator: Draft7Validator, doc: Any) -> list[str]:
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [line for e in errors for line in describe(e)]


def workspace_version() -> str:
    with CARGO_TOML.open("rb") as f:
        return tomllib.load(f)["workspace"]["package"]["version"]


def pypi_normalized(name: str) -> str:
    # PyPI treats Decision_Matrix and decision-matrix as one project (PEP 503).
    return re.sub(r"[-_.]+", "-", name).lower()


def stated_version(package: dict[str, Any]) -> str | None:
    """The version a package names, wherever its registry type puts it."""
    kind = package.get("registryType")
    identifier = package.get("identifier", "")
    if kind == "oci":
        # An image reference carries its version as the tag; this schema has no version field
        # for images.
        return identifier.rpartition(":")[2] if ":" in identifier.rpartition("/")[2] else None
    if kind == "mcpb":
        match = re.search(r"/releases/download/v([^/]+)/", identifier)
        return match.group(1) if match else None
    return package.get("version")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def project_problems(
    doc: dict[str, Any], schema_id: str, require_pyproject: bool, mcpb: Path | None
) -> list[str]:
    problems = []
    if doc.get("$schema") != schema_id:
        problems.append(
            f"$schema is {doc.get('$schema')!r} but the vendored schema is {schema_id!r}: "
            "update one to match the other (packaging/registry/README.md)"
        )

    version = workspace_version()
    if doc.get("version") != version:
        problems.append(f"version is {doc.get('version')!r}, the workspace version is {version!r}")
    packages = doc.get("packages", [])
    for i, package in enumerate(packages):
        if (stated := stated_version(package)) != version:
            problems.append(
                f"packages/{i} ({package.get('registryType')}) names version {stated!r}, "
                f"the workspace version is {version!r}"
            )

    pypi = [p for p in packages if p.get("registryType") == "pypi"]
    if PYPROJECT.exists():
        with PYPROJECT.open("rb") as f:
            wheel = tomllib.load(f).get("project", {}).get("name")
        for package in pypi:
            if wheel is None or pypi_normalized(package.get("identifier", "")) != pypi_normalized(
                wheel
            ):
                problems.append(
                    f"the pypi package is {package.get('identifier')!r} but "
                    f"{PYPROJECT.relative_to(ROOT)} builds {wheel!r}"
                )
    elif require_pyproject:
        problems.append(
            f"{PYPROJECT.relative_to(ROOT)} does not exist, so the pypi identifier cannot be "
            "checked against the wheel's name"
        )

    docs = "\n".join(path.read_text(encoding="utf-8") for path in ENV_DOCS)
    declared = {}
    for i, package in enumerate(packages):
        names = [v.get("name") for v in package.get("environmentVariables", [])]
        if names:
            declared[f"packages/{i} ({package.get('registryType')})"] = names
        for name in names:
            if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", docs):
                problems.append(
                    f"packages/{i}: environment variable {name} is not documented in "
                    "docs/configuration.md or docs/backends.md, so the server may not read it"
                )
    # One server behind every package: a variable added to one copy and not the other means a
    # client shows different settings depending on how it installs the server.
    if len({tuple(names) for names in declared.values()}) > 1:
        listing = "; ".join(f"{where}: {', '.join(names)}" for where, names in declared.items())
        problems.append(f"the packages declare different environment variables: {listing}")

    if mcpb is not None:
        bundles = [p for p in packages if p.get("registryType") == "mcpb"]
        if not bundles:
            problems.append("--mcpb was given but the entry has no mcpb package")
        actual = sha256_of(mcpb)
        for package in bundles:
            asset = urllib.parse.urlsplit(package.get("identifier", "")).path.rpartition("/")[2]
            if mcpb.name != asset:
                problems.append(
                    f"the bundle given is {mcpb.name} but the entry downloads {asset}: "
                    "the digest would be of another file"
                )
            if package.get("fileSha256") != actual:
                problems.append(
                    f"fileSha256 is {package.get('fileSha256')}, {mcpb.name} has {actual}"
                )
    return problems


def check(path: Path, require_pyproject: bool, mcpb: Path | None) -> int:
    validator = schema_validator()
    schema_id = validator.schema["$id"]
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        print(f"{path.name}: cannot be read as JSON: {e}", file=sys.stderr)
        return 1
    problems = schema_problems(validator, doc)
    # The project checks read fields the schema guarantees, so they run on a valid entry only.
    if not problems:
        problems = project_problems(doc, schema_id, require_pyproject, mcpb)
    if problems:
        for problem in problems:
            print(f"{path.name}: {problem}", file=sys.stderr)
        return 1
    print(f"{path.name}: valid against {schema_id}")
    return 0


def write_release(source: Path, out: Path, mcpb: Path, require_pyproject: bool) -> int:
    doc = json.loads(source.read_text(encoding="utf-8"))
    digest = sha256_of(mcpb)
    for package in doc.get("packages", []):
        if package.get("registryType") == "mcpb":
            package["fileSha256"] = digest
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return check(out, require_pyproject, mcpb)


def self_test() -> int:
    """Shows the schema check can fail: each mutation of the entry must be rejected."""
    validator = schema_validator()
    pristine = json.loads(SERVER_JSON.read_text(encoding="utf-8"))
    failures = []
    # Unless the untouched entry passes, a rejected mutation could be rejected for another reason.
    if problems := schema_problems(validator, pristine):
        failures.append(f"the unmutated entry is rejected: {problems}")

    without_name = copy.deepcopy(pristine)
    del without_name["name"]
    pypi_latest = copy.deepcopy(pristine)
    pypi = next(p for p in pypi_latest["packages"] if p["registryType"] == "pypi")
    pypi["version"] = "latest"

    def errors_of(doc: Any) -> list[ValidationError]:
        found, pending = [], list(validator.iter_errors(doc))
        while pending:
            error = pending.pop()
            found.append(error)
            pending.extend(error.context or [])
        return found

    cases = [
        # Rejected for the mutation itself, not for some side effect of it.
        (
            "an entry without name",
            without_name,
            lambda e: e.validator == "required" and "'name'" in e.message and not e.path,
        ),
        (
            "a pypi package version 'latest'",
            pypi_latest,
            lambda e: e.validator == "not" and list(e.path)[-1:] == ["version"],
        ),
    ]
    for label, doc, is_the_error in cases:
        if any(is_the_error(e) for e in errors_of(doc)):
            print(f"self-test: the schema rejects {label}")
        else:
            failures.append(f"the schema accepts {label}: {schema_problems(validator, doc)}")

    for failure in failures:
        print(f"self-test: {failure}", file=sys.stderr)
    if failures:
        return 1
    print("self-test: passed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-json", type=Path, default=SERVER_JSON, help="entry to check")
    parser.add_argument(
        "--require-pyproject",
        action="store_true",
        help="fail when packaging/python/pyproject.toml is missing",
    )
    parser.add_argument(
        "--mcpb", type=Path, help="the release bundle the entry's digest must match"
    )
    parser.add_argument(
        "--write-release",
        type=Path,
        metavar="OUT",
        help="write server.json with the digest of --mcpb to OUT and check OUT",
    )
    parser.add_argument("--self-test", action="store_true", help="show the check can fail")
    args = parser.parse_args()

    if args.self_test:
        return self_test()
    if args.mcpb is not None and not args.mcpb.is_file():
        parser.error(f"--mcpb {args.mcpb}: no such file")
    if args.write_release is not None:
        if args.mcpb is None:
            parser.error("--write-release needs --mcpb, the bundle whose digest it writes")
        return write_release(
            args.server_json, args.write_release, args.mcpb, args.require_pyproject
        )
    return check(args.server_json, args.require_pyproject, args.mcpb)


if __name__ == "__main__":
    sys.exit(main())
