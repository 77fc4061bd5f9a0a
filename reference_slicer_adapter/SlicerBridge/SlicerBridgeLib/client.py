"""A Python face for the wrapped client core (``slicerbridgecore``).

``Bridge`` connects (to an address, or by launching a local processor command), lists the
processors and runs them on the values of ``conversions``. The network runs on the core's own
thread; nothing reaches Python until ``process_events()`` is called on the main thread (from a
QTimer in Slicer, or by ``wait`` in scripts), which then calls the callbacks of each ``Call``.

    bridge = Bridge()
    bridge.connect("127.0.0.1:5000")
    call = bridge.start("threshold", {"volume": ImageValue(voxels, ijk_to_ras)},
                        {"lower": 100.0}, on_progress=print)
    bridge.wait(call)
    labels = call.outputs()["labels"]          # an ImageValue, RAS
"""

from __future__ import annotations

import json
import shlex
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from vtkmodules.vtkCommonCore import vtkPoints, vtkStringArray
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPolyData, vtkTable
from vtkmodules.vtkCommonMath import vtkMatrix4x4

from .conversions import (ConversionError, ImageSeriesValue, ImageValue, MeshValue, PointsValue,
                          TableValue, TransformValue, matrix_from_vtk, parameters_to_json,
                          segments_from_json)

Value = Union[ImageValue, MeshValue, TransformValue, PointsValue, TableValue]


def _core():
    # Imported late so that the pure parts of SlicerBridgeLib work without the built core.
    import slicerbridgecore
    return slicerbridgecore


class BridgeError(RuntimeError):
    """A connection that failed, or a call refused before it was sent."""


class CallError(RuntimeError):
    """A call that failed: the protocol's error ``code`` (spec section 8; 1000 and above are
    the processor's own; -1 a failure of the connection), its ``name`` when the code is one the
    protocol defines, the server's ``message`` and ``details``."""

    def __init__(self, code: int, name: str, message: str, details: Mapping[str, Any]):
        super().__init__(f"{message} ({name or code})")
        self.code = code
        self.name = name
        self.message = message
        self.details = dict(details)

    @property
    def cancelled(self) -> bool:
        return self.code == 100


class Call:
    """One invoke: status, progress, and once finished its outputs or its error."""

    def __init__(self, call, on_progress=None, on_done=None):
        self.vtk_call = call
        self._on_progress = on_progress
        self._on_done = on_done
        core = _core().vtkSlicerBridgeCall
        self._observers = [call.AddObserver(core.ProgressEvent, self._progressed),
                           call.AddObserver(core.DoneEvent, self._finished),
                           call.AddObserver(core.ErrorEvent, self._finished)]

    def _progressed(self, caller, event) -> None:
        if self._on_progress is not None:
            self._on_progress(self.progress, self.progress_message)

    def _finished(self, caller, event) -> None:
        for observer in self._observers:
            self.vtk_call.RemoveObserver(observer)
        self._observers = []
        if self._on_done is not None:
            self._on_done(self)

    @property
    def id(self) -> int:
        return self.vtk_call.GetCallId()

    @property
    def status(self) -> str:
        """"Idle", "Running", "Succeeded", "Failed" or "Cancelled"."""
        return self.vtk_call.GetStatusAsString()

    @property
    def finished(self) -> bool:
        return self.vtk_call.IsFinished()

    @property
    def progress(self) -> float:
        return self.vtk_call.GetProgress()

    @property
    def progress_message(self) -> str:
        return self.vtk_call.GetProgressMessage()

    @property
    def error(self) -> Optional[CallError]:
        if self.vtk_call.GetErrorCode() == 0:
            return None
        return CallError(self.vtk_call.GetErrorCode(), self.vtk_call.GetErrorName(),
                         self.vtk_call.GetErrorMessage(),
                         json.loads(self.vtk_call.GetErrorDetailsJSON()))

    @property
    def timings(self) -> Dict[str, float]:
        """The server's timings (receiving, queued, computing, sending) plus the client's
        round_trip, in seconds."""
        result = json.loads(self.vtk_call.GetTimingsJSON())
        result["round_trip"] = self.vtk_call.GetRoundTripTime()
        return result

    def output_names(self) -> List[str]:
        return [self.vtk_call.GetOutputName(i) for i in range(self.vtk_call.GetNumberOfOutputs())]

    def output(self, name: str) -> Value:
        """The output ``name`` as a conversions value. Raises KeyError when there is none."""
        call = self.vtk_call
        kind = call.GetOutputType(name)
        if kind == "image":
            image, matrix = vtkImageData(), vtkMatrix4x4()
            call.GetImageOutput(name, image, matrix)
            return ImageValue.from_vtk(image, matrix, call.GetImageOutputKind(name),
                                       segments_from_json(call.GetImageOutputSegmentsJSON(name)))
        if kind == "mesh":
            mesh = vtkPolyData()
            call.GetMeshOutput(name, mesh)
            return MeshValue(mesh)
        if kind == "transform":
            matrix = vtkMatrix4x4()
            call.GetTransformOutput(name, matrix)
            return TransformValue(matrix_from_vtk(matrix))
        if kind == "points":
            points, labels = vtkPoints(), vtkStringArray()
            call.GetPointsOutput(name, points, labels)
            return PointsValue.from_vtk(points, labels)
        if kind == "table":
            table = vtkTable()
            call.GetTableOutput(name, table)
            return TableValue.from_vtk(table)
        if kind == "image_series":
            raise ConversionError(f"output '{name}': the client core cannot receive image "
                                  "series yet")
        raise KeyError(name)

    def outputs(self) -> Dict[str, Value]:
        """Every output, by name. Raises the call's CallError if it did not succeed."""
        if self.status != "Succeeded":
            raise self.error or BridgeError(f"the call is {self.status}")
        return {name: self.output(name) for name in self.output_names()}


