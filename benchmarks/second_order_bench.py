"""Time NeuS' second-order step through the hash encoding: forward, x gradient with
create_graph=True, eikonal loss, backward to the tables and an MLP behind d out.

    python benchmarks/second_order_bench.py [--points 262144]

Compares hashgrid_triton.SECOND_ORDER "kernel" (the Triton second-order kernel; also as before
the x pass left out the table gradient it does not use, "kernel-all") with
"reference" (autograd through the PyTorch reference inside the backward) and the pure
reference, and tiny-cuda-nn (when installed) on the same table, on issue 8's configuration
(16 levels, 2 features, 2^19 rows). Needs CUDA.
"""
from __future__ import annotations

import argparse
import importlib.util
import json

import torch
import triton.testing

from meshcast.fields import hashgrid as reference
from meshcast.fields import hashgrid_triton as fast
from meshcast.fields.config import HashGridConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=2**18)
    args = parser.parse_args()
    cfg = HashGridConfig()
    levels = reference.Levels.of(cfg, "cuda")
    table = (torch.rand(sum(cfg.level_sizes()), 2, device="cuda") - 0.5).requires_grad_()
    mlp = (torch.randn(cfg.output_dim, 64, device="cuda") * 0.1).requires_grad_()
    x0 = torch.rand(args.points, 3, device="cuda")

    def step(encode):
        x = x0.clone().requires_grad_()
        sdf = torch.tanh(encode(x, table, levels) @ mlp).sum(-1)
        (gx,) = torch.autograd.grad(sdf.sum(), x, create_graph=True)
        loss = sdf.abs().mean() + ((gx.norm(dim=-1) - 1) ** 2).mean()
        loss.backward()

    used = fast._grad_used

    def before(ctx, index, tensor_index=None):  # every gradient an input requires, used or not
        return ctx.needs_input_grad[index]

    variants = [("triton, second-order kernel", "kernel", fast.hash_encode),
                ("same, table gradient also in the x pass", "kernel-all", fast.hash_encode),
                ("triton, reference inside the backward", "reference", fast.hash_encode),
                ("pytorch reference", None, reference.hash_encode)]
    if importlib.util.find_spec("tinycudann"):
        import tinycudann

        enc = tinycudann.Encoding(3, reference.tcnn_encoding_config(cfg), dtype=torch.float32)

        def tcnn_encode(x, t, _levels):
            return reference.tcnn_encode(enc, x, reference.to_tcnn_params(t))

        variants.append(("tiny-cuda-nn (HashGrid backend tcnn)", None, tcnn_encode))

    def grads(encode) -> torch.Tensor:  # one step's table and MLP gradients, flattened
        table.grad = mlp.grad = None
        step(encode)
        return torch.cat([table.grad.flatten(), mlp.grad.flatten()])

    expected = grads(reference.hash_encode)
    rows = {}
    for name, mode, encode in variants:
        if mode:
            fast.SECOND_ORDER = mode.split("-")[0]
        fast._grad_used = before if mode == "kernel-all" else used
        err = float((grads(encode) - expected).abs().max() / expected.abs().max())
        ms = triton.testing.do_bench(lambda encode=encode: step(encode), rep=300)
        rows[name] = {"ms": round(ms, 3), "samples_per_s": args.points / ms * 1e3, "rel_err": err}
        print(f"{name:40s} {ms:8.3f} ms  {args.points / ms * 1e3:.3g} samples/s  "
              f"gradients vs reference {err:.1e}", flush=True)
    print(json.dumps({"gpu": torch.cuda.get_device_name(0), "points": args.points, "rows": rows}))


if __name__ == "__main__":
    main()
