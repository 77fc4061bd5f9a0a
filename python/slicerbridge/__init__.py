"""SlicerBridge: serve computations to 3D Slicer over the SlicerBridge protocol 1.0.

Server side::

    from slicerbridge import Image, Float, Output, Server, processor

    @processor(title="Threshold", category="Segmentation")
    def threshold(volume: Image,
                  lower: Float() = 0.0) -> {"labels": Output(Image, image_kind="label")}:
        mask = (volume.voxels >= lower).astype("uint8")
        return {"labels": volume.with_voxels(mask, kind="label")}

    with Server([threshold]) as server:
        print(server.listen_tcp("127.0.0.1", 5000))
        server.serve_forever()

Client side::

    from slicerbridge import Client
    with Client.connect("127.0.0.1:5000") as client:
        result = client.invoke("threshold", {"volume": image}, {"lower": 100.0})
        labels = result.outputs["labels"]
"""

from .catalog import (Bool, Enum, Float, FloatVector, Input, Int, IntVector, Output, Processor,
                      ProcessorDescription, Slot, String, StringVector, processor)
from .client import Call, Client, InvokeResult, Response
from .codec import Bulk
from .context import Cancelled, Context
from .data import CellArray, Image, ImageSeries, Mesh, PointList, Segment, Table, Transform
from .errors import ConnectionLost, ErrorCode, SlicerBridgeError
from .limits import Limits
from .messages import LIBRARY_VERSION
from .cli import serve_main
from .loading import load_processors
from .pool import CallLost, ClientPool, PooledResult
from .server import Server
from .stdio import claim_stdio, serve_stdio

__version__ = LIBRARY_VERSION

__all__ = [
    "Bool", "Bulk", "Call", "CallLost", "ClientPool", "PooledResult", "Cancelled", "CellArray", "Client", "ConnectionLost", "Context",
    "Enum", "ErrorCode", "Float", "FloatVector", "Image", "ImageSeries", "Input", "Int",
    "IntVector", "InvokeResult", "Limits", "Mesh", "Output", "PointList", "Processor",
    "ProcessorDescription", "Response", "Segment", "Server", "SlicerBridgeError", "Slot",
    "String", "StringVector", "Table", "Transform", "claim_stdio", "load_processors",
    "processor", "serve_main", "serve_stdio",
]