def add_input(call, name: str, value: Any) -> None:
    """Adds ``value`` (a conversions value, or a vtkPolyData or vtkTable) as input ``name`` of a
    vtkSlicerBridgeCall."""
    if isinstance(value, ImageValue):
        image, matrix = value.to_vtk()
        ok = call.AddImageInput(name, image, matrix, value.kind)
        for segment in value.segments:
            ok = ok and call.AddImageInputSegment(name, int(segment.value), segment.name,
                                                  *[float(c) for c in segment.color])
    elif isinstance(value, (MeshValue, vtkPolyData)):
        ok = call.AddMeshInput(name, value.polydata if isinstance(value, MeshValue) else value)
    elif isinstance(value, TransformValue):
        ok = call.AddTransformInput(name, value.to_vtk())
    elif isinstance(value, PointsValue):
        ok = call.AddPointsInput(name, *value.to_vtk())
    elif isinstance(value, (TableValue, vtkTable)):
        ok = call.AddTableInput(name, value.to_vtk() if isinstance(value, TableValue) else value)
    elif isinstance(value, ImageSeriesValue):
        raise ConversionError(f"input '{name}': the client core cannot send image series yet")
    else:
        raise ConversionError(f"input '{name}': {type(value).__name__} is not a data value")
    if not ok:
        raise ConversionError(f"input '{name}' was refused")


def read_token_file(path: str) -> str:
    """The token in the first line of ``path``. Raises BridgeError when the file cannot be
    read or its first line is empty."""
    try:
        with open(path, encoding="utf-8") as stream:
            token = stream.readline().rstrip("\r\n")
    except OSError as error:
        raise BridgeError(f"cannot read the token file {path}: {error.strerror}") from None
    if not token:
        raise BridgeError(f"the token file {path} is empty")
    return token


