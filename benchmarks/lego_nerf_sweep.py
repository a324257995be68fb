"""Several lego_400 NeRF trainings of one budget, each with other training options, in one call;
prints one row per variant and writes them to OUT/lego_nerf_sweep.json.

  python benchmarks/lego_nerf_sweep.py --data DATA --out OUT --seconds 60 --max-eval 50 \\
      --variant "" --variant "--model.early-stop 0" --variant "--mixed-precision false"

A variant is the extra ``meshcast train`` arguments as one string ("" = the preset).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from gpu_reconstruction import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="holds lego_400/")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-eval", type=int, default=50)
    parser.add_argument("--variant", action="append", default=[])
    args = parser.parse_args()
    import torch

    from meshcast.evaluate import evaluate_run

    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, variant in enumerate(args.variant or [""]):
        run = args.out / f"v{i}"
        result = train(args.data / "lego_400", run, "nerf", args.seconds, shlex.split(variant))
        t = time.time()
        ev = evaluate_run(run, max_images=args.max_eval)
        rows.append({"args": variant, "steps": result["steps"], "samples_per_s": result["samples_per_s_median"],
                     "test_psnr": round(ev["psnr"], 2), "test_ssim": round(ev["ssim"], 4), "test_images": ev["images"],
                     "eval_s": round(time.time() - t, 1)})
        print(rows[-1], flush=True)
    record = {"machine": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
              "torch": torch.__version__, "command": shlex.join(sys.argv), "date": time.strftime("%Y-%m-%d"),
              "seconds": args.seconds, "rows": rows}
    (args.out / "lego_nerf_sweep.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
