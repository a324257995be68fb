"""The built-in demo: an object meshcast models and renders itself, so nothing is downloaded."""
from meshcast.demo.scene import DemoObject, make_demo_scene

__all__ = ["DemoObject", "make_demo_scene"]
