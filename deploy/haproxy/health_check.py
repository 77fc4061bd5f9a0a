#!/usr/bin/python3
"""Prints HAProxy tcp-check rules that speak SlicerBridge: a hello (with the servers' token, if
they need one) and a ping, sent together; the server is healthy when the ping's response comes
back. A server that accepts TCP but no longer answers (hung, overloaded, wrong token) fails.

    health_check.py [--token-file FILE] >> haproxy.cfg   (inside the backend section)

The frames are built with this repository's Python implementation, so they follow the protocol
(spec/protocol.md: a hello [HELLO-1], then a ping request [MSG-*]).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

from slicerbridge.codec import encode_frame  # noqa: E402
from slicerbridge.messages import ClientHello, request  # noqa: E402

#: MessagePack for the string "response": the ping's answer carries kind: "response".
RESPONSE = "a8" + b"response".hex()


def rules(token=None):
    hello = ClientHello(capabilities=[], token=token).to_wire()
    hello["implementation"] = {"name": "haproxy-health-check", "version": "1"}
    frames = encode_frame(hello) + encode_frame(request(1, "ping", {}))
    return ["option tcp-check",
            "tcp-check connect",
            f"tcp-check send-binary {frames.hex()}",
            f"tcp-check expect binary {RESPONSE}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token-file", help="the token the servers require (first line)")
    arguments = parser.parse_args()
    token = None
    if arguments.token_file:
        with open(arguments.token_file, encoding="utf-8") as file:
            token = file.readline().strip()
    for line in rules(token):
        print("    " + line)


if __name__ == "__main__":
    main()
