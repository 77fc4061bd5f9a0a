"""The SlicerBridge client core for VTK, wrapped for Python.

``vtkSlicerBridgeClientLogic`` connects to a SlicerBridge server, lists its processors and runs
them on VTK data; ``vtkSlicerBridgeCall`` is one invoke. See vtkSlicerBridgeClientLogic.h.
"""

from .vtkSlicerBridgeCore import vtkSlicerBridgeCall, vtkSlicerBridgeClientLogic

__all__ = ["vtkSlicerBridgeCall", "vtkSlicerBridgeClientLogic"]
