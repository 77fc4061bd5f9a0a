"""A small fake of the MRML API, for testing mrml_io.py outside Slicer.

THIS IS A FAKE, NOT SLICER. It implements only the public methods mrml_io.py is allowed to use
(the list in the adapter's README), with Slicer's semantics where they matter to geometry and
data, and records the calls made so that tests can check them:

- volumes hold their geometry in an IJK-to-RAS matrix; like Slicer 5.10, they reject image data
  that carries its own origin, spacing or direction, and (like every Slicer) 64-bit integer
  voxels; label map volumes take one component only;
- ``GetParentTransformNode`` exists only on transformable nodes (not on table nodes);
- transforms compose to world through their parents; grid transforms are not linear;
- markups store control points in the node's local coordinates and report world positions;
- segmentations hold one binary labelmap (a ``FakeOrientedImageData``) per segment.
"""

import types

import numpy as np
from vtkmodules.vtkCommonCore import VTK_LONG_LONG, VTK_UNSIGNED_LONG_LONG
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPolyData
from vtkmodules.vtkCommonMath import vtkMatrix4x4


def _copy_matrix(matrix: vtkMatrix4x4) -> vtkMatrix4x4:
    result = vtkMatrix4x4()
    result.DeepCopy(matrix)
    return result


def _as_numpy(matrix: vtkMatrix4x4) -> np.ndarray:
    return np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])


class FakeOrientedImageData(vtkImageData):
    """vtkOrientedImageData: a vtkImageData with an image-to-world matrix."""

    def __init__(self):
        super().__init__()
        self._image_to_world = vtkMatrix4x4()

    def SetImageToWorldMatrix(self, matrix):
        self._image_to_world.DeepCopy(matrix)

    def GetImageToWorldMatrix(self, matrix):
        matrix.DeepCopy(self._image_to_world)

    def DeepCopy(self, other):
        vtkImageData.DeepCopy(self, other)
        if isinstance(other, FakeOrientedImageData):
            self._image_to_world.DeepCopy(other._image_to_world)


CLASSES = types.SimpleNamespace(vtkOrientedImageData=FakeOrientedImageData)


class FakeScene:
    def __init__(self):
        self.nodes = []
        self.calls = []
        self._counts = {}

    def AddNode(self, node):
        count = self._counts.get(node.CLASS_NAMES[0], 0) + 1
        self._counts[node.CLASS_NAMES[0]] = count
        node.scene = self
        node.id = f"{node.CLASS_NAMES[0]}{count}"
        self.nodes.append(node)
        return node

    def AddNewNodeByClass(self, class_name, name=""):
        self.calls.append(("AddNewNodeByClass", class_name, name))
        node = NODE_CLASSES[class_name]()
        node.SetName(name)
        return self.AddNode(node)

    def CreateNodeByClass(self, class_name):
        """A node that is not in the scene (Slicer's sequence items start so)."""
        self.calls.append(("CreateNodeByClass", class_name))
        return NODE_CLASSES[class_name]()

    def GetNodeByID(self, node_id):
        for node in self.nodes:
            if node.id == node_id:
                return node
        return None


class FakeNode:
    CLASS_NAMES = ("vtkMRMLNode",)

    def __init__(self):
        self.scene = None
        self.id = None
        self.name = ""
        self.attributes = {}
        self.calls = []

    def IsA(self, class_name):
        return class_name in self.CLASS_NAMES

    def GetName(self):
        return self.name

    def SetName(self, name):
        self.name = name

    def GetID(self):
        return self.id

    def SetAttribute(self, name, value):
        self.attributes[name] = value

    def GetAttribute(self, name):
        return self.attributes.get(name)


