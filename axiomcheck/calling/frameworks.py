"""Calling operators written for a framework: numpy arrays in, the framework's arrays to the function, numpy back.

The engine samples and compares numpy arrays.  An operator declares the array
library it is written in with `framework=` on its decorator:

* None (the default) or "numpy": the function gets numpy arrays, as it always did;
* "jax": every array becomes a `jax.Array` (`jnp.asarray`, so the precision is the
  one JAX is configured for: float32 unless `jax_enable_x64` is on);
* "torch": every array becomes a `torch.Tensor` with the same dtype (float64 stays
  float64, int64 stays int64), sharing memory with the copy the guard made, so a
  function that writes into its input is still seen doing so; the call runs under
  `torch.inference_mode()`; an `nn.Module` gets its inputs on the device of its
  first parameter.

Whatever the function returns is brought back to numpy by `to_numpy` (a tensor
is detached and moved to the CPU first, so a result that requires grad is no
problem).  When the conversion itself fails, `ConversionError` says so: that is
axiomcheck's side of the call, never reported as "the operator raised".

Neither torch nor jax is imported here until an operator of that framework is
called (`import axiomcheck` stays light).

>>> import numpy as np
>>> adapt(np.sum, None) is np.sum
True
>>> to_numpy([1.0, 2.0]).dtype
dtype('float64')
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

#: The values `framework=` accepts (None: numpy arrays, today's behaviour).
FRAMEWORKS = ("numpy", "jax", "torch")
_NOT_THE_OPERATOR = " (a problem on axiomcheck's side of the call, not a fault of the operator)"
_INSTALL = {"torch": "PyTorch (pip install 'axiomcheck[torch]')", "jax": "JAX (pip install jax)"}


class ConversionError(Exception):
    """axiomcheck could not convert an operator's inputs or result between numpy and its framework."""


def check_framework(framework: Any, fn: Any) -> str | None:
    """The framework an operator is called in, or the reason it cannot be (a `ValueError`).

    An `nn.Module` is called in torch unless told otherwise; one told "numpy" or "jax" is refused.
    """
    module = isinstance(fn, ModuleFunction) or is_module(fn)
    if framework is None:
        return "torch" if module else None
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS} or None, got {framework!r}")
    if framework != "torch" and module:
        raise ValueError(f"an nn.Module takes torch tensors: its framework must be 'torch', got {framework!r}")
    if framework in _INSTALL and importlib.util.find_spec(framework) is None:
        raise ValueError(f"framework={framework!r} needs {_INSTALL[framework]}, which is not installed")
    return str(framework)


