"""SlicerBridgeLib: the Python side of the SlicerBridge extension.

- ``conversions``: numpy/VTK values in the protocol's shapes (images with IJK-to-RAS, meshes,
  transforms, points, tables, parameters), RAS/LPS helpers. No Slicer needed.
- ``client``: ``Bridge``, a Python face for the wrapped client core (``slicerbridgecore``).
- ``form``: what the module's form shows for a processor description. No Qt needed.
- ``cli_modules``: every processor as a Slicer CLI module, through the extension's exporter.
- ``mrml_io``: MRML nodes <-> values; the only module that touches the scene.
"""
