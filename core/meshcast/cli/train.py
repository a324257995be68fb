"""``meshcast train SCENE --out RUN``: train a neural SDF (neus) or NeRF on a scene."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from meshcast.reporting import Reporter

METHOD_HELP = "neus: neural SDF, best meshes (default); nerf: hash-grid NeRF, fastest views"


def _preselect(argv: list[str]) -> tuple[str, str]:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--method", choices=["neus", "nerf"], default="neus")
    pre.add_argument("--preset", choices=["preview", "quality"], default="preview")
    known, _ = pre.parse_known_args(argv)
    return known.method, known.preset


REGISTER_TAKES_ARGV = True  # the option list depends on --method


def register(subparsers: Any, argv: list[str]) -> argparse.ArgumentParser:
    from meshcast.cli.options import add_model_options
    from meshcast.train.config import NerfConfig, NeusConfig, TrainConfig

    method, _ = _preselect(argv)
    parser = subparsers.add_parser(
        "train", help="train a neural field on a scene",
        description="Train a NeuS-style SDF or a hash-grid NeRF on a scene folder. --method and "
        "--preset choose the starting configuration; every other option overrides one field of it "
        f"(the fields listed are those of --method {method}). The resolved configuration is "
        "written to RUN/config.json; RUN/model.safetensors appears when training finishes.",
        epilog="examples:\n  meshcast train data/lego --method nerf --max-seconds 60 --out runs/lego\n"
        "  meshcast train data/fox --preset quality --out runs/fox\n  meshcast train data/fox --out runs/fox --resume",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scene", type=Path, help="scene folder or file (see meshcast scene info)")
    parser.add_argument("--out", type=Path, required=True, help="run folder")
    parser.add_argument("--method", choices=["neus", "nerf"], default="neus", help=METHOD_HELP)
    parser.add_argument("--preset", choices=["preview", "quality"], default="preview")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    add_model_options(parser, TrainConfig, skip=("preset",))
    add_model_options(parser, NeusConfig if method == "neus" else NerfConfig, prefix="model.", skip=("model.method",))
    parser.set_defaults(run=run)
    return parser


def resolve_config(args: argparse.Namespace):
    """The preset for --method/--preset on the chosen device, with the command-line overrides."""
    from meshcast.cli.options import apply_overrides, overrides_from_args
    from meshcast.train.config import preset_config
    from meshcast.train.run import pick_device

    overrides = overrides_from_args(args)
    device = pick_device(overrides.get("device", "auto"))
    base = preset_config(args.method, args.preset, device.type)
    return apply_overrides(base, overrides)


def run(args: argparse.Namespace, reporter: Reporter) -> dict[str, Any]:
    from meshcast.jobs.events import EventWriter
    from meshcast.scene import load_scene
    from meshcast.train.loop import train

    config = resolve_config(args)
    args.out.mkdir(parents=True, exist_ok=True)
    run_events = EventWriter("train", [str(args.out / "events.jsonl")])
    writers = [w for w in (reporter.writer, run_events) if w is not None]
    reporter.writer = _Tee(writers)
    try:
        scene = load_scene(args.scene, reporter)
        result = train(config, scene, args.scene, args.out, reporter, resume=args.resume)
        run_events.emit("result", data=result)
        return result
    except Exception as exc:
        from meshcast.errors import MeshcastError

        if isinstance(exc, MeshcastError):
            run_events.emit("error", code=exc.code, message=exc.message, hint=exc.hint, exit_code=exc.exit_code)
        raise
    finally:
        run_events.close()


class _Tee:
    """An EventWriter look-alike that writes to several writers (the run's events.jsonl too)."""

    def __init__(self, writers):
        self.writers = writers

    @property
    def to_stdout(self) -> bool:
        return any(w.to_stdout for w in self.writers)

    def emit(self, type_: str, **fields: Any):
        for writer in self.writers:
            writer.emit(type_, **fields)


def format_result(data: dict[str, Any]) -> str:
    psnr = f", validation PSNR {data['val_psnr']:.2f} dB" if data.get("val_psnr") is not None else ""
    return f"run: {data['run']} ({data['steps']} steps in {data['seconds']:.0f} s on {data['device']}{psnr})\n" \
           f"next: meshcast extract {data['run']}"
