"""Dataset panel operator: render a NeRF training set from the current scene."""
from __future__ import annotations

from bpy.types import Operator

from .dataset_render import DatasetOptions, render_dataset


def dataset_options(context) -> DatasetOptions:
    d = context.scene.meshcast.dataset
    target = d.target.matrix_world.translation if d.target is not None else context.scene.cursor.location
    return DatasetOptions(
        out=d.out_dir, counts={"train": d.train_count, "val": d.val_count, "test": d.test_count},
        radius=d.radius, target=tuple(float(v) for v in target), hemisphere=d.hemisphere, spacing=d.spacing,
        seed=d.seed, resolution=(d.resolution_x, d.resolution_y), lens=d.lens, samples=d.samples, engine=d.engine,
        rgba=d.rgba, depth=d.depth, normal=d.normal, mask=d.mask)


class MESHCAST_OT_render_dataset(Operator):
    """Render views of the scene from a sphere of cameras into transforms_*.json (NeRF-synthetic
    layout) with exact intrinsics; blocks until done (use blender -b for long renders)"""

    bl_idname = "meshcast.render_dataset"
    bl_label = "Render Dataset"

    def execute(self, context):
        if not context.scene.meshcast.dataset.out_dir:
            self.report({"ERROR"}, "set the output folder")
            return {"CANCELLED"}
        try:
            result = render_dataset(context, dataset_options(context))
        except (OSError, RuntimeError, ValueError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        counts = ", ".join(f"{n} {split}" for split, n in result["frames"].items())
        self.report({"INFO"}, f"rendered {counts} into {result['out']}")
        return {"FINISHED"}


CLASSES = (MESHCAST_OT_render_dataset,)
