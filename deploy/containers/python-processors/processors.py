"""Example processors for the Python container: replace with your own."""

import numpy as np

from slicerbridge import Float, Image, Output, processor


@processor(title="Scale intensities", idempotent=True)
def scale(volume: Image, factor: Float(label="Factor") = 2.0) -> {"output": Output(Image)}:
    """Multiplies every voxel by factor; the geometry is kept."""
    return {"output": volume.with_voxels(np.asarray(volume.voxels, dtype=np.float32) * factor)}
