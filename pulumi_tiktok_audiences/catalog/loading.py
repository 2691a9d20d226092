"""Reading a catalog file: bytes to YAML data, with the line of every key and list item.

Problems are reported as ``file:line: property.path: message``; the lines recorded here let
validation map each pydantic location back onto the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

import yaml

from pulumi_tiktok_audiences.spec import property_path

__all__ = ["MAX_CATALOG_BYTES", "Document", "Loc", "Problem", "decode", "parse"]

Loc = tuple[int | str, ...]
"""A location in the document, as pydantic names it: keys and list indexes."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a catalog, where it is and what is allowed.

    An ``error`` refuses the catalog; a ``warning`` (almost surely a mistake, but deployable) does not.
    """

    file: str
    line: int
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" + (": warning" if self.severity == "warning" else "")
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


MAX_CATALOG_BYTES: Final = 1024 * 1024
"""Larger files are refused unread: 400 audiences per ad account (TikTok's cap) take about 80 kB,
and parsing YAML costs seconds per megabyte."""
_MAX_NODES: Final = 500_000
"""YAML aliases may repeat a node many times (``&a [*b, *b]`` ...): stop building beyond this."""


class _TooLargeError(Exception):
    """The document expands (through aliases) beyond _MAX_NODES."""


@dataclass
class Document:
    """A parsed YAML file and the line of every mapping key and list item, by location."""

    file: str
    data: Any = None
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    nodes: int = 0

    def line(self, loc: Loc) -> int:
        """The line of ``loc``, or of its nearest enclosing node that exists in the file."""
        for end in range(len(loc), -1, -1):
            found = self.lines.get(loc[:end])
            if found is not None:
                return found
        return 1

    def problem(self, loc: Loc, message: str, severity: Literal["error", "warning"] = "error") -> Problem:
        return Problem(self.file, self.line(loc), property_path(loc), message, severity)


def decode(data: bytes, file: str) -> str | Problem:
    """Catalog text from a file's bytes, or the problem that stops it being read (size, encoding)."""
    if len(data) > MAX_CATALOG_BYTES:
        return Problem(
            file,
            1,
            "",
            f"the file is larger than {MAX_CATALOG_BYTES // 1024} kB, far more than a catalog needs "
            "(400 audiences per ad account take about 80 kB): check that this is the catalog",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return Problem(
            file,
            line,
            "",
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}): "
            "save it as UTF-8 in your editor",
        )


_FAST_LOADER: Final[type[yaml.SafeLoader]] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when installed: twice as fast; its syntax errors are terser, so those are re-read in Python."""


def parse(text: str, file: str, loader_class: type[yaml.SafeLoader] = _FAST_LOADER) -> Document:
    doc = Document(file)
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.lines[()] = node.start_mark.line + 1
            doc.data = _build(loader, node, (), doc, frozenset())
    except yaml.MarkedYAMLError as exc:
        if loader_class is not yaml.SafeLoader:
            return parse(text, file, yaml.SafeLoader)
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        if "\t" in (text.splitlines()[line - 1 : line] or [""])[0]:
            reason = "a tab in the indentation: use spaces, not tabs (YAML does not allow tabs there)"
        doc.problems.append(Problem(file, line, "", f"YAML syntax error: {reason}"))
        doc.data = None
    except yaml.YAMLError as exc:
        doc.problems.append(Problem(file, 1, "", f"YAML syntax error: {exc}"))
        doc.data = None
    except _TooLargeError:
        message = (
            f"YAML aliases (*name) repeat parts of the file more than {_MAX_NODES:,} times: "
            "write the values out instead"
        )
        doc.problems.append(Problem(file, 1, "", message))
        doc.data = None
    finally:
        loader.dispose()
    return doc


def _build(loader: yaml.SafeLoader, node: yaml.Node, loc: Loc, doc: Document, within: frozenset[int]) -> Any:
    """Python data from ``node``, recording lines; a repeated key is a problem (YAML keeps the last).

    ``within`` holds the nodes being built around this one: an alias to one of them would repeat
    forever, so it is a problem rather than a RecursionError.
    """
    doc.nodes += 1
    if doc.nodes > _MAX_NODES:
        raise _TooLargeError
    if id(node) in within:
        line = node.start_mark.line + 1
        message = "a YAML alias (*name) refers to a value that contains it: write the value out"
        doc.problems.append(Problem(doc.file, line, property_path(loc), message))
        return None
    within = within | {id(node)}
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # merge keys (<<: *defaults)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool):
                doc.problems.append(Problem(doc.file, line, property_path(loc), "keys must be plain text"))
                continue
            where = (*loc, key if isinstance(key, int | str) else str(key))  # as pydantic will name it
            if key in result:
                message = f"duplicate key {key!r}: it is already defined on line {doc.lines[where]}"
                doc.problems.append(Problem(doc.file, line, property_path(where), message))
                continue
            doc.lines[where] = line
            result[key] = _build(loader, value_node, where, doc, within)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            doc.lines[(*loc, index)] = item.start_mark.line + 1
            items.append(_build(loader, item, (*loc, index), doc, within))
        return items
    return loader.construct_object(node, deep=True)
