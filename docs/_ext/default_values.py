"""A griffe extension for the API reference: defaults taken from ``_config`` are shown as their values.

``timeout=_config.DEFAULT_TIMEOUT`` tells a reader nothing; ``timeout=30.0`` does.
"""

from __future__ import annotations

from typing import Any

import griffe

from nanobanana import _config


class DefaultValues(griffe.Extension):
    """Replace ``_config.NAME`` defaults in signatures with the value of ``NAME``."""

    def on_function_instance(self, *, func: griffe.Function, **kwargs: Any) -> None:
        """Rewrite the defaults of one function's parameters."""
        for parameter in func.parameters:
            text = str(parameter.default) if parameter.default is not None else ""
            name = text.removeprefix("_config.")
            if name != text and hasattr(_config, name):
                parameter.default = repr(getattr(_config, name))
