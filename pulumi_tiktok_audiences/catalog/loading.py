"""Reading a catalog file: bytes to YAML data, with the line of every key and list item.

Problems are reported as ``file:line: property.path: message``; the lines recorded here let
validation map each pydantic location back onto the file.

Strict YAML: PyYAML reads YAML 1.1, where ``030`` is octal 24, ``0x1E`` is 30, ``1_000`` is 1000
and ``no`` is false, while YAML 1.2 readers (and people) read them otherwise. Every unquoted value
that YAML did not read as text is kept as a :class:`Scalar` (what was written, what was read), so
validation can refuse those readings and say how to write the value; syntax errors are reported
on the line where the mistake is, in plain words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import yaml

from pulumi_tiktok_audiences.spec import property_path

__all__ = ["MAX_CATALOG_BYTES", "Document", "Loc", "Problem", "Scalar", "decode", "parse"]

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


_BOOL_WORDS: Final = {"yes": True, "no": False, "on": True, "off": False, "y": True, "n": False}
"""YAML 1.1's booleans besides true and false (PyYAML reads y and n as text; YAML 1.1 says booleans)."""


@dataclass(frozen=True)
class Scalar:
    """An unquoted value that YAML did not read as text (or, for ``y``/``n``, that YAML 1.1 does not):
    what was written and what PyYAML read."""

    text: str
    value: Any

    def read_as(self) -> str:
        """What YAML made of the text, in words: "octal 24", "false", "the number 12", "a date"."""
        word = _BOOL_WORDS.get(self.text.lower())
        if word is not None or isinstance(self.value, bool):
            return "true" if (self.value if word is None else word) else "false"
        if self.value is None:
            return "nothing (an empty value)"
        if isinstance(self.value, int | float):
            return self._number_form() or f"the number {self.value}"
        return f"a {type(self.value).__name__}"  # date, datetime

    def yaml11_only(self) -> bool:
        """Read so only by YAML 1.1 (a YAML 1.2 reader or a person reads it otherwise): refused."""
        return self.text.lower() in _BOOL_WORDS or (
            isinstance(self.value, int | float)
            and not isinstance(self.value, bool)
            and bool(self._number_form())
        )

    def number_fix(self) -> str:
        """How to write the number meant, for a field that takes a number."""
        digits = self.text.lstrip("+").replace("_", "")
        meant = int(digits, 10) if re.fullmatch(r"-?[0-9]+", digits) else self.value
        if self.text.startswith("+"):
            return f"`{self.text}`: no sign here; write {meant}"
        return f"`{self.text}` is read by YAML 1.1 as {self.read_as()}; write {meant}"

    def key_fix(self) -> str:
        """What is wrong with this text as a mapping key (stack names, audience keys, app ids are text)."""
        read = f"YAML{' 1.1' if self.yaml11_only() else ''} as {self.read_as()}"
        return f'the key `{self.text}` is read by {read}, not as text; write it in quotes: "{self.text}":'

    def text_fix(self, loc: Loc) -> str:
        """How to write the text meant, for a field that takes text."""
        key = f"{loc[-1]}: " if loc and isinstance(loc[-1], str) else ""
        return f'write it in quotes: {key}"{self.text}"'

    def _number_form(self) -> str | None:
        digits = self.text.lstrip("+-")
        prefix = digits[:2].lower()
        if prefix == "0x":
            return f"hexadecimal {self.value}"
        if prefix == "0b":
            return f"binary {self.value}"
        if ":" in digits:
            return f"{self.value} (minutes:seconds, base 60)"
        if isinstance(self.value, int) and len(digits) > 1 and digits.startswith("0"):
            return f"octal {self.value}"
        if "_" in digits or self.text.startswith("+"):
            return f"{self.value}"
        return None


class _TooLargeError(Exception):
    """The document expands (through aliases) beyond _MAX_NODES."""


@dataclass
class Document:
    """A parsed YAML file and the line of every mapping key and list item, by location."""

    file: str
    data: Any = None
    lines: dict[Loc, int] = field(default_factory=dict)
    scalars: dict[Loc, Scalar] = field(default_factory=dict)
    """Unquoted values YAML did not read as text, by location (see :class:`Scalar`)."""
    keys: dict[Loc, Scalar] = field(default_factory=dict)
    """Unquoted mapping keys YAML did not read as text (``off:``, ``0x1E:``), by the location they name."""
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

    def key_problem(self, loc: Loc) -> Problem:
        """The key at ``loc`` is not text: named as written (``stacks.off``; pydantic says ``stacks[0]``)."""
        key = self.keys[loc]
        return Problem(self.file, self.line(loc), property_path((*loc[:-1], key.text)), key.key_fix())


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
        line, reason = _syntax_error(exc, text.splitlines())
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


