"""Servers launched per connection by a cluster's or a remote shell's launcher, for real:
`--launch "srun ... slicerbridge-server --stdio"` through a one-node SLURM cluster
(deploy/slurm/local_cluster.sh: munged, slurmctld and slurmd in a network namespace of their
own) and `--launch "ssh -p PORT ... 127.0.0.1 slicerbridge-server --stdio"` through an OpenSSH
server on a loopback port with a host key and a user key made here. Both command lines (C++
`slicerbridge batch` and `python -m slicerbridge batch`) run a batch over them; every output is
checked voxel for voxel (random int16: every byte value crosses the launcher) and by geometry.

Needs root, the build (SLICERBRIDGE_BUILD_DIR, default ./build), and Debian's slurm-wlm and munge
(SLURM cases) or openssh-server and openssh-client (ssh cases); each part is skipped, with the
reason, when its tools are missing or its daemons cannot start. Every wait is bounded; nothing
asserts a duration; the namespace, daemons, keys and files are removed afterwards.
"""

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
BUILD = os.environ.get("SLICERBRIDGE_BUILD_DIR", os.path.join(ROOT, "build"))
SERVER = os.path.join(BUILD, "reference_server", "slicerbridge-server")
CLI = os.path.join(BUILD, "reference_server", "slicerbridge")
CLUSTER = os.path.join(ROOT, "deploy", "slurm", "local_cluster.sh")
PYTHON = "/usr/bin/python3"
sys.path.insert(0, os.path.join(ROOT, "python"))

from slicerbridge.data import Image  # noqa: E402
from slicerbridge.files import read_image, write_image  # noqa: E402

WAIT = 120.0
ITEMS = 6
JOBS = 3


def _missing(*programs):
    if os.geteuid() != 0:
        return "needs root"
    if not (os.access(SERVER, os.X_OK) and os.access(CLI, os.X_OK)):
        return f"no build in {BUILD} (set SLICERBRIDGE_BUILD_DIR)"
    for program in programs:
        if shutil.which(program) is None and not os.access(program, os.X_OK):
            return f"{program} is not installed"
    return None


def _tail(path, lines=15):
    try:
        with open(path, errors="replace") as file:
            return "".join(file.readlines()[-lines:])
    except OSError:
        return ""


