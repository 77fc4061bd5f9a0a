"""TLS with the standard ssl module: the Python server and client, certificates verified by
default [SEC-6], the conformance suite through TLS with a token, and the C++ programs."""

import os
import re
import signal
import ssl
import subprocess
import threading

import numpy as np
import pytest

from conftest import PYTHON, PYTHON_DIR, WAIT, oblique_matrix, start_server
from slicerbridge import Client, Image, SlicerBridgeError
from slicerbridge.errors import ErrorCode
from slicerbridge.tls import TlsSetupError, client_context, server_context
from test_cli import first_line
from tls_support import ROOT, TlsProxy, built, make_certificate

ENV = dict(os.environ, PYTHONPATH=PYTHON_DIR)
TOKEN = "conformance-token-0123456789abcdef"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("certificates"))
    return {"good": make_certificate(directory, "good"),
            "other": make_certificate(directory, "other"),
            "wrong_host": make_certificate(directory, "wrong-host", "DNS:other.example"),
            "directory": directory}


@pytest.fixture
def tls_server(certificates):
    cert, key = certificates["good"]
    instance = start_server()
    host, port = instance.server.listen_tcp("127.0.0.1", 0, tls=server_context(cert, key))
    yield instance, f"tls://{host}:{port}"
    instance.hooks.release.set()
    instance.server.close()


def test_python_client_and_server_over_tls(tls_server, certificates):
    instance, address = tls_server
    voxels = np.random.default_rng(1).integers(-2000, 2000, (40, 64, 96), dtype=np.int16)
    image = Image(voxels, oblique_matrix(), space="LPS")  # 480 KiB: several TLS chunks
    with Client.connect(address, tls_ca=certificates["good"][0], timeout=WAIT) as client:
        echoed = client.invoke("echo", {"image": image}, timeout=WAIT).outputs["image_out"]
        assert np.array_equal(echoed.voxels, voxels)
        assert np.array_equal(echoed.ijk_to_space, image.ijk_to_space)
        fractions = []
        call = client.submit("slow", parameters={"seconds": WAIT * 4, "steps": 400},
                             progress=lambda f, m: fractions.append(f))
        call.cancel()
        with pytest.raises(SlicerBridgeError) as cancelled:
            call.result(WAIT)
        assert cancelled.value.code == ErrorCode.CANCELLED
        # Many calls at once from several threads share one TLS connection.
        failures = []

        def echo_many():
            try:
                for _ in range(5):
                    out = client.invoke("echo", {"image": image}, timeout=WAIT)
                    assert np.array_equal(out.outputs["image_out"].voxels, voxels)
            except Exception as error:  # reported below
                failures.append(error)

        threads = [threading.Thread(target=echo_many) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT * 2)
        assert not failures and not any(t.is_alive() for t in threads)


def test_the_client_refuses_an_unknown_certificate_by_default_SEC_6(tls_server, certificates):
    """[SEC-6]"""
    _, address = tls_server
    with pytest.raises(ssl.SSLCertVerificationError):
        Client.connect(address, timeout=WAIT)  # the system's CAs do not know it
    with pytest.raises(ssl.SSLCertVerificationError):
        Client.connect(address, tls_ca=certificates["other"][0], timeout=WAIT)
    instance, _ = tls_server
    assert instance.server.processors  # still serving
    with Client.connect(address, tls_ca=certificates["good"][0], timeout=WAIT) as client:
        client.ping(timeout=WAIT)


def test_the_client_checks_the_host_name_SEC_6(certificates):
    """[SEC-6]"""
    cert, key = certificates["wrong_host"]
    instance = start_server()
    try:
        host, port = instance.server.listen_tcp("127.0.0.1", 0, tls=server_context(cert, key))
        with pytest.raises(ssl.SSLCertVerificationError) as refused:
            Client.connect(f"tls://{host}:{port}", tls_ca=cert, timeout=WAIT)
        assert "mismatch" in str(refused.value)
    finally:
        instance.server.close()


def test_unreadable_certificates_are_reported(certificates, tmp_path):
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(TlsSetupError, match="cannot read the CA certificates in"):
        client_context(missing)
    with pytest.raises(TlsSetupError, match="cannot load the TLS certificate"):
        server_context(missing, missing)


def test_plain_client_to_a_tls_server_and_back_fail_cleanly(tls_server, certificates):
    instance, address = tls_server
    plain_address = address[len("tls://"):]
    with pytest.raises((ConnectionError, SlicerBridgeError)):
        Client.connect(plain_address, timeout=WAIT)
    plain = start_server()
    try:
        host, port = plain.address
        with pytest.raises(ssl.SSLError):
            Client.connect(f"tls://{host}:{port}", tls_ca=certificates["good"][0], timeout=WAIT)
    finally:
        plain.server.close()


