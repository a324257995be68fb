"""A known object (a sphere on a rounded slab, with a painted pattern), rendered by sphere
tracing into an RGBA capture with exact cameras.

The object sits at ``center`` with size ``scale`` in a Z-up world that is deliberately not the
unit frame, so the demo also checks that meshes come back in the scene's own coordinates.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meshcast.scene.model import Frame, Intrinsics, Region, Scene
from meshcast.scene.transforms import write_transforms


@dataclass(frozen=True)
class DemoObject:
    center: tuple[float, float, float] = (1.5, -0.5, 0.75)
    scale: float = 2.0

    def sdf(self, p: np.ndarray) -> np.ndarray:
        """Signed distance (world units) of (N, 3) world points."""
        q = (p - np.asarray(self.center)) / self.scale
        ball = np.linalg.norm(q - [0.0, 0.0, 0.12], axis=-1) - 0.28
        half = np.array([0.38, 0.28, 0.07])
        d = np.abs(q - [0.0, 0.0, -0.2]) - (half - 0.04)
        slab = np.linalg.norm(np.maximum(d, 0.0), axis=-1) + np.minimum(d.max(-1), 0.0) - 0.04
        k = 0.06  # smooth union
        h = np.clip(0.5 + 0.5 * (slab - ball) / k, 0.0, 1.0)
        return (slab * (1 - h) + ball * h - k * h * (1 - h)) * self.scale

    def albedo(self, p: np.ndarray) -> np.ndarray:
        q = (p - np.asarray(self.center)) / self.scale
        stripes = 0.5 + 0.5 * np.sin(q[:, 0] * 18.0 + q[:, 2] * 9.0)
        ball = np.stack([0.9 * np.ones_like(stripes), 0.3 + 0.45 * stripes, 0.2 + 0.1 * stripes], -1)
        checker = ((np.floor(q[:, 0] * 8) + np.floor(q[:, 1] * 8)) % 2)[:, None]
        slab = 0.25 + 0.5 * np.concatenate([checker * 0.3 + 0.2, checker * 0.5 + 0.3, 0.8 - checker * 0.3], -1)
        is_ball = (q[:, 2] > -0.1)[:, None]
        return np.where(is_ball, ball, slab).clip(0, 1)

    def normal(self, p: np.ndarray, eps: float = 1e-4) -> np.ndarray:
        e = np.eye(3) * eps * self.scale
        g = np.stack([self.sdf(p + e[i]) - self.sdf(p - e[i]) for i in range(3)], -1)
        return g / np.linalg.norm(g, axis=-1, keepdims=True).clip(1e-12)

    def mesh(self, resolution: int = 160):
        """Ground-truth mesh by marching cubes of the exact SDF (world units)."""
        import trimesh
        from skimage.measure import marching_cubes

        lo = np.asarray(self.center) - 0.5 * self.scale
        step = self.scale / (resolution - 1)
        axis = np.arange(resolution) * step
        grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3) + lo
        values = self.sdf(grid).reshape(resolution, resolution, resolution)
        verts, faces, _, _ = marching_cubes(values, 0.0, spacing=(step,) * 3)
        return trimesh.Trimesh(verts + lo, faces[:, ::-1], process=False)


def look_at(eye: np.ndarray, target: np.ndarray, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """OpenGL camera-to-world at ``eye`` looking at ``target``."""
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    true_up = np.cross(right, forward)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, true_up, -forward, eye
    return c2w


def fibonacci_directions(n: int, min_z: float = -0.35) -> np.ndarray:
    """n roughly even unit directions with z >= min_z (cameras mostly above the object)."""
    i = np.arange(n) + 0.5
    z = 1 - (1 - min_z) * i / n
    phi = np.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], -1)


def render(obj: DemoObject, c2w: np.ndarray, k: Intrinsics, max_steps: int = 96) -> np.ndarray:
    """Sphere-trace one RGBA image (float32, straight alpha)."""
    v, u = np.meshgrid(np.arange(k.h) + 0.5, np.arange(k.w) + 0.5, indexing="ij")
    d_cam = np.stack([(u - k.cx) / k.fl_x, -(v - k.cy) / k.fl_y, -np.ones_like(u)], -1).reshape(-1, 3)
    dirs = d_cam @ c2w[:3, :3].T
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    origin = c2w[:3, 3]
    t = np.zeros(len(dirs))
    alive = np.ones(len(dirs), bool)
    hit = np.zeros(len(dirs), bool)
    for _ in range(max_steps):
        idx = np.nonzero(alive)[0]
        if idx.size == 0:
            break
        d = obj.sdf(origin + dirs[idx] * t[idx, None])
        t[idx] += d
        done = d < 1e-4 * obj.scale
        hit[idx[done]] = True
        alive[idx[done | (t[idx] > 20 * obj.scale)]] = False
    rgba = np.zeros((len(dirs), 4), np.float32)
    if hit.any():
        p = origin + dirs[hit] * t[hit, None]
        n = obj.normal(p)
        light = np.array([0.4, -0.5, 0.75]) / np.linalg.norm([0.4, -0.5, 0.75])
        shade = 0.35 + 0.65 * np.clip(n @ light, 0, 1)
        rgba[hit, :3] = obj.albedo(p) * shade[:, None]
        rgba[hit, 3] = 1.0
    return rgba.reshape(k.h, k.w, 4)


def make_demo_scene(out_dir: str | Path, n_views: int = 32, resolution: int = 96, n_test: int = 4,
                    obj: DemoObject | None = None) -> Path:
    """Render the demo object into ``out_dir`` (split json files + images/); returns the folder.

    Views cover the sphere of directions evenly (mostly above the object); every few views one
    goes to the test split. Written in the NeRF-synthetic layout (``transforms_train.json``,
    ``transforms_test.json``). The region of interest is a sphere that bounds the object.
    """
    from PIL import Image

    obj = obj or DemoObject()
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    focal = resolution * 1.2
    k = Intrinsics(fl_x=focal, fl_y=focal, cx=resolution / 2, cy=resolution / 2, w=resolution, h=resolution)
    center = np.asarray(obj.center)
    frames = []
    dirs = fibonacci_directions(n_views + n_test)
    for i, direction in enumerate(dirs):
        c2w = look_at(center + direction * 1.7 * obj.scale, center)
        rgba = render(obj, c2w, k)
        name = f"images/{i:03d}.png"
        Image.fromarray((rgba * 255 + 0.5).astype(np.uint8), "RGBA").save(out / name)
        split = "test" if i % max(1, (n_views + n_test) // max(n_test, 1)) == 0 and n_test else "train"
        frames.append(Frame(file_path=name, image_path=(out / name).resolve(), c2w=tuple(map(tuple, c2w)),
                            intrinsics=k, split=split))
    region = Region(sphere_center=tuple(center), sphere_radius=0.62 * obj.scale)
    scene = Scene(root=out.resolve(), source="transforms", frames=tuple(frames), region=region,
                  extra={"meshcast_demo": {"center": list(obj.center), "scale": obj.scale}})
    write_transforms(scene, out / "transforms_train.json", split="train")
    if n_test:
        write_transforms(scene, out / "transforms_test.json", split="test")
    return out
