"""World <-> unit-sphere similarity: training happens inside the unit sphere, outputs go back.

``unit = (world - center) / radius`` and ``world = unit * radius + center``: a uniform scale
and a translation (no rotation), so directions are unchanged and lengths scale by ``radius``.
"""
from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from meshcast.scene.model import Region


class Similarity(BaseModel):
    """Maps the region's bounding sphere onto the unit sphere at the origin."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    center: tuple[float, float, float]
    radius: float = Field(gt=0)

    @classmethod
    def from_region(cls, region: Region) -> Similarity:
        return cls(center=region.sphere_center, radius=region.sphere_radius)

    def to_unit(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> unit-sphere coordinates."""
        return (np.asarray(points, np.float64) - np.asarray(self.center)) / self.radius

    def to_world(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) unit-sphere coordinates -> world points (exact inverse of to_unit)."""
        return np.asarray(points, np.float64) * self.radius + np.asarray(self.center)

    def c2w_to_unit(self, c2w: np.ndarray) -> np.ndarray:
        """(..., 4, 4) camera-to-world poses -> poses in the unit frame (rotation unchanged)."""
        out = np.array(c2w, dtype=np.float64, copy=True)
        out[..., :3, 3] = self.to_unit(out[..., :3, 3])
        return out

    def c2w_to_world(self, c2w: np.ndarray) -> np.ndarray:
        out = np.array(c2w, dtype=np.float64, copy=True)
        out[..., :3, 3] = self.to_world(out[..., :3, 3])
        return out

    def matrix_to_world(self) -> np.ndarray:
        """4x4 homogeneous matrix taking unit coordinates to world coordinates."""
        m = np.eye(4)
        m[:3, :3] *= self.radius
        m[:3, 3] = self.center
        return m
