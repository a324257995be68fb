"""One line from an ``encoding_bench.py`` JSON: the walk's and ``torch.compile``'s step (float32
table, table gradient, CUDA graphs), their ratio, and the peers' steps launched one by one.

  python benchmarks/ratio.py enc.json [label]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

data = json.loads(Path(sys.argv[1]).read_text())
rows = [r for r in data["timings"] if r["table"] == "float32" and r["grads"] == "table"]
graph = {r["variant"]: r.get("graph_step_ms") for r in rows}
eager = {r["variant"]: r.get("step_ms") for r in rows}
walk, compiled = graph["triton walk (auto in CUDA graphs)"], graph["torch.compile"]
peers = "  ".join(f"{name} {ms:.4f}" for name, ms in eager.items() if "peer" in name and ms)
print(f"{sys.argv[2] if len(sys.argv) > 2 else ''} walk {walk:.4f} compile {compiled:.4f} "
      f"ratio {compiled / walk:.3f} pdl {data['launch'].get('walk', {}).get('pdl')} | peers one by one: {peers}")
