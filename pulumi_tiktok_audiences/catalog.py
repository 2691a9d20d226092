"""Audience catalogs: App Activity audiences as a reviewed YAML file, one file for every stack.

Marketers propose audiences in ``audiences.yaml`` without writing Python; reviewers read the diff,
``tiktok-audiences validate`` and ``explain`` check and describe it offline, and a Pulumi program
declares everything in it with :func:`load_catalog`::

    advertiser_id: "7000000000000000001"      # defaults for every audience and stack
    app_ids: ["6400000001"]
    stacks:                                   # every stack; each may override the defaults
      dev: {}
      prod: {advertiser_id: "7000000000000000002", app_ids: ["6400000002"]}
    audiences:                                # key: the Pulumi resource name (and default name)
      lapsed-purchasers:
        name: Lapsed purchasers
        include: [{event: PURCHASE, lookback_days: 30}]
        exclude: [{event: PURCHASE, lookback_days: 7}]
        stacks:
          prod: {adopt_audience_id: "7300000000000000042"}

An audience takes :class:`~pulumi_tiktok_audiences.spec.AudienceSpec`'s fields (the field rules
are the spec's own, reused here, never restated), plus ``adopt_audience_id`` and ``stacks``.
For a stack, ``advertiser_id`` and ``app_ids`` come from the first that sets them: the audience's
``stacks.<stack>``, the audience, the catalog's ``stacks.<stack>``, the catalog's top level.
``adopt_audience_id`` may sit on the audience (every stack) or under its ``stacks.<stack>``.

Problems are reported as ``file:line: property.path: message``: the YAML is parsed with the line
of every key and list item recorded, and each pydantic location is mapped back onto it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.errors import TikTokAudiencesError

# StrictModel: the spec's base, frozen, refusing unknown fields with "did you mean" and a listing.
from pulumi_tiktok_audiences.spec import (
    AppEvent,
    AudienceSpec,
    EventRule,
    StrictModel,
    covered_includes,
    property_path,
)

if TYPE_CHECKING:
    import pulumi

    from pulumi_tiktok_audiences.resources import AppActivityAudience

__all__ = [
    "KEY_PATTERN",
    "MAX_CATALOG_BYTES",
    "AudienceChange",
    "Catalog",
    "CatalogAudience",
    "CatalogError",
    "Problem",
    "ResolvedCatalog",
    "StackDiff",
    "decode",
    "diff_catalogs",
    "json_schema",
    "load_catalog",
    "resolve_bytes",
    "resolve_catalog",
    "resolve_text",
    "schema_text",
]

_Loc = tuple[int | str, ...]

_PLACED: Final = ("advertiser_id", "app_ids")
"""The fields that a stack may set for all its audiences."""

KEY_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
"""Audience keys and stack names: what Pulumi accepts in resource and stack names, without surprises."""


class CatalogError(TikTokAudiencesError):
    """A catalog has problems; the message lists each as ``file:line: path: message``."""


# --- The file's models ------------------------------------------------------------------------


def _key(value: str) -> str:
    if not re.fullmatch(KEY_PATTERN, value):
        raise PydanticCustomError(
            "key",
            "a key must start with a letter or digit and hold only letters, digits, '-', '_' and '.'; "
            f"got {value!r}",
        )
    return value


def _id_text(value: object) -> object:
    """YAML reads an unquoted id as a number; ids are text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _audience_id(value: str) -> str:
    if not value.isascii() or not value.isdigit():
        raise PydanticCustomError(
            "audience_id",
            f"must be a TikTok audience id (digits only), e.g. '7300000000000000001'; got {value!r}",
        )
    return value


_Key = Annotated[str, AfterValidator(_key), WithJsonSchema({"type": "string", "pattern": KEY_PATTERN})]
_AudienceId = Annotated[
    str,
    BeforeValidator(_id_text),
    AfterValidator(_audience_id),
    WithJsonSchema({"type": ["string", "integer"], "pattern": "^[0-9]+$", "minimum": 1}),
]


