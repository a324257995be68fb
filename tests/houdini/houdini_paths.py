"""Where the Houdini package, its Python and the examples are (imported by the tests)."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "hda" / "houdini"
PYTHON_DIR = PACKAGE / "scripts" / "python"
PDG_TYPES = PACKAGE / "pdg" / "types"
HIP_EXAMPLES = REPO / "hip_examples"

for path in (PYTHON_DIR, HIP_EXAMPLES, Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
