"""Meshes from trained fields: block-wise marching cubes, colours and baked textures."""
