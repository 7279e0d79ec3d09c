"""The YAML loader configs are read with: safe, strict about duplicate keys, YAML 1.2 booleans.

PyYAML's safe loader lets the last of two equal keys silently win and reads ``on``, ``no`` and
``yes`` as booleans (YAML 1.1), which turns a retry policy's ``on:`` key into ``True``; this one
refuses the first and reads only ``true`` and ``false`` as booleans. Values that cannot be built
from their text raise :class:`BadScalar` with a message saying what to do.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from orchestrator.config.yamlsyntax import LINE_BREAKS

BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_IN_PROGRESS = object()
#: what PyYAML's constructors raise on text that does not fit the tag (they do not check first)
_CONSTRUCTION_ERRORS = (ValueError, TypeError, ArithmeticError, AttributeError, LookupError)


class StrictLoader(BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loading that refuses duplicate keys (with plain YAML the last one silently wins), and
    builds plain mappings, lists and scalars directly instead of through PyYAML's generic,
    generator-based constructor: a large config loads about a quarter faster. Anything unusual (merge
    keys, explicit collection tags) takes the standard safe path."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[tuple[Any, Any, Any], str] = {}
        self._built: dict[int, Any] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        """Implicit tag resolution, memoised: configs repeat the same keys and values a lot."""
        key = (kind, value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = self._tags[key] = super().resolve(kind, value, implicit)
        return tag

    def construct_document(self, node: yaml.Node) -> Any:
        try:
            return self._build(node)
        finally:
            self._built = {}
            self.constructed_objects: dict[yaml.Node, Any] = {}
            self.recursive_objects: dict[yaml.Node, Any] = {}

    def _build(self, node: yaml.Node) -> Any:
        kind, tag = node.__class__, node.tag
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            constructor = self.yaml_constructors.get(tag)
            if constructor is None or tag in (_MAP, _SEQ):
                return self.construct_object(node, deep=True)
            try:
                return constructor(self, node)
            except _CONSTRUCTION_ERRORS as exc:  # e.g. '2026-02-30', '!!int x'
                raise BadScalar(node, exc) from None
        built = self._built.get(id(node))
        if built is not None:  # an alias of a collection already built: share it, as YAML says
            if built is _IN_PROGRESS:
                raise yaml.constructor.ConstructorError(
                    None, None, "found unconstructable recursive node", node.start_mark
                )
            return built
        self._built[id(node)] = _IN_PROGRESS
        if kind is yaml.MappingNode and tag == _MAP and not any(k.tag == _MERGE for k, _ in node.value):
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._build(key_node)
                try:
                    seen = key in mapping
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                    ) from None
                if seen:
                    first = next(k for k, _ in node.value if self.construct_object(k) == key)
                    raise DuplicateKey(key, first, key_node)
                mapping[key] = self._build(value_node)
            self._built[id(node)] = mapping
            return mapping
        if kind is yaml.SequenceNode and tag == _SEQ:
            items = [self._build(child) for child in node.value]
            self._built[id(node)] = items
            return items
        del self._built[id(node)]
        return self.construct_object(node, deep=True)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except _CONSTRUCTION_ERRORS as exc:
            raise BadScalar(node, exc) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """The standard path (merge keys, tagged mappings), with the same duplicate-key check."""
        if not isinstance(node, yaml.MappingNode):  # e.g. '!!map' written on a list
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping node, but found {node.id}", node.start_mark
            )
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                ) from None
            if key in seen:
                raise DuplicateKey(key, seen[key], key_node)
            seen[key] = key_node
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


StrictLoader.add_constructor(_MAP, StrictLoader.construct_mapping)


class BadScalar(Exception):
    """A value whose tag (explicit, or implied by how it looks) cannot be built from its text."""

    def __init__(self, node: yaml.Node, error: Exception) -> None:
        super().__init__(str(error))
        self.node, self.error = node, error

    def message(self, text: str) -> str:
        kind = _TAG_KINDS.get(self.node.tag, "a value of type " + str(self.node.tag).rsplit(":", 1)[-1])
        value = self.node.value if isinstance(self.node, yaml.ScalarNode) else ""
        shown = value if len(value) <= 40 else value[:37] + "..."
        reason = str(self.error).split("\n")[0]
        lines = LINE_BREAKS.split(text)
        mark = self.node.start_mark
        here = lines[mark.line] if mark.line < len(lines) else ""
        if not here[mark.column :].startswith("!") and self.node.tag in _IMPLICIT_TAGS:  # no tag written
            return f"{shown!r} looks like {kind} but is not a valid one ({reason}); put quotes around it to keep it as text"
        tag = str(self.node.tag).replace("tag:yaml.org,2002:", "!!")
        return f"{shown!r} cannot be read as {kind}; fix the value or remove the {tag!r} tag"


_TAG_KINDS = {
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:binary": "base64 binary data",
}
_IMPLICIT_TAGS = frozenset(_TAG_KINDS) - {"tag:yaml.org,2002:binary"}


class DuplicateKey(Exception):
    def __init__(self, key: Any, first: yaml.Node, again: yaml.Node) -> None:
        super().__init__(key)
        self.key, self.first, self.again = key, first, again


# Booleans as YAML 1.2 has them: only true and false. YAML 1.1 also reads yes, no, on and off as
# booleans, which turns a retry policy's `on:` key into True and a country code NO into False.
_BOOL = "tag:yaml.org,2002:bool"
StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in StrictLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