def _spec_field(name: str, **overrides: Any) -> tuple[Any, FieldInfo]:
    """An AudienceSpec field as is (type, validators, limits, description), or with ``overrides``."""
    info = AudienceSpec.model_fields[name]
    return info.annotation, FieldInfo.merge_field_infos(info, **overrides)


def _model(name: str, doc: str, fields: dict[str, Any]) -> type[BaseModel]:
    return create_model(name, __base__=StrictModel, __doc__=doc, **fields)


_PLACEMENT_FIELDS: Final[dict[str, Any]] = {
    "advertiser_id": _spec_field("advertiser_id", default=None),
    "app_ids": _spec_field("app_ids"),
}
_ADOPT_FIELD: Final[dict[str, Any]] = {
    "adopt_audience_id": (
        _AudienceId | None,
        Field(
            default=None,
            description=(
                "Take over this existing TikTok audience instead of creating one (it must have these "
                "rules; only the name may differ, and is then renamed)."
            ),
        ),
    )
}

Placement = _model(
    "Placement", "Where a stack's audiences live: its ad account and its default apps.", _PLACEMENT_FIELDS
)
StackOverride = _model(
    "StackOverride",
    "One audience in one stack: another ad account, other apps, or an audience to adopt there.",
    {**_PLACEMENT_FIELDS, **_ADOPT_FIELD},
)


def _keyed(model: type[BaseModel], description: str, *, empty_ok: bool = False, **extra: Any) -> Any:
    """A ``{key: model}`` field; editors flag keys that break KEY_PATTERN too."""
    value = model | None if empty_ok else model
    return (
        dict.__class_getitem__((_Key, value)),
        Field(description=description, json_schema_extra={"additionalProperties": False}, **extra),
    )


CatalogAudienceEntry = _model(
    "CatalogAudienceEntry",
    "An App Activity audience: AudienceSpec's fields, with advertiser and apps per stack.",
    {
        **{name: _spec_field(name) for name in AudienceSpec.model_fields if name not in _PLACED},
        "name": _spec_field("name", default=None, description="The name in Ads Manager; default: the key."),
        **_PLACEMENT_FIELDS,
        **_ADOPT_FIELD,
        "stacks": _keyed(
            StackOverride,
            "Overrides for single stacks (named in the top-level stacks).",
            empty_ok=True,
            default_factory=dict,
        ),
    },
)
Catalog = _model(
    "Catalog",
    "TikTok App Activity audiences of one Pulumi project, for each of its stacks.",
    {
        **_PLACEMENT_FIELDS,
        "stacks": _keyed(
            Placement,
            "Every stack of the project; each may override advertiser_id and app_ids.",
            empty_ok=True,
            default_factory=dict,
        ),
        "audiences": _keyed(
            CatalogAudienceEntry, "The audiences by key: the Pulumi resource name, and the default name."
        ),
    },
)


def _event_pattern() -> str:
    """A regular expression for every spelling AppEvent.parse accepts (JSON Schema has no ignore-case).

    Words in any case, joined by any run of spaces, '_' or '-': 'purchase', 'add-to-cart',
    'App Add To Cart'. A test checks that it accepts exactly what the spec accepts.
    """
    separator = r"[\s_-]+"
    spellings = {tuple(re.split(separator, text)) for e in AppEvent for text in (e.name, e.value)}
    alternatives = sorted(
        separator.join(
            "".join(f"[{ch.upper()}{ch.lower()}]" if ch.isalpha() else ch for ch in w) for w in words
        )
        for words in spellings
    )
    return rf"^[\s_-]*(?:{'|'.join(alternatives)})[\s_-]*$"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a catalog file (shipped as ``audiences.schema.json`` for editors)."""
    schema = Catalog.model_json_schema()
    # The spec accepts an event's member name (ADD_TO_CART), TikTok's wire string ("APP ADD TO CART")
    # and their variants in any case; its schema lists only the wire strings, so editors would flag
    # the rest. The listing stays for completion; the pattern accepts every spelling.
    events = schema["$defs"][AppEvent.__name__]
    names = list(dict.fromkeys([*(e.value for e in AppEvent), *(e.name for e in AppEvent)]))
    events.clear()
    events.update(
        {
            "anyOf": [{"enum": names}, {"type": "string", "pattern": _event_pattern()}],
            "description": "An App Activity event: TikTok's string or the AppEvent member name, in any case.",
            "title": AppEvent.__name__,
        }
    )
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text() -> str:
    """The schema as the shipped file holds it."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


