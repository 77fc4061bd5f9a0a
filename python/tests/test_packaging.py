"""``pip install ./python`` offline, out of tree, with a console command that does not shadow
the C++ ``slicerbridge``."""

import os
import subprocess
import sys

import pytest

from conftest import PYTHON, PYTHON_DIR

sys.path.insert(0, os.path.join(PYTHON_DIR, "build_backend"))
import slicerbridge_build  # noqa: E402


def tree(directory):
    """Every path under ``directory`` but caches of the tests and of Python."""
    found = set()
    for root, subdirectories, names in os.walk(directory):
        subdirectories[:] = [d for d in subdirectories
                             if d not in ("__pycache__", ".pytest_cache")]
        for name in subdirectories + names:
            found.add(os.path.relpath(os.path.join(root, name), directory))
    return found


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    directory = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([PYTHON, "-m", "venv", "--system-site-packages", str(directory)], check=True,
                   capture_output=True, timeout=300)
    return directory


@pytest.mark.parametrize("isolation", [[], ["--no-build-isolation"]])
def test_pip_install_works_offline_and_leaves_the_source_tree_alone(venv, tmp_path, isolation):
    before = tree(PYTHON_DIR)
    result = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index",
                             "--force-reinstall", "--no-deps", *isolation, PYTHON_DIR],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    after = tree(PYTHON_DIR)
    assert after == before, sorted(after ^ before)
    assert not [p for p in after if p == "build" or p.endswith(".egg-info")]

    bin_directory = venv / "bin"
    assert (bin_directory / "slicerbridge-py").exists()
    assert not (bin_directory / "slicerbridge").exists()  # the C++ command line's name
    help_text = subprocess.run([str(bin_directory / "slicerbridge-py"), "serve", "--help"],
                               capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert help_text.returncode == 0 and "--tls-cert" in help_text.stdout
    where = subprocess.run([str(bin_directory / "python"), "-c",
                            "import slicerbridge; print(slicerbridge.__file__)"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert str(venv) in where.stdout  # the installed copy, not the source tree
    module = subprocess.run([str(bin_directory / "python"), "-m", "slicerbridge", "--help"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert module.returncode == 0 and "serve" in module.stdout


def test_the_wheel_holds_the_package_metadata_and_command(tmp_path):
    import zipfile
    name = slicerbridge_build.build_wheel(str(tmp_path))
    with zipfile.ZipFile(tmp_path / name) as wheel:
        names = wheel.namelist()
        metadata = wheel.read("slicerbridge-1.0.0.dist-info/METADATA").decode()
        entry_points = wheel.read("slicerbridge-1.0.0.dist-info/entry_points.txt").decode()
        record = wheel.read("slicerbridge-1.0.0.dist-info/RECORD").decode()
    assert "slicerbridge/server.py" in names and "slicerbridge/cli.py" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]
    assert "Requires-Dist: numpy>=1.17" in metadata
    assert 'Requires-Dist: nibabel>=3; extra == "nifti"' in metadata
    assert "slicerbridge-py = slicerbridge.cli:main" in entry_points
    assert all(line.split(",")[0] in names for line in record.splitlines())


def test_the_fallback_toml_reader_reads_pyproject_as_tomllib_does():
    """Before Python 3.11 the backend reads pyproject.toml with its own reader."""
    tomllib = pytest.importorskip("tomllib")
    with open(os.path.join(PYTHON_DIR, "pyproject.toml"), "rb") as file:
        data = file.read()
    assert slicerbridge_build._parse_toml_subset(data.decode()) == tomllib.loads(data.decode())


def test_sdist_builds(tmp_path):
    import tarfile
    name = slicerbridge_build.build_sdist(str(tmp_path))
    with tarfile.open(tmp_path / name) as archive:
        names = archive.getnames()
    assert "slicerbridge-1.0.0/pyproject.toml" in names
    assert "slicerbridge-1.0.0/build_backend/slicerbridge_build.py" in names
