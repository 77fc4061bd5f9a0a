"""A SlicerBridge server for the adapter's tests: the Python implementation's processors plus
``record``, which writes what it received, as the server decoded it from the wire, to a JSON file
(so that tests can check the space, matrices and points that travelled).

Run as ``python recording_server.py`` (with the Python implementation on PYTHONPATH); prints
``listening on HOST:PORT`` first, like ``python -m slicerbridge serve``.
"""

import json
import signal
import sys
from typing import Optional

from slicerbridge import Image, Mesh, PointList, Server, String, Table, Transform, processor
from slicerbridge.processors import ALL


def _image(image: Image) -> dict:
    return {"space": image.space, "kind": image.kind, "dtype": image.voxels.dtype.name,
            "shape": list(image.voxels.shape), "ijk_to_space": image.ijk_to_space.tolist(),
            "voxels": image.voxels.reshape(-1).tolist(),
            "segments": [[s.value, s.name, list(s.color)] for s in image.segments]}


def _mesh(mesh: Mesh) -> dict:
    return {"space": mesh.space, "points": mesh.points.tolist(),
            "polys": None if mesh.polys is None else mesh.polys.connectivity.tolist(),
            "point_data": sorted(mesh.point_data), "cell_data": sorted(mesh.cell_data)}


@processor(title="Record", category="Testing", outputs={})
def record(path: String(label="Output file"), image: Optional[Image] = None,
           mesh: Optional[Mesh] = None, transform: Optional[Transform] = None,
           points: Optional[PointList] = None, table: Optional[Table] = None) -> dict:
    """Writes the inputs it received to ``path`` as JSON."""
    seen = {}
    if image is not None:
        seen["image"] = _image(image)
    if mesh is not None:
        seen["mesh"] = _mesh(mesh)
    if transform is not None:
        seen["transform"] = {"space": transform.space, "matrix": transform.matrix.tolist()}
    if points is not None:
        seen["points"] = {"space": points.space, "points": points.points.tolist(),
                          "labels": points.labels}
    if table is not None:
        seen["table"] = {name: (column if isinstance(column, list) else column.tolist())
                         for name, column in table.columns.items()}
    with open(path, "w", encoding="utf-8") as output:
        json.dump(seen, output)
    return {}


def main() -> int:
    server = Server(list(ALL) + [record])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    host, port = server.listen_tcp("127.0.0.1", 0)
    print(f"listening on {host}:{port}", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