# --- Parsing with line numbers ----------------------------------------------------------------


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
class _Document:
    """A parsed YAML file and the line of every mapping key and list item, by location."""

    file: str
    data: Any = None
    lines: dict[_Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    nodes: int = 0

    def line(self, loc: _Loc) -> int:
        """The line of ``loc``, or of its nearest enclosing node that exists in the file."""
        for end in range(len(loc), -1, -1):
            found = self.lines.get(loc[:end])
            if found is not None:
                return found
        return 1

    def problem(self, loc: _Loc, message: str, severity: Literal["error", "warning"] = "error") -> Problem:
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


def _parse(text: str, file: str, loader_class: type[yaml.SafeLoader] = _FAST_LOADER) -> _Document:
    doc = _Document(file)
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.lines[()] = node.start_mark.line + 1
            doc.data = _build(loader, node, (), doc, frozenset())
    except yaml.MarkedYAMLError as exc:
        if loader_class is not yaml.SafeLoader:
            return _parse(text, file, yaml.SafeLoader)
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


def _build(
    loader: yaml.SafeLoader, node: yaml.Node, loc: _Loc, doc: _Document, within: frozenset[int]
) -> Any:
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


# --- Resolution -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogAudience:
    """One audience of a catalog, resolved for one stack."""

    key: str
    spec: AudienceSpec
    adopt_audience_id: str | None = None


@dataclass(frozen=True)
class ResolvedCatalog:
    """A catalog resolved for its stacks: the audiences of each, and every problem found.

    ``stacks`` holds None when the catalog declares no stacks and none was asked for: its
    audiences then serve any stack. ``problems`` refuse the catalog; ``warnings`` do not.
    """

    file: str
    stacks: tuple[str | None, ...]
    audiences: Mapping[str | None, Mapping[str, CatalogAudience]]
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()

    def report(self) -> tuple[Problem, ...]:
        """Problems and warnings together, in file order."""
        return tuple(sorted((*self.problems, *self.warnings)))


_NOT_SPEC: Final = ("stacks", "adopt_audience_id")


def resolve_catalog(path: str | Path, stack: str | None = None) -> ResolvedCatalog:
    """Check a catalog file and resolve it for ``stack`` (default: every stack it declares).

    Pure: no Pulumi, no network. Problems come back in the result, never as an exception
    (a missing or unreadable file raises OSError). A file over MAX_CATALOG_BYTES is not read.
    """
    with open(path, "rb") as stream:
        return resolve_bytes(stream.read(MAX_CATALOG_BYTES + 1), str(path), stack)


def resolve_bytes(data: bytes, file: str, stack: str | None = None) -> ResolvedCatalog:
    """:func:`resolve_catalog` for a file's bytes (standard input, a git revision)."""
    text = decode(data, file)
    if isinstance(text, Problem):
        return ResolvedCatalog(file, (), {}, (text,))
    return resolve_text(text, file, stack)


def resolve_text(text: str, file: str, stack: str | None = None) -> ResolvedCatalog:
    """:func:`resolve_catalog` for catalog text; ``file`` names it in problems."""
    doc = _parse(text, file)
    if doc.data is None and doc.problems:  # unreadable: a syntax error
        return ResolvedCatalog(file, (), {}, tuple(doc.problems))
    return _Resolver(doc).run(stack)


_MATCH_HELP: Final = (
    "match takes 'any' (the default) or 'all', got {got!r}. TikTok combines include rules with OR "
    "only: a person who did any one include event is in the audience. For people who did one thing "
    "and not another, include the first and exclude the second (include ADD_TO_CART, exclude "
    "PURCHASE: cart abandoners)."
)


def _readable(error: ErrorDetails) -> str:
    """Pydantic's message, or one a marketer can act on where pydantic's is terse."""
    name = next((str(part) for part in reversed(error["loc"]) if part != "[key]"), "")
    if error["type"] == "missing":
        return f"{name} is required"
    if name == "match" and error["type"] == "literal_error":
        return _MATCH_HELP.format(got=error["input"])
    return error["msg"]


def _rule_words(rule: EventRule) -> str:
    return f"{rule.event.name} in the last {rule.lookback_days} days"


class _Resolver:
    def __init__(self, doc: _Document) -> None:
        self.doc = doc
        self.problems: list[tuple[Problem, str | None]] = [(problem, None) for problem in doc.problems]

    def run(self, stack: str | None) -> ResolvedCatalog:
        catalog = self._validated()
        if catalog is None:
            return self._result((), {})
        declared = list(catalog.get("stacks", {}))
        if stack is not None and declared and stack not in declared:
            self._add(("stacks",), f"stack {stack!r} is not declared here; {_listing('declared', declared)}")
            return self._result((stack,), {})
        stacks: tuple[str | None, ...] = (stack,) if stack is not None else (*declared,) or (None,)
        entries: dict[str, dict[str, Any]] = catalog["audiences"]
        for key, entry in entries.items():
            self._check_stack_names(key, entry, declared)
        resolved = {
            name: {
                key: found
                for key, entry in entries.items()
                if (found := self._resolve(catalog, key, entry, name)) is not None
            }
            for name in stacks
        }
        self._check_adoptions(resolved)
        for name, audiences in resolved.items():
            self._check_stack(name, audiences)
        return self._result(stacks, resolved)

    def _check_stack(self, stack: str | None, audiences: Mapping[str, CatalogAudience]) -> None:
        """What TikTok refuses, or what is almost surely a mistake, among one stack's audiences."""
        by_advertiser: dict[str, list[str]] = defaultdict(list)
        identical: dict[str, str] = {}
        named: dict[tuple[str, str], str] = {}
        for key, audience in audiences.items():
            spec = audience.spec
            by_advertiser[spec.advertiser_id].append(key)
            self._check_rules(key, spec, stack)
            same = identical.setdefault(json.dumps([spec.name, spec.replacement_key()]), key)
            label = named.setdefault((spec.advertiser_id, " ".join(spec.name.casefold().split())), key)
            if same != key:
                message = (
                    f"the same audience as audiences.{same} (same ad account, name and rules, written "
                    "differently): TikTok would hold two copies, and a deployment may take one for the "
                    "other; remove one of them"
                )
                self._add(("audiences", key), message, stack)
            elif label != key:
                message = (
                    f"the name {spec.name!r} is also used by audiences.{label} in the same ad account: "
                    "Ads Manager would list two audiences under one name; give each its own name"
                )
                self._add(("audiences", key, "name"), message, stack, "warning")
        cap = c.AUDIENCES_PER_ADVERTISER_MAX
        for advertiser, keys in by_advertiser.items():
            if len(keys) > cap:
                message = (
                    f"ad account {advertiser} would get {len(keys)} audiences from this catalog; TikTok "
                    f"allows at most {cap} custom audiences per ad account (counting those made "
                    "elsewhere): remove some, or move some to another ad account"
                )
                self._add(("audiences", keys[cap]), message, stack)

    def _check_rules(self, key: str, spec: AudienceSpec, stack: str | None) -> None:
        """Include rules that add nobody: an always-empty audience is refused, a dead rule warned of."""
        covered = dict(reversed(covered_includes(spec.include, spec.exclude, spec.app_ids)))  # first wins
        empty = len(covered) == len(spec.include)
        for index, by in sorted(covered.items()):
            included, excluded = _rule_words(spec.include[index]), _rule_words(spec.exclude[by])
            if empty:
                message = (
                    f"this audience is always empty: everyone it includes ({included}) is left out by "
                    f"exclude[{by}] ({excluded}). Exclude a shorter window than you include: include "
                    "PURCHASE 30 days and exclude PURCHASE 7 days for people who purchased in the last "
                    "30 days but not the last 7"
                )
            else:
                message = (
                    f"this rule adds nobody: everyone it includes ({included}) is left out by "
                    f"exclude[{by}] ({excluded}); remove the rule or shorten the exclude's window"
                )
            severity: Literal["error", "warning"] = "error" if empty else "warning"
            self._add(("audiences", key, "include", index), message, stack, severity)

    def _add(
        self,
        loc: _Loc,
        message: str,
        stack: str | None = None,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        self.problems.append((self.doc.problem(loc, message, severity), stack))

    def _result(
        self, stacks: tuple[str | None, ...], audiences: Mapping[str | None, Mapping[str, CatalogAudience]]
    ) -> ResolvedCatalog:
        """Problems found in only some of several stacks say which."""
        by_problem: dict[Problem, set[str | None]] = defaultdict(set)
        for problem, stack in self.problems:
            by_problem[problem].add(stack)
        problems = []
        for problem, where in by_problem.items():
            named = sorted(s for s in where if s is not None)
            if len(stacks) > 1 and None not in where and len(named) < len(stacks):
                label = "stack" if len(named) == 1 else "stacks"
                problem = replace(problem, message=f"{problem.message} (in {label} {', '.join(named)})")
            problems.append(problem)
        errors = sorted(p for p in problems if p.severity == "error")
        warnings = sorted(p for p in problems if p.severity == "warning")
        return ResolvedCatalog(self.doc.file, stacks, audiences, tuple(errors), tuple(warnings))

    def _validated(self) -> dict[str, Any] | None:
        """The catalog's data, validated; audiences with field errors are reported and left out."""
        data = self.doc.data
        if not isinstance(data, dict):
            self._add(
                (), "a catalog is a YAML mapping with an 'audiences' mapping (see `tiktok-audiences schema`)"
            )
            return None
        try:
            return Catalog.model_validate(data).model_dump(exclude_unset=True)
        except ValidationError as exc:
            failed: set[str] = set()
            for error in exc.errors():
                loc = tuple(error["loc"])
                message = _readable(error)
                if loc[-1:] == ("[key]",):
                    loc = loc[:-1]
                if loc[:1] != ("audiences",) or len(loc) < 2:
                    failed.add("")  # outside any one audience: nothing can be resolved
                else:
                    failed.add(str(loc[1]))
                self._add(loc, message)
        if "" in failed:
            return None
        rest = {**data, "audiences": {k: v for k, v in data["audiences"].items() if str(k) not in failed}}
        return Catalog.model_validate(rest).model_dump(exclude_unset=True)  # valid: its parts were

    def _check_stack_names(self, key: str, entry: dict[str, Any], declared: list[str]) -> None:
        """Overrides for an undeclared stack are reported; the audience still resolves without them."""
        for name in (name for name in entry.get("stacks", {}) if name not in declared):
            close = difflib.get_close_matches(name, declared, 1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            self._add(
                ("audiences", key, "stacks", name),
                f"stack {name!r} is not in the catalog's top-level stacks: "
                f"{hint}{_listing('declared', declared)}",
            )

    def _resolve(
        self, catalog: dict[str, Any], key: str, entry: dict[str, Any], stack: str | None
    ) -> CatalogAudience | None:
        """The entry's spec for ``stack``, or None after reporting why it is invalid there."""
        entry_stack = (entry.get("stacks", {}).get(stack) or {}) if stack is not None else {}
        catalog_stack = (catalog.get("stacks", {}).get(stack) or {}) if stack is not None else {}
        layers: list[tuple[dict[str, Any], _Loc]] = [
            (entry_stack, ("audiences", key, "stacks", str(stack))),
            (entry, ("audiences", key)),
            (catalog_stack, ("stacks", str(stack))),
            (catalog, ()),
        ]
        data = {k: v for k, v in entry.items() if k not in _NOT_SPEC and k not in _PLACED}
        data.setdefault("name", key)
        source: dict[str, _Loc] = {}
        for name in _PLACED:
            for values, loc in layers:
                if values.get(name) is not None:
                    data[name], source[name] = values[name], (*loc, name)
                    break
        try:
            spec = AudienceSpec.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                head = str(loc[0]) if loc else ""
                where = (*source[head], *loc[1:]) if head in source else ("audiences", key, *loc)
                message = _readable(error)
                if loc == ("advertiser_id",) and error["type"] == "missing":
                    message = (
                        "no advertiser_id for this audience: set advertiser_id at the top of the catalog, "
                        "under stacks.<stack>, or on the audience"
                    )
                self._add(where, message, stack)
            return None
        adopt = entry_stack.get("adopt_audience_id") or entry.get("adopt_audience_id")
        return CatalogAudience(key, spec, adopt)

    def _check_adoptions(self, resolved: Mapping[str | None, Mapping[str, CatalogAudience]]) -> None:
        """One TikTok audience can belong to one resource of one stack only."""
        first: dict[str, tuple[str | None, str]] = {}
        for stack, audiences in resolved.items():
            for key, audience in audiences.items():
                if audience.adopt_audience_id is None:
                    continue
                owner = first.setdefault(audience.adopt_audience_id, (stack, key))
                if owner == (stack, key):
                    continue
                other_stack, other_key = owner
                if other_key == key:
                    message = (
                        f"audience {audience.adopt_audience_id} is adopted in stacks {other_stack} and "
                        f"{stack}, but a TikTok audience belongs to one stack: put adopt_audience_id under "
                        "this audience's stacks.<stack>"
                    )
                else:
                    in_stack = f" in stack {other_stack}" if other_stack not in (None, stack) else ""
                    message = (
                        f"audience {audience.adopt_audience_id} is already adopted by "
                        f"audiences.{other_key}{in_stack}: one TikTok audience can be managed by one "
                        "resource only"
                    )
                self._add(self._adopt_loc(key, stack), message, stack)

    def _adopt_loc(self, key: str, stack: str | None) -> _Loc:
        scoped: _Loc = ("audiences", key, "stacks", str(stack), "adopt_audience_id")
        return scoped if scoped in self.doc.lines else ("audiences", key, "adopt_audience_id")


def _listing(what: str, names: Sequence[str]) -> str:
    return f"{what}: {', '.join(names)}" if names else f"none {what}"


# --- A reviewer's diff ------------------------------------------------------------------------

ChangeKind = Literal["add", "adopt", "rename", "replace", "delete"]


@dataclass(frozen=True)
class AudienceChange:
    """What deploying the head catalog does to one audience of one stack.

    ``rename`` is any in-place update (a new name, or NORMAL to REACH_FREQUENCY); ``replace``
    creates a new audience, moves dependents to its id and deletes the old one, for ``reasons``.
    """

    key: str
    kind: ChangeKind
    before: CatalogAudience | None
    after: CatalogAudience | None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackDiff:
    """The changes of one stack (None: a catalog without stacks) and the audiences left as they are."""

    stack: str | None
    changes: tuple[AudienceChange, ...]
    unchanged: tuple[str, ...]
    removed: bool = False
    """The stack is no longer in the head catalog (its program then fails; nothing is deleted)."""


def _replacement_reason(field_name: str, old: AudienceSpec, new: AudienceSpec) -> str:
    """Why a change of ``field_name`` (one of spec.REPLACE_FIELDS) needs a new audience, in words."""
    fixed = "TikTok cannot edit an audience's rules"
    reasons = {
        "advertiser_id": f"it moves from ad account {old.advertiser_id} to {new.advertiser_id}",
        "app_ids": f"its apps change ({fixed})",
        "include": f"who it includes changes ({fixed})",
        "exclude": f"who it leaves out changes ({fixed})",
        "auto_refresh": (
            f"auto_refresh changes from {old.auto_refresh} to {new.auto_refresh} "
            "(TikTok fixes it when the audience is created)"
        ),
        "retention_in_days": (
            f"retention_in_days changes from {old.retention_in_days} to {new.retention_in_days} "
            "(TikTok fixes the expiry when the audience is created)"
        ),
        "audience_sub_type": (
            f"audience_sub_type changes from {old.audience_sub_type} to {new.audience_sub_type} "
            "(TikTok only moves NORMAL to REACH_FREQUENCY in place)"
        ),
    }
    return reasons.get(field_name, f"{field_name} changes")


def _audiences_for(resolved: ResolvedCatalog, stack: str | None) -> Mapping[str, CatalogAudience]:
    """A stack's audiences; a catalog without stacks serves every stack."""
    if stack in resolved.audiences:
        return resolved.audiences[stack]
    return resolved.audiences.get(None, {}) if resolved.stacks == (None,) else {}


def diff_catalogs(base: ResolvedCatalog, head: ResolvedCatalog) -> list[StackDiff]:
    """What deploying ``head`` over ``base`` does, per stack, decided as the provider's diff decides.

    Audiences are matched by key (the Pulumi resource name): a new key is a new audience.
    """
    stacks = list(dict.fromkeys([*head.stacks, *base.stacks]))
    if len(stacks) > 1 and None in stacks:  # one side without stacks serves those of the other
        stacks.remove(None)
    result = []
    for stack in stacks:
        old, new = _audiences_for(base, stack), _audiences_for(head, stack)
        changes: list[AudienceChange] = []
        unchanged: list[str] = []
        for key in dict.fromkeys([*new, *old]):
            before, after = old.get(key), new.get(key)
            if after is None:
                changes.append(AudienceChange(key, "delete", before, None))
            elif before is None:
                kind: ChangeKind = "add" if after.adopt_audience_id is None else "adopt"
                changes.append(AudienceChange(key, kind, None, after))
            elif fields := before.spec.replacing_fields(after.spec):
                reasons = (_replacement_reason(name, before.spec, after.spec) for name in fields)
                changes.append(AudienceChange(key, "replace", before, after, tuple(dict.fromkeys(reasons))))
            elif before.spec != after.spec:
                changes.append(AudienceChange(key, "rename", before, after))
            else:
                unchanged.append(key)
        removed = stack not in head.stacks and head.stacks != (None,)
        result.append(StackDiff(stack, tuple(changes), tuple(unchanged), removed))
    return result


# --- In a Pulumi program ----------------------------------------------------------------------


def load_catalog(
    path: str | Path, stack: str | None = None, *, opts: pulumi.ResourceOptions | None = None
) -> dict[str, AppActivityAudience]:
    """Declare every audience of the catalog for ``stack`` (default: the current Pulumi stack).

    A relative ``path`` is relative to the working directory, which Pulumi sets to the project's.
    Returns the resources by key. Raises :class:`CatalogError` listing every problem (the same
    lines as ``tiktok-audiences validate --stack``) before declaring anything. ``opts`` applies
    to every resource (a parent, a provider, protect ...).
    """
    import pulumi

    from pulumi_tiktok_audiences.resources import AppActivityAudience

    name = stack if stack is not None else pulumi.get_stack()
    resolved = resolve_catalog(path, name)
    if resolved.problems:
        count = len(resolved.problems)
        raise CatalogError(
            f"{path} has {count} problem{'s' if count > 1 else ''} for stack {name}:\n"
            + "\n".join(f"  {problem}" for problem in resolved.problems)
        )
    for warning in resolved.warnings:
        pulumi.log.warn(str(warning))
    return {
        key: AppActivityAudience(
            key,
            advertiser_id=audience.spec.advertiser_id,
            name=audience.spec.name,
            app_ids=audience.spec.app_ids,
            include=audience.spec.include,
            exclude=audience.spec.exclude,
            auto_refresh=audience.spec.auto_refresh,
            retention_in_days=audience.spec.retention_in_days,
            audience_sub_type=audience.spec.audience_sub_type,
            match=audience.spec.match,
            adopt_audience_id=audience.adopt_audience_id,
            opts=opts,
        )
        for key, audience in resolved.audiences[name].items()
    }
