"""YAML as memberflow's configuration files read it: safe, and a key given twice is an error.

PyYAML keeps the last of two equal keys without a word, so a second ``employees:`` block or a
repeated level code would silently replace the first; an operator's file must say what it means.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` refusing a mapping that names one key twice."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        """The mapping, or ``ConstructorError`` at the second occurrence of a key."""
        first_line: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # SafeLoader's own error names an unhashable key
            if key in first_line:
                raise ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice (first on line {first_line[key]})",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """Parse ``text`` like ``yaml.safe_load``, refusing duplicate keys (``yaml.YAMLError``)."""
    return yaml.load(text, Loader=_StrictLoader)
