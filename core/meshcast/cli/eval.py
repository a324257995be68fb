"""``meshcast eval``: metrics between meshes, between image folders, or of a training run."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from meshcast.reporting import Reporter


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "eval", help="Chamfer/F-score between meshes, PSNR/SSIM between images, or a run's metrics",
        description="Evaluate a training run (test-split PSNR/SSIM, and Chamfer/F-score with --gt), "
        "or compare two meshes (--mesh/--gt) or two image folders (--images/--gt-images).",
        epilog="examples:\n  meshcast eval runs/lego --gt lego.ply\n  meshcast eval --mesh a.ply --gt b.obj\n"
        "  meshcast eval --mesh a.ply --gt scan.ply --scene captures/bunny\n"
        "  meshcast eval --images renders/ --gt-images photos/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", nargs="?", type=Path, metavar="RUN", help="a training run folder")
    parser.add_argument("--mesh", type=Path, help="predicted mesh")
    parser.add_argument("--gt", type=Path, help="ground-truth mesh")
    parser.add_argument("--scene", type=Path, help="with --mesh/--gt: a scene whose cameras (its train split) "
                        "say which surface was observed; adds the visible_* metrics (a run uses its own)")
    parser.add_argument("--images", type=Path, help="folder of predicted images")
    parser.add_argument("--gt-images", type=Path, help="folder of ground-truth images (same file names)")
    parser.add_argument("--samples", type=int, default=200_000, help="surface samples per mesh (default 200000)")
    parser.add_argument("--tau", type=float, default=0.01,
                        help="F-score threshold as a fraction of the gt bounding-box diagonal (default 0.01)")
    parser.set_defaults(run=run)
    return parser


def compare_image_folders(pred_dir: Path, gt_dir: Path, reporter: Reporter | None = None) -> dict[str, Any]:
    from meshcast.errors import BadInputError
    from meshcast.metrics.image import psnr, ssim
    from meshcast.scene.images import IMAGE_SUFFIXES, load_image

    def listing(folder: Path) -> dict[str, Path]:
        if not folder.is_dir():
            raise BadInputError(f"{folder}: not a folder", code="input.folder_missing")
        return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}

    pred, gt = listing(pred_dir), listing(gt_dir)
    common = sorted(set(pred) & set(gt))
    if not common:
        raise BadInputError(f"{pred_dir} and {gt_dir} share no image names", code="input.no_pairs")
    unpaired = sorted(set(pred) ^ set(gt))
    if unpaired and reporter:
        reporter.warning(f"{len(unpaired)} images have no partner and are ignored: {', '.join(unpaired[:10])}", "eval.unpaired")
    scores = []
    for i, name in enumerate(common):
        a, b = load_image(pred[name]), load_image(gt[name])
        if a.shape[:2] != b.shape[:2]:
            raise BadInputError(f"{pred[name]}: size {a.shape[1]}x{a.shape[0]} differs from {gt[name]} "
                                f"({b.shape[1]}x{b.shape[0]})", code="input.size_mismatch")
        a, b = a[..., :3], b[..., :3]
        scores.append((psnr(a, b), ssim(a, b)))
        if reporter:
            reporter.progress("eval", i + 1, len(common))
    return {"images": len(common), "psnr": float(sum(s[0] for s in scores) / len(scores)),
            "ssim": float(sum(s[1] for s in scores) / len(scores))}


def run(args: argparse.Namespace, reporter: Reporter) -> dict[str, Any]:
    from meshcast.errors import UsageError

    if args.run_dir is not None:
        from meshcast.evaluate import evaluate_run

        data = evaluate_run(args.run_dir, gt_mesh=args.gt, samples=args.samples, tau=args.tau, reporter=reporter)
    elif args.mesh is not None and args.gt is not None:
        from meshcast.mesh.export import read_mesh
        from meshcast.metrics.geometry import cameras_of, compare_meshes

        cameras = None
        if args.scene is not None:
            from meshcast.scene import load_scene

            cameras = cameras_of(load_scene(args.scene, reporter))
        data = compare_meshes(read_mesh(args.mesh), read_mesh(args.gt), args.samples, args.tau, cameras=cameras)
    elif args.images is not None and args.gt_images is not None:
        data = compare_image_folders(args.images, args.gt_images, reporter)
    else:
        raise UsageError("give a run folder, or --mesh and --gt, or --images and --gt-images",
                         hint="see meshcast eval --help")
    for name, value in data.items():
        if isinstance(value, float):
            reporter.metric(name, value)
    return data


def format_result(data: dict[str, Any]) -> str:
    return "\n".join(f"{k:18s} {v:.6g}" if isinstance(v, float) else f"{k:18s} {v}" for k, v in data.items())
