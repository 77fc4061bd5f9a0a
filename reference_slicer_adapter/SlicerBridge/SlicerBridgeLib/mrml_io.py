"""MRML nodes <-> the values of ``conversions``: the one module of SlicerBridgeLib that touches
the scene.

Only the public, long-stable MRML API is used (see the README): volumes through their IJK-to-RAS
matrix and image data, models through their mesh, linear transforms through their matrices,
markups through their control points, tables through their vtkTable, segmentations through
binary labelmap representations.

Geometry rules:

- Volume geometry is the IJK-to-RAS matrix, never the vtkImageData's origin, spacing or
  direction; an extent that does not start at 0 (segment labelmaps) is folded into the matrix.
- A node under a parent transform is refused (``ParentTransformError``) unless the caller asks
  for ``parent_transforms="harden"``: the data is then sent in world coordinates, the parent's
  linear transform applied to what is sent while the scene stays untouched. Non-linear parent
  transforms are always refused (a volume would need resampling).
- Outputs are in world (RAS) coordinates, so they are never written into a node that has a
  parent transform.
- Volume updates reject 64-bit integer voxels: they are stored as int32 when their values fit,
  else as float64.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkCommonTransforms import vtkTransform
from vtkmodules.vtkFiltersGeneral import vtkTransformPolyDataFilter

from .conversions import (ConversionError, ImageSeriesValue, ImageValue, MeshValue, PointsValue,
                          Segment, TableValue, TransformValue, matrix_from_vtk, matrix_to_vtk)

PARENT_TRANSFORM_POLICIES = ("refuse", "harden")
SEGMENTS_ATTRIBUTE = "SlicerBridge.Segments"
# A sequence indexes its items by unique values, and b-values repeat: a diffusion series is
# indexed by volume number, each item carrying {"b_value": ..., "gradient": [x, y, z]} (RAS).
DIFFUSION_ATTRIBUTE = "SlicerBridge.Diffusion"
# How a series axis is named in a sequence node (index name, unit) and in a MultiVolume node
# (frame-identifying tag name, unit); values are sent in seconds, milliseconds are read too.
_SEQUENCE_AXES = {"time": ("time", "s"), "echo_time": ("echo time", "s"),
                  "b_value": ("volume", ""), "index": ("index", "")}
_MULTIVOLUME_AXES = {"time": ("Time", "s"), "echo_time": ("EchoTime", "s"),
                     "index": ("Index", "")}
_PER_SECOND = {"s": 1.0, "sec": 1.0, "ms": 1000.0, "msec": 1000.0}
_MULTIVOLUME_FRAMES = "MultiVolume.FrameLabels"
_MULTIVOLUME_COUNT = "MultiVolume.NumberOfFrames"
_MULTIVOLUME_TAG = "MultiVolume.FrameIdentifyingDICOMTagName"
_MULTIVOLUME_UNITS = "MultiVolume.FrameIdentifyingDICOMTagUnits"

_NEW_NODE_CLASSES = {
    "scalar": "vtkMRMLScalarVolumeNode",
    "label": "vtkMRMLLabelMapVolumeNode",
    "vector": "vtkMRMLVectorVolumeNode",
    "mesh": "vtkMRMLModelNode",
    "transform": "vtkMRMLLinearTransformNode",
    "points": "vtkMRMLMarkupsFiducialNode",
    "table": "vtkMRMLTableNode",
    "sequence": "vtkMRMLSequenceNode",
}


class ParentTransformError(ValueError):
    """A node under a parent transform, where that transform would be ignored or is not
    linear."""


class NodeError(ValueError):
    """A node that does not fit the slot (wrong class, no data, several components for a scalar
    slot, ...)."""


class MRMLIO:
    """Reads slot values from nodes and writes outputs into nodes of ``scene``.

    ``classes`` provides the Slicer classes that are not MRML nodes: ``vtkOrientedImageData``
    (in Slicer, the ``slicer`` module).
    """

    def __init__(self, scene, classes, parent_transforms: str = "refuse"):
        if parent_transforms not in PARENT_TRANSFORM_POLICIES:
            raise ValueError(f"parent_transforms must be one of {PARENT_TRANSFORM_POLICIES}")
        self.scene = scene
        self.classes = classes
        self.parent_transforms = parent_transforms

    # -- reading --------------------------------------------------------------------------------

    def read(self, node, slot: Mapping[str, Any]):
        """The value of ``node`` for input ``slot`` (a slot of a description)."""
        kind = slot["type"]
        if kind == "image":
            if node.IsA("vtkMRMLSegmentationNode"):
                return self.read_segmentation(node)
            return self.read_volume(node, slot.get("image_kind"))
        if kind == "image_series":
            if node.IsA("vtkMRMLMultiVolumeNode"):
                return self.read_multivolume(node)
            return self.read_sequence(node)
        readers = {"mesh": self.read_model, "transform": self.read_transform,
                   "points": self.read_markups, "table": self.read_table}
        if kind not in readers:
            raise NodeError(f"input '{slot['name']}' has the unknown type '{kind}'")
        return readers[kind](node)

    def _to_world(self, node) -> Optional[np.ndarray]:
        """The parent-to-world matrix of ``node``, None without a parent transform; raises
        ParentTransformError unless the policy allows hardening a linear transform."""
        parent = _parent_transform(node)
        if parent is None:
            return None
        if self.parent_transforms == "refuse":
            raise ParentTransformError(
                f"'{node.GetName()}' is under the transform '{parent.GetName()}': harden the "
                "transform first, or allow hardening parent transforms")
        if not parent.IsTransformToWorldLinear():
            raise ParentTransformError(
                f"'{node.GetName()}' is under the non-linear transform '{parent.GetName()}': "
                "harden it in Slicer first")
        matrix = vtkMatrix4x4()
        parent.GetMatrixTransformToWorld(matrix)
        return matrix_from_vtk(matrix)

    def read_volume(self, node, image_kind: Optional[str] = None) -> ImageValue:
        """A scalar, label map or vector volume. ``image_kind`` is the slot's kind; without
        one, label map volumes are labels, several components a vector, anything else scalar."""
        if not node.IsA("vtkMRMLScalarVolumeNode"):
            raise NodeError(f"'{node.GetName()}' is not a volume")
        image = node.GetImageData()
        if image is None or image.GetPointData().GetScalars() is None:
            raise NodeError(f"volume '{node.GetName()}' has no voxels")
        components = image.GetNumberOfScalarComponents()
        if image_kind is None:
            if node.IsA("vtkMRMLLabelMapVolumeNode"):
                image_kind = "label"
            else:
                image_kind = "vector" if components > 1 else "scalar"
        if image_kind != "vector" and components != 1:
            raise NodeError(f"volume '{node.GetName()}' has {components} components; the input "
                            f"wants a {image_kind} image")
        ijk_to_ras = vtkMatrix4x4()
        node.GetIJKToRASMatrix(ijk_to_ras)
        matrix = matrix_from_vtk(ijk_to_ras)
        to_world = self._to_world(node)
        if to_world is not None:
            matrix = to_world @ matrix
        try:
            value = ImageValue.from_vtk(image, matrix, image_kind)
        except ConversionError as failure:
            raise NodeError(f"volume '{node.GetName()}': {failure}") from None
        if image_kind == "label":
            value.segments = self._label_names(node, value.voxels)
        return value

    @staticmethod
    def _label_names(node, voxels: np.ndarray):
        """Segments for the label values present that the volume's color table names."""
        display = node.GetDisplayNode()
        colors = display.GetColorNode() if display is not None else None
        if colors is None:
            return ()
        segments = []
        for value in np.unique(voxels):
            if value == 0:
                continue
            name = colors.GetColorName(int(value))
            rgba = [0.0, 0.0, 0.0, 0.0]
            if name and colors.GetColor(int(value), rgba):
                segments.append(Segment(int(value), name, tuple(float(c) for c in rgba[:3])))
        return tuple(segments)

    def read_segmentation(self, node) -> ImageValue:
        """The segments merged into one signed-short label image (segment n is label n; where
        segments overlap, the later one wins), named and colored as in the segmentation."""
        to_world = self._to_world(node)
        segmentation = node.GetSegmentation()
        ids = [segmentation.GetNthSegmentID(i) for i in range(segmentation.GetNumberOfSegments())]
        if not ids:
            raise NodeError(f"segmentation '{node.GetName()}' has no segments")
        if len(ids) > np.iinfo(np.int16).max:
            raise NodeError(f"segmentation '{node.GetName()}' has too many segments")
        node.CreateBinaryLabelmapRepresentation()
        pieces = []
        geometry = None
        for segment_id in ids:
            labelmap = self.classes.vtkOrientedImageData()
            node.GetBinaryLabelmapRepresentation(segment_id, labelmap)
            matrix = vtkMatrix4x4()
            labelmap.GetImageToWorldMatrix(matrix)
            matrix = matrix_from_vtk(matrix)
            if geometry is None:
                geometry = matrix
            elif not np.allclose(matrix, geometry, rtol=0, atol=1e-9):
                raise NodeError(f"the segments of '{node.GetName()}' lie on different grids")
            pieces.append((segment_id, labelmap))
        extents = [labelmap.GetExtent() for _, labelmap in pieces
                   if labelmap.GetExtent()[1] >= labelmap.GetExtent()[0]]
        if extents:
            low = [min(e[2 * a] for e in extents) for a in range(3)]
            high = [max(e[2 * a + 1] for e in extents) for a in range(3)]
        else:
            low, high = [0, 0, 0], [-1, -1, -1]
        voxels = np.zeros([high[a] - low[a] + 1 for a in (2, 1, 0)], dtype=np.int16)
        segments = []
        for value, (segment_id, labelmap) in enumerate(pieces, start=1):
            segment = segmentation.GetSegment(segment_id)
            segments.append(Segment(value, segment.GetName(),
                                    tuple(float(c) for c in segment.GetColor())))
            extent = labelmap.GetExtent()
            scalars = labelmap.GetPointData().GetScalars()
            if extent[1] < extent[0] or scalars is None:
                continue
            mask = numpy_support.vtk_to_numpy(scalars).reshape(
                extent[5] - extent[4] + 1, extent[3] - extent[2] + 1, extent[1] - extent[0] + 1)
            region = voxels[extent[4] - low[2]:extent[5] - low[2] + 1,
                            extent[2] - low[1]:extent[3] - low[1] + 1,
                            extent[0] - low[0]:extent[1] - low[0] + 1]
            region[mask != 0] = value
        matrix = geometry.copy()
        matrix[:3, 3] = geometry[:3, :3] @ np.array(low, dtype=np.float64) + geometry[:3, 3]
        if to_world is not None:
            matrix = to_world @ matrix
        return ImageValue(voxels, matrix, "label", tuple(segments))

    def read_sequence(self, node) -> ImageSeriesValue:
        """A sequence node of scalar volumes as an image series: each volume keeps its own
        IJK-to-RAS matrix [SER-2]; the index values are the axis values, read by the index's
        name and unit (time or echo time in s or ms, anything else an index), unless every item
        carries a b-value and gradient (``DIFFUSION_ATTRIBUTE``): a diffusion series."""
        if not node.IsA("vtkMRMLSequenceNode"):
            raise NodeError(f"'{node.GetName()}' is not a sequence or MultiVolume node")
        count = node.GetNumberOfDataNodes()
        if count < 1:
            raise NodeError(f"sequence '{node.GetName()}' is empty")
        items = [node.GetNthDataNode(index) for index in range(count)]
        if any(item is None or not item.IsA("vtkMRMLScalarVolumeNode") for item in items):
            raise NodeError(f"sequence '{node.GetName()}' holds an item that is not a volume")
        diffusion = [item.GetAttribute(DIFFUSION_ATTRIBUTE) for item in items]
        gradients = None
        try:
            if all(diffusion):
                axis = "b_value"
                entries = [json.loads(text) for text in diffusion]
                values = [float(entry["b_value"]) for entry in entries]
                gradients = [[float(g) for g in entry["gradient"]] for entry in entries]
            else:
                axis, per_second = _axis_of(node.GetIndexName(), node.GetIndexUnit())
                values = [float(node.GetNthIndexValue(index)) / per_second
                          for index in range(count)]
        except (ValueError, KeyError, TypeError):
            raise NodeError(f"sequence '{node.GetName()}': an index value or diffusion "
                            "attribute is not a number") from None
        volumes = [self.read_volume(item) for item in items]
        try:
            return ImageSeriesValue(volumes, values, axis, gradients)
        except ConversionError as failure:
            raise NodeError(f"sequence '{node.GetName()}': {failure}") from None

    def read_multivolume(self, node) -> ImageSeriesValue:
        """A MultiVolume node (frames as the components of one image, one geometry) as an image
        series: every volume takes the node's matrix; the frame labels are the values."""
        image = node.GetImageData()
        if image is None or image.GetPointData().GetScalars() is None:
            raise NodeError(f"MultiVolume '{node.GetName()}' has no voxels")
        frames = image.GetNumberOfScalarComponents()
        labels = (node.GetAttribute(_MULTIVOLUME_FRAMES) or "").split(",")
        tag = node.GetAttribute(_MULTIVOLUME_TAG) or ""
        axis, per_second = _axis_of("echo time" if tag == "EchoTime" else "time",
                                    node.GetAttribute(_MULTIVOLUME_UNITS) or "")
        try:
            values = [float(label) / per_second for label in labels]
        except ValueError:
            raise NodeError(f"MultiVolume '{node.GetName()}': frame labels are not numbers") \
                from None
        if len(values) != frames:
            raise NodeError(f"MultiVolume '{node.GetName()}' has {frames} frames and "
                            f"{len(values)} frame labels")
        ijk_to_ras = vtkMatrix4x4()
        node.GetIJKToRASMatrix(ijk_to_ras)
        matrix = matrix_from_vtk(ijk_to_ras)
        to_world = self._to_world(node)
        if to_world is not None:
            matrix = to_world @ matrix
        try:
            stacked = ImageValue.from_vtk(image, matrix, "vector" if frames > 1 else "scalar")
            voxels = stacked.voxels if frames > 1 else stacked.voxels[..., np.newaxis]
            volumes = [ImageValue(np.ascontiguousarray(voxels[..., frame]), stacked.ijk_to_ras)
                       for frame in range(frames)]
            return ImageSeriesValue(volumes, values, axis)
        except ConversionError as failure:
            raise NodeError(f"MultiVolume '{node.GetName()}': {failure}") from None

    def read_model(self, node) -> MeshValue:
        """A model's surface mesh (a copy), in world coordinates when hardening."""
        if not node.IsA("vtkMRMLModelNode"):
            raise NodeError(f"'{node.GetName()}' is not a model")
        polydata = node.GetPolyData()
        if polydata is None:
            what = "a volumetric mesh" if node.GetMesh() is not None else "no mesh"
            raise NodeError(f"model '{node.GetName()}' has {what}; a surface mesh is needed")
        to_world = self._to_world(node)
        copy = vtkPolyData()
        if to_world is None:
            copy.DeepCopy(polydata)
        else:
            transform = vtkTransform()
            transform.SetMatrix(matrix_to_vtk(to_world))
            hardened = vtkTransformPolyDataFilter()
            hardened.SetTransform(transform)
            hardened.SetInputData(polydata)
            hardened.Update()
            copy.DeepCopy(hardened.GetOutput())
        return MeshValue(copy)

    def read_transform(self, node) -> TransformValue:
        """A linear transform's matrix to its parent, or to world when hardening."""
        if not node.IsA("vtkMRMLTransformNode") or not node.IsLinear():
            raise NodeError(f"'{node.GetName()}' is not a linear transform")
        matrix = vtkMatrix4x4()
        if self._to_world(node) is None:
            node.GetMatrixTransformToParent(matrix)
        else:
            node.GetMatrixTransformToWorld(matrix)
        return TransformValue(matrix_from_vtk(matrix))

    def read_markups(self, node) -> PointsValue:
        """Control point positions in world coordinates and their labels."""
        if not node.IsA("vtkMRMLMarkupsNode"):
            raise NodeError(f"'{node.GetName()}' is not a markups node")
        self._to_world(node)  # the world positions include the parent: allowed only if hardening
        count = node.GetNumberOfControlPoints()
        points = np.zeros((count, 3))
        labels = []
        for index in range(count):
            position = [0.0, 0.0, 0.0]
            node.GetNthControlPointPositionWorld(index, position)
            points[index] = position
            labels.append(node.GetNthControlPointLabel(index))
        return PointsValue(points, labels)

    def read_table(self, node) -> TableValue:
        if not node.IsA("vtkMRMLTableNode") or node.GetTable() is None:
            raise NodeError(f"'{node.GetName()}' is not a table")
        return TableValue.from_vtk(node.GetTable())

    # -- writing --------------------------------------------------------------------------------

    def write(self, value, slot: Mapping[str, Any], node=None, name: Optional[str] = None):
        """Writes output ``value`` of ``slot`` into ``node``, or into a new node named ``name``
        (the slot's label by default); returns the node."""
        if node is not None and _parent_transform(node) is not None:
            raise ParentTransformError(
                f"'{node.GetName()}' is under a transform: outputs are in world coordinates and "
                "would be moved by it; choose another node")
        base_name = name or slot.get("label") or slot["name"]
        if isinstance(value, ImageValue):
            if node is not None and node.IsA("vtkMRMLSegmentationNode"):
                return self.write_segmentation(value, node)
            return self.write_volume(value, node, base_name)
        if isinstance(value, ImageSeriesValue):
            if node is not None and node.IsA("vtkMRMLMultiVolumeNode"):
                return self.write_multivolume(value, node)
            return self.write_sequence(value, node, base_name)
        if isinstance(value, MeshValue):
            node = self._target(node, "mesh", "vtkMRMLModelNode", base_name)
            _activate_normals(value.polydata)
            node.SetAndObserveMesh(value.polydata)
        elif isinstance(value, TransformValue):
            node = self._target(node, "transform", "vtkMRMLLinearTransformNode", base_name)
            node.SetMatrixTransformToParent(value.to_vtk())
        elif isinstance(value, PointsValue):
            node = self._target(node, "points", "vtkMRMLMarkupsNode", base_name)
            node.RemoveAllControlPoints()
            labels = value.labels or [""] * len(value.points)
            for position, label in zip(value.points, labels):
                node.AddControlPoint([float(c) for c in position], label)
        elif isinstance(value, TableValue):
            node = self._target(node, "table", "vtkMRMLTableNode", base_name)
            node.SetAndObserveTable(value.to_vtk())
        else:
            raise NodeError(f"output '{slot['name']}' holds no data value")
        node.CreateDefaultDisplayNodes()
        return node

    def _target(self, node, kind: str, required_class: str, name: str):
        if node is None:
            return self.scene.AddNewNodeByClass(_NEW_NODE_CLASSES[kind], name)
        if not node.IsA(required_class):
            raise NodeError(f"'{node.GetName()}' cannot hold a {kind} output")
        return node

    def write_volume(self, value: ImageValue, node=None, name: str = "output") -> Any:
        """A volume node of the image's kind: label maps for labels, vector volumes for
        vectors. The geometry goes into the IJK-to-RAS matrix."""
        if node is None:
            node = self.scene.AddNewNodeByClass(_NEW_NODE_CLASSES[value.kind], name)
        elif value.kind == "vector" and value.components > 1 and \
                not node.IsA("vtkMRMLVectorVolumeNode"):
            raise NodeError(f"'{node.GetName()}' cannot hold an image of {value.components} "
                            "components; use a vector volume")
        elif not node.IsA("vtkMRMLScalarVolumeNode"):
            raise NodeError(f"'{node.GetName()}' is not a volume")
        stored = ImageValue(_storable_voxels(value.voxels, value.kind), value.ijk_to_ras,
                            value.kind, value.segments)
        image, ijk_to_ras = stored.to_vtk()
        node.SetIJKToRASMatrix(ijk_to_ras)
        node.SetAndObserveImageData(image)
        if value.segments:
            node.SetAttribute(SEGMENTS_ATTRIBUTE,
                              json.dumps([segment.to_json() for segment in value.segments]))
        node.CreateDefaultDisplayNodes()
        return node

    def write_sequence(self, value: ImageSeriesValue, node=None,
                       name: str = "output") -> Any:
        """An image series as a sequence node of scalar (label, vector) volumes, each with its
        own IJK-to-RAS matrix [SER-2]; the index is named after the axis, in seconds for times;
        a diffusion series is indexed by volume number, each volume carrying its b-value and
        gradient (``DIFFUSION_ATTRIBUTE``)."""
        node = self._target(node, "sequence", "vtkMRMLSequenceNode", name)
        index_name, unit = _SEQUENCE_AXES[value.axis]
        node.RemoveAllDataNodes()
        node.SetIndexName(index_name)
        node.SetIndexUnit(unit)
        for index, volume in enumerate(value.volumes):
            item = self.scene.CreateNodeByClass(_NEW_NODE_CLASSES[volume.kind])
            item.SetName(f"{name} {index}")
            stored = ImageValue(_storable_voxels(volume.voxels, volume.kind), volume.ijk_to_ras,
                                volume.kind, volume.segments)
            image, ijk_to_ras = stored.to_vtk()
            item.SetIJKToRASMatrix(ijk_to_ras)
            item.SetAndObserveImageData(image)
            if value.gradients is None:
                node.SetDataNodeAtValue(item, repr(float(value.values[index])))
            else:
                item.SetAttribute(DIFFUSION_ATTRIBUTE, json.dumps(
                    {"b_value": float(value.values[index]),
                     "gradient": [float(g) for g in value.gradients[index]]}))
                node.SetDataNodeAtValue(item, str(index))
        return node

    def write_multivolume(self, value: ImageSeriesValue, node) -> Any:
        """A time, echo-time or index series whose volumes share one geometry as a MultiVolume
        node (frames as components, frame labels as values). Volumes of different geometry
        [SER-2] and b-value series (their gradients, [SER-4]) do not fit one: refused, never
        given one volume's geometry; a sequence node holds them."""
        if not value.shares_geometry():
            raise NodeError(f"'{node.GetName()}': the volumes differ in geometry and a "
                            "MultiVolume holds one for all; use a sequence node [SER-2]")
        if value.axis not in _MULTIVOLUME_AXES or value.volumes[0].kind == "vector":
            raise NodeError(f"'{node.GetName()}': a MultiVolume holds no gradients or vector "
                            "volumes; use a sequence node [SER-4]")
        first = value.volumes[0]
        voxels = np.stack([volume.voxels for volume in value.volumes], axis=-1)
        stacked = ImageValue(_storable_voxels(voxels, "vector"), first.ijk_to_ras, "vector")
        image, ijk_to_ras = stacked.to_vtk()
        node.SetIJKToRASMatrix(ijk_to_ras)
        node.SetAndObserveImageData(image)
        tag, unit = _MULTIVOLUME_AXES[value.axis]
        node.SetAttribute(_MULTIVOLUME_FRAMES, ",".join(repr(float(v)) for v in value.values))
        node.SetAttribute(_MULTIVOLUME_COUNT, str(len(value.volumes)))
        node.SetAttribute(_MULTIVOLUME_TAG, tag)
        node.SetAttribute(_MULTIVOLUME_UNITS, unit)
        return node

    def write_segmentation(self, value: ImageValue, node, reference_volume=None) -> Any:
        """A label image as the segments of a segmentation node (its segments are replaced): one
        segment per named segment, and per other non-zero label value present."""
        if value.kind != "label":
            raise NodeError(f"only label images go into segmentation '{node.GetName()}'")
        node.GetSegmentation().RemoveAllSegments()
        if reference_volume is not None:
            node.SetReferenceImageGeometryParameterFromVolumeNode(reference_volume)
        named = {segment.value: segment for segment in value.segments}
        present = [int(v) for v in np.unique(value.voxels) if v != 0]
        ijk_to_ras = matrix_to_vtk(value.ijk_to_ras)
        i, j, k = value.dims
        for label in sorted(set(present) | set(named)):
            segment = named.get(label, Segment(label, f"label {label}"))
            mask = (value.voxels == label).astype(np.uint8)
            labelmap = self.classes.vtkOrientedImageData()
            labelmap.SetExtent(0, i - 1, 0, j - 1, 0, k - 1)
            labelmap.GetPointData().SetScalars(
                numpy_support.numpy_to_vtk(mask.reshape(-1), deep=True))
            labelmap.SetImageToWorldMatrix(ijk_to_ras)
            node.AddSegmentFromBinaryLabelmapRepresentation(labelmap, segment.name,
                                                            list(segment.color))
        node.CreateDefaultDisplayNodes()
        return node


