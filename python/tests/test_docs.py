"""docs/writing-processors.md: every ```python block runs (in order, in one namespace, in an
empty directory, in a process of its own), the module it shows serves and runs from the command
line, and the ```cpp blocks compile (as one translation unit, syntax only)."""

import os
import re
import shutil
import subprocess
import textwrap

import numpy as np
import pytest

from conftest import PYTHON, PYTHON_DIR, WAIT
from slicerbridge import Client, Image
from slicerbridge.files import read_image, write_image

ROOT = os.path.abspath(os.path.join(PYTHON_DIR, os.pardir))
GUIDE = os.path.join(ROOT, "docs", "writing-processors.md")
ENV = dict(os.environ, PYTHONPATH=PYTHON_DIR)


def blocks(language):
    with open(GUIDE, encoding="utf-8") as file:
        text = file.read()
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


RUNNER = textwrap.dedent('''
    import json, sys, traceback
    blocks = json.load(open(sys.argv[1]))
    namespace = {"__name__": "docs_example"}
    for number, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"writing-processors.md python block {number}", "exec"),
                 namespace)
        except BaseException:
            traceback.print_exc()
            print(f"python block {number} failed", file=sys.stderr)
            sys.exit(1)
    print(f"{len(blocks)} blocks ran")
''')


def test_every_python_block_runs(tmp_path):
    import json
    python_blocks = blocks("python")
    assert len(python_blocks) >= 8
    (tmp_path / "blocks.json").write_text(json.dumps(python_blocks))
    (tmp_path / "runner.py").write_text(RUNNER)
    result = subprocess.run([PYTHON, "runner.py", "blocks.json"], cwd=tmp_path, env=ENV,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert f"{len(python_blocks)} blocks ran" in result.stdout
    assert "stopped at the first check" in result.stdout


def module_file(tmp_path):
    (code,) = [b for b in blocks("python") if b.startswith("# file: my_processors.py")]
    path = tmp_path / "my_processors.py"
    path.write_text(code)
    return path


def test_the_guides_module_serves_over_stdio_and_runs_on_files(tmp_path):
    path = module_file(tmp_path)
    volume = Image(np.random.default_rng(3).integers(0, 1000, (6, 7, 8), dtype=np.int16),
                   np.diag([0.8, 0.8, 2.5, 1.0]), space="LPS")
    with Client.launch([PYTHON, "-m", "slicerbridge", "serve", "--stdio", str(path)],
                       env=ENV, timeout=WAIT) as client:
        assert [d.name for d in client.catalog(timeout=WAIT)] == ["smooth", "downsample"]
        smoothed = client.invoke("smooth", {"volume": volume}, timeout=WAIT).outputs["smoothed"]
        assert smoothed.same_grid(volume)
    write_image(volume, str(tmp_path / "in.nrrd"))
    result = subprocess.run([PYTHON, "-m", "slicerbridge", "run", "downsample", "--processors",
                             str(path), "--input", f"volume={tmp_path / 'in.nrrd'}", "--param",
                             "spacing_mm=1.6", "--output", f"coarse={tmp_path / 'out.nrrd'}"],
                            env=ENV, cwd=tmp_path, capture_output=True, text=True,
                            timeout=WAIT * 3)
    assert result.returncode == 0, result.stderr
    coarse = read_image(str(tmp_path / "out.nrrd"))
    assert np.allclose(coarse.spacing_ijk, 1.6) and coarse.space == "LPS"


def test_the_cpp_blocks_compile(tmp_path):
    compiler = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if compiler is None:
        pytest.skip("no C++ compiler")
    cpp_blocks = blocks("cpp")
    assert len(cpp_blocks) >= 2
    source = tmp_path / "guide.cpp"
    source.write_text("\n".join(cpp_blocks))
    result = subprocess.run([compiler, "-std=c++17", "-fsyntax-only", "-Wall", "-Wextra",
                             "-DASIO_STANDALONE", "-DASIO_NO_DEPRECATED",
                             "-I", os.path.join(ROOT, "include"), str(source)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    assert "warning" not in result.stderr, result.stderr[-5000:]


@pytest.mark.built
def test_the_cpp_command_line_runs_the_guides_processor_on_a_nifti_file(tmp_path):
    """The issue's end-to-end case: a processor written from the guide, served over stdio, run
    by the C++ command line on a NIfTI file."""
    pytest.importorskip("nibabel")
    from tls_support import built
    cli = built("reference_server/slicerbridge")
    path = module_file(tmp_path)
    matrix = np.array([[0.0, -0.75, 0.0, 12.0], [0.75, 0.0, 0.0, -40.0],
                       [0.0, 0.0, 2.5, 7.5], [0.0, 0.0, 0.0, 1.0]])
    volume = Image(np.random.default_rng(5).normal(0, 1, (6, 7, 8)).astype(np.float32), matrix)
    write_image(volume, str(tmp_path / "head.nii.gz"))
    result = subprocess.run([cli, "--launch", f"{PYTHON} -m slicerbridge serve --stdio {path}",
                             "run", "smooth", "--input", f"volume={tmp_path / 'head.nii.gz'}",
                             "--param", "radius=1", "--output",
                             f"smoothed={tmp_path / 'smoothed.nrrd'}"],
                            env=ENV, capture_output=True, text=True, timeout=WAIT * 3)
    assert result.returncode == 0, result.stderr
    smoothed = read_image(str(tmp_path / "smoothed.nrrd"))
    assert np.allclose(smoothed.in_space("RAS").ijk_to_space, matrix)
    assert abs(float(smoothed.voxels.mean()) - float(volume.voxels.mean())) < 0.2
