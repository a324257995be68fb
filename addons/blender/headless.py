"""The add-on from a command line, for pipelines: ``blender -b`` or a plain Python with bpy.

    blender -b [FILE.blend] --python addons/blender/headless.py -- COMMAND [options] [--save OUT.blend]
    python addons/blender/headless.py [--blend FILE.blend] COMMAND [options] [--save OUT.blend]

Commands run the add-on's operators (jobs run synchronously in background mode) and print one
JSON line with the result. State is in ``Scene.meshcast``, saved with ``--save``, so steps chain
through a .blend: ``open`` -> ``fit-region``/``save-region`` -> ``train`` -> ``extract``.
If the add-on is already enabled (installed as an extension) it is used; else this folder is
loaded as the package ``meshcast_blender``.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from pathlib import Path

ADDON_DIR = Path(__file__).resolve().parent
PACKAGE = "meshcast_blender"


def ensure_addon() -> None:
    import addon_utils
    import bpy

    if hasattr(bpy.types.Scene, "meshcast"):
        return
    if PACKAGE not in sys.modules and ADDON_DIR.name != PACKAGE:
        spec = importlib.util.spec_from_file_location(PACKAGE, ADDON_DIR / "__init__.py",
                                                      submodule_search_locations=[str(ADDON_DIR)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module
        spec.loader.exec_module(module)
        module.__time__ = (ADDON_DIR / "__init__.py").stat().st_mtime  # addon_utils: no reload
    elif str(ADDON_DIR.parent) not in sys.path:
        sys.path.append(str(ADDON_DIR.parent))
    addon_utils.enable(PACKAGE, default_set=True)
    if not hasattr(bpy.types.Scene, "meshcast"):
        raise SystemExit("could not enable the meshcast add-on")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="headless.py", description="Run meshcast add-on operations headless.")
    parser.add_argument("--blend", help="open this .blend first (plain Python; blender -b takes it before --python)")
    parser.add_argument("--save", help="save the .blend afterwards")
    parser.add_argument("--python-env", help="the meshcast environment's Python (default: auto-detected)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("open", help="open a scene into a new collection")
    p.add_argument("scene")
    p.add_argument("--images", choices=["NONE", "BACKGROUND", "PLANES"], default="NONE")
    p.add_argument("--no-points", action="store_true")
    p = sub.add_parser("prepare", help="meshcast prepare, then open the scene")
    p.add_argument("input")
    p.add_argument("--out", required=True)
    p.add_argument("--mode", choices=["object", "scene"], default="object")
    p.add_argument("--matcher", choices=["auto", "exhaustive", "sequential"], default="auto")
    p.add_argument("--max-size", type=int, default=1600)
    p.add_argument("--frames", type=int, default=150)
    p = sub.add_parser("fit-region", help="fit the region sphere to the cameras or the sparse points")
    p.add_argument("source", choices=["cameras", "points"])
    sub.add_parser("save-region", help="write the region into the scene's json")
    p = sub.add_parser("train", help="meshcast train on the opened scene")
    p.add_argument("--method", choices=["neus", "nerf"], default="neus")
    p.add_argument("--preset", choices=["preview", "quality"], default="preview")
    p.add_argument("--max-steps", type=int)
    p.add_argument("--max-seconds", type=float)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--run", help="run folder (default beside the scene)")
    p = sub.add_parser("extract", help="meshcast extract, then import the mesh onto the cameras")
    p.add_argument("--run", help="run folder (default: the last trained run)")
    p.add_argument("--resolution", type=int, default=512)
    p.add_argument("--texture", choices=["vertex", "uv", "none"], default="vertex")
    p.add_argument("--format", choices=["ply", "obj", "glb", "usd"], default="ply")
    p.add_argument("--keep-largest", action="store_true")
    p = sub.add_parser("import", help="import a meshcast mesh onto the opened scene")
    p.add_argument("mesh")
    p = sub.add_parser("dataset", help="render a NeRF training set of the current scene")
    p.add_argument("--out", required=True)
    p.add_argument("--train", type=int, default=100)
    p.add_argument("--val", type=int, default=0)
    p.add_argument("--test", type=int, default=20)
    p.add_argument("--size", type=int, nargs=2, default=(400, 400), metavar=("W", "H"))
    p.add_argument("--radius", type=float, default=4.0, help="camera distance from the target")
    p.add_argument("--target", help="object to look at (default: the 3D cursor)")
    p.add_argument("--sphere", action="store_true", help="whole sphere instead of the upper hemisphere")
    p.add_argument("--random", action="store_true", help="random instead of evenly spaced views")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lens", type=float, default=50.0, help="focal length in mm (36 mm sensor)")
    p.add_argument("--samples", type=int, default=32)
    p.add_argument("--opaque", action="store_true", help="RGB on the world background instead of RGBA")
    p.add_argument("--depth", action="store_true")
    p.add_argument("--normal", action="store_true")
    p.add_argument("--mask", action="store_true")
    return parser


def _set(group, **values) -> None:
    for name, value in values.items():
        if value is not None:
            setattr(group, name, value)


def apply_settings(args: argparse.Namespace, settings) -> None:
    """Copy the command line into ``Scene.meshcast`` (only what was given)."""
    if args.command == "open":
        _set(settings.capture, scene_path=args.scene, images=args.images, load_points=not args.no_points)
    elif args.command == "prepare":
        _set(settings.capture, input_path=args.input, prepare_out=args.out, mode=args.mode, matcher=args.matcher,
             max_size=args.max_size, frames=args.frames)
    elif args.command == "train":
        budget = "STEPS" if args.max_steps and not args.max_seconds else "SECONDS"
        _set(settings.train, method=args.method, preset=args.preset, device=args.device, run_dir=args.run,
             max_steps=args.max_steps, max_seconds=args.max_seconds, budget=budget)
    elif args.command == "extract":
        _set(settings.extract, run_dir=args.run, resolution=args.resolution, texture=args.texture,
             format=args.format, keep_largest=args.keep_largest)
    elif args.command == "import":
        settings.extract.mesh_path = args.mesh
    elif args.command == "dataset":
        d = settings.dataset
        _set(d, out_dir=args.out, train_count=args.train, val_count=args.val, test_count=args.test,
             resolution_x=args.size[0], resolution_y=args.size[1], radius=args.radius, hemisphere=not args.sphere,
             spacing="RANDOM" if args.random else "EVEN", seed=args.seed, lens=args.lens, samples=args.samples,
             rgba=not args.opaque, depth=args.depth, normal=args.normal, mask=args.mask)


def run_command(args: argparse.Namespace) -> dict:
    import bpy

    scene = bpy.context.scene
    settings = scene.meshcast
    apply_settings(args, settings)
    if args.command == "dataset" and args.target:
        settings.dataset.target = bpy.data.objects[args.target]
    ops = bpy.ops.meshcast
    call = {
        "open": lambda: ops.open_scene(filepath=settings.capture.scene_path),
        "prepare": ops.prepare, "save-region": ops.save_region, "train": ops.train,
        "extract": ops.extract, "dataset": ops.render_dataset,
        "fit-region": lambda: ops.fit_region(source=args.source.upper()),
        "import": lambda: ops.import_mesh(filepath=args.mesh),
    }[args.command]
    result = call()
    job = settings.job
    return {"command": args.command, "result": sorted(result), "job": job.kind, "status": job.status,
            "message": job.message, "scene": settings.capture.scene_path, "run": settings.extract.run_dir,
            "mesh": settings.extract.mesh_path}


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    args = build_parser().parse_args(argv)
    import bpy

    if args.blend:
        bpy.ops.wm.open_mainfile(filepath=args.blend)
    ensure_addon()
    if args.python_env:
        import os

        os.environ["MESHCAST_PYTHON"] = args.python_env
    try:
        answer = run_command(args)
    except RuntimeError as exc:  # an operator's self.report ERROR surfaces here
        print(json.dumps({"command": args.command, "error": str(exc).strip()}))
        return 1
    if args.save:
        bpy.ops.wm.save_as_mainfile(filepath=str(Path(args.save).resolve()))
    print(json.dumps(answer))
    return 0 if "FINISHED" in answer["result"] else 1


if __name__ == "__main__":
    code = main()
    if code:
        sys.exit(code)
