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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

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
from pydantic_core import PydanticCustomError

from pulumi_tiktok_audiences.errors import TikTokAudiencesError

# StrictModel: the spec's base, frozen, refusing unknown fields with "did you mean" and a listing.
from pulumi_tiktok_audiences.spec import AppEvent, AudienceSpec, StrictModel, property_path

if TYPE_CHECKING:
    import pulumi

    from pulumi_tiktok_audiences.resources import AppActivityAudience

__all__ = [
    "KEY_PATTERN",
    "Catalog",
    "CatalogAudience",
    "CatalogError",
    "Problem",
    "ResolvedCatalog",
    "json_schema",
    "load_catalog",
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


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a catalog file (shipped as ``audiences.schema.json`` for editors)."""
    schema = Catalog.model_json_schema()
    # The spec accepts an event's member name (ADD_TO_CART) as well as TikTok's wire string
    # ("APP ADD TO CART"); its schema lists only the latter, so editors would flag the former.
    events = schema["$defs"][AppEvent.__name__]
    events["enum"] = list(dict.fromkeys([*(e.value for e in AppEvent), *(e.name for e in AppEvent)]))
    events["description"] = "An App Activity event: TikTok's string or the AppEvent member name."
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text() -> str:
    """The schema as the shipped file holds it."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


# --- Parsing with line numbers ----------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a catalog, where it is and what is allowed."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass
class _Document:
    """A parsed YAML file and the line of every mapping key and list item, by location."""

    file: str
    data: Any = None
    lines: dict[_Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line(self, loc: _Loc) -> int:
        """The line of ``loc``, or of its nearest enclosing node that exists in the file."""
        for end in range(len(loc), -1, -1):
            found = self.lines.get(loc[:end])
            if found is not None:
                return found
        return 1

    def problem(self, loc: _Loc, message: str) -> Problem:
        return Problem(self.file, self.line(loc), property_path(loc), message)


def _parse(text: str, file: str) -> _Document:
    doc = _Document(file)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.lines[()] = node.start_mark.line + 1
            doc.data = _build(loader, node, (), doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        doc.problems.append(Problem(file, mark.line + 1 if mark else 1, "", f"YAML syntax error: {reason}"))
    finally:
        loader.dispose()
    return doc


def _build(loader: yaml.SafeLoader, node: yaml.Node, loc: _Loc, doc: _Document) -> Any:
    """Python data from ``node``, recording lines; a repeated key is a problem (YAML keeps the last)."""
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # merge keys (<<: *defaults)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool):
                doc.problems.append(Problem(doc.file, line, property_path(loc), "keys must be plain text"))
                continue
            where = (*loc, key if isinstance(key, int | str) else str(key))  # as pydantic will name it
            if key in result:
                message = f"duplicate key {key!r}: it is already defined on line {doc.lines[where]}"
                doc.problems.append(Problem(doc.file, line, property_path(where), message))
                continue
            doc.lines[where] = line
            result[key] = _build(loader, value_node, where, doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            doc.lines[(*loc, index)] = item.start_mark.line + 1
            items.append(_build(loader, item, (*loc, index), doc))
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
    audiences then serve any stack.
    """

    file: str
    stacks: tuple[str | None, ...]
    audiences: Mapping[str | None, Mapping[str, CatalogAudience]]
    problems: tuple[Problem, ...]


_NOT_SPEC: Final = ("stacks", "adopt_audience_id")


def resolve_catalog(path: str | Path, stack: str | None = None) -> ResolvedCatalog:
    """Check a catalog file and resolve it for ``stack`` (default: every stack it declares).

    Pure: no Pulumi, no network. Problems come back in the result, never as an exception.
    """
    file = str(path)
    return resolve_text(Path(path).read_text(encoding="utf-8"), file, stack)


def resolve_text(text: str, file: str, stack: str | None = None) -> ResolvedCatalog:
    """:func:`resolve_catalog` for catalog text; ``file`` names it in problems."""
    doc = _parse(text, file)
    if doc.data is None and doc.problems:  # unreadable: a syntax error
        return ResolvedCatalog(file, (), {}, tuple(doc.problems))
    return _Resolver(doc).run(stack)


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
        entries = {
            key: entry
            for key, entry in catalog["audiences"].items()
            if self._stacks_known(key, entry, declared)
        }
        resolved = {
            name: {
                key: found
                for key, entry in entries.items()
                if (found := self._resolve(catalog, key, entry, name)) is not None
            }
            for name in stacks
        }
        self._check_adoptions(resolved)
        return self._result(stacks, resolved)

    def _add(self, loc: _Loc, message: str, stack: str | None = None) -> None:
        self.problems.append((self.doc.problem(loc, message), stack))

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
                problem = Problem(
                    problem.file,
                    problem.line,
                    problem.path,
                    f"{problem.message} (in {label} {', '.join(named)})",
                )
            problems.append(problem)
        return ResolvedCatalog(self.doc.file, stacks, audiences, tuple(sorted(problems)))

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
                message = error["msg"]
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

    def _stacks_known(self, key: str, entry: dict[str, Any], declared: list[str]) -> bool:
        unknown = [name for name in entry.get("stacks", {}) if name not in declared]
        for name in unknown:
            close = difflib.get_close_matches(name, declared, 1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            self._add(
                ("audiences", key, "stacks", name),
                f"stack {name!r} is not in the catalog's top-level stacks: "
                f"{hint}{_listing('declared', declared)}",
            )
        return not unknown

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
                message = error["msg"]
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