class Bridge:
    """A connection to one SlicerBridge server, through the wrapped core."""

    def __init__(self, logic=None):
        core = _core()
        self.logic = logic if logic is not None else core.vtkSlicerBridgeClientLogic()

    # -- connection -----------------------------------------------------------------------------

    def connect(self, address: str, *, token: str = "", token_file: str = "",
                tls_ca: str = "", timeout: float = 30.0) -> None:
        """Connects to ``address`` ("HOST:PORT", "tcp://...", "tls://HOST:PORT", "unix:PATH")
        and waits for the handshake and catalog. The token is ``token`` or the first line of
        ``token_file``; a ``tls://`` server's certificate is checked against the CA
        certificates in ``tls_ca`` (a PEM file), or the system's, and its name against the
        address. Raises BridgeError with the reason."""
        if token_file:
            token = read_token_file(token_file)
        self.logic.SetToken(token)
        self.logic.SetTLSCertificateAuthorityFile(tls_ca)
        self.logic.SetConnectTimeout(timeout)
        if not self.logic.Connect(address):
            raise BridgeError(self.logic.GetLastErrorMessage())

    def launch(self, command: Union[str, Sequence[str]], *, timeout: float = 30.0) -> None:
        """Starts a local processor command (a string is split like a shell would) and talks to
        it over its standard input and output."""
        arguments = vtkStringArray()
        for argument in (shlex.split(command) if isinstance(command, str) else command):
            arguments.InsertNextValue(str(argument))
        self.logic.SetConnectTimeout(timeout)
        if not self.logic.Launch(arguments):
            raise BridgeError(self.logic.GetLastErrorMessage())

    def disconnect(self) -> None:
        """Closes the connection; the server cancels what is still running [DROP-1]."""
        self.logic.Disconnect()

    @property
    def connected(self) -> bool:
        return self.logic.IsConnected()

    def server_info(self) -> dict:
        return json.loads(self.logic.GetServerInfoJSON())

    def processors(self) -> List[dict]:
        """The catalog's descriptions (spec section 10)."""
        return json.loads(self.logic.GetCatalogJSON())["processors"]

    def dropped_processors(self) -> List[dict]:
        """Descriptions the catalog left out, each {index, name, requirement, reason} [CAT-12]."""
        return json.loads(self.logic.GetDroppedProcessorsJSON())

    def description(self, name: str) -> dict:
        text = self.logic.GetProcessorDescriptionJSON(name)
        if not text:
            raise KeyError(name)
        return json.loads(text)

    # -- calls ----------------------------------------------------------------------------------

    def start(self, processor: str, inputs: Optional[Mapping[str, Any]] = None,
              parameters: Optional[Mapping[str, Any]] = None, *, space: str = "RAS",
              deadline: Optional[float] = None,
              on_progress: Optional[Callable[[float, str], None]] = None,
              on_done: Optional[Callable[[Call], None]] = None) -> Call:
        """Starts ``processor``. ``space`` is the space data travels in ("LPS" for processors
        that want it); outputs come back in RAS. Raises BridgeError if the call is refused
        before it is sent (not connected, or inputs or parameters the description rejects)."""
        vtk_call = _core().vtkSlicerBridgeCall()
        vtk_call.SetProcessor(processor)
        if not vtk_call.SetSpace(space):
            raise ConversionError("space must be RAS or LPS")
        for name, value in (inputs or {}).items():
            add_input(vtk_call, name, value)
        if not vtk_call.SetParametersJSON(parameters_to_json(parameters or {})):
            raise ConversionError("parameters must map names to parameter values")
        if deadline is not None:
            vtk_call.SetDeadline(float(deadline))
        call = Call(vtk_call, on_progress, on_done)
        if self.logic.StartInvoke(vtk_call) == 0:
            raise BridgeError(vtk_call.GetErrorMessage())
        return call

    def cancel(self, call: Call) -> None:
        """Asks the server to cancel ``call`` [CANCEL-1]; it still ends with one answer."""
        self.logic.Cancel(call.id)

    def process_events(self) -> int:
        """Applies what arrived and runs the callbacks; returns the number of events."""
        return self.logic.ProcessEvents()

    def wait(self, call: Call, timeout: Optional[float] = None) -> Call:
        """Processes events until ``call`` has finished. Raises TimeoutError after ``timeout``
        seconds (the call keeps running)."""
        limit = None if timeout is None else time.monotonic() + timeout
        while not call.finished:
            remaining = 0.5 if limit is None else min(0.5, limit - time.monotonic())
            if remaining <= 0:
                raise TimeoutError(f"call {call.id} still running")
            self.logic.WaitForEvents(remaining)
            self.logic.ProcessEvents()
        return call

    def run(self, processor: str, inputs: Optional[Mapping[str, Any]] = None,
            parameters: Optional[Mapping[str, Any]] = None, **options) -> Dict[str, Value]:
        """Starts ``processor``, waits, and returns its outputs; raises CallError if it fails."""
        timeout = options.pop("timeout", None)
        call = self.wait(self.start(processor, inputs, parameters, **options), timeout)
        return call.outputs()
