#!/usr/bin/env python3
"""Write spec/coverage.md: which tests, conformance cases and golden vectors check each requirement.

Requirement ids are those defined in spec/protocol.md (a bullet starting with `[PREFIX-n]`).
Sources cite them by writing the id in brackets, like `[FRAME-3]`, in a test's name, docstring,
comment or failure message. The tool scans test/, python/, conformance/, reference_server/,
reference_slicer_adapter/, examples/ and spec/tests/ (whichever exist), plus the `requirements`
lists of the golden vectors in spec/vectors/*.json and of the decision tables in
spec/vectors/decisions/. A citation counts as a check when it is in a test file (a path component
`test` or `tests`, a file named `test_*` or `unit-*`) or anywhere under conformance/; citations
elsewhere are listed as implementation notes.

Usage: coverage.py [--check] [--root DIR]
  (no option)  rewrite spec/coverage.md
  --check      exit 1 if spec/coverage.md is not what this tool would write (stale)
Exit status: 0 success, 1 stale, 2 usage error. Standard library only.
"""

import argparse
import json
import re
import sys
from pathlib import Path

SCANNED_DIRS = ("test", "python", "conformance", "reference_server", "reference_slicer_adapter",
                "examples", "spec/tests")
SOURCE_SUFFIXES = {".py", ".cpp", ".hpp", ".h", ".cc", ".cxx", ".ipp", ".sh", ".json", ".toml",
                   ".yaml", ".yml", ".txt", ".cmake"}
SKIPPED_DIRS = {"__pycache__", ".git", ".pytest_cache", "node_modules"}
CITATION = re.compile(r"\[([A-Z]+-\d+)\]")
DEFINITION = re.compile(r"^- `\[([A-Z]+-\d+)\]`")
HEADING = re.compile(r"^#{2,3} (?:Appendix )?(\d+(?:\.\d+)*|[A-Z])\.? ")
PY_SCOPE = re.compile(r"^(\s*)(?:async\s+)?(?:def|class)\s+(\w+)")
CPP_SCOPE = re.compile(r"^\s*(?:TEST_CASE|SUBCASE|TEST_CASE_FIXTURE|SCENARIO)\s*\(")
STRING_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def requirement_levels(protocol_text):
    """{id: (section, level)} for every requirement defined in protocol.md, in document order."""
    requirements, section, current, paragraph = {}, "", None, []

    def close():
        if current is not None:
            text = " ".join(paragraph)
            if re.search(r"\b(MUST|REQUIRED|SHALL)\b", text):
                level = "MUST"
            elif re.search(r"\b(SHOULD|RECOMMENDED)\b", text):
                level = "SHOULD"
            elif re.search(r"\b(MAY|OPTIONAL)\b", text):
                level = "MAY"
            else:
                level = "-"
            requirements[current] = (section, level)

    for line in protocol_text.splitlines():
        heading = HEADING.match(line)
        definition = DEFINITION.match(line)
        if heading or definition or not line.strip() or line.startswith("- ") \
                or line.startswith("|"):
            close()
            current, paragraph = None, []
        if heading:
            section = heading.group(1)
        if definition:
            if definition.group(1) in requirements:
                raise SystemExit(f"protocol.md defines {definition.group(1)} twice")
            current = definition.group(1)
        if current is not None:
            paragraph.append(line)
    close()
    return requirements


def is_check(relative):
    parts = relative.parts
    return parts[0] == "conformance" or "test" in parts[:-1] or "tests" in parts[:-1] \
        or parts[-1].startswith(("test_", "unit-"))


def cpp_scope_name(lines, index):
    """The string of the TEST_CASE/SUBCASE starting at lines[index], joined across lines."""
    text = ""
    for line in lines[index:index + 6]:
        text += line
        if ")" in "".join(STRING_LITERAL.sub("", line)):
            break
    return "".join(STRING_LITERAL.findall(text)).strip()


def enclosing_scope(lines, index, suffix):
    """The test or function a citation on lines[index] belongs to, or '' at file level."""
    if suffix == ".py":
        indent = len(lines[index]) - len(lines[index].lstrip())
        for back in range(index, -1, -1):
            match = PY_SCOPE.match(lines[back])
            if match and (back == index or len(match.group(1)) < indent):
                return match.group(2)
        return ""
    if suffix in (".cpp", ".hpp", ".h", ".cc", ".cxx", ".ipp"):
        for back in range(index, -1, -1):
            if CPP_SCOPE.match(lines[back]):
                return cpp_scope_name(lines, back)
        return ""
    return ""


