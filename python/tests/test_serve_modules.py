"""``python -m slicerbridge serve MODULE``: a user's own processors, over TCP, a Unix socket and
standard input/output, where nothing a processor or an import prints can corrupt the stream."""

import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from conftest import PYTHON, PYTHON_DIR, WAIT, oblique_matrix
from slicerbridge import Client, Image, SlicerBridgeError
from slicerbridge.client import LaunchError
from test_cli import first_line

ENV = dict(os.environ, PYTHONPATH=PYTHON_DIR)

USER_MODULE = '''
import os
import subprocess
import sys

import numpy as np
from slicerbridge import Float, Image, Output, processor

print("chatty import: a banner on standard output")
os.write(1, b"a C library writing to descriptor 1\\n")


@processor(title="Scale", category="Testing")
def scale(ctx, volume: Image, factor: Float(min=0.0, max=10.0) = 2.0
          ) -> {"scaled": Output(Image)}:
    """Multiplies the voxels; prints on the way, as a careless processor does."""
    print("processing", volume.dims)
    subprocess.run([sys.executable, "-c", "print('a child process printing')"], check=True)
    ctx.progress(1.0)
    return {"scaled": volume.with_voxels(volume.voxels * np.float32(factor))}


@processor(category="Testing")
def reads_stdin(ctx) -> {}:
    """Reads standard input, which must not be the protocol's stream."""
    print("stdin gave", repr(sys.stdin.read()), repr(os.read(0, 100)))
    return {}


def not_a_processor():
    return 1
'''


@pytest.fixture
def user_module(tmp_path):
    path = tmp_path / "my_processors.py"
    path.write_text(USER_MODULE)
    return path


def image():
    return Image(np.arange(24, dtype=np.float32).reshape(2, 3, 4), oblique_matrix(), space="LPS")


def check_scale(client):
    names = [d.name for d in client.catalog(timeout=WAIT)]
    assert names == ["scale", "reads_stdin"]  # only the module's, in the order defined
    given = image()
    result = client.invoke("scale", {"volume": given}, {"factor": 3.0}, timeout=WAIT)
    scaled = result.outputs["scaled"]
    assert np.array_equal(scaled.voxels, given.voxels * 3)
    assert np.array_equal(scaled.ijk_to_space, given.ijk_to_space) and scaled.space == "LPS"
    client.invoke("reads_stdin", timeout=WAIT)


def test_stdio_serves_a_file_whose_import_and_processors_print(user_module, capfd):
    """[STDIO-1] [STDIO-2]: what the processor prints goes to standard error, and after goodbye
    the child exits by itself, with status 0."""
    client = Client.launch([PYTHON, "-m", "slicerbridge", "serve", "--stdio", str(user_module)],
                           env=ENV, timeout=WAIT)
    try:
        check_scale(client)
    finally:
        client.close(timeout=WAIT)
    assert client.process.returncode == 0
    stderr = capfd.readouterr().err
    for printed in ("chatty import", "a C library writing", "processing (4, 3, 2)",
                    "a child process printing", "stdin gave '' b''"):
        assert printed in stderr  # relayed from the server's standard error


def test_stdio_serves_a_module_by_name(tmp_path):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("print('package import prints too')\n")
    (package / "filters.py").write_text(USER_MODULE)
    env = dict(ENV, PYTHONPATH=os.pathsep.join([PYTHON_DIR, str(tmp_path)]))
    with Client.launch([PYTHON, "-m", "slicerbridge", "serve", "--stdio", "mypkg.filters"],
                       env=env, timeout=WAIT) as client:
        check_scale(client)


def test_module_attribute_selects_processors(user_module):
    with Client.launch([PYTHON, "-m", "slicerbridge", "serve", "--stdio",
                        f"{user_module}:scale", "--builtin"], env=ENV, timeout=WAIT) as client:
        names = [d.name for d in client.catalog(timeout=WAIT)]
    assert names[0] == "scale" and "reads_stdin" not in names and "echo" in names


