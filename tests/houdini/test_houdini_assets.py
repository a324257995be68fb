"""Every expanded asset under otls/ and every shelf file parses, and the parameter names the
asset declares are exactly the ones its Python reads."""
from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from houdini_paths import PACKAGE, PYTHON_DIR
from meshcast_houdini import sop_import, up_axis

OTLS = PACKAGE / "otls"
LIBRARIES = sorted(p for p in OTLS.iterdir() if p.is_dir() and p.suffix == ".hda")


def read_sections_list(folder: Path) -> list[tuple[str, str]]:
    """Sections.list: a first line "" then "FILE<TAB>SECTION NAME" per section."""
    lines = (folder / "Sections.list").read_text().splitlines()
    assert lines[0] == '""', f"{folder}/Sections.list must start with a quoted empty line"
    entries = [tuple(line.split("\t")) for line in lines[1:] if line.strip()]
    assert all(len(e) == 2 for e in entries), entries
    return entries  # type: ignore[return-value]


def decode_operator_folder(name: str) -> str:
    """Expanded-asset folder names escape '_' as '__', '/' as '_1' and ':' as '_8'."""
    return re.sub(r"_(_|1|8)", lambda m: {"_": "_", "1": "/", "8": ":"}[m.group(1)], name)


def parse_dialog_script(text: str) -> dict[str, dict[str, object]]:
    """The parm blocks of a DialogScript: name -> {type, default, menu (tokens)}."""
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|[{}]|[^\s{}]+', re.sub(r"^#.*$", "", text, flags=re.MULTILINE))
    depth, parms, i = 0, {}, 0
    assert tokens[0] == "{" and tokens[-1] == "}", "a DialogScript is one { ... } block"
    while i < len(tokens):
        token = tokens[i]
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif token == "parm" and depth == 1:
            end, body, level = i + 1, [], 0
            while True:
                t = tokens[end]
                level += (t == "{") - (t == "}")
                body.append(t)
                end += 1
                if level == 0:
                    break
            parms.update(_parm_block(body))
            i = end
            continue
        i += 1
    assert depth == 0, "unbalanced braces"
    return parms


def _parm_block(body: list[str]) -> dict[str, dict[str, object]]:
    unquote = lambda t: t[1:-1] if t.startswith('"') else t
    fields: dict[str, object] = {}
    j = 1
    while j < len(body) - 1:
        key = body[j]
        if body[j + 1] == "{":
            k = j + 2
            level, inner = 1, []
            while level:
                level += (body[k] == "{") - (body[k] == "}")
                if level:
                    inner.append(unquote(body[k]))
                k += 1
            fields[key] = inner
            j = k
        else:
            fields[key] = unquote(body[j + 1])
            j += 2
    return {str(fields["name"]): fields}


def names_read_by(function) -> set[str]:
    """Parameter names a function reads through ``_parm(node, "NAME")``."""
    tree = ast.parse(Path(sop_import.__file__).read_text())
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function.__name__)
    return {call.args[1].value for call in ast.walk(fn)
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "_parm"}


def test_there_is_at_least_one_expanded_asset():
    assert [p.name for p in LIBRARIES] == ["meshcast_mesh_import.hda"]


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda p: p.name)
def test_expanded_library_structure(library):
    assert (library / "houdini.hdalibrary").is_file()
    entries = read_sections_list(library)
    for file_name, _ in entries:
        assert (library / file_name).exists(), f"{library.name}: {file_name} listed but missing"
    operators = [(f, s) for f, s in entries if (library / f).is_dir()]
    assert operators
    index = (library / "INDEX__SECTION").read_text()
    for folder, section in operators:
        assert decode_operator_folder(folder) == section
        table, op_name = section.split("/", 1)
        assert re.search(rf"^Operator:\s+{re.escape(op_name)}$", index, re.MULTILINE)
        assert re.search(rf"^Table:\s+{table}$", index, re.MULTILINE)
        op_dir = library / folder
        for file_name, _ in read_sections_list(op_dir):
            assert (op_dir / file_name).is_file(), f"{folder}: {file_name} listed but missing"
        dialog = (op_dir / "DialogScript").read_text()
        assert re.search(rf"^\s*name\s+{re.escape(op_name)}$", dialog, re.MULTILINE)
        json.loads((op_dir / "ExtraFileOptions").read_text())
        ET.fromstring((op_dir / "Tools.shelf").read_text())
        if (op_dir / "PythonCook").exists():
            compile((op_dir / "PythonCook").read_text(), f"{folder}/PythonCook", "exec")


def test_mesh_import_parameters_match_what_its_python_reads():
    op_dir = OTLS / "meshcast_mesh_import.hda" / "Sop_1meshcast_8_8mesh__import"
    declared = parse_dialog_script((op_dir / "DialogScript").read_text())
    assert set(declared) == names_read_by(sop_import.cook) == {"file", "up_axis", "scale"}
    assert declared["file"]["type"] == "file" and declared["scale"]["type"] == "float"
    menu = declared["up_axis"]["menu"]
    assert menu[0::2] == ["z", "y"]  # token pairs: value, label
    for value in menu[0::2]:
        up_axis.to_houdini_matrix(value)  # every menu value is one the Python accepts
    assert declared["up_axis"]["default"] == ["z"] and declared["scale"]["default"] == ["1"]
    cook = (op_dir / "PythonCook").read_text()
    assert "sop_import.cook(hou.pwd())" in cook and len(cook.strip().splitlines()) <= 3


def test_shelf_tools_parse_and_call_existing_functions():
    root = ET.parse(PACKAGE / "toolbar" / "meshcast.shelf").getroot()
    members = {m.get("name") for m in root.iter("memberTool")}
    tools = {t.get("name"): t for t in root.iter("tool")}
    assert members == set(tools) == {"meshcast_import_mesh"}
    script = tools["meshcast_import_mesh"].find("script")
    assert script is not None and script.get("scriptType") == "python"
    compile(script.text or "", "meshcast.shelf", "exec")
    called = re.findall(r"sop_import\.(\w+)\(", script.text or "")
    assert called and all(callable(getattr(sop_import, name)) for name in called)


def test_python_folder_is_the_one_houdini_puts_on_sys_path():
    # $HOUDINI_PATH/scripts/python is on sys.path in every Houdini version (python3.Xlibs too,
    # but that name changes with the Python version).
    assert PYTHON_DIR == PACKAGE / "scripts" / "python"
    assert (PYTHON_DIR / "meshcast_houdini" / "__init__.py").is_file()
