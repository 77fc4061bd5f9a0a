"""Processors served by ``python -m slicerbridge serve``: the ones the conformance suite relies
on (``echo``, ``slow``, ``fail``) and a few real image computations with numpy."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .catalog import Enum, Float, Input, Int, Output, String, processor
from .context import Context
from .data import Image, ImageSeries, Mesh, PointList, Segment, Table, Transform
from .errors import ErrorCode, SlicerBridgeError


@processor(title="Echo", category="Testing", outputs={
    "image_out": Optional[Image], "mesh_out": Optional[Mesh],
    "transform_out": Optional[Transform], "points_out": Optional[PointList],
    "table_out": Optional[Table], "image_series_out": Optional[ImageSeries],
    "number_out": Optional[Float(label="Number out", description="The parameter number")]})
def echo(image: Optional[Image] = None, mesh: Optional[Mesh] = None,
         transform: Optional[Transform] = None, points: Optional[PointList] = None,
         table: Optional[Table] = None, image_series: Optional[ImageSeries] = None,
         number: Optional[Float(label="Number", group="Echo")] = None) -> dict:
    """Returns every input it is given, unchanged, as the output named after it with the suffix
    ``_out`` (slot names are unique across inputs and outputs, [CAT-3]), image series from
    version 1.1 [PROC-6], and the parameter ``number`` as the scalar output ``number_out``
    [CAT-7]."""
    given = {"image": image, "mesh": mesh, "transform": transform, "points": points,
             "table": table, "image_series": image_series, "number": number}
    return {f"{name}_out": value for name, value in given.items() if value is not None}


@processor(title="Slow", category="Testing")
def slow(ctx: Context, seconds: Float(label="Duration (s)", min=0.0, max=3600.0),
         steps: Int(label="Steps", min=1, max=100000) = 10) -> {}:
    """Waits ``seconds`` (required, so that a missing parameter can be tested) in ``steps``
    equal steps, reporting progress after each one; stops early, with the error
    ``cancelled``, when the call is cancelled."""
    for step in range(steps):
        ctx.sleep(seconds / steps)
        ctx.progress((step + 1) / steps, f"step {step + 1} of {steps}")
    return {}


@processor(title="Fail", category="Testing")
def fail(code: Int(label="Error code", min=1000, max=65535) = 1000,
         message: String(label="Message") = "requested failure",
         mode: Enum(["error", "exception"], label="How to fail") = "error") -> {}:
    """Fails on purpose: ``error`` raises a processor error with ``code`` and ``message``;
    ``exception`` raises a plain Python exception (answered as ``processor_failed``)."""
    if mode == "exception":
        raise RuntimeError(message)
    raise SlicerBridgeError(code, message)


def _box_filter_axis(values: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Mean over a window of 2 * radius + 1 samples along ``axis``, edges repeated."""
    padding = [(0, 0)] * values.ndim
    padding[axis] = (radius + 1, radius)
    cumulative = np.cumsum(np.pad(values, padding, mode="edge"), axis=axis, dtype=np.float64)
    size = values.shape[axis]
    upper = np.take(cumulative, np.arange(2 * radius + 1, 2 * radius + 1 + size), axis=axis)
    lower = np.take(cumulative, np.arange(0, size), axis=axis)
    return (upper - lower) / (2 * radius + 1)


@processor(title="Box smoothing", category="Filtering.Denoising")
def box_smooth(ctx: Context, volume: Input(Image, label="Volume", image_kind="scalar"),
               radius: Int(label="Radius (voxels)", min=0, max=20) = 1
               ) -> {"smoothed": Output(Image, label="Smoothed", image_kind="scalar")}:
    """Replaces each voxel by the mean of the (2 * radius + 1)^3 block around it (a separable
    box filter; voxels past the edges repeat the edge)."""
    if volume.kind != "scalar":
        raise SlicerBridgeError(ErrorCode.INVALID_ARGUMENT, "volume must be a scalar image",
                                {"name": "volume"})
    values = volume.voxels.astype(np.float64)
    if radius and values.size:
        for axis in range(3):
            ctx.check_cancelled()
            values = _box_filter_axis(values, radius, axis)
            ctx.progress((axis + 1) / 3)
    return {"smoothed": volume.with_voxels(values.astype(np.float32))}


@processor(title="Threshold", category="Segmentation")
def threshold(volume: Input(Image, label="Volume", image_kind="scalar"),
              lower: Float(label="Lower") = 0.0, upper: Float(label="Upper") = 1.0,
              label: Int(label="Label value", min=1, max=255) = 1
              ) -> {"labels": Output(Image, label="Labels", image_kind="label")}:
    """Labels the voxels whose value lies in [lower, upper]."""
    if volume.kind != "scalar":
        raise SlicerBridgeError(ErrorCode.INVALID_ARGUMENT, "volume must be a scalar image",
                                {"name": "volume"})
    if lower > upper:
        raise SlicerBridgeError(ErrorCode.INVALID_ARGUMENT, "lower is above upper",
                                {"name": "lower"})
    inside = (volume.voxels >= lower) & (volume.voxels <= upper)
    labels = inside.astype(np.uint8) * np.uint8(label)
    return {"labels": volume.with_voxels(labels, kind="label",
                                         segments=[Segment(label, "thresholded",
                                                           (0.9, 0.6, 0.2))])}


@processor(title="Label statistics", category="Quantification")
def label_statistics(labels: Input(Image, label="Labels", image_kind="label"),
                     volume: Input(Image, label="Intensities", image_kind="scalar") = None
                     ) -> {"statistics": Output(Table, label="Statistics")}:
    """Voxel count and physical volume (mm^3) of every non-zero label, and the mean intensity of
    ``volume`` within it when a volume on the same grid is given."""
    if labels.kind != "label":
        raise SlicerBridgeError(ErrorCode.INVALID_ARGUMENT, "labels must be a label image",
                                {"name": "labels"})
    if volume is not None and volume.voxels.shape[:3] != labels.voxels.shape:
        raise SlicerBridgeError(ErrorCode.INVALID_ARGUMENT,
                                "volume and labels have different dimensions",
                                {"name": "volume"})
    values, inverse, counts = np.unique(labels.voxels.reshape(-1), return_inverse=True,
                                        return_counts=True)
    keep = values != 0
    voxel_volume = abs(float(np.linalg.det(labels.ijk_to_space[:3, :3])))
    columns = {"label": values[keep].astype(np.int64),
               "voxel_count": counts[keep].astype(np.int64),
               "volume_mm3": counts[keep] * voxel_volume}
    if volume is not None:
        sums = np.bincount(inverse.reshape(-1), weights=volume.voxels.reshape(-1),
                           minlength=len(values))
        columns["mean"] = sums[keep] / counts[keep]
    return {"statistics": Table(columns)}


ALL = (echo, slow, fail, box_smooth, threshold, label_statistics)