def serve_tls(certificates, *extra):
    cert, key = certificates["good"]
    process = subprocess.Popen([PYTHON, "-m", "slicerbridge", "serve", "--listen", "127.0.0.1:0",
                                "--tls-cert", cert, "--tls-key", key, *extra], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = first_line(process)
    match = re.fullmatch(r"listening on tls://(127\.0\.0\.1):(\d+)", line)
    assert match, line
    return process, match.group(1), int(match.group(2))


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_cli(*arguments):
    return subprocess.run([PYTHON, "-m", "slicerbridge", *arguments], env=ENV,
                          capture_output=True, text=True, timeout=WAIT * 3)


def test_command_line_tls_flags_and_errors(certificates):
    process, host, port = serve_tls(certificates)
    try:
        address = f"tls://{host}:{port}"
        ok = run_cli("call", address, "ping", "--tls-ca", certificates["good"][0])
        assert ok.returncode == 0, ok.stderr
        untrusted = run_cli("call", address, "ping")
        assert untrusted.returncode == 3
        assert "certificate" in untrusted.stderr and "--tls-ca" in untrusted.stderr
        missing = run_cli("call", address, "ping", "--tls-ca", "/nonexistent/ca.pem")
        assert missing.returncode == 4
        assert "cannot read the CA certificates in /nonexistent/ca.pem" in missing.stderr
        check = run_cli("client-check", address, "--tls-ca", certificates["good"][0])
        assert check.returncode == 0, check.stderr
    finally:
        stop(process)


def test_conformance_suite_passes_over_tls_with_a_token(certificates, tmp_path):
    """The whole server suite, through a proxy that turns the runner's plain TCP into TLS."""
    process, host, port = serve_tls(certificates, "--token", TOKEN)
    proxy = TlsProxy(host, port, certificates["good"][0])
    try:
        report = tmp_path / "report.json"
        result = subprocess.run(
            [os.path.join(ROOT, "conformance", "slicerbridge-conformance"), "--quiet",
             "--strict", "--token", TOKEN, "--json", str(report), "--fuzz-cases", "20", "server",
             proxy.address],
            capture_output=True, text=True, timeout=600)
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert re.fullmatch(r"(\d+) passed, 0 failed, (\d+) skipped", summary), summary
        assert int(summary.split()[0]) > 150
        outcomes = {entry["id"]: entry["result"] for entry in _report_cases(report)}
        for token_case in ("handshake.token-missing", "handshake.token-wrong",
                           "handshake.token-accepted"):
            assert outcomes[token_case] == "PASS"
    finally:
        proxy.close()
        stop(process)


def _report_cases(report):
    import json
    return json.loads(report.read_text())["cases"]


# -- with the C++ programs of the build -------------------------------------------------------

@pytest.mark.built
def test_python_client_checks_the_cpp_server_over_tls(certificates):
    server = built("reference_server/slicerbridge-server")
    cert, key = certificates["good"]
    process = subprocess.Popen([server, "--listen", "127.0.0.1:0", "--tls-cert", cert,
                                "--tls-key", key], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = first_line(process)
        assert line.startswith("listening on tls://127.0.0.1:"), line
        address = line[len("listening on "):]
        check = run_cli("client-check", address, "--tls-ca", cert)
        assert check.returncode == 0, check.stderr
        untrusted = run_cli("call", address, "ping")
        assert untrusted.returncode == 3 and "certificate" in untrusted.stderr
        with Client.connect(address, tls_ca=cert, timeout=WAIT) as client:
            image = Image(np.arange(60, dtype=np.float32).reshape(3, 4, 5), oblique_matrix())
            echoed = client.invoke("echo", {"image": image}, timeout=WAIT).outputs
            (out,) = [value for value in echoed.values() if isinstance(value, Image)]
            assert np.array_equal(out.voxels, image.voxels)
    finally:
        stop(process)


@pytest.mark.built
def test_cpp_command_line_calls_the_python_server_over_tls(certificates, tmp_path):
    cli = built("reference_server/slicerbridge")
    process, host, port = serve_tls(certificates)
    try:
        address = f"tls://{host}:{port}"
        ping = subprocess.run([cli, "--server", address, "--tls-ca", certificates["good"][0],
                               "ping"], capture_output=True, text=True, timeout=WAIT * 3)
        assert ping.returncode == 0, ping.stderr
        listing = subprocess.run([cli, "--server", address, "--tls-ca",
                                  certificates["good"][0], "list"],
                                 capture_output=True, text=True, timeout=WAIT * 3)
        assert listing.returncode == 0 and "echo" in listing.stdout, listing.stderr
        untrusted = subprocess.run([cli, "--server", address, "ping"], capture_output=True,
                                   text=True, timeout=WAIT * 3)
        assert untrusted.returncode == 3, untrusted.stderr
    finally:
        stop(process)
