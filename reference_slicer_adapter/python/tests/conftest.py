"""Fixtures of the adapter's Python tests.

The wrapped client core and the C++ reference server are build artifacts: they are looked for
in ``$SLICERBRIDGE_BUILD_DIR`` (default /work/main/build, i.e. the repository's ``build``), and
the tests that need them are skipped, with the reason, when that build lacks them. Servers run as
child processes on loopback and are stopped by the fixtures.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ADAPTER = Path(__file__).resolve().parents[2]
REPOSITORY = ADAPTER.parent
PYTHON_IMPLEMENTATION = REPOSITORY / "python"
BUILD = Path(os.environ.get("SLICERBRIDGE_BUILD_DIR", REPOSITORY / "build"))
TESTS = Path(__file__).resolve().parent

sys.path.insert(0, str(ADAPTER / "SlicerBridge"))  # SlicerBridgeLib
sys.path.insert(0, str(TESTS))  # fake_mrml


def _core_package_parent():
    if not BUILD.is_dir():
        return None
    for candidate in sorted(BUILD.glob("lib*/python*/*-packages/slicerbridgecore/__init__.py")) + \
            sorted(BUILD.glob("**/slicerbridgecore/__init__.py")):
        return candidate.parent.parent
    return None


CORE_PARENT = _core_package_parent()
if CORE_PARENT is not None:
    sys.path.insert(0, str(CORE_PARENT))
REFERENCE_SERVER = BUILD / "reference_server" / "slicerbridge-server"


@pytest.fixture(scope="session")
def core():
    """The wrapped core module ``slicerbridgecore``."""
    if CORE_PARENT is None:
        pytest.skip(f"the wrapped core is not built in {BUILD} (build the project with VTK, or "
                    "set SLICERBRIDGE_BUILD_DIR to a build that has it)")
    import slicerbridgecore
    return slicerbridgecore


class ServerProcess:
    """A server child process that prints ``listening on HOST:PORT`` first."""

    def __init__(self, argv, env=None):
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"{argv[0]} did not start: {line!r}")
        self.address = line.split()[-1]

    def kill(self):
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process.stdout.close()


def python_environment():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PYTHON_IMPLEMENTATION)
    return env


def python_server_command(*mode):
    return [sys.executable, "-m", "slicerbridge", "serve", *mode]


@pytest.fixture
def python_server():
    server = ServerProcess(python_server_command("--listen", "127.0.0.1:0"), python_environment())
    yield server
    server.stop()


@pytest.fixture
def recording_server():
    """The Python implementation plus the ``record`` processor (recording_server.py)."""
    server = ServerProcess([sys.executable, str(TESTS / "recording_server.py")],
                           python_environment())
    yield server
    server.stop()


@pytest.fixture
def reference_server():
    if not REFERENCE_SERVER.exists():
        pytest.skip(f"the C++ reference server is not built: {REFERENCE_SERVER} is missing")
    server = ServerProcess([str(REFERENCE_SERVER), "--listen", "127.0.0.1:0"])
    yield server
    server.stop()


@pytest.fixture(params=["python", "reference"])
def any_server(request):
    """Each server implementation in turn."""
    yield request.getfixturevalue(f"{request.param}_server")


@pytest.fixture
def bridge(core, any_server):
    from SlicerBridgeLib.client import Bridge
    connection = Bridge()
    connection.connect(any_server.address, timeout=30)
    yield connection
    connection.disconnect()
