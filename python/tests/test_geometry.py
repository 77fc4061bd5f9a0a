"""Geometry guardrails (issue 11): one stated axis order, no silent misplacement when the
voxel array changes shape, and helpers for crop, resample and same grid."""

import numpy as np
import pytest

from conftest import oblique_matrix
from slicerbridge import Image


def ramp_image(shape_kji=(6, 8, 10), matrix=None):
    k, j, i = np.meshgrid(*[np.arange(n) for n in shape_kji], indexing="ij")
    voxels = (3.0 * i + 5.0 * j + 7.0 * k).astype(np.float64)  # linear in (i, j, k)
    return Image(voxels, oblique_matrix() if matrix is None else matrix, space="LPS")


def test_axis_order_is_named():
    image = ramp_image()
    assert image.shape_kji == (6, 8, 10) == image.voxels.shape
    assert image.dims_ijk == image.dims == (10, 8, 6)
    assert np.allclose(image.spacing_ijk, np.linalg.norm(oblique_matrix()[:3, :3], axis=0))
    assert np.allclose(image.spacing_kji, image.spacing_ijk[::-1])
    assert np.array_equal(image.spacing, image.spacing_ijk)
    # voxels[k, j, i] is at index_to_space((i, j, k))
    assert image.voxels[1, 2, 3] == 3 * 3 + 5 * 2 + 7 * 1
    assert np.allclose(image.index_to_space([3, 2, 1]),
                       (oblique_matrix() @ [3, 2, 1, 1])[:3])
    assert np.allclose(image.space_to_index(image.index_to_space([3, 2, 1])), [3, 2, 1])
    assert np.allclose(image.directions @ np.diag(image.spacing_ijk), oblique_matrix()[:3, :3])


def test_new_voxels_of_another_shape_need_new_geometry():
    image = ramp_image()
    smaller = image.voxels[::2, ::2, ::2]
    with pytest.raises(ValueError, match=r"\[k, j, i\].*ijk_to_space.*cropped\(\) or resampled"):
        image.with_voxels(smaller)
    same = image.with_voxels(image.voxels * 2)
    assert np.array_equal(same.ijk_to_space, image.ijk_to_space)
    given = image.with_voxels(smaller, ijk_to_space=np.eye(4))
    assert np.array_equal(given.ijk_to_space, np.eye(4)) and given.space == "LPS"


def test_cropped_keeps_every_voxel_in_place():
    image = ramp_image()
    crop = image.cropped((2, 1, 3), (7, 5, 6))
    assert crop.dims_ijk == (5, 4, 3)
    for ijk in [(0, 0, 0), (4, 3, 2), (1, 2, 0)]:
        old = np.add(ijk, (2, 1, 3))
        assert crop.voxels[ijk[2], ijk[1], ijk[0]] == image.voxels[old[2], old[1], old[0]]
        assert np.allclose(crop.index_to_space(ijk), image.index_to_space(old))
    with pytest.raises(ValueError, match="0 <= start < stop <= dims"):
        image.cropped((0, 0, 0), (11, 8, 6))


@pytest.mark.parametrize("factor", [(2.0, 2.0, 2.0), (0.5, 1.0, 1.5), (3.0, 0.75, 1.0)])
def test_resampled_puts_values_where_they_were(factor):
    image = ramp_image()
    spacing = image.spacing_ijk * factor
    out = image.resampled(spacing)
    assert np.allclose(out.spacing_ijk, spacing)
    assert np.allclose(out.directions, image.directions)
    # The box (outer edges of the edge voxels) is kept, to within one new voxel's rounding.
    old_extent = np.array(image.dims_ijk) * image.spacing_ijk
    new_extent = np.array(out.dims_ijk) * out.spacing_ijk
    assert np.all(np.abs(new_extent - old_extent) <= out.spacing_ijk / 2 + 1e-9)
    corner = image.index_to_space([-0.5, -0.5, -0.5])
    assert np.allclose(out.index_to_space([-0.5, -0.5, -0.5]), corner)
    # Linear interpolation of a linear function is exact wherever no edge clamps it.
    k, j, i = np.meshgrid(*[np.arange(n) for n in out.shape_kji], indexing="ij")
    points = out.index_to_space(np.stack([i, j, k], axis=-1).reshape(-1, 3))
    old_index = image.space_to_index(points)
    inside = np.all((old_index >= 0) & (old_index <= np.array(image.dims_ijk) - 1), axis=1)
    expected = old_index @ np.array([3.0, 5.0, 7.0])
    assert inside.any()
    assert np.allclose(out.voxels.reshape(-1)[inside], expected[inside])


def test_labels_resample_to_the_nearest_voxel_only():
    labels = Image((np.arange(4 * 4 * 4) % 3).astype(np.uint8).reshape(4, 4, 4), np.eye(4),
                   kind="label")
    out = labels.resampled((2.0, 2.0, 2.0))
    assert out.kind == "label" and out.voxels.dtype == np.uint8
    assert set(np.unique(out.voxels)) <= set(np.unique(labels.voxels))
    with pytest.raises(ValueError, match="labels take 0"):
        labels.resampled((2.0, 2.0, 2.0), order=1)


def test_same_grid_compares_across_spaces():
    image = ramp_image()
    assert image.same_grid(image.in_space("RAS"))
    assert not image.same_grid(image.cropped((0, 0, 0), (10, 8, 5)))
    moved = Image(image.voxels, image.ijk_to_space + np.pad([[0, 0, 0, 1e-3]], ((0, 3), (0, 0))),
                  space="LPS")
    assert not image.same_grid(moved)
