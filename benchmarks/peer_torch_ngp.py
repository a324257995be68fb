"""The peer's full training on the same GPU: torch-ngp (github:ashawkey/torch-ngp) trains its own
NeRF (its hash-grid and spherical-harmonics encoders, CUDA ray marcher, network and trainer loop)
on lego_400 for the same time budgets as ``gpu_reconstruction.py lego-nerf``, and its test views
are scored the same way (mean PSNR over the first --max-eval test images composited on white).

    python benchmarks/build_torch_ngp.py PEER_SRC --out PEER_SRC/prebuilt    # once, ~130 s on an H100
    python benchmarks/peer_torch_ngp.py PEER_SRC --data .devdata/lego_400 --seconds 30 60 120 --max-eval 50 --json OUT.json

PEER_SRC holds torch-ngp's nerf/, gridencoder/, raymarching/, shencoder/, encoding.py and
activation.py (its source is never part of this repository), ``prebuilt/`` the libraries built by
build_torch_ngp.py and ``wheels/`` torch_ema's wheel. Its options are those of its README's
command for the Blender scenes (``main_nerf.py data/nerf_synthetic/lego -O --bound 1.0 --scale 0.8
--dt_gamma 0``: fp16, CUDA ray marching, preloaded data, 4096 rays per step, learning rate 1e-2
decaying over 30000 steps, EMA of the weights for evaluation). Its training loop is its own
``Trainer.train_one_epoch`` (100 steps an epoch), so a budget is checked between epochs and the
time actually trained is recorded. Modules it imports only for logging, LPIPS or mesh export
(tensorboardX, lpips, mcubes) get empty stand-ins when they are not installed.
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch


def _stub(name: str, **attrs) -> None:
    if importlib.util.find_spec(name) is None:
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        sys.modules[name] = module


def prepare_imports(src: Path) -> None:
    """Load the prebuilt libraries under the names torch-ngp imports them by, and stand-ins."""
    for library in sorted((src / "prebuilt").glob("_*.so")):
        name = library.name.split(".")[0]
        spec = importlib.util.spec_from_file_location(name, library)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    for wheel in sorted((src / "wheels").glob("*.whl")):  # pure-Python wheels import from the zip
        sys.path.insert(0, str(wheel))
    sys.path.insert(0, str(src))
    _stub("tensorboardX", SummaryWriter=object)
    _stub("lpips", LPIPS=object)
    _stub("mcubes", marching_cubes=None)
    amp = torch.cuda.amp  # torch-ngp uses the torch.cuda.amp spellings
    for name in ("custom_fwd", "custom_bwd"):
        if not hasattr(amp, name):
            setattr(amp, name, functools.partial(getattr(torch.amp, name), device_type="cuda"))


def options(data: Path) -> argparse.Namespace:
    """main_nerf.py's options for ``-O --bound 1.0 --scale 0.8 --dt_gamma 0`` (its defaults otherwise)."""
    return argparse.Namespace(
        path=str(data), O=True, test=False, workspace="workspace", seed=0, iters=30000, lr=1e-2, ckpt="scratch",
        num_rays=4096, cuda_ray=True, max_steps=1024, num_steps=512, upsample_steps=0, update_extra_interval=16,
        max_ray_batch=4096, patch_size=1, fp16=True, ff=False, tcnn=False, color_space="srgb", preload=True,
        bound=1.0, scale=0.8, offset=[0, 0, 0], dt_gamma=0.0, min_near=0.2, density_thresh=10, bg_radius=-1,
        gui=False, error_map=False, clip_text="", rand_pose=-1)


def evaluate(trainer, loader, max_eval: int) -> float:
    from meshcast.metrics.image import psnr

    trainer.model.eval()
    if trainer.ema is not None:
        trainer.ema.store()
        trainer.ema.copy_to()
    scores = []
    with torch.no_grad():
        for i, data in enumerate(loader):
            if i >= max_eval:
                break
            with torch.autocast("cuda", dtype=torch.float16, enabled=trainer.fp16):
                pred, _, truth, _ = trainer.eval_step(data)
            scores.append(psnr(pred[0].float().clamp(0, 1).cpu().numpy(), truth[0].float().cpu().numpy()))
    if trainer.ema is not None:
        trainer.ema.restore()
    trainer.model.train()
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path, help="torch-ngp source with prebuilt/ and wheels/")
    parser.add_argument("--data", type=Path, required=True, help="the lego_400 folder (Blender format)")
    parser.add_argument("--seconds", type=float, nargs="+", default=[60.0])
    parser.add_argument("--max-eval", type=int, default=50)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    prepare_imports(args.src)
    from nerf.network import NeRFNetwork
    from nerf.provider import NeRFDataset
    from nerf.utils import Trainer, seed_everything

    opt = options(args.data)
    seed_everything(opt.seed)
    device = torch.device("cuda")
    model = NeRFNetwork(encoding="hashgrid", bound=opt.bound, cuda_ray=opt.cuda_ray, density_scale=1,
                        min_near=opt.min_near, density_thresh=opt.density_thresh, bg_radius=opt.bg_radius)
    workspace = tempfile.mkdtemp(prefix="torch_ngp_")
    trainer = Trainer("ngp", opt, model, device=device, workspace=workspace,
                      optimizer=lambda m: torch.optim.Adam(m.get_params(opt.lr), betas=(0.9, 0.99), eps=1e-15),
                      criterion=torch.nn.MSELoss(reduction="none"), ema_decay=0.95, fp16=opt.fp16,
                      lr_scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda it: 0.1 ** min(it / opt.iters, 1)),
                      scheduler_update_every_step=True, metrics=[], use_checkpoint="scratch", eval_interval=50,
                      use_tensorboardX=False, mute=True)
    train_loader = NeRFDataset(opt, device=device, type="train").dataloader()
    test_loader = NeRFDataset(opt, device=device, type="test").dataloader()
    # what Trainer.train does before its epochs
    model.mark_untrained_grid(train_loader._data.poses, train_loader._data.intrinsics)
    trainer.error_map = train_loader._data.error_map
    rows, trained = [], 0.0
    for budget in sorted(args.seconds):
        while trained < budget:
            torch.cuda.synchronize()
            t = time.perf_counter()
            trainer.epoch += 1
            trainer.train_one_epoch(train_loader)
            torch.cuda.synchronize()
            trained += time.perf_counter() - t
        t = time.perf_counter()
        value = evaluate(trainer, test_loader, args.max_eval)
        rows.append({"task": "lego nerf", "peer": "torch-ngp", "train_s": round(trained, 1), "budget_s": budget,
                     "steps": trainer.global_step, "test_psnr": round(value, 2), "test_images": args.max_eval,
                     "eval_s": round(time.perf_counter() - t, 1)})
        print(rows[-1], flush=True)
    record = {"machine": torch.cuda.get_device_name(0), "torch": torch.__version__, "command": " ".join(sys.argv),
              "date": time.strftime("%Y-%m-%d"), "rows": rows}
    args.json.write_text(json.dumps(record, indent=2))
    print(json.dumps(record))


if __name__ == "__main__":
    main()
