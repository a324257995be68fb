"""Write meshes atomically in PLY, OBJ (+MTL and texture), GLB (trimesh) and USD (usd-core).

Vertices are in the scene's own world frame and units, taken as Z up (Blender-style worlds); USD
files say so with metersPerUnit = 1 and upAxis = Z. glTF has no up-axis setting: its +Y is up
by definition, so GLB files hold the scene turned into Y up, (x, y, z) -> (x, z, -y), the way
Blender's own glTF exporter writes; glTF importers (Blender's turns +Y up back into +Z up,
Houdini, three.js) then show the mesh upright and in place. ``read_mesh`` undoes the turn.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from meshcast.errors import BadInputError, MissingDependencyError, UsageError

FORMATS = ("ply", "obj", "glb", "usd", "usda", "usdc")
GLTF_SUFFIXES = (".glb", ".gltf")
# scene (Z up) -> glTF (Y up): a -90 degree turn about X; its transpose turns back
Z_UP_TO_GLTF = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def scene_to_gltf(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, np.float64) @ Z_UP_TO_GLTF.T


def gltf_to_scene(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, np.float64) @ Z_UP_TO_GLTF


def _to_uint8(colors: np.ndarray) -> np.ndarray:
    colors = np.asarray(colors)
    if colors.dtype == np.uint8:
        return colors
    return (np.clip(colors, 0, 1) * 255 + 0.5).astype(np.uint8)


def build_trimesh(vertices, faces, vertex_colors=None, uv=None, texture=None):
    """A trimesh.Trimesh with vertex colours or a UV-mapped texture (no processing/merging)."""
    import trimesh
    from PIL import Image

    mesh = trimesh.Trimesh(np.asarray(vertices, np.float64), np.asarray(faces, np.int64), process=False)
    if uv is not None and texture is not None:
        image = Image.fromarray(_to_uint8(texture))
        material = trimesh.visual.material.PBRMaterial(baseColorTexture=image, metallicFactor=0.0, roughnessFactor=1.0)
        mesh.visual = trimesh.visual.TextureVisuals(uv=np.asarray(uv, np.float64), material=material)
    elif vertex_colors is not None:
        rgb = _to_uint8(vertex_colors)
        if rgb.shape[1] == 3:
            rgb = np.concatenate([rgb, np.full((len(rgb), 1), 255, np.uint8)], axis=1)
        mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=rgb)
    return mesh


def write_mesh(path, vertices, faces, vertex_colors=None, uv=None, texture=None, format: str | None = None) -> Path:
    """Write a triangle mesh; the format comes from the suffix unless given.

    vertices (V, 3) float world units; faces (F, 3) int; vertex_colors (V, 3|4) float [0,1] or
    uint8; uv (V, 2) in [0,1] with texture (H, W, 3|4). OBJ writes ``.mtl`` and ``.png`` beside it.
    Everything is written into a temporary folder beside the target and renamed into place.
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise UsageError(f"{path}: unknown mesh format '{fmt}'", hint=f"use one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as tmp:
        staged = Path(tmp) / path.name
        if fmt.startswith("usd"):
            _write_usd(staged, vertices, faces, vertex_colors, uv, texture)
        else:
            if fmt == "glb":
                vertices = scene_to_gltf(vertices)
            mesh = build_trimesh(vertices, faces, vertex_colors, uv, texture)
            if fmt == "obj":
                _write_obj(staged, mesh)
            else:
                mesh.export(staged, file_type=fmt)
        for item in sorted(Path(tmp).iterdir(), key=lambda p: p == staged):  # the main file last
            os.replace(item, path.parent / item.name)
    return path


def _write_obj(path: Path, mesh) -> None:
    import trimesh

    name = path.stem
    text, files = trimesh.exchange.obj.export_obj(
        mesh, include_color=True, include_texture=True, return_texture=True, mtl_name=f"{name}.mtl",
        write_texture=True,
    )
    for file_name, data in files.items():
        (path.parent / file_name).write_bytes(data)
    path.write_text(text)


def _write_usd(path: Path, vertices, faces, vertex_colors, uv, texture) -> None:
    try:
        from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade, Vt
    except ImportError as exc:
        raise MissingDependencyError("usd-core", "usd", "USD export") from exc
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/meshcast")
    stage.SetDefaultPrim(root.GetPrim())
    mesh = UsdGeom.Mesh.Define(stage, "/meshcast/mesh")
    faces = np.asarray(faces, np.int32)
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(np.asarray(vertices, np.float32)))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(faces), 3, np.int32)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(faces.reshape(-1)))
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    lo, hi = np.min(vertices, axis=0), np.max(vertices, axis=0)
    mesh.CreateExtentAttr([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))])
    if uv is not None and texture is not None:
        from PIL import Image

        tex_name = f"{path.stem}_albedo.png"
        Image.fromarray(_to_uint8(texture)).save(path.parent / tex_name)
        primvar = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
        primvar.Set(Vt.Vec2fArray.FromNumpy(np.asarray(uv, np.float32)))
        material = UsdShade.Material.Define(stage, "/meshcast/material")
        shader = UsdShade.Shader.Define(stage, "/meshcast/material/surface")
        shader.CreateIdAttr("UsdPreviewSurface")
        reader = UsdShade.Shader.Define(stage, "/meshcast/material/st")
        reader.CreateIdAttr("UsdPrimvarReader_float2")
        reader.CreateInput("varname", Sdf.ValueTypeNames.Token).Set("st")
        image = UsdShade.Shader.Define(stage, "/meshcast/material/albedo")
        image.CreateIdAttr("UsdUVTexture")
        image.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(tex_name)
        image.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(reader.ConnectableAPI(), "result")
        shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(image.ConnectableAPI(), "rgb")
        material.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
        UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(material)
    elif vertex_colors is not None:
        rgb = np.asarray(vertex_colors)
        rgb = rgb[:, :3].astype(np.float32) / (255.0 if rgb.dtype == np.uint8 else 1.0)
        mesh.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex).Set(Vt.Vec3fArray.FromNumpy(rgb))
    stage.GetRootLayer().Save()


def read_mesh(path: str | Path):
    """A trimesh.Trimesh from any file trimesh reads (scenes are concatenated), in scene
    coordinates: glTF files are turned from their Y up back into Z up."""
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: mesh file not found", code="input.mesh_missing")
    try:
        loaded = trimesh.load(path, process=False, force="mesh")
    except Exception as exc:  # trimesh raises many types for bad files
        raise BadInputError(f"{path}: cannot read mesh ({exc})", code="input.mesh_unreadable") from exc
    if not hasattr(loaded, "vertices") or len(loaded.vertices) == 0:
        raise BadInputError(f"{path}: the file holds no mesh vertices", code="input.mesh_empty")
    if path.suffix.lower() in GLTF_SUFFIXES:
        loaded.vertices = gltf_to_scene(loaded.vertices)
    return loaded

