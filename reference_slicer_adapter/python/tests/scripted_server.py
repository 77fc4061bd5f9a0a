"""A misbehaving SlicerBridge server for the adapter's tests, run as a child process:
``python scripted_server.py SCENARIO``. It prints ``listening on HOST:PORT``, serves one
connection (hello, a one-processor catalog, then the scenario's answer to the first invoke)
and exits. It uses the Python implementation's frame codec, so every frame it sends is
well-formed unless the scenario says otherwise.

Scenarios:
  bad_image           the invoke's image output holds fewer bytes than its dims need
  backwards_progress  progress 0.5, then 0.25, for the invoke
  stray_response      a response to an id that is not open, then the real result
  truncated           half of the result frame, then the connection closes
  bad_version         the server's hello picks version 9.0
  bad_catalog         the catalog holds a processor with an invalid name
"""

import socket
import sys

from slicerbridge.codec import Bulk, decode_head, encode_frame
from slicerbridge.frame import HEADER_SIZE, parse_header

LIMIT = 1 << 30
DESCRIPTION = {"name": "probe", "version": "1", "title": "Probe", "description": "",
               "category": "Testing", "inputs": [],
               "outputs": [{"name": "image", "type": "image", "optional": True}],
               "parameters": []}


def read_exactly(connection, size):
    data = bytearray()
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


def read_message(connection):
    head_length, bulk_length = parse_header(read_exactly(connection, HEADER_SIZE),
                                            max_frame=LIMIT, max_head=LIMIT)
    head = read_exactly(connection, head_length)
    bulk = read_exactly(connection, bulk_length)
    return decode_head(head, memoryview(bulk), max_depth=32).value


def response(request_id, result):
    return encode_frame({"kind": "response", "id": request_id, "result": result})


def progress(request_id, fraction):
    return encode_frame({"kind": "notification", "method": "progress",
                         "params": {"id": request_id, "fraction": fraction}})


def image_output(byte_count):
    return {"outputs": {"image": {
        "type": "image", "dims": [2, 2, 2], "dtype": "uint8", "components": 1,
        "data": Bulk(bytes(byte_count)), "ijk_to_space": [1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0,
                                                          0, 0, 0, 0, 1.0],
        "space": "RAS", "kind": "scalar"}}}


def serve(connection, scenario):
    read_message(connection)  # the client's hello
    version = [9, 0] if scenario == "bad_version" else [1, 0]
    connection.sendall(encode_frame({"kind": "hello", "protocol": "slicerbridge",
                                     "version": version,
                                     "capabilities": ["progress", "cancel"]}))
    while True:
        message = read_message(connection)
        if message.get("kind") != "request":
            continue
        request_id = message["id"]
        if message["method"] == "catalog":
            description = dict(DESCRIPTION, name="bad name!") if scenario == "bad_catalog" \
                else DESCRIPTION
            connection.sendall(response(request_id, {"processors": [description]}))
        elif message["method"] == "invoke":
            break
    if scenario == "bad_image":
        connection.sendall(response(request_id, image_output(7)))
    elif scenario == "backwards_progress":
        connection.sendall(progress(request_id, 0.5) + progress(request_id, 0.25))
    elif scenario == "stray_response":
        connection.sendall(response(request_id + 1000, {"outputs": {}}) +
                           response(request_id, image_output(8)))
    elif scenario == "truncated":
        frame = response(request_id, image_output(8))
        connection.sendall(frame[:len(frame) // 2])
        return
    # Wait for the client to hang up.
    while connection.recv(65536):
        pass


def main():
    scenario = sys.argv[1]
    listener = socket.create_server(("127.0.0.1", 0))
    print("listening on %s:%d" % listener.getsockname(), flush=True)
    connection, _ = listener.accept()
    try:
        serve(connection, scenario)
    except (EOFError, ConnectionError):
        pass
    finally:
        connection.close()
        listener.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
