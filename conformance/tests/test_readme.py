"""README.md lists every case with its level and requirements: it must match the registry."""

from __future__ import annotations

import os

from conftest import CONFORMANCE
from slicerbridge_conformance.client_mode import CASES as CLIENT
from slicerbridge_conformance.server_cases import CASES as SERVER


def rows(cases, with_exit: bool) -> list[str]:
    lines = []
    for case in cases:
        requirements = " ".join(f"`{r}`" for r in case.requirements)
        exit_status = f" {case.data['expect']} |" if with_exit else ""
        lines.append(f"| `{case.id}` | {case.level} | {requirements} |{exit_status}")
    return lines


def test_readme_case_tables_match_the_registry():
    with open(os.path.join(CONFORMANCE, "README.md"), encoding="utf-8") as handle:
        readme = handle.read().splitlines()
    server = [line for line in readme if line.startswith("| `") and not line.startswith("| `client.")
              and line.count("|") == 4]
    client = [line for line in readme if line.startswith("| `client.")]
    assert server == rows(SERVER, False)
    assert client == rows(CLIENT, True)
