"""Render an orbit video of a mesh with Blender (the `bpy` module, Cycles on the CPU), as a phone
capture would see it: a procedurally textured object (SIFT needs texture), a grey background or
(``--world textured``, slower to render) textured surroundings at infinity, the camera circling
at a fixed elevation (or, with several ``--elevation`` values, one orbit at each, as a capture
that also films the underside would). Writes the frames, an MP4 and `reference.json` (the true
cameras, OpenGL camera-to-world in the mesh's own coordinates) for checking `meshcast prepare`.

    python benchmarks/orbit_capture.py ../shared/data/meshes/stanford-bunny.obj /tmp/bunny_orbit --frames 90 --size 480
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def _reset(bpy) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)


def _material(bpy):
    mat = bpy.data.materials.new("orbit_texture")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes.get("Principled BSDF")
    coords = nodes.new("ShaderNodeTexCoord")
    noise = nodes.new("ShaderNodeTexNoise")
    noise.inputs["Scale"].default_value = 60.0
    noise.inputs["Detail"].default_value = 15.0
    ramp = nodes.new("ShaderNodeValToRGB")  # stretch the noise to full contrast
    ramp.color_ramp.elements[0].position = 0.4
    ramp.color_ramp.elements[1].position = 0.6
    voronoi = nodes.new("ShaderNodeTexVoronoi")
    voronoi.inputs["Scale"].default_value = 30.0
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.blend_type = "MULTIPLY"
    mix.inputs["Factor"].default_value = 0.7
    links.new(coords.outputs["Object"], noise.inputs["Vector"])
    links.new(coords.outputs["Object"], voronoi.inputs["Vector"])
    links.new(noise.outputs["Fac"], ramp.inputs["Fac"])
    links.new(ramp.outputs["Color"], mix.inputs["A"])
    links.new(voronoi.outputs["Color"], mix.inputs["B"])
    links.new(mix.outputs["Result"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = 0.8
    return mat


def _look_at(bpy, camera, target) -> None:
    from mathutils import Vector

    direction = Vector(target) - camera.location
    camera.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()


def render_orbit(mesh: Path, out: Path, frames: int = 90, size: int = 480, elevation_deg: float | list[float] = 25.0,
                 samples: int = 16, distance_factor: float = 0.95, world_kind: str = "grey") -> dict:
    """Render ``frames`` PNGs on one orbit per elevation; return and write the reference cameras
    (reference.json)."""
    import bpy
    import numpy as np

    _reset(bpy)
    bpy.ops.wm.obj_import(filepath=str(mesh))
    obj = bpy.context.selected_objects[0]
    obj.data.materials.clear()
    obj.data.materials.append(_material(bpy))
    corners = np.array([obj.matrix_world @ v.co for v in obj.data.vertices])
    center = (corners.min(0) + corners.max(0)) / 2
    diag = float(np.linalg.norm(corners.max(0) - corners.min(0)))
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.film_transparent = False
    world = bpy.data.worlds.new(world_kind)
    world.use_nodes = True
    tree = world.node_tree
    tree.nodes["Background"].inputs["Strength"].default_value = 0.5
    if world_kind == "textured":
        # a textured surrounding at infinity (as a real room would be, without parallax) rather than a
        # flat colour, which a field without masks can explain as a grey shell around the object
        sky = tree.nodes.new("ShaderNodeTexNoise")
        sky.inputs["Scale"].default_value = 3.0
        sky.inputs["Detail"].default_value = 6.0
        tree.links.new(tree.nodes.new("ShaderNodeTexCoord").outputs["Generated"], sky.inputs["Vector"])
        tree.links.new(sky.outputs["Color"], tree.nodes["Background"].inputs["Color"])
    else:
        tree.nodes["Background"].inputs["Color"].default_value = (0.6, 0.6, 0.6, 1.0)
    scene.world = world
    sun_data = bpy.data.lights.new("sun", "SUN")
    sun_data.energy = 4.0
    sun = bpy.data.objects.new("sun", sun_data)
    sun.rotation_euler = (math.radians(40), math.radians(20), math.radians(30))
    scene.collection.objects.link(sun)
    cam_data = bpy.data.cameras.new("orbit")
    cam_data.lens, cam_data.sensor_width, cam_data.sensor_fit = 35.0, 36.0, "HORIZONTAL"
    camera = bpy.data.objects.new("orbit", cam_data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    out.mkdir(parents=True, exist_ok=True)
    (out / "frames").mkdir(exist_ok=True)
    radius = distance_factor * diag
    elevations = [elevation_deg] if isinstance(elevation_deg, (int, float)) else list(elevation_deg)
    focal = cam_data.lens / cam_data.sensor_width * size
    records = []
    for i in range(frames):  # frames split evenly between the orbits, in order
        orbit = i * len(elevations) // frames
        per_orbit = frames / len(elevations)
        elevation = math.radians(elevations[orbit])
        angle = 2 * math.pi * (i - orbit * per_orbit) / per_orbit
        camera.location = (center[0] + radius * math.cos(elevation) * math.cos(angle),
                           center[1] + radius * math.cos(elevation) * math.sin(angle),
                           center[2] + radius * math.sin(elevation))
        _look_at(bpy, camera, center)
        bpy.context.view_layer.update()
        path = out / "frames" / f"frame_{i:05d}.png"
        scene.render.filepath = str(path)
        bpy.ops.render.render(write_still=True)
        records.append({"file_path": f"frames/{path.name}",
                        "transform_matrix": [list(r) for r in camera.matrix_world]})
    # the OBJ importer turns Y-up files Z-up: mesh_to_world maps the file's coordinates to the cameras'
    reference = {"fl_x": focal, "fl_y": focal, "cx": size / 2, "cy": size / 2, "w": size, "h": size,
                 "frames": records, "mesh": str(mesh), "mesh_to_world": [list(r) for r in obj.matrix_world]}
    (out / "reference.json").write_text(json.dumps(reference, indent=1))
    _reset(bpy)
    return reference


def write_video(frame_dir: Path, video: Path, fps: int = 30) -> Path:
    """Encode the PNGs of ``frame_dir`` (sorted) as an H.264 MP4 (imageio-ffmpeg)."""
    import imageio.v2 as imageio

    with imageio.get_writer(str(video), fps=fps, codec="libx264", quality=9, macro_block_size=16) as writer:
        for png in sorted(frame_dir.glob("*.png")):
            writer.append_data(imageio.imread(png)[..., :3])
    return video


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mesh", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--elevation", type=float, nargs="+", default=[25.0],
                        help="degrees above the object's centre; several values: one orbit each")
    parser.add_argument("--world", choices=["grey", "textured"], default="grey",
                        help="background: flat grey (fast) or textured surroundings at infinity")
    args = parser.parse_args()
    render_orbit(args.mesh, args.out, args.frames, args.size, args.elevation, args.samples, world_kind=args.world)
    print(write_video(args.out / "frames", args.out / "orbit.mp4"))


if __name__ == "__main__":
    main()
