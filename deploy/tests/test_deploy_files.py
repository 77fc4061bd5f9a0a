"""The deployment files: Kubernetes manifests parse and hold what README promises (probes that
run `slicerbridge ping`), the probe command works as a plain command against a real server
(the container engine cannot run here), the Containerfiles' entry points exist, and HAProxy
accepts the generated configuration."""

import os
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
BUILD = os.environ.get("SLICERBRIDGE_BUILD_DIR", os.path.join(ROOT, "build"))
SERVER = os.path.join(BUILD, "reference_server", "slicerbridge-server")
CLI = os.path.join(BUILD, "reference_server", "slicerbridge")
sys.path.insert(0, os.path.join(ROOT, "deploy", "haproxy"))


def manifests():
    with open(os.path.join(ROOT, "deploy", "kubernetes", "slicerbridge.yaml")) as file:
        return list(yaml.safe_load_all(file))


def test_kubernetes_manifests_have_protocol_probes_and_a_matching_service():
    documents = {d["kind"]: d for d in manifests()}
    deployment, service = documents["Deployment"], documents["Service"]
    assert deployment["apiVersion"] == "apps/v1" and service["apiVersion"] == "v1"
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    container = pod["spec"]["containers"][0]
    port_names = {p["name"] for p in container["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in port_names
    for probe in ("readinessProbe", "livenessProbe"):
        command = container[probe]["exec"]["command"]
        assert command[0] == "slicerbridge" and command[-1] == "ping", command
    grace = float(container["args"][container["args"].index("--shutdown-grace") + 1])
    assert pod["spec"]["terminationGracePeriodSeconds"] > grace


@pytest.mark.skipif(not (os.access(SERVER, os.X_OK) and os.access(CLI, os.X_OK)),
                    reason=f"no build in {BUILD}")
def test_probe_command_and_entry_point_as_plain_commands(tmp_path):
    """The container's entry point (the server with the image's CMD, on loopback here) and the
    probe's command, run as the kubelet would run them; the probe fails once the server is
    stopped."""
    container = {d["kind"]: d for d in manifests()}["Deployment"]["spec"]["template"]["spec"][
        "containers"][0]
    args = [a.replace("0.0.0.0:4100", "127.0.0.1:0") for a in container["args"]]
    server = subprocess.Popen([SERVER, *args], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        address = line.split()[-1]
        probe = [CLI if c == "slicerbridge" else c.replace("127.0.0.1:4100", address)
                 for c in container["readinessProbe"]["exec"]["command"]]
        assert subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert subprocess.run(probe, capture_output=True, timeout=30).returncode != 0


def test_containerfiles_name_files_that_exist():
    for name in ("Containerfile.server", "Containerfile.python"):
        with open(os.path.join(ROOT, "deploy", "containers", name)) as file:
            for line in file:
                words = shlex.split(line)
                if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
                    for source in words[1:-1]:
                        assert os.path.exists(os.path.join(ROOT, source)), (name, source)


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_haproxy_accepts_the_generated_configuration(tmp_path):
    from make_config import render
    config = tmp_path / "haproxy.cfg"
    config.write_text(render("127.0.0.1:4100", [("a", "127.0.0.1:4101"), ("b", "127.0.0.1:4102")],
                             token="haproxy-token-0123456789abcdef", admin_socket=str(tmp_path / "sock")))
    result = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not os.access(CLI, os.X_OK), reason=f"no build in {BUILD}")
def test_python_container_processors_load_and_serve_over_stdio():
    """The Python container's entry point, as `--launch` runs it (with --stdio)."""
    processors = os.path.join(ROOT, "deploy", "containers", "python-processors", "processors.py")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    result = subprocess.run(
        [CLI, "--launch", f"/usr/bin/python3 -m slicerbridge serve {processors} --stdio",
         "describe", "scale", "--json"], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert '"idempotent": true' in result.stdout
