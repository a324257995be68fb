"""An occupancy grid over [-1, 1]^3 that lets rendering skip empty space.

State that lives across steps (STYLE.md 1): a (R, R, R) boolean grid refreshed every few
steps from the field (|sdf| below a band for SDF fields, density above a threshold for NeRF),
with an exponential moving average for densities. Samples in unoccupied cells get zero opacity
without evaluating the network.
"""
from __future__ import annotations

import torch


class OccupancyGrid:
    def __init__(self, resolution: int, device: torch.device):
        self.resolution = resolution
        self.values = torch.zeros(resolution**3, device=device)
        self.occupied = torch.ones(resolution**3, dtype=torch.bool, device=device)
        r = (torch.arange(resolution, device=device, dtype=torch.float32) + 0.5) / resolution * 2 - 1
        self.centers = torch.stack(torch.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)

    def cell_index(self, x: torch.Tensor) -> torch.Tensor:
        ijk = ((x.clamp(-1, 1 - 1e-6) + 1) * 0.5 * self.resolution).long()
        return (ijk[:, 0] * self.resolution + ijk[:, 1]) * self.resolution + ijk[:, 2]

    def query(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3) -> (N,) bool: inside an occupied cell."""
        return self.occupied[self.cell_index(x)]

    @torch.no_grad()
    def update(self, geometry, kind: str, threshold: float, decay: float = 0.95, chunk: int = 65536) -> float:
        """Refresh from ``geometry(x) -> (N,)``; returns the occupied fraction."""
        cell = 2.0 / self.resolution
        jitter = (torch.rand_like(self.centers) - 0.5) * cell
        values = torch.cat([geometry(p) for p in torch.split(self.centers + jitter, chunk)])
        if kind == "sdf":
            # a cell may hold surface if |sdf| at a jittered point is within the cell's diagonal
            self.values = values.abs()
            self.occupied = self.values < max(threshold, cell * 1.8)
        else:
            self.values = torch.maximum(self.values * decay, values)
            # as Instant-NGP: below the threshold or, while the field is still faint, below its mean
            self.occupied = self.values > min(threshold, float(self.values.mean()))
        return float(self.occupied.float().mean())

    def state(self) -> dict[str, torch.Tensor]:
        return {"occupancy.values": self.values, "occupancy.occupied": self.occupied.to(torch.uint8)}

    def load(self, tensors: dict[str, torch.Tensor]) -> None:
        if "occupancy.values" in tensors:
            self.values = tensors["occupancy.values"].to(self.values.device)
            self.occupied = tensors["occupancy.occupied"].to(self.values.device).bool()