class FakeTransformableNode(FakeNode):
    def __init__(self):
        super().__init__()
        self.parent_id = None
        self.display = None

    def SetAndObserveTransformNodeID(self, node_id):
        self.parent_id = node_id

    def GetParentTransformNode(self):
        return self.scene.GetNodeByID(self.parent_id) if self.parent_id else None

    def CreateDefaultDisplayNodes(self):
        self.calls.append("CreateDefaultDisplayNodes")
        if self.display is None:
            self.display = FakeDisplayNode()

    def GetDisplayNode(self):
        return self.display

    def HardenTransform(self):
        raise AssertionError("mrml_io must not change the scene by hardening transforms")


class FakeColorTableNode(FakeNode):
    CLASS_NAMES = ("vtkMRMLColorTableNode", "vtkMRMLColorNode", "vtkMRMLNode")

    def __init__(self, entries):
        super().__init__()
        self.entries = entries  # value -> (name, (r, g, b))

    def GetColorName(self, value):
        return self.entries.get(value, ("", None))[0]

    def GetColor(self, value, rgba):
        if value not in self.entries:
            return False
        rgba[:] = list(self.entries[value][1]) + [1.0]
        return True


class FakeDisplayNode(FakeNode):
    CLASS_NAMES = ("vtkMRMLDisplayNode", "vtkMRMLNode")

    def __init__(self, color_node=None):
        super().__init__()
        self.color_node = color_node

    def GetColorNode(self):
        return self.color_node


class FakeScalarVolumeNode(FakeTransformableNode):
    CLASS_NAMES = ("vtkMRMLScalarVolumeNode", "vtkMRMLVolumeNode", "vtkMRMLDisplayableNode",
                   "vtkMRMLTransformableNode", "vtkMRMLNode")

    def __init__(self):
        super().__init__()
        self.image = None
        self.ijk_to_ras = vtkMatrix4x4()

    def GetImageData(self):
        return self.image

    def SetAndObserveImageData(self, image):
        self.calls.append("SetAndObserveImageData")
        if image is not None:
            if image.GetScalarType() in (VTK_LONG_LONG, VTK_UNSIGNED_LONG_LONG):
                raise TypeError("volumes do not take 64-bit integer voxels")
            direction = _as_numpy_3x3(image)
            if image.GetOrigin() != (0.0, 0.0, 0.0) or image.GetSpacing() != (1.0, 1.0, 1.0) or \
                    not np.array_equal(direction, np.eye(3)):
                raise ValueError("geometry belongs in the IJK-to-RAS matrix, not the image data")
        self.image = image

    def GetIJKToRASMatrix(self, matrix):
        matrix.DeepCopy(self.ijk_to_ras)

    def SetIJKToRASMatrix(self, matrix):
        self.calls.append("SetIJKToRASMatrix")
        self.ijk_to_ras = _copy_matrix(matrix)


def _as_numpy_3x3(image):
    direction = image.GetDirectionMatrix()
    return np.array([[direction.GetElement(r, c) for c in range(3)] for r in range(3)])


class FakeLabelMapVolumeNode(FakeScalarVolumeNode):
    CLASS_NAMES = ("vtkMRMLLabelMapVolumeNode",) + FakeScalarVolumeNode.CLASS_NAMES

    def SetAndObserveImageData(self, image):
        if image is not None and image.GetNumberOfScalarComponents() != 1:
            raise ValueError("label maps have one component")
        super().SetAndObserveImageData(image)


class FakeVectorVolumeNode(FakeScalarVolumeNode):
    CLASS_NAMES = ("vtkMRMLVectorVolumeNode",) + FakeScalarVolumeNode.CLASS_NAMES


class FakeModelNode(FakeTransformableNode):
    CLASS_NAMES = ("vtkMRMLModelNode", "vtkMRMLDisplayableNode", "vtkMRMLTransformableNode",
                   "vtkMRMLNode")

    def __init__(self):
        super().__init__()
        self.mesh = None

    def GetMesh(self):
        return self.mesh

    def GetPolyData(self):
        return self.mesh if isinstance(self.mesh, vtkPolyData) else None

    def SetAndObserveMesh(self, mesh):
        self.calls.append("SetAndObserveMesh")
        self.mesh = mesh


