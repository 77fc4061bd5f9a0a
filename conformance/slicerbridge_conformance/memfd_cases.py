"""Server cases for segments passed as sealed memory files (protocol section 3.5,
transfer.memfd). They need a server on a Unix socket (`unix:PATH`) that lists transfer.memfd when
offered it, and are skipped otherwise. (A server that lists it unasked fails the runner's probe,
[CAP-4], like any capability listed unasked.)

These cases speak over their own socket, with recvmsg/sendmsg and SCM_RIGHTS, because the
descriptors travel beside the bytes the suite's Connection reads."""

from __future__ import annotations

import fcntl
import mmap
import os
import socket
import struct
from array import array
from typing import Any, Callable

import numpy as np

from . import data, wire
from .framework import CaseFailed, CaseSkipped
from .server_mode import ServerContext

CAPABILITY = "transfer.memfd"
DESCRIPTOR_EXT_TYPE = 2
MAX_DESCRIPTORS = 16
SEALS = {"write": getattr(fcntl, "F_SEAL_WRITE", 0), "shrink": getattr(fcntl, "F_SEAL_SHRINK", 0),
         "grow": getattr(fcntl, "F_SEAL_GROW", 0)}
ALL_SEALS = SEALS["write"] | SEALS["shrink"] | SEALS["grow"]
_INT = array("i").itemsize


def descriptor_reference(index: int, offset: int, length: int) -> wire.Raw:
    """Ext type 2 of length 20, written as ext 8 [FD-4]."""
    return wire.Raw(b"\xc7\x14\x02" + struct.pack(">IQQ", index, offset, length))


def memory_file(contents: bytes, seals: int = ALL_SEALS) -> int:
    fd = os.memfd_create("conformance", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, len(contents))
    os.pwrite(fd, contents, 0)
    if seals:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd


class DescriptorPeer:
    """A client connection on the server's Unix socket that passes and receives descriptors."""

    def __init__(self, path: str, timeout: float) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError as error:
            self.sock.close()
            raise CaseFailed(f"cannot connect to {path}: {error}") from None
        self._pending = b""
        self._fds: list[int] = []

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []
        self.sock.close()

    def send(self, head: Any, fds: list[int] = ()) -> None:
        frame = wire.encode_frame(head)
        try:
            if fds:
                sent = socket.send_fds(self.sock, [frame], list(fds))
                self.sock.sendall(frame[sent:])
            else:
                self.sock.sendall(frame)
        except OSError as error:
            raise CaseFailed(f"the connection failed: {error}") from None

    def _read(self, count: int) -> bytes:
        while len(self._pending) < count:
            try:
                chunk, ancillary, _, _ = self.sock.recvmsg(
                    1 << 20, socket.CMSG_SPACE(MAX_DESCRIPTORS * _INT))
            except socket.timeout:
                raise CaseFailed("the server did not answer in time") from None
            except OSError as error:
                raise CaseFailed(f"the connection failed: {error}") from None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    self._fds.extend(array("i", payload[:len(payload) - len(payload) % _INT]))
            if not chunk:
                raise CaseFailed("the server closed the connection")
            self._pending += chunk
        taken, self._pending = self._pending[:count], self._pending[count:]
        return taken

    def receive(self) -> tuple[dict, bytes, list[int]]:
        """The next frame's head (ext values as wire.Ext), its bulk and the descriptors that
        came with it (the caller closes them)."""
        header = self._read(wire.HEADER_SIZE)
        head_length, bulk_length = struct.unpack(">IQ", header[4:16])
        head = wire.decode_msgpack(self._read(head_length))
        bulk = self._read(bulk_length)
        fds, self._fds = self._fds, []
        return head, bulk, fds

    def handshake(self, capabilities: list[str]) -> list[str]:
        self.send({"kind": "hello", "protocol": wire.PROTOCOL_NAME, "min_version": [1, 0],
                   "max_version": [1, 1], "capabilities": capabilities})
        head, _, fds = self.receive()
        for fd in fds:
            os.close(fd)
        if head.get("kind") != "hello":
            raise CaseFailed(f"the server answered the hello with {wire.describe_value(head)}")
        return list(head.get("capabilities", []))

    def call(self, request_id: int, method: str, params: Any = None, fds: list[int] = ()) -> tuple:
        head = {"kind": "request", "id": request_id, "method": method}
        if params is not None:
            head["params"] = params
        self.send(head, fds)
        while True:
            response, bulk, received = self.receive()
            if response.get("kind") == "response" and response.get("id") == request_id:
                return response, bulk, received
            for fd in received:
                os.close(fd)


