"""Screenshots of each Meshcast panel in a real Blender window, with a scene loaded.

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 MESHCAST_PYTHON=.venv/bin/python blender --factory-startup --enable-event-simulate \
        --python addons/blender/tools/screenshots.py -- --scene ../shared/data/lego_400 --out docs/images

Runs in Blender 3.4 (Debian) as well as 4.x/5.x: it loads the add-on from the source tree, opens
the scene with image planes, starts a real training job (so the Train panel shows live progress,
ETA and loss), and takes one screenshot of the 3D view per panel, showing only that panel in the
sidebar. A timer drives the steps (the window must be drawn between them); Blender quits at the end.
``--enable-event-simulate`` lets the script press Ctrl+Tab over the sidebar to bring the Meshcast
tab forward, as a user would (Blender 3.4 has no Python setting for the active sidebar tab).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import bpy

ADDON_DIR = Path(__file__).resolve().parents[1]
PACKAGE = "meshcast_blender"


def parse_args():
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--train-wait", type=float, default=240.0,
                        help="longest wait for the job to reach 20 training steps before its shot (s)")
    return parser.parse_args(argv)


def load_addon():
    import addon_utils

    spec = importlib.util.spec_from_file_location(PACKAGE, ADDON_DIR / "__init__.py",
                                                  submodule_search_locations=[str(ADDON_DIR)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    module.__time__ = (ADDON_DIR / "__init__.py").stat().st_mtime
    addon_utils.enable(PACKAGE, default_set=True)
    return module


def view3d():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
    region = next(r for r in area.regions if r.type == "WINDOW")
    return window, area, region


def show_meshcast_tab() -> None:
    """Ctrl+Shift+Tab over the sidebar: the previous tab, which wraps round to the last (Meshcast)."""
    window, area, _ = view3d()
    sidebar = next(r for r in area.regions if r.type == "UI")
    x, y = sidebar.x + sidebar.width // 2, sidebar.y + sidebar.height - 15  # over the first panel's header
    window.event_simulate("MOUSEMOVE", "NOTHING", x=x, y=y)
    window.event_simulate("TAB", "PRESS", x=x, y=y, ctrl=True, shift=True)
    window.event_simulate("TAB", "RELEASE", x=x, y=y, ctrl=True, shift=True)


def widen_sidebar(pixels: int = 160) -> None:
    """Drag the sidebar's left edge to the left, as a user would, so labels are not cut."""
    window, area, _ = view3d()
    sidebar = next(r for r in area.regions if r.type == "UI")
    x, y = sidebar.x + 2, sidebar.y + sidebar.height - 60
    window.event_simulate("MOUSEMOVE", "NOTHING", x=x, y=y)
    window.event_simulate("LEFTMOUSE", "PRESS", x=x, y=y)
    for step in range(1, 9):
        window.event_simulate("MOUSEMOVE", "NOTHING", x=x - pixels * step // 8, y=y)
    window.event_simulate("LEFTMOUSE", "RELEASE", x=x - pixels, y=y)


def only_panel(module, keep: str) -> None:
    """Register just one of the add-on's panels so the sidebar shows it alone."""
    for cls in module.panels.CLASSES:
        registered = getattr(bpy.types, cls.__name__, None) is not None
        if cls.__name__ == keep and not registered:
            bpy.utils.register_class(cls)
        elif cls.__name__ != keep and registered:
            bpy.utils.unregister_class(cls)


def shoot(path: Path) -> None:
    window, area, region = view3d()
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.screen.screenshot_area(filepath=str(path))
    print("screenshot", path)


class Steps:
    """A tiny state machine advanced by a timer: setup, then one shot per panel."""

    def __init__(self, args, module):
        self.args, self.module = args, module
        self.out = Path(args.out).resolve()
        self.queue = [self.setup, self.capture, self.region, self.dataset, self.start_train, self.train,
                      self.extract, self.finish]
        self.wait_until = 0.0
        self.train_deadline = 0.0

    def __call__(self):
        if time.time() < self.wait_until:
            return 0.5
        if not self.queue:
            return None
        step = self.queue.pop(0)
        delay = step()
        return 1.0 if delay is None else delay

    def setup(self):
        _, area, _ = view3d()
        space = area.spaces.active
        space.show_region_ui = True
        space.shading.type = "SOLID"
        space.shading.color_type = "TEXTURE"  # the image planes show their photos
        scene = bpy.context.scene
        for obj in list(scene.objects):  # the factory cube, light and camera
            bpy.data.objects.remove(obj)
        capture = scene.meshcast.capture
        capture.scene_path, capture.images = self.args.scene, "PLANES"
        bpy.ops.meshcast.open_scene(filepath=self.args.scene)
        scene.meshcast.region.sphere.select_set(True)
        bpy.context.view_layer.objects.active = scene.meshcast.region.sphere
        window, area, region = view3d()
        with bpy.context.temp_override(window=window, area=area, region=region):
            bpy.ops.view3d.view_all()
        space.region_3d.view_distance *= 0.8
        self.queue[:0] = [show_meshcast_tab, widen_sidebar]
        return 2.0

    def _shot(self, panel, name, delay=2.0):
        only_panel(self.module, panel)
        self.queue.insert(0, lambda: shoot(self.out / name))
        return delay

    def capture(self):
        return self._shot("MESHCAST_PT_capture", "blender_capture.png")

    def region(self):
        return self._shot("MESHCAST_PT_region", "blender_region.png")

    def dataset(self):
        d = bpy.context.scene.meshcast.dataset
        d.out_dir, d.train_count, d.test_count, d.mask = "//dataset", 100, 20, True
        return self._shot("MESHCAST_PT_dataset", "blender_dataset.png")

    def start_train(self):
        train = bpy.context.scene.meshcast.train
        train.method, train.budget, train.max_seconds, train.device = "neus", "SECONDS", 600, "cpu"
        train.run_dir = str(Path(bpy.app.tempdir or "/tmp") / "meshcast_screenshot_run")
        only_panel(self.module, "MESHCAST_PT_train")
        bpy.ops.meshcast.train()
        self.train_deadline = time.time() + self.args.train_wait
        return 5.0

    def train(self):
        job = bpy.context.scene.meshcast.job
        if job.status == "RUNNING" and (job.stage != "train" or job.step < 20) and time.time() < self.train_deadline:
            self.queue.insert(0, self.train)
            return 1.0
        shoot(self.out / "blender_train.png")
        bpy.ops.meshcast.cancel_job()
        return 8.0

    def extract(self):
        extract = bpy.context.scene.meshcast.extract
        extract.run_dir = bpy.context.scene.meshcast.train.run_dir
        return self._shot("MESHCAST_PT_extract", "blender_extract.png")

    def finish(self):
        for cls in self.module.panels.CLASSES:  # all registered again, for a clean unregister
            if getattr(bpy.types, cls.__name__, None) is None:
                bpy.utils.register_class(cls)
        bpy.ops.wm.quit_blender()


def main():
    bpy.context.preferences.view.show_splash = False
    args = parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    module = load_addon()
    bpy.app.timers.register(Steps(args, module), first_interval=2.0)


main()