class FakeLinearTransformNode(FakeTransformableNode):
    CLASS_NAMES = ("vtkMRMLLinearTransformNode", "vtkMRMLTransformNode",
                   "vtkMRMLDisplayableNode", "vtkMRMLTransformableNode", "vtkMRMLNode")

    def __init__(self):
        super().__init__()
        self.to_parent = vtkMatrix4x4()

    def IsLinear(self):
        return True

    def IsTransformToWorldLinear(self):
        parent = self.GetParentTransformNode()
        return parent is None or parent.IsTransformToWorldLinear()

    def GetMatrixTransformToParent(self, matrix):
        matrix.DeepCopy(self.to_parent)

    def SetMatrixTransformToParent(self, matrix):
        self.calls.append("SetMatrixTransformToParent")
        self.to_parent = _copy_matrix(matrix)

    def GetMatrixTransformToWorld(self, matrix):
        result = _as_numpy(self.to_parent)
        parent = self.GetParentTransformNode()
        if parent is not None:
            world = vtkMatrix4x4()
            parent.GetMatrixTransformToWorld(world)
            result = _as_numpy(world) @ result
        matrix.DeepCopy(result.ravel().tolist())


class FakeGridTransformNode(FakeLinearTransformNode):
    """A non-linear transform."""
    CLASS_NAMES = ("vtkMRMLGridTransformNode", "vtkMRMLTransformNode", "vtkMRMLDisplayableNode",
                   "vtkMRMLTransformableNode", "vtkMRMLNode")

    def IsLinear(self):
        return False

    def IsTransformToWorldLinear(self):
        return False

    def GetMatrixTransformToWorld(self, matrix):
        raise AssertionError("a non-linear transform has no matrix")


class FakeMarkupsFiducialNode(FakeTransformableNode):
    CLASS_NAMES = ("vtkMRMLMarkupsFiducialNode", "vtkMRMLMarkupsNode", "vtkMRMLDisplayableNode",
                   "vtkMRMLTransformableNode", "vtkMRMLNode")

    def __init__(self):
        super().__init__()
        self.points = []  # (local position, label)

    def GetNumberOfControlPoints(self):
        return len(self.points)

    def GetNthControlPointPositionWorld(self, index, position):
        local = np.append(np.asarray(self.points[index][0], dtype=float), 1.0)
        parent = self.GetParentTransformNode()
        if parent is not None:
            world = vtkMatrix4x4()
            parent.GetMatrixTransformToWorld(world)
            local = _as_numpy(world) @ local
        position[:] = local[:3].tolist()

    def GetNthControlPointLabel(self, index):
        return self.points[index][1]

    def AddControlPoint(self, position, label=""):
        self.calls.append("AddControlPoint")
        self.points.append((list(position), label))
        return len(self.points) - 1

    def RemoveAllControlPoints(self):
        self.calls.append("RemoveAllControlPoints")
        self.points = []


class FakeTableNode(FakeNode):
    """Not transformable: no GetParentTransformNode, as in Slicer."""
    CLASS_NAMES = ("vtkMRMLTableNode", "vtkMRMLStorableNode", "vtkMRMLNode")

    def __init__(self):
        super().__init__()
        self.table = None

    def GetTable(self):
        return self.table

    def SetAndObserveTable(self, table):
        self.calls.append("SetAndObserveTable")
        self.table = table

    def CreateDefaultDisplayNodes(self):
        self.calls.append("CreateDefaultDisplayNodes")


class FakeSegment:
    def __init__(self, name, color, labelmap):
        self.name = name
        self.color = tuple(color)
        self.labelmap = labelmap

    def GetName(self):
        return self.name

    def GetColor(self):
        return self.color


class FakeSegmentation:
    def __init__(self):
        self.segments = {}  # id -> FakeSegment, in order

    def GetNumberOfSegments(self):
        return len(self.segments)

    def GetNthSegmentID(self, index):
        return list(self.segments)[index]

    def GetSegment(self, segment_id):
        return self.segments[segment_id]

    def RemoveAllSegments(self):
        self.segments = {}


