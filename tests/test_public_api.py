"""Every public module says its job, declares ``__all__``, and documents each public name."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import fama_adapters
import fama_core


def public_modules() -> list[str]:
    names = []
    for package in (fama_core, fama_adapters):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", public_modules())
def test_module_has_a_docstring_and_all(name):
    module = importlib.import_module(name)
    assert (module.__doc__ or "").strip(), f"{name} needs a module docstring"
    assert hasattr(module, "__all__"), f"{name} needs __all__"


@pytest.mark.parametrize("name", public_modules())
def test_every_public_name_is_documented(name):
    module = importlib.import_module(name)
    missing = []
    for attr in getattr(module, "__all__", ()):
        obj = getattr(module, attr)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if not (obj.__doc__ or "").strip():
                missing.append(attr)
            if inspect.isclass(obj):
                for meth_name, meth in vars(obj).items():
                    if meth_name.startswith("_") or not inspect.isfunction(meth):
                        continue
                    if meth.__name__ == "<lambda>":  # a dataclass field default
                        continue
                    if not (meth.__doc__ or "").strip():
                        missing.append(f"{attr}.{meth_name}")
    assert not missing, f"{name}: undocumented public names: {', '.join(missing)}"