def is_module(obj: Any) -> bool:
    """Whether `obj` is a `torch.nn.Module` (without importing torch: no torch loaded, no module)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


class ModuleFunction:
    """An `nn.Module` registered as an operator's function: called like it, with `forward`'s signature.

    `inspect.signature` of a module shows `(*args, **kwargs)`; this wrapper shows
    the signature of `forward`, so keywords such as `teachers` are found.  The
    module itself is `.module`.
    """

    def __init__(self, module: Any):
        self.module = module
        self.__signature__ = inspect.signature(module.forward)
        self.__name__ = type(module).__name__
        self.__module__ = type(module).__module__
        self.__doc__ = type(module).__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def __repr__(self) -> str:
        return f"ModuleFunction({type(self.module).__name__})"


def function_of(obj: Any) -> Any:
    """What an operator keeps as its function: an `nn.Module` wrapped in `ModuleFunction`, anything else as is."""
    return ModuleFunction(obj) if is_module(obj) else obj


# ----------------------------------------------------------------------------- results back to numpy


def _tensor_to_numpy(value: Any) -> np.ndarray:
    torch = sys.modules["torch"]
    t = value.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if t.device.type != "cpu":
        t = t.cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16; float32 holds every bfloat16 value exactly
        t = t.to(torch.float32)
    t = t.resolve_conj().resolve_neg()
    return np.array(t.numpy(), copy=True)


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _is_jax_array(value: Any) -> bool:
    jax = sys.modules.get("jax")
    return jax is not None and isinstance(value, jax.Array)


def _holds_framework_arrays(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_holds_framework_arrays(v) for v in value)
    return _is_tensor(value) or _is_jax_array(value)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if _is_tensor(value):
        return _tensor_to_numpy(value)
    return np.asarray(value)


def to_numpy(value: Any) -> np.ndarray:
    """A fresh numpy array holding `value` (a numpy array, a tensor, a jax array, or a list of them).

    A framework array that cannot be converted raises `ConversionError`; anything
    else is `np.array(value)` as it always was (its errors are the operator's).

    >>> to_numpy(np.zeros((2, 3), np.float32)).shape
    (2, 3)
    """
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if not _holds_framework_arrays(value):
        return np.array(value, copy=True)
    try:
        return np.array(_plain(value), copy=True)
    except Exception as exc:  # noqa: BLE001 - reported as axiomcheck's, with what failed
        raise ConversionError(f"axiomcheck could not convert the operator's result ({_what(value)}) to numpy: "
                              f"{type(exc).__name__}: {exc}{_NOT_THE_OPERATOR}") from exc


def _what(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    shape = tuple(getattr(value, "shape", ()))
    return f"{type(value).__module__}.{type(value).__name__} of shape {shape}, dtype {getattr(value, 'dtype', '?')}"


# ----------------------------------------------------------------------------- inputs to the framework


def _map_arrays(value: Any, convert: Callable[[np.ndarray], Any]) -> Any:
    """`value` with every numpy array in it converted (dicts, lists and tuples, named tuples included)."""
    if isinstance(value, np.ndarray):
        return convert(value)
    if isinstance(value, dict):
        return {k: _map_arrays(v, convert) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_map_arrays(v, convert) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_map_arrays(v, convert) for v in value)
    return value


def _module_device(fn: Any) -> Any:
    module = getattr(fn, "module", None)
    if module is None:
        return None
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return None


def _torch_converter(fn: Any) -> Callable[[np.ndarray], Any]:
    import torch

    device = _module_device(fn)

    def convert(a: np.ndarray) -> Any:
        if not a.flags.writeable or any(s < 0 for s in a.strides):
            a = np.array(a, copy=True)  # from_numpy takes neither read-only memory nor negative strides
        t = torch.from_numpy(a)
        return t if device is None or device.type == "cpu" else t.to(device)

    return convert


def _jax_converter(fn: Any) -> Callable[[np.ndarray], Any]:
    import jax.numpy as jnp

    return jnp.asarray


class Adapted:
    """`fn` called in its framework: numpy arrays in and out, the framework's arrays in between.

    Exceptions of `fn` itself propagate untouched (they are the operator's); a
    failed conversion raises `ConversionError`.  `fn` and `framework` stay
    readable, so a fresh worker process can rebuild the same adapter by import
    (`isolation.portable`).
    """

    def __init__(self, fn: Callable[..., Any], framework: str):
        if framework not in FRAMEWORKS:
            raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
        self.fn = fn
        self.framework = framework
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self._convert: Callable[[np.ndarray], Any] | None = None

    def _converter(self) -> Callable[[np.ndarray], Any]:
        if self._convert is None:
            if self.framework == "torch":
                self._convert = _torch_converter(self.fn)
            elif self.framework == "jax":
                self._convert = _jax_converter(self.fn)
            else:
                self._convert = lambda a: a
        return self._convert

    @contextlib.contextmanager
    def _mode(self) -> Iterator[None]:
        if self.framework == "torch":
            import torch

            with torch.inference_mode():
                yield
        else:
            yield

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        try:
            convert = self._converter()
            args_in = _map_arrays(args, convert)
            kwargs_in = _map_arrays(kwargs, convert)
        except Exception as exc:  # noqa: BLE001 - axiomcheck's side of the call
            raise ConversionError(f"axiomcheck could not convert the inputs to {self.framework} arrays: "
                                  f"{type(exc).__name__}: {exc}{_NOT_THE_OPERATOR}") from exc
        with self._mode():
            value = self.fn(*args_in, **kwargs_in)
        return to_numpy(value)

    def __repr__(self) -> str:
        return f"Adapted({self.fn!r}, {self.framework!r})"


def adapt(fn: Callable[..., Any], framework: str | None) -> Callable[..., Any]:
    """`fn` as the engine calls it: unchanged for None, else wrapped in an `Adapted` for `framework`."""
    return fn if framework is None else Adapted(fn, framework)
