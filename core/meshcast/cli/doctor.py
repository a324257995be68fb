"""``meshcast doctor``: which optional parts are installed and which code paths will be used."""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import platform
import sys
from typing import Any

from meshcast.reporting import Reporter

OPTIONAL = {
    "torch": "training and extraction (required)",
    "triton": "fused GPU kernels for the hash encoding and NeRF ray marching (CUDA only)",
    "tinycudann": "tiny-cuda-nn hash encoding (CUDA only, optional)",
    "nvdiffrast": "rasterized texture baking (optional, non-commercial licence)",
    "pycolmap": "structure from motion in `meshcast prepare`, COLMAP scene reading",
    "xatlas": "UV atlas for --texture uv",
    "pxr": "USD export (usd-core)",
    "imageio_ffmpeg": "video frames in `meshcast prepare`, MP4 in `meshcast render`",
    "bpy": "Blender as a Python module (tests of the add-on)",
}
DIST_NAMES = {"pxr": "usd-core", "imageio_ffmpeg": "imageio-ffmpeg", "tinycudann": "tinycudann"}


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "doctor",
        help="report installed optional parts and the code paths meshcast will use",
        description="Report Python, torch, CUDA, Triton, tiny-cuda-nn, nvdiffrast, pycolmap, "
        "bpy and which code paths meshcast will use.",
        epilog="example: meshcast doctor --events -",
    )
    parser.set_defaults(run=run)
    return parser


def _version(module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return importlib.metadata.version(DIST_NAMES.get(module, module))
    except importlib.metadata.PackageNotFoundError:
        return "present"


def collect() -> dict[str, Any]:
    """Versions of the optional parts and the code paths they select."""
    packages = {name: _version(name) for name in OPTIONAL}
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": packages,
        "cuda": None,
        "gpu": None,
    }
    if packages["torch"]:
        import torch

        info["torch_build"] = torch.__version__
        if torch.cuda.is_available():
            info["cuda"] = torch.version.cuda
            info["gpu"] = torch.cuda.get_device_name(0)
    info["paths"] = select_paths(packages, cuda=info["cuda"] is not None)
    return info


def select_paths(packages: dict[str, str | None], cuda: bool) -> dict[str, str]:
    """Which implementation each hot part will use, with the reason (pure logic)."""
    device = "cuda" if cuda else "cpu"
    if not packages.get("torch"):
        return {"training": "unavailable: install torch"}
    # HashGridConfig.backend "auto": on CUDA the Triton kernels, else tiny-cuda-nn, else PyTorch
    if cuda and packages.get("triton"):
        encoding = "Triton kernels on CUDA (--model.grid.backend tcnn or torch for the others)"
    elif cuda and packages.get("tinycudann"):
        encoding = "tiny-cuda-nn on CUDA (pip install triton for the faster kernels)"
    else:
        encoding = "pytorch reference" + (" on CUDA (pip install triton for the kernels)" if cuda else " on CPU")
    # NerfConfig.render_backend "auto": the Triton kernels on CUDA, else PyTorch
    if cuda and packages.get("triton"):
        marching = "Triton kernels on CUDA (--model.render-backend torch for the reference)"
    else:
        marching = "pytorch reference" + (" on CUDA (pip install triton for the kernels)" if cuda else " on CPU")
    return {
        "device": device,
        "hash_encoding": encoding,
        "nerf_marching": marching,
        "mixed_precision": "neus: bf16 autocast, nerf: fp32 with TF32 matmuls" if cuda else "off (CPU: fp32)",
        "marching_cubes": "block-wise, field on " + device,
        "uv_atlas": "xatlas" if packages.get("xatlas") else "unavailable (pip install xatlas)",
        "usd_export": "usd-core" if packages.get("pxr") else "unavailable (pip install usd-core)",
        "colmap_models": "pycolmap" if packages.get("pycolmap") else "unavailable (pip install pycolmap)",
    }


def run(args: argparse.Namespace, reporter: Reporter) -> dict[str, Any]:
    return collect()


def format_result(data: dict[str, Any]) -> str:
    lines = [f"python {data['python']} on {data['platform']}"]
    lines.append(f"GPU: {data['gpu'] or 'none'}" + (f" (CUDA {data['cuda']})" if data["cuda"] else ""))
    lines.append("packages:")
    for name, version in data["packages"].items():
        lines.append(f"  {name:15s} {version or '-- not installed'}  ({OPTIONAL[name]})")
    lines.append("code paths:")
    for name, path in data["paths"].items():
        lines.append(f"  {name:22s} {path}")
    return "\n".join(lines)
