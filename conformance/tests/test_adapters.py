"""The implementations' codec adapters through codec mode, on the spec's golden vectors."""

from __future__ import annotations

import glob
import os

import pytest

from conftest import CONFORMANCE, PYTHON, REPOSITORY, run_suite

VECTORS = os.path.join(REPOSITORY, "spec", "vectors")
HAVE_VECTORS = bool(glob.glob(os.path.join(VECTORS, "*.json")))
HAVE_PYTHON = os.path.isdir(os.path.join(REPOSITORY, "python", "slicerbridge"))
# A built C++ adapter (target slicerbridge-codec-adapter), named by the environment.
CPP_ADAPTER = os.environ.get("SLICERBRIDGE_CODEC_ADAPTER")


@pytest.mark.skipif(not (HAVE_VECTORS and HAVE_PYTHON), reason="needs spec/vectors and python/slicerbridge")
def test_python_adapter_passes_every_vector_it_supports(tmp_path):
    run = run_suite(["codec", "--", "env", f"PYTHONPATH={os.path.join(REPOSITORY, 'python')}", PYTHON,
                     os.path.join(CONFORMANCE, "adapters", "python_codec_adapter.py")], tmp_path)
    assert run.not_passing() == {}
    skipped = {case for case, outcome in run.outcomes().items() if outcome == "SKIPPED"}
    assert skipped and all(case.startswith("message.") for case in skipped)
    assert run.returncode == 0


@pytest.mark.skipif(not (HAVE_VECTORS and CPP_ADAPTER), reason="set SLICERBRIDGE_CODEC_ADAPTER to a built adapter")
def test_cpp_adapter_passes_every_vector(tmp_path):
    run = run_suite(["codec", "--", CPP_ADAPTER], tmp_path)
    assert set(run.outcomes().values()) == {"PASS"}
    assert run.returncode == 0


def test_codec_mode_without_vectors_is_a_usage_error(tmp_path):
    run = run_suite(["codec", "--vectors", str(tmp_path), "--", PYTHON, "-c", "pass"], tmp_path / "x")
    assert run.returncode == 2
    assert "no golden vectors" in run.stderr