def start_listening(*arguments):
    process = subprocess.Popen([PYTHON, "-m", "slicerbridge", "serve", *arguments], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = first_line(process)
    return process, line


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(WAIT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_listen_with_a_token_file(user_module, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("a-token-with-enough-entropy-1234\n")
    process, line = start_listening(str(user_module), "--listen", "127.0.0.1:0",
                                    "--token-file", str(token_file), "--workers", "2")
    try:
        assert line.startswith("listening on 127.0.0.1:"), line
        address = line[len("listening on "):]
        with Client.connect(address, token="a-token-with-enough-entropy-1234",
                            timeout=WAIT) as client:
            check_scale(client)
        with pytest.raises(SlicerBridgeError) as refused:
            Client.connect(address, token="wrong", timeout=WAIT)
        assert refused.value.name == "unauthorized"
    finally:
        stop(process)


@pytest.mark.skipif(not hasattr(__import__("socket"), "AF_UNIX"), reason="no Unix sockets")
def test_unix_socket(user_module, tmp_path):
    path = str(tmp_path / "server.sock")
    process, line = start_listening(str(user_module), "--unix", path)
    try:
        assert line == f"listening on unix:{path}"
        with Client.connect(f"unix:{path}", timeout=WAIT) as client:
            check_scale(client)
    finally:
        stop(process)


@pytest.mark.parametrize("arguments, status, text", [
    (["missing_file.py"], 2, "no such file"),
    (["no_such_module_anywhere"], 2, "no module named 'no_such_module_anywhere'"),
    (["{empty}"], 2, "defines no @processor functions"),
    (["{raises}"], 1, "ZeroDivisionError"),
    (["{module}:nothing"], 2, "has no 'nothing'"),
    (["{module}", "--stdio", "--listen", "127.0.0.1:0"], 2,
     "--stdio serves standard input and output only; drop --listen, --unix and TLS"),
    (["{module}", "--listen", "127.0.0.1:0", "--unix", "x.sock"], 2,
     "give either --listen or --unix"),
    (["{module}", "--tls-cert", "c.pem"], 2, "--tls-cert and --tls-key go together"),
    (["{module}", "--token-file", "/nonexistent/token"], 2, "cannot read the token file"),
])
def test_serve_usage_and_import_errors(user_module, tmp_path, arguments, status, text):
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    raises = tmp_path / "raises.py"
    raises.write_text("import slicerbridge\n1 / 0\n")
    arguments = [a.format(empty=empty, raises=raises, module=user_module) for a in arguments]
    result = subprocess.run([PYTHON, "-m", "slicerbridge", "serve", *arguments], env=ENV,
                            capture_output=True, text=True, timeout=WAIT, cwd=tmp_path)
    assert result.returncode == status, result.stderr
    assert text in result.stderr
    assert result.stdout == ""


SCRIPT_WITH_API = '''
import sys
from slicerbridge import claim_stdio, serve_stdio
claim_stdio()                      # first: whatever follows may print
print("imported after claim_stdio")
from my_processors import scale
serve_stdio([scale], expose_errors=True)
'''


def test_public_api_serves_stdio_from_a_script(user_module):
    script = user_module.parent / "serve_it.py"
    script.write_text(SCRIPT_WITH_API)
    with Client.launch([PYTHON, str(script)], env=ENV, timeout=WAIT) as client:
        assert [d.name for d in client.catalog(timeout=WAIT)] == ["scale"]
        result = client.invoke("scale", {"volume": image()}, timeout=WAIT)
        assert np.array_equal(result.outputs["scaled"].voxels, image().voxels * 2)


def test_serve_main_gives_a_script_the_serve_command_line(user_module):
    script = user_module.parent / "main_script.py"
    script.write_text(textwrap.dedent('''
        import sys
        import slicerbridge
        from my_processors import scale
        if __name__ == "__main__":
            sys.exit(slicerbridge.serve_main([scale]))
    '''))
    process = subprocess.Popen([PYTHON, str(script), "--listen", "127.0.0.1:0"], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The module's import printed before serve_main started: that is on stdout first.
        lines = [first_line(process) for _ in range(3)]
        assert "chatty import: a banner on standard output" in lines[:2], lines
        line = lines[2]
        with Client.connect(line[len("listening on "):], timeout=WAIT) as client:
            assert [d.name for d in client.catalog(timeout=WAIT)] == ["scale"]
    finally:
        stop(process)


# -- what a client says when a launched server goes wrong (issue 11) ----------------------------

def test_a_print_before_serving_is_quoted_with_its_likely_cause(tmp_path):
    """[STDIO-4]: bytes on standard output that are not a frame are reported as the processor's
    writing there, with the bytes and the likely cause."""
    script = tmp_path / "careless.py"
    script.write_text(textwrap.dedent('''
        print("Loading model weights... done")
        from slicerbridge import serve_stdio
        from slicerbridge.processors import echo
        serve_stdio([echo])
    '''))
    with pytest.raises(LaunchError) as failure:
        Client.launch([PYTHON, str(script)], env=ENV, timeout=WAIT)
    text = str(failure.value)
    assert "not a SlicerBridge frame" in text
    assert "Loading model weights" in text and "print()" in text


def test_a_print_after_the_handshake_is_quoted(tmp_path):
    script = tmp_path / "late.py"
    script.write_text(textwrap.dedent('''
        import os, sys
        from slicerbridge import processor, serve_stdio
        from slicerbridge.stdio import claim_stdio
        read_fd, write_fd = claim_stdio()

        @processor()
        def careless(ctx) -> {}:
            os.write(write_fd, b"debug: step 1 done\\n")  # what a print() to the real stdout does
            return {}
        serve_stdio([careless])
    '''))
    client = Client.launch([PYTHON, str(script)], env=ENV, timeout=WAIT)
    try:
        with pytest.raises(ConnectionError) as failure:
            client.invoke("careless", timeout=WAIT)
        assert "debug: step 1 done" in str(failure.value) and "print()" in str(failure.value)
    finally:
        client.close(timeout=WAIT)


def test_a_server_that_exits_before_the_handshake_shows_its_status_and_stderr():
    argv = [PYTHON, "-c", "import sys; sys.stderr.write('ImportError: no module torch\\n'); "
                          "sys.exit(3)"]
    with pytest.raises(LaunchError) as failure:
        Client.launch(argv, timeout=WAIT)
    text = str(failure.value)
    assert "the processor exited with status 3 before the handshake" in text
    assert "ImportError: no module torch" in text


def test_a_launched_server_runs_in_its_own_process_group(user_module):
    if os.name != "posix":
        pytest.skip("process groups are POSIX")
    with Client.launch([PYTHON, "-m", "slicerbridge", "serve", "--stdio", str(user_module)],
                       env=ENV, timeout=WAIT) as client:
        assert os.getpgid(client.process.pid) != os.getpgid(0)


def test_a_launched_server_that_fails_its_handshake_is_killed_with_its_group_STDIO_3(tmp_path):
    """A child that closes its connection without a hello and lingers is killed, and with it
    what it started in its process group [STDIO-3]."""
    if not os.path.isdir("/proc"):
        pytest.skip("reads /proc to see whether a process that is not ours still runs")
    pid_file = tmp_path / "grandchild"
    code = ("import os, subprocess, sys, time\n"
            "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],\n"
            "                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)\n"
            f"open({str(pid_file)!r}, 'w').write(str(g.pid))\n"
            "os.close(0)\nos.close(1)\n"  # the connection, a socket pair or two pipes
            "time.sleep(60)\n")
    with pytest.raises(LaunchError):
        Client.launch([PYTHON, "-c", code], timeout=WAIT)
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + WAIT
    while _runs(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _runs(grandchild)


def _runs(pid):
    """Whether process `pid` exists and has not ended (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_launched_server_that_refuses_the_token_says_so(user_module):
    with pytest.raises(SlicerBridgeError) as refused:
        Client.launch([PYTHON, "-m", "slicerbridge", "serve", "--stdio", str(user_module),
                       "--token", "the-right-token-0123456789"], env=ENV, token="wrong",
                      timeout=WAIT)
    assert refused.value.name == "unauthorized"


@pytest.mark.parametrize("ignores_sigterm", [False, True])
def test_a_lingering_child_gets_sigterm_then_sigkill_and_is_reaped_STDIO_3(ignores_sigterm):
    """[STDIO-3]: a child that does not exit within the grace gets SIGTERM; one that ignores it
    gets SIGKILL after another grace; either way it is reaped."""
    from slicerbridge.client import _stop
    code = "import signal, sys, time\n"
    if ignores_sigterm:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "print('ready', flush=True)\ntime.sleep(60)\n"
    process = subprocess.Popen([PYTHON, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout.readline() == b"ready\n"
    _stop(process, grace=0.3)
    assert process.returncode == (-signal.SIGKILL if ignores_sigterm else -signal.SIGTERM)
    process.stdout.close()


@pytest.mark.parametrize("ignores_sigterm", [False, True])
def test_a_lingering_child_is_ended_with_what_it_started_in_its_group_STDIO_3(ignores_sigterm):
    """[STDIO-3]: the signals go to the process group the launched child leads (as Client.launch
    starts it), so that a process it started there (the interpreter behind a launcher script)
    does not outlive it. The grandchild shares the child's standard output: its end comes only
    once both have ended."""
    if os.name != "posix":
        pytest.skip("process groups are POSIX")
    from slicerbridge.client import _stop
    code = "import signal, subprocess, sys, time\n"
    if ignores_sigterm:  # the grandchild inherits the ignored signal
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += ("subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
             "print('ready', flush=True)\ntime.sleep(60)\n")
    process = subprocess.Popen([PYTHON, "-c", code], stdout=subprocess.PIPE,
                               start_new_session=True)
    assert process.stdout.readline() == b"ready\n"
    _stop(process, grace=0.3)
    assert process.returncode == (-signal.SIGKILL if ignores_sigterm else -signal.SIGTERM)
    readable, _, _ = select.select([process.stdout], [], [], WAIT)
    assert readable, "the grandchild still holds the standard output"
    assert process.stdout.read() == b""
    process.stdout.close()
