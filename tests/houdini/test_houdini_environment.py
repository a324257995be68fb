"""The environment node's exported variables and the meshcast interpreter lookup."""
from __future__ import annotations

import pytest
from meshcast_houdini import environment
from meshcast_houdini.settings import EnvironmentSettings, SettingsError


def test_exported_variables_cuda_and_extras():
    settings = EnvironmentSettings(cuda_home="/usr/local/cuda-12.4", cuda_visible_devices="0, 1",
                                   extra_env="# comment\nOMP_NUM_THREADS=4\n\nTORCH_HOME = /cache/torch\n")
    assert environment.exported_variables(settings) == {
        "CUDA_HOME": "/usr/local/cuda-12.4", "CUDA_VISIBLE_DEVICES": "0,1",
        "OMP_NUM_THREADS": "4", "TORCH_HOME": "/cache/torch",
    }
    assert environment.exported_variables(EnvironmentSettings()) == {}


@pytest.mark.parametrize("text", ["PYTHONPATH=/venv/lib/site-packages", "pythonhome=/venv"])
def test_python_path_variables_are_refused(text):
    with pytest.raises(SettingsError, match="not allowed"):
        environment.parse_extra_env(text)


@pytest.mark.parametrize("text", ["JUST_A_NAME", "1BAD=x", "A B=c"])
def test_malformed_lines_name_the_line(text):
    with pytest.raises(SettingsError, match="line 1"):
        environment.parse_extra_env(text)


def test_bad_gpu_list_is_refused():
    with pytest.raises(SettingsError, match="cuda_visible_devices"):
        environment.exported_variables(EnvironmentSettings(cuda_visible_devices="first gpu"))


def test_interpreter_precedence_node_then_upstream_then_variable():
    env = {"MESHCAST_PYTHON": "/env/python"}
    assert environment.resolve_python("/node/python", "/up/python", env) == "/node/python"
    assert environment.resolve_python("", "/up/python", env) == "/up/python"
    assert environment.resolve_python(" ", None, env) == "/env/python"
    with pytest.raises(SettingsError, match="no meshcast Python set"):
        environment.resolve_python("", None, {})


def test_child_environment_drops_houdini_python_variables():
    env = {"PATH": "/bin", "PYTHONPATH": "/opt/hfs/python", "PythonHome": "/x", "CUDA_HOME": "/c"}
    assert environment.child_environment(env) == {"PATH": "/bin", "CUDA_HOME": "/c"}
