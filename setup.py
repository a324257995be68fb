"""One distribution, ``meshcast``; the source root is ``core/``."""
from pathlib import Path

from setuptools import find_packages, setup

CORE = [
    "numpy>=1.24",
    "pydantic>=2.6",
    "trimesh>=4.0",
    "imageio>=2.31",
    "pillow>=10",
    "scikit-image>=0.22",
    "scipy>=1.10",
    "safetensors>=0.4",
    "tqdm>=4.66",
    "torch>=2.1",
]
EXTRAS = {
    "colmap": ["pycolmap>=3.10"],
    "video": ["imageio-ffmpeg>=0.4"],
    "uv": ["xatlas>=0.0.9"],
    "usd": ["usd-core>=24.0"],
    "triton": ["triton>=3.0"],
    "blender": ["bpy==5.0.1"],
    "houdini-dev": ["types-houdini", "mypy>=1.8"],
    "test": ["pytest>=8", "hypothesis>=6", "ruff>=0.4", "mypy>=1.8"],
}
EXTRAS["all"] = sorted({dep for name, deps in EXTRAS.items() if name != "test" for dep in deps})

setup(
    name="meshcast",
    version="0.4.0",
    description="Neural 3D reconstruction (hash-grid NeRF and neural SDF) to clean, aligned meshes",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    package_dir={"": "core"},
    packages=find_packages("core"),
    python_requires=">=3.10",
    install_requires=CORE,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["meshcast=meshcast.cli:main"]},
    include_package_data=True,
)
