"""The package JSON, the installer, and import boundaries (no hou, no pdg, no torch)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from houdini_paths import PACKAGE, PDG_TYPES, PYTHON_DIR
from meshcast_houdini import install


def load_package() -> dict:
    return json.loads((PACKAGE / "meshcast.json").read_text())


def expand(value: str, variables: dict[str, str]) -> str:
    for name, replacement in variables.items():
        value = value.replace(f"${name}", replacement)
    return value


def test_package_json_sets_only_what_is_needed():
    data = load_package()
    assert data["load_package_once"] is True
    assert data["env"] == [{"MESHCAST_HOUDINI": "$HOUDINI_PACKAGE_PATH"}]
    assert data["hpath"] == "$MESHCAST_HOUDINI"
    text = (PACKAGE / "meshcast.json").read_text()
    assert "PYTHONPATH" not in text and "PYTHONHOME" not in text and "\\" not in text


def test_package_path_resolves_to_the_folder_houdini_scans():
    # Houdini sets $HOUDINI_PACKAGE_PATH to the folder of the package file it is reading.
    data = load_package()
    variables = {"HOUDINI_PACKAGE_PATH": PACKAGE.as_posix()}
    variables["MESHCAST_HOUDINI"] = expand(data["env"][0]["MESHCAST_HOUDINI"], variables)
    hpath = expand(data["hpath"], variables)
    assert hpath == PACKAGE.as_posix()
    for sub in ("scripts/python/meshcast_houdini", "pdg/types", "otls", "toolbar"):
        assert (PACKAGE / sub).is_dir(), sub


def test_installed_copy_pins_the_folder_with_forward_slashes(tmp_path):
    target = install.install(tmp_path / "houdini20.5", PACKAGE)
    data = json.loads(target.read_text())
    assert target == tmp_path / "houdini20.5" / "packages" / "meshcast.json"
    assert data["env"] == [{"MESHCAST_HOUDINI": PACKAGE.resolve().as_posix()}]
    assert data["hpath"] == "$MESHCAST_HOUDINI" and data["load_package_once"] is True
    assert not list(target.parent.glob(".*.tmp"))


PURE_MODULES = ["parms", "settings", "commands", "environment", "work_items", "job_log",
                "up_axis", "pdg_protocols", "install"]
HOST_MODULES = ["tops", "sop_import"]


@pytest.mark.parametrize("module", PURE_MODULES + HOST_MODULES)
def test_import_loads_no_hou_no_pdg_no_meshcast(module):
    code = (f"import sys; sys.path.insert(0, {str(PYTHON_DIR)!r})\n"
            f"import meshcast_houdini.{module}\n"
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'hou', 'pdg', 'torch', 'numpy', 'meshcast'})\n"
            "print(','.join(bad))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"meshcast_houdini.{module} loaded {proc.stdout.strip()}"


def test_pdg_types_module_is_the_only_top_level_pdg_import():
    sources = {p.name: p.read_text() for p in (PYTHON_DIR / "meshcast_houdini").glob("*.py")}
    for name, text in sources.items():
        assert "\nimport pdg" not in text and "\nimport hou" not in text, name
    assert "\nimport pdg\n" in (PDG_TYPES / "meshcast_tops.py").read_text()


def test_mypy_checks_the_houdini_facing_code():
    """hou calls against types-houdini, pdg calls against our Protocols (pdg_protocols.py)."""
    files = [PYTHON_DIR / "meshcast_houdini", PDG_TYPES / "meshcast_tops.py",
             PACKAGE / "build" / "build_assets.py", PACKAGE.parents[1] / "hip_examples"]
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file",
                           str(PACKAGE.parents[1] / "tests" / "houdini" / "mypy.ini"),
                           *map(str, files)], capture_output=True, text=True, timeout=300,
                          cwd=PACKAGE.parents[1], check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("Success: no issues found")
