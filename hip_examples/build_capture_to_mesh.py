"""Build hip_examples/capture_to_mesh.hip with hython (see README.md):

    HOUDINI_PACKAGE_DIR=/path/to/meshcast/hda/houdini hython hip_examples/build_capture_to_mesh.py
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from examples import CAPTURE_TO_MESH
from hip_builder import build

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "capture_to_mesh.hip")
    print(f"wrote {build(CAPTURE_TO_MESH, out)}")
