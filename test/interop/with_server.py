#!/usr/bin/python3
"""Runs a client command against a server command on loopback, for the client x server matrix.

    with_server.py SERVER_COMMAND... -- CLIENT_COMMAND...

The server is started first and must print ``listening on HOST:PORT`` as its first line; every
``{addr}`` in the client command becomes that address. The exit status is the client's; the
server is stopped afterwards, and a server that does not start within 30 s fails the run (3).
"""
import subprocess
import sys
import threading


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    server_command, client_command = argv[:split], argv[split + 1:]
    if not server_command or not client_command:
        print(__doc__, file=sys.stderr)
        return 2
    server = subprocess.Popen(server_command, stdout=subprocess.PIPE, text=True)
    try:
        first_line = []
        reader = threading.Thread(target=lambda: first_line.append(server.stdout.readline()))
        reader.start()
        reader.join(30)
        line = first_line[0].strip() if first_line else ""
        if not line.startswith("listening on "):
            print(f"with_server: the server did not start (said {line!r})", file=sys.stderr)
            return 3
        address = line[len("listening on "):]
        command = [part.replace("{addr}", address) for part in client_command]
        try:
            return subprocess.run(command, timeout=600).returncode
        except subprocess.TimeoutExpired:
            print("with_server: the client did not finish", file=sys.stderr)
            return 3
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