@pytest.fixture(scope="module")
def slurm():
    why = _missing("slurmctld", "slurmd", "srun", "munged", "mungekey", "ip")
    if why:
        pytest.skip(f"SLURM: {why} (Debian: slurm-wlm, munge, iproute2)")
    directory = tempfile.mkdtemp(prefix="sb-slurm-")
    try:
        started = subprocess.run([CLUSTER, "start", directory], capture_output=True, text=True,
                                 timeout=90)
        if started.returncode != 0:
            logs = "".join(_tail(os.path.join(directory, name))
                           for name in ("slurmctld.log", "slurmd.log", "munged.log"))
            pytest.skip(f"the one-node SLURM cluster did not start: {started.stderr.strip()}\n"
                        f"{logs}")
        yield directory
    finally:
        subprocess.run([CLUSTER, "stop", directory], capture_output=True, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ssh():
    """sshd on a loopback port; returns (the ssh command's words up to the host, its log)."""
    sshd = "/usr/sbin/sshd"
    why = _missing(sshd, "ssh", "ssh-keygen")
    if why:
        pytest.skip(f"ssh: {why} (Debian: openssh-server, openssh-client)")
    directory = tempfile.mkdtemp(prefix="sb-ssh-")
    pid_file = os.path.join(directory, "sshd.pid")
    try:
        for key in ("host_key", "user_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            os.path.join(directory, key)], check=True, timeout=30)
        shutil.copy(os.path.join(directory, "user_key.pub"),
                    os.path.join(directory, "authorized_keys"))
        port = _free_port()
        config = os.path.join(directory, "sshd_config")
        with open(config, "w") as file:
            file.write(f"ListenAddress 127.0.0.1:{port}\n"
                       f"HostKey {directory}/host_key\n"
                       f"PidFile {pid_file}\n"
                       f"AuthorizedKeysFile {directory}/authorized_keys\n"
                       "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                       "PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n"
                       "LogLevel VERBOSE\n")
        with open(os.path.join(directory, "host_key.pub")) as file:
            host_key = " ".join(file.read().split()[:2])
        with open(os.path.join(directory, "known_hosts"), "w") as file:
            file.write(f"[127.0.0.1]:{port} {host_key}\n")
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation folder
        log = os.path.join(directory, "sshd.log")
        started = subprocess.run([sshd, "-f", config, "-E", log], capture_output=True,
                                 text=True, timeout=30)
        if started.returncode != 0:
            pytest.skip(f"sshd did not start: {started.stderr.strip()} {_tail(log)}")
        command = ["ssh", "-T", "-F", "/dev/null", "-p", str(port), "-i",
                   f"{directory}/user_key", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                   "-o", f"UserKnownHostsFile={directory}/known_hosts", "-o",
                   "StrictHostKeyChecking=yes", "127.0.0.1"]
        end = time.monotonic() + 30
        while True:  # until sshd answers (it daemonises before it listens)
            probe = subprocess.run(command + ["true"], capture_output=True, timeout=30)
            if probe.returncode == 0:
                break
            if time.monotonic() > end:
                pytest.skip(f"ssh to the test's sshd failed: {probe.stderr.decode()} "
                            f"{_tail(log)}")
            time.sleep(0.2)
        yield command, log
    finally:
        try:
            with open(pid_file) as file:
                os.kill(int(file.read()), 15)
        except (OSError, ValueError):
            pass
        shutil.rmtree(directory, ignore_errors=True)


def make_inputs(directory):
    """ITEMS int16 volumes of random voxels (every byte value occurs) on oblique LPS grids."""
    rng = np.random.default_rng(15)
    os.makedirs(directory)
    images = {}
    for i in range(ITEMS):
        voxels = rng.integers(-32768, 32768, size=(5, 6, 7), dtype=np.int16)
        angle = 0.2 * (i + 1)
        c, s = np.cos(angle), np.sin(angle)
        matrix = np.array([[c * 0.8, 0.0, -s * 1.2, 4.5 * i],
                           [0.0, 1.7, 0.0, -20.0],
                           [s * 0.8, 0.0, c * 1.2, 9.25],
                           [0.0, 0.0, 0.0, 1.0]])
        name = f"scan{i}"
        write_image(Image(voxels, matrix, space="LPS"), os.path.join(directory, name + ".nrrd"))
        images[name] = (voxels, matrix)
    return images


def lps(image):
    matrix = np.array(image.ijk_to_space, dtype=float)
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ matrix if image.space == "RAS" else matrix


def run_batch(kind, launch, work, prefix=()):
    """The batch over `launch`, with command line `kind`; returns (process, summary)."""
    images = make_inputs(os.path.join(work, "in"))
    out = os.path.join(work, "out")
    summary_path = os.path.join(work, "summary.json")
    options = ["--input", f"image={work}/in/scan*.nrrd", "--output", "image_out={item}.nrrd",
               "--output-dir", out, "--jobs", str(JOBS), "--progress", "lines",
               "--summary-json", summary_path]
    if kind == "cpp":
        argv = [CLI, "--launch", launch, "batch", "echo", *options]
    else:
        argv = [PYTHON, "-m", "slicerbridge", "batch", "echo", *options, "--launch", launch]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    done = subprocess.run(list(prefix) + argv, capture_output=True, text=True, timeout=WAIT,
                          env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    for name, (voxels, matrix) in images.items():
        got = read_image(os.path.join(out, name + ".nrrd"))
        assert got.voxels.dtype == voxels.dtype and np.array_equal(got.voxels, voxels), name
        assert np.allclose(lps(got), matrix, rtol=0, atol=1e-9), name
    with open(summary_path) as file:
        summary = json.load(file)
    assert sorted(it["item"] for it in summary["items"]) == sorted(images)
    assert all(it["status"] == "ok" and it["attempts"] == 1 for it in summary["items"])
    return done, summary


def squeue(cluster):
    listed = subprocess.run([CLUSTER, "run", cluster, "squeue", "-h", "-o", "%i %T %j"],
                            capture_output=True, text=True, timeout=30)
    assert listed.returncode == 0, listed.stderr
    return listed.stdout.split("\n") if listed.stdout.strip() else []


@pytest.mark.parametrize("kind", ["cpp", "python"])
def test_batch_through_srun(slurm, kind, tmp_path):
    """Each of the pool's connections is a SLURM job step running the C++ server on its stdio;
    after the batch, every step has ended (the servers exit on goodbye)."""
    launch = f"srun --unbuffered --quiet --ntasks=1 --cpus-per-task=1 {shlex.quote(SERVER)} --stdio"
    done, summary = run_batch(kind, launch, str(tmp_path), prefix=(CLUSTER, "run", slurm))
    servers = {it["server"] for it in summary["items"]}
    assert all(s.startswith("srun ") and "(pid " in s for s in servers), servers
    # The pool opens its connections side by side; one still starting when the last item is
    # done is abandoned, so up to JOBS were used.
    opened = summary["connections"]["opened"]
    assert 1 <= opened <= JOBS and summary["connections"]["lost"] == 0
    # Every step ran as a job of the cluster and is gone now.
    accounting = subprocess.run([CLUSTER, "run", slurm, "scontrol", "show", "jobs", "-o"],
                                capture_output=True, text=True, timeout=30)
    assert accounting.stdout.count("JobName=slicerbridge-server") >= opened, accounting.stdout
    end = time.monotonic() + 30
    while squeue(slurm) and time.monotonic() < end:
        time.sleep(0.2)
    assert squeue(slurm) == []


@pytest.mark.parametrize("kind", ["cpp", "python"])
def test_batch_through_ssh(ssh, kind, tmp_path):
    """Each connection is an ssh session running the C++ server on its stdio."""
    command, log = ssh
    launch = shlex.join(command + [SERVER, "--stdio"])
    with open(log, errors="replace") as file:
        before = file.read().count("Accepted publickey")
    done, summary = run_batch(kind, launch, str(tmp_path))
    assert all(it["server"].startswith("ssh ") for it in summary["items"])
    with open(log, errors="replace") as file:
        sessions = file.read().count("Accepted publickey") - before
    # Every connection the pool used was an ssh session (the pool may have abandoned one that
    # was still starting when the last item was done).
    assert JOBS >= sessions >= summary["connections"]["opened"] >= 1
