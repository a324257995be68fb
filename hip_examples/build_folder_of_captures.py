"""Build hip_examples/folder_of_captures.hip with hython (see README.md):

    HOUDINI_PACKAGE_DIR=/path/to/meshcast/hda/houdini hython hip_examples/build_folder_of_captures.py
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from examples import FOLDER_OF_CAPTURES
from hip_builder import build

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "folder_of_captures.hip")
    print(f"wrote {build(FOLDER_OF_CAPTURES, out)}")