def memfd_peer(context: ServerContext) -> DescriptorPeer:
    """A connection with transfer.memfd in force, or a skip saying why there is none."""
    host, path = context.target.address
    if host != "unix":
        raise CaseSkipped("transfer.memfd needs a server on a Unix socket (target unix:PATH)")
    if not hasattr(os, "memfd_create"):
        raise CaseSkipped("this system cannot create memory files")
    peer = DescriptorPeer(path, context.timeout)
    listed = peer.handshake([CAPABILITY])
    if CAPABILITY not in listed:
        peer.close()
        raise CaseSkipped("the server does not list transfer.memfd")
    return peer


def segment_bytes(reference: Any, bulk: bytes, fds: list[int]) -> bytes:
    """The bytes of a bulk (type 1) or descriptor (type 2) reference in a server's frame; a
    descriptor must be a memory file sealed as [FD-8] asks."""
    if not isinstance(reference, wire.Ext):
        raise CaseFailed(f"expected a bulk reference, got {wire.describe_value(reference)}")
    if reference.type == 1:
        offset, length = struct.unpack(">QQ", reference.data[:16])
        return bulk[offset:offset + length]
    if reference.type != DESCRIPTOR_EXT_TYPE or len(reference.data) != 20:
        raise CaseFailed(f"ext type {reference.type} of {len(reference.data)} bytes [FD-4]")
    index, offset, length = struct.unpack(">IQQ", reference.data)
    if index >= len(fds):
        raise CaseFailed(f"descriptor index {index} but {len(fds)} descriptors passed [FD-2]")
    seals = fcntl.fcntl(fds[index], fcntl.F_GET_SEALS)
    if seals & ALL_SEALS != ALL_SEALS:
        raise CaseFailed("the server passed a memory file not sealed against writing, shrinking "
                         "and growing [FD-8]")
    size = os.fstat(fds[index]).st_size
    if offset + length > size:
        raise CaseFailed("descriptor reference beyond the file [FD-4]")
    with mmap.mmap(fds[index], size, prot=mmap.PROT_READ) as mapping:
        return bytes(mapping[offset:offset + length])


def echo_image_call(context: ServerContext, voxels: bytes, reference: Any) -> tuple[dict, str, str]:
    """The params of an echo call whose image data is `reference`, and the slot names."""
    description = context.processor("echo")
    source = data.find_slot(description, "inputs", "image")
    target = data.find_slot(description, "outputs", "image")
    if source is None or target is None:
        raise CaseSkipped("echo has no image input and output")
    image = data.make_image("uint8", (len(voxels), 1, 1), values=np.frombuffer(voxels, np.uint8))
    image["data"] = reference
    return {"processor": "echo", "inputs": {source["name"]: image}}, source["name"], target["name"]


def expect_error(response: dict, expected: str, what: str) -> None:
    error = response.get("error")
    if not isinstance(error, dict) or wire.error_name(error.get("code")) != expected:
        raise CaseFailed(f"{what}: expected error {expected} under the request's id, got "
                         f"{wire.describe_value(response)}")