def _axis_of(name: str, unit: str):
    """(series axis, units per second of the stored values) of an index or frame name and
    unit: times and echo times in seconds or milliseconds, b-values, else a plain index."""
    name, unit = (name or "").strip().lower(), (unit or "").strip().lower()
    if name in ("b-value", "bvalue", "b_value"):
        return "b_value", 1.0
    if unit in _PER_SECOND:
        return ("echo_time" if "echo" in name else "time"), _PER_SECOND[unit]
    return "index", 1.0


def _activate_normals(polydata) -> None:
    """The protocol carries no active attributes: a three-component point array named Normals
    becomes the active normals again, so that models shade and transform as before."""
    point_data = polydata.GetPointData()
    normals = point_data.GetArray("Normals")
    if point_data.GetNormals() is None and normals is not None and \
            normals.GetNumberOfComponents() == 3:
        point_data.SetActiveNormals("Normals")


def _parent_transform(node):
    """The parent transform node, or None (tables and other non-transformable nodes have
    none)."""
    getter = getattr(node, "GetParentTransformNode", None)
    return getter() if getter is not None else None


def _storable_voxels(voxels: np.ndarray, kind: str) -> np.ndarray:
    """Voxels a volume node accepts: 64-bit integers become int32 when every value fits, else
    float64 (volume updates reject VTK_LONG_LONG); labels must fit."""
    if voxels.dtype.kind not in "iu" or voxels.dtype.itemsize < 8:
        return voxels
    limits = np.iinfo(np.int32)
    if voxels.size == 0 or (voxels.min() >= limits.min and voxels.max() <= limits.max):
        return voxels.astype(np.int32)
    if kind == "label":
        raise NodeError("label values beyond the int32 range cannot be stored in a volume")
    return voxels.astype(np.float64)
