"""Writing a region of interest back into a scene's own files, keeping every other key."""
from __future__ import annotations

import json
from pathlib import Path

from meshcast.scene.model import Region, Scene
from meshcast.scene.transforms import SPLITS, write_json_atomic, write_transforms


def region_dict(region: Region) -> dict:
    out: dict = {"sphere_center": list(region.sphere_center), "sphere_radius": region.sphere_radius}
    if region.aabb_range is not None:
        out["aabb_range"] = [list(r) for r in region.aabb_range]
    return out


def write_region(scene: Scene, region: Region) -> list[Path]:
    """Put ``region`` into the scene's json files (every split file for NeRF-synthetic). COLMAP
    and NeuS scenes get a ``transforms.json`` beside them that holds the region. Returns the
    files written."""
    if scene.source == "transforms":
        targets = [scene.root / "transforms.json"]
    elif scene.source == "nerf_synthetic":
        targets = [scene.root / f"transforms_{s}.json" for s in SPLITS if (scene.root / f"transforms_{s}.json").is_file()]
    else:
        path = scene.root / "transforms.json"
        write_transforms(scene.model_copy(update={"region": region}), path)
        return [path]
    for path in targets:
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("aabb_range", None)
        data.update(region_dict(region))
        write_json_atomic(path, data)
    return targets
