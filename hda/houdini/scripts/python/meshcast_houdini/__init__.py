"""meshcast inside Houdini: the logic behind the meshcast TOP nodes and the mesh import tool.

Everything in this package except ``tops`` and ``sop_import`` is plain Python (standard
library only, no ``hou``, no ``pdg``), so it is importable and testable anywhere, and
``run_job`` runs in the user's meshcast environment. ``tops`` and ``sop_import`` are the thin
Houdini-facing adapters; they import ``pdg``/``hou`` inside their functions only.

Houdini finds this package because the meshcast package JSON adds ``hda/houdini`` to
``HOUDINI_PATH``, and Houdini puts ``$HOUDINI_PATH/scripts/python`` on ``sys.path``.
"""
