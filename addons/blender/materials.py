"""Materials for what the add-on brings in: meshes with vertex colours, coloured points."""
from __future__ import annotations

import bpy


def enable_nodes(material: bpy.types.Material) -> None:
    """Node-based shading (always on from Blender 5.0, where use_nodes is deprecated)."""
    if bpy.app.version < (5, 0, 0):
        material.use_nodes = True


def attribute_material(name: str, attribute: str) -> bpy.types.Material:
    """Principled BSDF whose base colour is the colour attribute ``attribute`` (matte)."""
    material = bpy.data.materials.new(name)
    enable_nodes(material)
    nodes, links = material.node_tree.nodes, material.node_tree.links
    bsdf = next(n for n in nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    source = nodes.new("ShaderNodeAttribute")
    source.attribute_name = attribute
    links.new(source.outputs["Color"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = 1.0
    return material


def color_attribute_name(mesh: bpy.types.Mesh) -> str | None:
    """The mesh's first colour attribute, if any."""
    attributes = getattr(mesh, "color_attributes", None)
    if attributes is not None and len(attributes):
        return attributes[0].name
    vertex_colors = getattr(mesh, "vertex_colors", None)
    return vertex_colors[0].name if vertex_colors is not None and len(vertex_colors) else None


def has_image_texture(material: bpy.types.Material | None) -> bool:
    return bool(material and material.node_tree and any(
        n.bl_idname == "ShaderNodeTexImage" and n.image is not None for n in material.node_tree.nodes))


def ensure_mesh_material(obj: bpy.types.Object) -> str:
    """Give an imported mesh a material that shows its colours: keep a baked texture material,
    else use the vertex colours. Returns 'texture', 'vertex' or 'none'."""
    mesh = obj.data
    if any(has_image_texture(m) for m in mesh.materials):
        return "texture"
    attribute = color_attribute_name(mesh)
    if attribute is None:
        return "none"
    mesh.materials.clear()
    mesh.materials.append(attribute_material(f"meshcast {obj.name}", attribute))
    return "vertex"