def _syntax_error(exc: yaml.MarkedYAMLError, lines: list[str]) -> tuple[int, str]:
    """The line where the mistake is and what to do, in plain words.

    PyYAML notices many mistakes only at the next token: a bracket or quote left open at the end of
    the file, a key without its colon on the line after. Those are moved to the line that holds the
    mistake; PyYAML's wording is kept only for what is not recognised here.
    """
    problem, context = exc.problem or "", exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    at = lines[line - 1] if 0 < line <= len(lines) else ""
    opened = exc.context_mark.line + 1 if exc.context_mark else line
    if "\t" in at:
        return line, "a tab in the indentation: use spaces, not tabs (YAML does not allow tabs there)"
    if "quoted scalar" in context and exc.context_mark is not None:
        column = exc.context_mark.column
        quote = (lines[opened - 1 : opened] or [""])[0][column : column + 1] or "a quote"
        return opened, f"the quoted value that starts here is not closed: end it with {quote}"
    if "flow" in context:
        unclosed = _unclosed_bracket(lines)
        if unclosed is not None and (problem.endswith("'<stream end>'") or unclosed[1] < line):
            bracket, where = unclosed
            closing = "]" if bracket == "[" else "}"
            return (
                where,
                f"the {bracket} opened on this line is never closed: add {closing} after its last item",
            )
        return line, "a comma is missing between two items of a [ ] or { } list, or a bracket is out of place"
    if problem == "mapping values are not allowed here":
        first = at.find(":")
        previous = _previous_line(lines, line)
        if mark is not None and first == mark.column and previous is not None:  # this line's key colon
            number, text = previous
            return number, (
                f"`{text.strip()}` is not `key: value`: a key needs a colon and a space after it (YAML "
                "read this line and the next as one value)"
            )
        key, value = at[:first].strip(), at[first + 1 :].strip()
        return line, f'a value holding ": " (a colon and a space) must be in quotes: {key}: "{value}"'
    if "could not find expected ':'" in problem:
        return opened, "this line has no `key: value`: a key needs a colon and a space after it"
    if problem.startswith("expected <block end>"):
        if problem.endswith("'-'"):
            return line, "a list item (-) where a key was expected: check the indentation of this line"
        return line, "the indentation of this line does not fit the lines above: line it up with its siblings"
    if problem.startswith("found undefined alias"):
        name = problem.rsplit(" ", 1)[-1].strip("'")
        return line, (
            f"*{name} refers to an anchor &{name} that is not defined above: define it, or put the value "
            "in quotes if the * belongs to the text"
        )
    if "cannot start any token" in problem:
        character = problem.split("'")[1] if "'" in problem else "this character"
        return line, f"a value cannot start with {character}: put the value in quotes"
    if "single document" in context:
        return line, "the file holds more than one YAML document (---): keep one catalog per file"
    return line, " ".join(part for part in (context, problem) if part)


def _previous_line(lines: list[str], line: int) -> tuple[int, str] | None:
    """The last line before ``line`` that holds something (not blank, not only a comment)."""
    for number in range(line - 1, 0, -1):
        text = lines[number - 1]
        if text.strip() and not text.strip().startswith("#"):
            return number, text
    return None


def _unclosed_bracket(lines: list[str]) -> tuple[str, int] | None:
    """The innermost [ or { still open at the end of the file, and its line (quotes and comments skipped)."""
    stack: list[tuple[str, int]] = []
    for number, text in enumerate(lines, 1):
        quote = ""
        for index, char in enumerate(text):
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"" and (index == 0 or text[index - 1] in " \t[{,:"):
                quote = char
            elif char == "#" and (index == 0 or text[index - 1] in " \t"):
                break
            elif char in "[{":
                stack.append((char, number))
            elif char in "]}" and stack:
                stack.pop()
    return stack[-1] if stack else None


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
            if not key_node.style and (not isinstance(key, str) or key.lower() in _BOOL_WORDS):
                doc.keys[where] = Scalar(key_node.value, key)
            result[key] = _build(loader, value_node, where, doc, within)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            doc.lines[(*loc, index)] = item.start_mark.line + 1
            items.append(_build(loader, item, (*loc, index), doc, within))
        return items
    value = loader.construct_object(node, deep=True)
    unquoted = isinstance(node, yaml.ScalarNode) and not node.style  # None, or "" from libyaml
    if unquoted and (not isinstance(value, str) or node.value.lower() in _BOOL_WORDS):
        doc.scalars[loc] = Scalar(node.value, value)
    return value