def scan_sources(root):
    """{id: {"checks": set, "code": set}}, each entry a display string."""
    citations = {}
    for directory in SCANNED_DIRS:
        base = root / directory
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            relative = path.relative_to(root)
            if not path.is_file() or path.suffix not in SOURCE_SUFFIXES \
                    or SKIPPED_DIRS & set(relative.parts) \
                    or any(part.startswith("build") for part in relative.parts):
                continue
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (UnicodeDecodeError, OSError):
                continue
            for index, line in enumerate(lines):
                for requirement in CITATION.findall(line):
                    entry = citations.setdefault(requirement, {"checks": set(), "code": set()})
                    if is_check(relative):
                        scope = enclosing_scope(lines, index, path.suffix)
                        entry["checks"].add(f"{relative.as_posix()}" +
                                            (f": {scope}" if scope else ""))
                    else:
                        entry["code"].add(relative.as_posix())
    return citations


def scan_vectors(root):
    """{id: {vector file name: count}} from the `requirements` of every golden vector and of
    every case of the decision tables (decisions/*.json)."""
    found = {}
    directory = root / "spec" / "vectors"
    for path in sorted(directory.glob("*.json")) + sorted(directory.glob("decisions/*.json")):
        name = path.relative_to(directory).as_posix()
        document = json.loads(path.read_text(encoding="utf-8"))
        for vector in document.get("vectors", []):
            for requirement in vector.get("requirements", []):
                files = found.setdefault(requirement, {})
                files[name] = files.get(name, 0) + 1
    return found


def escape(text):
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render(root):
    requirements = requirement_levels((root / "spec" / "protocol.md").read_text(encoding="utf-8"))
    citations = scan_sources(root)
    vectors = scan_vectors(root)
    scanned = [d + "/" for d in SCANNED_DIRS if (root / d).is_dir()] + ["spec/vectors/*.json",
                                                                    "spec/vectors/decisions/*.json"]
    rows, counts = [], {"covered": 0, "vectors only": 0, "UNCOVERED": 0}
    for requirement, (section, level) in requirements.items():
        cited = citations.get(requirement, {"checks": set(), "code": set()})
        in_vectors = vectors.get(requirement, {})
        if cited["checks"]:
            status = "covered"
        elif in_vectors:
            status = "vectors only"
        else:
            status = "UNCOVERED"
        counts[status] += 1
        checks = sorted(cited["checks"])
        if in_vectors:
            checks.append("vectors: " + ", ".join(f"{name} ({count})"
                                                  for name, count in sorted(in_vectors.items())))
        rows.append(f"| `{requirement}` | {section} | {level} | {status} | "
                    f"{'<br>'.join(escape(check) for check in checks) or '-'} | "
                    f"{'<br>'.join(sorted(cited['code'])) or '-'} |")
    unknown = sorted((set(citations) | set(vectors)) - set(requirements),
                     key=lambda r: (r.split("-")[0], int(r.split("-")[1])))
    lines = [
        "# Requirement coverage",
        "",
        "Appendix A of `protocol.md`. Generated by `spec/tools/coverage.py`; do not edit by hand.",
        f"Scanned: {', '.join(f'`{d}`' for d in scanned)}.",
        "",
        "A requirement is *covered* when a test or conformance case cites it (`[ID]` in its name,",
        "docstring, comment or failure message), *vectors only* when only golden vectors name it,",
        "and UNCOVERED otherwise. *Implementation* lists non-test sources that cite the id.",
        "*Level* is the strongest BCP 14 keyword of the requirement; `-` marks a definition that",
        "another requirement makes binding (for example `[CANON-1]` for section 12).",
        "",
        f"Summary: {len(requirements)} requirements; {counts['covered']} covered, "
        f"{counts['vectors only']} by vectors only, {counts['UNCOVERED']} UNCOVERED.",
        "",
    ]
    if unknown:
        lines += ["Cited but not defined in `protocol.md` (fix the citation or the spec):", ""]
        for requirement in unknown:
            where = sorted(citations.get(requirement, {}).get("checks", set())
                           | citations.get(requirement, {}).get("code", set()))
            where += [f"spec/vectors/{name}" for name in sorted(vectors.get(requirement, {}))]
            lines.append(f"- `{requirement}`: {', '.join(escape(w) for w in where)}")
        lines.append("")
    lines += ["| id | section | level | status | checked by | implementation |",
              "|----|---------|-------|--------|------------|----------------|"]
    lines += rows
    return "\n".join(lines) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if spec/coverage.md is stale")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2],
                        help="repository root (default: the one holding this script)")
    options = parser.parse_args(argv)
    if not (options.root / "spec" / "protocol.md").is_file():
        print(f"coverage.py: no spec/protocol.md under {options.root}", file=sys.stderr)
        return 2
    text = render(options.root)
    target = options.root / "spec" / "coverage.md"
    if options.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            print("spec/coverage.md is stale: run spec/tools/coverage.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    summary = next(line for line in text.splitlines() if line.startswith("Summary:"))
    print(f"wrote {target.relative_to(options.root)}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
