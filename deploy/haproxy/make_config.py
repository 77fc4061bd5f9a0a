#!/usr/bin/python3
"""Writes an HAProxy configuration (TCP mode, leastconn) for SlicerBridge servers, with a health
check that speaks the protocol (health_check.py) and a runtime API socket for attaching and
draining servers without a restart (attach.sh, drain.sh).

    make_config.py --listen 0.0.0.0:4100 --server node1=10.0.0.11:4100 \\
        --server node2=10.0.0.12:4100 --token-file /etc/slicerbridge/token \\
        --admin-socket /run/haproxy/slicerbridge.sock > /etc/haproxy/haproxy.cfg

TLS: --tls-terminate PEM ends TLS at HAProxy (clients connect to tls://; the servers speak
plain TCP on the private network and still require the token); --tls-passthrough leaves TLS to
the servers (slicerbridge-server --tls-cert/--tls-key): HAProxy forwards the bytes and runs its
check over TLS. The output holds the token when one is given: keep it mode 0600.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from health_check import rules  # noqa: E402


def render(listen, servers, *, token=None, admin_socket=None, tls_terminate=None,
           tls_passthrough=False, check_interval_ms=500, pidfile=None, splice=True):
    """The configuration's text. ``splice=False`` leaves out kernel splicing (the benchmark's
    comparison row, bench/bench_cluster.py --via haproxy-copying)."""
    lines = ["# SlicerBridge behind HAProxy (written by deploy/haproxy/make_config.py).",
             "global",
             "    maxconn 4096",
             "    # Volumes are forwarded by kernel splicing (see the splice options below) through",
             "    # pipes of 1 MiB (Linux's pipe-max-size; the default 64 KiB pipe takes 16 times",
             "    # the splice calls): measured, HAProxy's CPU per 256 MiB round trip fell from",
             "    # 0.29-0.43 s (16 KiB buffers copied through user space) to 0.07-0.13 s.",
             "    tune.pipesize 1048576"]
    if not splice:
        lines = lines[:3]
    splicing = [
        "    # Forward the bytes with splice(2), socket to pipe to socket, never copying them",
        "    # into HAProxy: this protocol's frames are mostly voxels. Without it HAProxy",
        "    # copies every byte in and out of 16 KiB buffers (two system calls and two",
        "    # copies per 16 KiB), which costs more CPU than the round trip takes without a",
        "    # balancer (bench/README.md). Forced rather than splice-auto, whose heuristics",
        "    # splice less (measured: 15-35% more CPU). TLS ended here (--tls-terminate)",
        "    # cannot splice: HAProxy then copies, as it must to decrypt.",
        "    option splice-request",
        "    option splice-response"] if splice else []
    if admin_socket:
        lines.append(f"    stats socket {admin_socket} mode 600 level admin")
    if pidfile:
        lines.append(f"    pidfile {pidfile}")
    lines += ["",
              "defaults",
              "    mode tcp",
              "    timeout connect 2s",
              "    # Calls may compute for hours; a connection is idle between calls.",
              "    timeout client 24h",
              "    timeout server 24h",
              "    timeout check 2s",
              "    # A connect to a dead server is retried on another one.",
              "    retries 3",
              "    option redispatch"] + splicing + [
              "",
              "frontend slicerbridge",
              f"    bind {listen}" + (f" ssl crt {tls_terminate}" if tls_terminate else ""),
              "    default_backend processors",
              "",
              "backend processors",
              "    # Connections to the server with the fewest: a client pool's N connections",
              "    # spread over the servers, one call per connection at a time.",
              "    balance leastconn"]
    check = rules(token)
    if tls_passthrough:
        check = [line.replace("tcp-check connect", "tcp-check connect ssl") for line in check]
    lines += ["    " + line for line in check]
    server_options = (f"check inter {check_interval_ms}ms fall 2 rise 2 "
                      "on-marked-down shutdown-sessions")
    if tls_passthrough:
        server_options += " check-ssl verify none"
    lines.append(f"    default-server {server_options}")
    for name, address in servers:
        lines.append(f"    server {name} {address}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="0.0.0.0:4100", help="HOST:PORT for clients")
    parser.add_argument("--server", action="append", default=[], metavar="NAME=HOST:PORT")
    parser.add_argument("--token-file", help="the token the servers require")
    parser.add_argument("--admin-socket", help="runtime API socket (attach.sh, drain.sh)")
    parser.add_argument("--pidfile")
    parser.add_argument("--tls-terminate", metavar="PEM", help="certificate and key, one file")
    parser.add_argument("--tls-passthrough", action="store_true")
    parser.add_argument("--check-interval-ms", type=int, default=500)
    arguments = parser.parse_args()
    servers = []
    for text in arguments.server:
        name, _, address = text.partition("=")
        if not name or not address:
            parser.error(f"--server expects NAME=HOST:PORT, not {text!r}")
        servers.append((name, address))
    token = None
    if arguments.token_file:
        with open(arguments.token_file, encoding="utf-8") as file:
            token = file.readline().strip()
    sys.stdout.write(render(arguments.listen, servers, token=token,
                            admin_socket=arguments.admin_socket,
                            tls_terminate=arguments.tls_terminate,
                            tls_passthrough=arguments.tls_passthrough,
                            check_interval_ms=arguments.check_interval_ms,
                            pidfile=arguments.pidfile))


if __name__ == "__main__":
    main()
