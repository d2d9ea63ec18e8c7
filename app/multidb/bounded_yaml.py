"""A YAML SafeLoader with limits: depth, size after aliases, name-only keys, no duplicate keys."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import ConfigKeyError

# Far above any real config (ours have five levels and about a hundred values), far below what hurts.
MAX_DEPTH = 32
MAX_VALUES = 10_000
MAX_DIGITS = 30
_INT_TAG = "tag:yaml.org,2002:int"
_NAME_TAGS = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:merge")
_KINDS = {"int": "number", "float": "number", "bool": "true/false", "null": "null", "timestamp": "date"}


def parse(text: str) -> Any:
    """The document in `text`; ConfigKeyError when a limit is hit, yaml.YAMLError when it is not YAML."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


class BoundedLoader(yaml.SafeLoader):
    """Checks each node as it is composed, so the work is bounded before anything is expanded.

    Aliases make a tree out of shared nodes: an "alias bomb" of nine levels of nine aliases is 2 KB of
    text and 387 million values once constructed. Each node's size counts what its aliases stand for,
    computed once per node, and the document is refused as soon as one node exceeds MAX_VALUES.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str] = []
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        where = ".".join(self._path).replace(".[", "[")
        if self._depth >= MAX_DEPTH:
            raise ConfigKeyError(where, f"is nested more than {MAX_DEPTH} levels deep", "flatten it")
        aliased = self.check_event(yaml.AliasEvent)
        segment = _segment(index)
        self._path.extend(segment)
        self._depth += 1
        try:
            composed = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            del self._path[len(self._path) - len(segment) :]
        if composed is None:  # not for a real event stream; typed so by PyYAML
            return None
        node = composed
        if aliased and id(node) not in self._sizes:
            raise ConfigKeyError(where, "holds an alias that refers to itself", "remove the alias loop")
        if isinstance(parent, MappingNode) and index is None:
            _check_key(where, node)
        if node.tag == _INT_TAG and len(node.value) > MAX_DIGITS:
            # Python refuses to convert an integer of over 4300 digits, with an exception YAML does not wrap.
            raise ConfigKeyError(
                ".".join([where, *segment]).strip(".").replace(".[", "["),
                f"is a number of more than {MAX_DIGITS} digits",
                "write a real value",
            )
        if not aliased:
            self._sizes[id(node)] = self._size(node)
            if self._sizes[id(node)] > MAX_VALUES:
                raise ConfigKeyError(
                    ".".join([where, *segment]).strip(".").replace(".[", "["),
                    f"holds more than {MAX_VALUES} values once its aliases are expanded",
                    "write it out without nesting aliases",
                )
        return node

    def _size(self, node: Node) -> int:
        if isinstance(node, SequenceNode):
            return 1 + sum(self._sizes[id(item)] for item in node.value)
        if isinstance(node, MappingNode):
            return 1 + sum(self._sizes[id(key)] + self._sizes[id(value)] for key, value in node.value)
        return 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        # SafeLoader silently keeps the last of two equal keys; a config with both is a mistake.
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _NAME_TAGS[1]:
                continue  # `<<: *defaults` merges keys that this mapping may then override
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _segment(index: Any) -> list[str]:
    """The dotted-key part a child adds: a mapping value adds its key, a list item its [index]."""
    if isinstance(index, ScalarNode):
        return [str(index.value)]
    if isinstance(index, int):
        return [f"[{index}]"]
    return []


def _check_key(where: str, node: Node) -> None:
    # Keys are names (aliases, fields, groups): YAML's `7:`, `yes:` or `null:` are not, nor is `[a, b]:`.
    line = node.start_mark.line + 1
    if not isinstance(node, ScalarNode):
        raise ConfigKeyError(where, f"the key on line {line} is a list or mapping", "write the key as a plain name")
    if node.tag not in _NAME_TAGS:
        kind = node.tag.rsplit(":", 1)[-1]
        raise ConfigKeyError(
            where,
            f"the key on line {line} is read as {_KINDS.get(kind, kind)}, not a name",
            "quote it, or write a name",
        )
