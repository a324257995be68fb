"""What extraction, rendering and evaluation need from a trained field.

All coordinates are in the **unit frame** (the region's bounding sphere mapped onto the unit
sphere, see ``meshcast.scene.normalize.Similarity``); tensors are float32 on the field's device.
"""
from __future__ import annotations

from typing import Literal, Protocol

import torch


class SurfaceField(Protocol):
    """A trained field whose level set is the surface.

    ``kind == "sdf"``: ``geometry`` is a signed distance (negative inside, surface at 0).
    ``kind == "density"``: ``geometry`` is a volume density (surface at a threshold).
    """

    kind: Literal["sdf", "density"]

    def geometry(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3) points -> (N,) SDF or density."""
        ...

    def normals(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3) points -> (N, 3) unit outward normals (SDF gradient, or -grad density)."""
        ...

    def color(self, x: torch.Tensor, normals: torch.Tensor, view_dirs: torch.Tensor) -> torch.Tensor:
        """(N, 3) points, (N, 3) normals, (N, 3) unit view directions (camera -> point)
        -> (N, 3) linear RGB in [0, 1]."""
        ...