def register(case: Callable) -> None:
    @case("memfd.echo-by-descriptor", "FD-1 FD-2 FD-4 FD-5 FD-8",
          "An image whose voxels are a sealed memory file passed beside the request comes back "
          "from echo unchanged, in-band or as a sealed memory file.")
    def _echo(context: ServerContext) -> None:
        peer = memfd_peer(context)
        try:
            voxels = bytes(range(256)) * 4096  # 1 MiB
            fd = memory_file(voxels)
            params, _, target = echo_image_call(context, voxels, descriptor_reference(0, 0, len(voxels)))
            response, bulk, fds = peer.call(1, "invoke", params, [fd])
            os.close(fd)
            try:
                if "error" in response:
                    raise CaseFailed(f"echo failed: {wire.describe_value(response['error'])}")
                output = response.get("result", {}).get("outputs", {}).get(target)
                if not isinstance(output, dict):
                    raise CaseFailed(f"echo result lacks {target!r}")
                if segment_bytes(output.get("data"), bulk, fds) != voxels:
                    raise CaseFailed("the echoed voxels differ from those sent [FD-4]")
            finally:
                for received in fds:
                    os.close(received)
        finally:
            peer.close()

    def hostile(case_id: str, requirements: str, description: str,
                make: Callable[[bytes], tuple[list[int], Any]], expected: str = "invalid_message") -> None:
        @case(case_id, requirements, description, hostile=True)
        def _case(context: ServerContext) -> None:
            peer = memfd_peer(context)
            try:
                voxels = bytes(range(256)) * 16
                fds, reference = make(voxels)
                params, _, _ = echo_image_call(context, voxels, reference)
                response, _, received = peer.call(3, "invoke", params, fds)
                for fd in fds + received:
                    os.close(fd)
                expect_error(response, expected, description)
                pong, _, received = peer.call(4, "ping")  # still serving [FD-6]
                for fd in received:
                    os.close(fd)
                if "error" in pong:
                    raise CaseFailed("the server does not answer a ping after the rejected call")
            finally:
                peer.close()

    def pipe_end(_: bytes) -> int:
        read_end, write_end = os.pipe()
        os.close(write_end)
        return read_end

    hostile("memfd.unsealed", "FD-5 FD-9", "A memory file without seals is refused with "
            "invalid_message.", lambda v: ([memory_file(v, 0)], descriptor_reference(0, 0, len(v))))
    hostile("memfd.write-seal-missing", "FD-5 FD-9", "A memory file sealed against shrinking "
            "and growing but not writing is refused with invalid_message.",
            lambda v: ([memory_file(v, SEALS["shrink"] | SEALS["grow"])], descriptor_reference(0, 0, len(v))))
    hostile("memfd.pipe", "FD-5 FD-9", "A pipe passed as a segment is refused with "
            "invalid_message.", lambda v: ([pipe_end(v)], descriptor_reference(0, 0, len(v))))
    hostile("memfd.directory", "FD-5 FD-9", "A directory passed as a segment is refused with "
            "invalid_message.",
            lambda v: ([os.open("/", os.O_RDONLY | os.O_DIRECTORY)], descriptor_reference(0, 0, len(v))))
    hostile("memfd.size-smaller", "FD-4 FD-5", "A reference longer than the memory file's "
            "fstat size is refused with invalid_message.",
            lambda v: ([memory_file(v[:-1])], descriptor_reference(0, 0, len(v))))
    hostile("memfd.index-out-of-range", "FD-4", "Descriptor index 1 with one descriptor is "
            "refused with invalid_message.", lambda v: ([memory_file(v)], descriptor_reference(1, 0, len(v))))
    hostile("memfd.unreferenced", "FD-2 FD-6", "A second descriptor that no reference uses makes "
            "the request invalid_message.",
            lambda v: ([memory_file(v), memory_file(v)], descriptor_reference(0, 0, len(v))))
    hostile("memfd.too-many", "FD-2 FD-3", "17 descriptors with one request make it "
            "invalid_message.",
            lambda v: ([memory_file(v) for _ in range(17)], descriptor_reference(0, 0, len(v))))