class FakeSegmentationNode(FakeTransformableNode):
    CLASS_NAMES = ("vtkMRMLSegmentationNode", "vtkMRMLDisplayableNode",
                   "vtkMRMLTransformableNode", "vtkMRMLNode")

    def __init__(self):
        super().__init__()
        self.segmentation = FakeSegmentation()
        self.reference_volume = None
        self._next = 1

    def GetSegmentation(self):
        return self.segmentation

    def CreateBinaryLabelmapRepresentation(self):
        self.calls.append("CreateBinaryLabelmapRepresentation")
        return True

    def GetBinaryLabelmapRepresentation(self, segment_id, output):
        output.DeepCopy(self.segmentation.segments[segment_id].labelmap)
        return True

    def AddSegmentFromBinaryLabelmapRepresentation(self, labelmap, name, color):
        self.calls.append("AddSegmentFromBinaryLabelmapRepresentation")
        if not isinstance(labelmap, FakeOrientedImageData):
            raise TypeError("segments take a vtkOrientedImageData")
        copy = FakeOrientedImageData()
        copy.DeepCopy(labelmap)
        segment_id = f"Segment_{self._next}"
        self._next += 1
        self.segmentation.segments[segment_id] = FakeSegment(name, color, copy)
        return segment_id

    def SetReferenceImageGeometryParameterFromVolumeNode(self, volume):
        self.reference_volume = volume


class FakeMultiVolumeNode(FakeScalarVolumeNode):
    """Frames as the components of one image, one geometry; frame labels in attributes."""
    CLASS_NAMES = ("vtkMRMLMultiVolumeNode",) + FakeScalarVolumeNode.CLASS_NAMES


class FakeSequenceNode(FakeNode):
    """Items kept as copies, as Slicer's sequence node keeps them in its own scene; index values
    are strings."""
    CLASS_NAMES = ("vtkMRMLSequenceNode", "vtkMRMLStorableNode", "vtkMRMLNode")

    def __init__(self):
        super().__init__()
        self.index_name = "time"
        self.index_unit = "s"
        self.items = []

    def GetIndexName(self):
        return self.index_name

    def SetIndexName(self, name):
        self.index_name = name

    def GetIndexUnit(self):
        return self.index_unit

    def SetIndexUnit(self, unit):
        self.index_unit = unit

    def GetNumberOfDataNodes(self):
        return len(self.items)

    def GetNthDataNode(self, index):
        return self.items[index][1]

    def GetNthIndexValue(self, index):
        return self.items[index][0]

    def RemoveAllDataNodes(self):
        self.items = []

    def SetDataNodeAtValue(self, node, value):
        if not isinstance(value, str):
            raise TypeError("index values are strings")
        copy = type(node)()
        copy.name = node.name
        copy.attributes = dict(node.attributes)
        copy.ijk_to_ras = _copy_matrix(node.ijk_to_ras)
        if node.image is not None:
            copy.image = vtkImageData()
            copy.image.DeepCopy(node.image)
        self.items = [item for item in self.items if item[0] != value] + [(value, copy)]
        return copy


NODE_CLASSES = {
    "vtkMRMLScalarVolumeNode": FakeScalarVolumeNode,
    "vtkMRMLLabelMapVolumeNode": FakeLabelMapVolumeNode,
    "vtkMRMLVectorVolumeNode": FakeVectorVolumeNode,
    "vtkMRMLModelNode": FakeModelNode,
    "vtkMRMLLinearTransformNode": FakeLinearTransformNode,
    "vtkMRMLGridTransformNode": FakeGridTransformNode,
    "vtkMRMLMarkupsFiducialNode": FakeMarkupsFiducialNode,
    "vtkMRMLTableNode": FakeTableNode,
    "vtkMRMLSegmentationNode": FakeSegmentationNode,
    "vtkMRMLMultiVolumeNode": FakeMultiVolumeNode,
    "vtkMRMLSequenceNode": FakeSequenceNode,
}
