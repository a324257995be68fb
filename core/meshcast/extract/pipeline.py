"""From a run folder to a mesh file in the scene's own world coordinates."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from meshcast.errors import JobFailedError
from meshcast.extract.marching_cubes import (
    cull_outside,
    keep_largest_component,
    marching_cubes_blocks,
)
from meshcast.extract.texture import bake_texture, query_colors, uv_atlas
from meshcast.reporting import Reporter
from meshcast.scene.model import Region
from meshcast.scene.normalize import Similarity

Texture = Literal["none", "vertex", "uv"]
DEFAULT_DENSITY_LEVEL = 10.0  # NeRF: density (unit frame) taken as the surface


@dataclass(frozen=True)
class ExtractSettings:
    resolution: int = 512
    block_res: int = 128
    texture: Texture = "vertex"
    texture_size: int = 1024
    keep_largest: bool = False
    level: float | None = None  # None: 0 for SDF fields, DEFAULT_DENSITY_LEVEL for density fields


def region_box_unit(similarity: Similarity, region: Region | None) -> tuple[np.ndarray, np.ndarray]:
    """The grid box in the unit frame: [-1, 1]^3, cut down to the region's aabb when it has one."""
    lo, hi = -np.ones(3), np.ones(3)
    if region is not None and region.aabb_range is not None:
        box = np.array(region.aabb_range, float)
        lo = np.maximum(lo, similarity.to_unit(box[:, 0]))
        hi = np.minimum(hi, similarity.to_unit(box[:, 1]))
    return lo, hi


def extract_field(field, similarity: Similarity, settings: ExtractSettings, device, region: Region | None = None,
                  reporter: Reporter | None = None) -> dict:
    """Mesh a SurfaceField: vertices (world), faces, and colours or uv + texture."""
    lo, hi = region_box_unit(similarity, region)
    sdf = field.kind == "sdf"
    level = settings.level if settings.level is not None else (0.0 if sdf else DEFAULT_DENSITY_LEVEL)
    verts, faces = marching_cubes_blocks(field.geometry, settings.resolution, settings.block_res, lo, hi, level,
                                         "negative" if sdf else "positive", device, reporter, skip_far=sdf)
    if len(faces):
        verts, faces = cull_outside(verts, faces, np.linalg.norm(verts, axis=1) <= 1.0 + 1e-6)
    if settings.keep_largest and len(faces):
        verts, faces = keep_largest_component(verts, faces)
    if len(faces) == 0:
        raise JobFailedError(
            "the field has no surface inside the region (marching cubes found nothing)",
            hint="train longer, check the region (meshcast scene info), or for NeRF lower --level",
            code="extract.empty",
        )
    out: dict = {"faces": faces}
    if settings.texture == "vertex":
        if reporter:
            reporter.progress("colours", 0, 1)
        out["vertex_colors"] = query_colors(field, verts, device)
    elif settings.texture == "uv":
        if reporter:
            reporter.progress("uv atlas", 0, 1)
        verts, out["faces"], out["uv"] = uv_atlas(verts, faces)
        if reporter:
            reporter.progress("bake texture", 0, 1)
        out["texture"] = bake_texture(field, verts, out["faces"], out["uv"], settings.texture_size, device)
    out["vertices"] = similarity.to_world(verts)
    return out


def extract_run(run_dir: Path, settings: ExtractSettings, out_path: Path, device: str = "auto",
                reporter: Reporter | None = None) -> dict:
    from meshcast.mesh.export import write_mesh
    from meshcast.train.run import load_run

    loaded = load_run(run_dir, device)
    region = None
    try:
        from meshcast.scene import load_scene

        region = load_scene(loaded.scene_path).region
    except Exception:  # noqa: BLE001 (the scene may have moved; the run's own sphere still applies)
        region = None
    mesh = extract_field(loaded.field, loaded.similarity, settings, loaded.device, region, reporter)
    path = write_mesh(out_path, mesh["vertices"], mesh["faces"], vertex_colors=mesh.get("vertex_colors"),
                      uv=mesh.get("uv"), texture=mesh.get("texture"))
    if reporter:
        reporter.artifact(path, "mesh")
    v = mesh["vertices"]
    return {"mesh": str(path.resolve()), "vertices": len(v), "faces": len(mesh["faces"]),
            "bounds": [v.min(0).tolist(), v.max(0).tolist()], "texture": settings.texture}
