"""Checking a catalog: its models (and their JSON Schema), resolution per stack, and every problem.

An audience takes :class:`~pulumi_tiktok_audiences.spec.AudienceSpec`'s fields (the field rules
are the spec's own, reused here, never restated), plus ``adopt_audience_id``, ``previous_keys``
(Pulumi aliases), ``protect``, ``wait_until_targetable`` and ``stacks``. For a stack,
``advertiser_id`` and ``app_ids`` come from the first that sets them: the audience's
``stacks.<stack>``, the audience, the catalog's ``stacks.<stack>``, the catalog's top level.
``adopt_audience_id``, ``protect`` and ``wait_until_targetable`` may sit on the audience (every
stack) or under its ``stacks.<stack>`` (which wins there).
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Final, Literal

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
from pulumi_tiktok_audiences.catalog.loading import (
    MAX_CATALOG_BYTES,
    Document,
    Loc,
    Problem,
    Scalar,
    decode,
    parse,
)
from pulumi_tiktok_audiences.errors import TikTokAudiencesError

# StrictModel: the spec's base, frozen, refusing unknown fields with "did you mean" and a listing.
from pulumi_tiktok_audiences.spec import (
    AppEvent,
    AudienceSpec,
    EventRule,
    StrictModel,
    covered_includes,
)

__all__ = [
    "KEY_PATTERN",
    "Catalog",
    "CatalogAudience",
    "CatalogError",
    "ResolvedCatalog",
    "json_schema",
    "resolve_bytes",
    "resolve_catalog",
    "resolve_text",
    "schema_text",
]

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


def _option(description: str) -> tuple[Any, Any]:
    """A true/false option that, left out, leaves the program's default."""
    return bool | None, Field(default=None, strict=True, description=description)


_OPTION_FIELDS: Final[dict[str, Any]] = {
    "protect": _option(
        "Pulumi's protect option: `pulumi up` then refuses to delete or replace the audience "
        "(set it to false first, in a change of its own or with the replacement)."
    ),
    "wait_until_targetable": _option(
        "Make `pulumi up` wait, when it creates the audience, until TikTok has calculated it "
        "and it reaches the 1,000 users ad groups need (default: false)."
    ),
}
"""Per audience, or per audience under its ``stacks.<stack>`` (which wins)."""
_PREVIOUS_KEYS_FIELD: Final[dict[str, Any]] = {
    "previous_keys": (
        list[_Key],
        Field(
            default_factory=list,
            description=(
                "Keys this audience had before (Pulumi aliases): renaming a key keeps the live audience "
                "instead of deleting it and creating a new, empty one."
            ),
        ),
    )
}

_TRACKED_FIELD: Final[dict[str, Any]] = {
    "tracked_events": _spec_field(
        "tracked_events",
        description=(
            "Per app id, the events your measurement partner (MMP) posts back to TikTok, e.g. "
            "{'6400000001': [INSTALL, LAUNCH_APP, PURCHASE]}; each audience gets those of its own apps. "
            "A rule on another event of such an app matches nobody. Apps not listed are not checked."
        ),
    )
}
"""Per app, at the top level and under ``stacks.<stack>`` (which wins for the apps it lists)."""

Placement = _model(
    "Placement",
    "Where a stack's audiences live: its ad account, its default apps, the events its apps post back.",
    {**_PLACEMENT_FIELDS, **_TRACKED_FIELD},
)
StackOverride = _model(
    "StackOverride",
    "One audience in one stack: another ad account, other apps, an audience to adopt there, options.",
    {**_PLACEMENT_FIELDS, **_ADOPT_FIELD, **_OPTION_FIELDS},
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
        **{
            name: _spec_field(name)
            for name in AudienceSpec.model_fields
            if name not in _PLACED and name != "tracked_events"  # declared per app, not per audience
        },
        "name": _spec_field("name", default=None, description="The name in Ads Manager; default: the key."),
        **_PLACEMENT_FIELDS,
        **_ADOPT_FIELD,
        **_PREVIOUS_KEYS_FIELD,
        **_OPTION_FIELDS,
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
        **_TRACKED_FIELD,
        "stacks": _keyed(
            Placement,
            "Every stack of the project; each may override advertiser_id, app_ids and tracked_events.",
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


# --- Resolution -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogAudience:
    """One audience of a catalog, resolved for one stack."""

    key: str
    spec: AudienceSpec
    adopt_audience_id: str | None = None
    previous_keys: tuple[str, ...] = ()
    """Keys the audience had before: its program declares them as Pulumi aliases."""
    protect: bool | None = None
    wait_until_targetable: bool | None = None


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


_NOT_SPEC: Final = ("stacks", "adopt_audience_id", "previous_keys", *_OPTION_FIELDS)


def resolve_catalog(path: str | Path, stack: str | None = None) -> ResolvedCatalog:
    """Check a catalog file and resolve it for ``stack`` (default: every stack it declares).

    Pure: no Pulumi, no network. Problems come back in the result, never as an exception
    (a missing or unreadable file raises OSError). A file over MAX_CATALOG_BYTES is not read.
    """
    with open(path, "rb") as stream:
        return resolve_bytes(stream.read(MAX_CATALOG_BYTES + 1), str(path), stack)


def _undeclared(stack: str) -> str:
    return f"stack {stack!r} is not declared here"


def lacks_stack(resolved: ResolvedCatalog, stack: str) -> bool:
    """Whether ``resolved`` (resolved for ``stack``) failed only because it does not declare ``stack``:
    for a diff, a stack the other catalog adds or removes."""
    return [(p.path, p.message.split(";")[0]) for p in resolved.problems] == [("stacks", _undeclared(stack))]


def resolve_bytes(data: bytes, file: str, stack: str | None = None) -> ResolvedCatalog:
    """:func:`resolve_catalog` for a file's bytes (standard input, a git revision)."""
    text = decode(data, file)
    if isinstance(text, Problem):
        return ResolvedCatalog(file, (), {}, (text,))
    return resolve_text(text, file, stack)


def resolve_text(text: str, file: str, stack: str | None = None) -> ResolvedCatalog:
    """:func:`resolve_catalog` for catalog text; ``file`` names it in problems."""
    doc = parse(text, file)
    if doc.data is None and doc.problems:  # unreadable: a syntax error
        return ResolvedCatalog(file, (), {}, tuple(doc.problems))
    return _Resolver(doc).run(stack)


_MATCH_HELP: Final = (
    "match takes 'any' (the default) or 'all', got {got!r}. TikTok combines include rules with OR "
    "only: a person who did any one include event is in the audience. For people who did one thing "
    "and not another, include the first and exclude the second (include ADD_TO_CART, exclude "
    "PURCHASE: cart abandoners)."
)


_LIST: Final = "a list (`- item` lines, or [a, b])"
_MAPPING: Final = "a mapping (`key: value` lines, indented below it)"
_EXPECTED: Final = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": _LIST,
    "tuple_type": _LIST,
    "dict_type": _MAPPING,
    "model_type": _MAPPING,
    "model_attributes_type": _MAPPING,
}
"""Pydantic's type errors in the catalog's words (its own name internal classes: "instance of ...")."""


def _described(value: Any, scalar: Scalar | None) -> str:
    if scalar is not None:
        return f"`{scalar.text}`" if scalar.text else "nothing (an empty value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (an empty value)"
    return repr(value) if isinstance(value, str) else str(value)


def _readable(error: ErrorDetails, scalar: Scalar | None = None) -> str:
    """Pydantic's message, or one a marketer can act on where pydantic's is terse or internal.

    ``scalar`` is the unquoted value at the error's location, when YAML did not read it as text.
    """
    name = next((str(part) for part in reversed(error["loc"]) if part != "[key]"), "")
    loc = tuple(part for part in error["loc"] if part != "[key]")
    if error["type"] == "missing":
        return f"{name} is required"
    yaml11 = scalar is not None and scalar.yaml11_only()
    if scalar is not None and error["type"] == "string_type":
        read = f"`{scalar.text}` is read by YAML{' 1.1' if yaml11 else ''} as {scalar.read_as()}"
        return f"{read}, not as text; {scalar.text_fix(loc)}"
    got = "" if yaml11 else f"; got {_described(error['input'], scalar)}"
    expected = _EXPECTED.get(error["type"])
    message = error["msg"]
    if name == "match" and error["type"] == "literal_error":
        message = _MATCH_HELP.format(got=scalar.text if scalar else error["input"])
    elif expected is not None:
        message = f"must be {expected}{got}"
    elif message.startswith("Input should be "):
        message = f"must be {message.removeprefix('Input should be ')}{got}"
    elif scalar is not None and message.endswith(python := f"; got {error['input']!r}"):
        # the spec's own "; got True" says in Python's words what the file says in YAML's
        message = message.removesuffix(python) + got
    read = scalar.read_as() if scalar is not None else ""
    if (
        yaml11
        and scalar is not None
        and error["type"] in ("bool_type", "bool_parsing")
        and read in ("true", "false")
    ):
        # y and n: true and false to YAML 1.1, text to PyYAML and YAML 1.2
        return (
            f"`{scalar.text}` is read by YAML 1.1 as {read} but as text by other YAML readers; write {read}"
        )
    if yaml11 and scalar is not None:
        return f"`{scalar.text}` is read by YAML 1.1 as {read}; {message}"
    return message


def _at(data: Any, loc: Loc, default: Any) -> Any:
    """The value at ``loc`` in validated data, else ``default``."""
    for part in loc:
        if not isinstance(data, dict | list):
            return default
        try:
            data = data[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def _rule_words(rule: EventRule) -> str:
    return f"{rule.event.name} in the last {rule.lookback_days} days"


class _Resolver:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[tuple[Problem, str | None]] = [(problem, None) for problem in doc.problems]

    def run(self, stack: str | None) -> ResolvedCatalog:
        catalog = self._validated()
        if catalog is None:
            return self._result((), {})
        declared = list(catalog.get("stacks", {}))
        if stack is not None and declared and stack not in declared:
            self._add(("stacks",), f"{_undeclared(stack)}; {_listing('declared', declared)}")
            return self._result((stack,), {})
        stacks: tuple[str | None, ...] = (stack,) if stack is not None else (*declared,) or (None,)
        entries: dict[str, dict[str, Any]] = catalog["audiences"]
        for key, entry in entries.items():
            self._check_stack_names(key, entry, declared)
        self._check_previous_keys(entries)
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
            self._check_tracked(key, spec, stack)
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

    def _check_tracked(self, key: str, spec: AudienceSpec, stack: str | None) -> None:
        """A rule on an event its app does not post back (tracked_events) matches nobody there."""
        for kind, index, rule, app in spec.untracked_rules():
            tracked = ", ".join(event.name for event in spec.tracked_for(app) or ())
            message = (
                f"app {app} does not post {rule.event.name} back to TikTok (its tracked_events: "
                f"{tracked or 'none'}), so this rule matches nobody from that app: add {rule.event.name} "
                "to the app's tracked_events if your measurement partner (MMP) sends it"
            )
            self._add(("audiences", key, kind, index, "event"), message, stack, "warning")

    def _add(
        self,
        loc: Loc,
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
        failed: set[int | str] = set()
        reported: set[Loc] = set()
        try:
            validated = Catalog.model_validate(data).model_dump(exclude_unset=True)
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                key = self.doc.keys.get(loc[:-1]) if loc[-1:] == ("[key]",) else None
                if loc[-1:] == ("[key]",):
                    loc = loc[:-1]
                failed.add(self._audience_of(loc))
                reported.add(loc)
                if key is not None:
                    self.problems.append((self.doc.key_problem(loc), None))
                else:
                    self._add(loc, _readable(error, self.doc.scalars.get(loc)))
            validated = {}
            if "" not in failed:
                rest = {
                    **data,
                    "audiences": {
                        k: v for k, v in data["audiences"].items() if k not in failed and str(k) not in failed
                    },  # pydantic names a key True as 1, and 1.5 as "1.5"
                }
                validated = Catalog.model_validate(rest).model_dump(
                    exclude_unset=True
                )  # its parts were valid
        for loc in self._yaml11_values(validated, reported):
            failed.add(self._audience_of(loc))
        if "" in failed:
            return None
        audiences = validated["audiences"]
        return {**validated, "audiences": {k: v for k, v in audiences.items() if k not in failed}}

    @staticmethod
    def _audience_of(loc: Loc) -> int | str:
        """The key of the audience ``loc`` is in, as YAML read it (``yes:`` is True, which pydantic
        names 1: equal, so either finds it); "" outside any one audience (then nothing resolves)."""
        return loc[1] if loc[:1] == ("audiences",) and len(loc) >= 2 else ""

    def _yaml11_values(self, validated: dict[str, Any], reported: set[Loc]) -> list[Loc]:
        """Refuse unquoted values only YAML 1.1 reads so (``030`` octal, ``0x1E``, ``+30``, ``no`` as
        false where text goes) that no other problem names; their locations."""
        found = []
        for loc, key in self.doc.keys.items():
            if loc not in reported and key.yaml11_only():  # text keys were refused by their type
                self.problems.append((self.doc.key_problem(loc), None))
                found.append(loc)
        for loc, scalar in self.doc.scalars.items():
            if loc in reported or not scalar.yaml11_only():
                continue
            value = _at(validated, loc, scalar.value)
            if isinstance(value, bool):
                continue  # yes/no/on/off where true or false goes: read alike by every YAML reader
            if isinstance(value, int | float):
                message = scalar.number_fix()
            else:
                message = f"`{scalar.text}` is read by YAML 1.1 as {scalar.read_as()}, not as text; "
                message += scalar.text_fix(loc)
            self._add(loc, message)
            found.append(loc)
        return found

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

    def _check_previous_keys(self, entries: Mapping[str, dict[str, Any]]) -> None:
        """A previous key becomes a Pulumi alias: it must name no audience of the catalog, and one only."""
        claimed: dict[str, str] = {}
        for key, entry in entries.items():
            for index, previous in enumerate(entry.get("previous_keys", ())):
                loc = ("audiences", key, "previous_keys", index)
                owner = claimed.setdefault(previous, key)
                if previous == key:
                    self._add(loc, f"{previous!r} is this audience's own key: list only keys it had before")
                elif previous in entries:
                    self._add(
                        loc,
                        f"audiences.{previous} still exists: a previous key must be one no audience has now "
                        "(Pulumi would take that audience for this one); remove it here or rename that one",
                    )
                elif owner != key:
                    self._add(
                        loc,
                        f"{previous!r} is also a previous key of audiences.{owner}: the audience once called "
                        f"{previous} can live on under one key only",
                    )

    def _resolve(
        self, catalog: dict[str, Any], key: str, entry: dict[str, Any], stack: str | None
    ) -> CatalogAudience | None:
        """The entry's spec for ``stack``, or None after reporting why it is invalid there."""
        entry_stack = (entry.get("stacks", {}).get(stack) or {}) if stack is not None else {}
        catalog_stack = (catalog.get("stacks", {}).get(stack) or {}) if stack is not None else {}
        layers: list[tuple[dict[str, Any], Loc]] = [
            (entry_stack, ("audiences", key, "stacks", str(stack))),
            (entry, ("audiences", key)),
            (catalog_stack, ("stacks", str(stack))),
            (catalog, ()),
        ]
        data = {k: v for k, v in entry.items() if k not in _NOT_SPEC and k not in _PLACED}
        data.setdefault("name", key)
        source: dict[str, Loc] = {}
        for name in _PLACED:
            for values, loc in layers:
                if values.get(name) is not None:
                    data[name], source[name] = values[name], (*loc, name)
                    break
        tracked = _tracked_for(data, catalog, catalog_stack)
        if tracked:
            data["tracked_events"] = tracked
        try:
            spec = AudienceSpec.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                head = str(loc[0]) if loc else ""
                where = (*source[head], *loc[1:]) if head in source else ("audiences", key, *loc)
                message = _readable(error, self.doc.scalars.get(where))
                if loc == ("advertiser_id",) and error["type"] == "missing":
                    message = (
                        "no advertiser_id for this audience: set advertiser_id at the top of the catalog, "
                        "under stacks.<stack>, or on the audience"
                    )
                self._add(where, message, stack)
            return None
        adopt = entry_stack.get("adopt_audience_id") or entry.get("adopt_audience_id")
        options = {
            name: next((layer[name] for layer in (entry_stack, entry) if layer.get(name) is not None), None)
            for name in _OPTION_FIELDS
        }
        return CatalogAudience(key, spec, adopt, tuple(entry.get("previous_keys", ())), **options)

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

    def _adopt_loc(self, key: str, stack: str | None) -> Loc:
        scoped: Loc = ("audiences", key, "stacks", str(stack), "adopt_audience_id")
        return scoped if scoped in self.doc.lines else ("audiences", key, "adopt_audience_id")


def _tracked_for(data: Mapping[str, Any], *layers: Mapping[str, Any]) -> dict[str, Any]:
    """The tracked events of the apps an audience's rules read, from the first layer listing each app.

    ``data`` holds validated fields (ids as canonical text); ``layers``: the catalog, then its stack.
    """
    rules = [*data.get("include", ()), *data.get("exclude", ())]
    apps = {*(data.get("app_ids") or ()), *(app for rule in rules for app in rule.get("app_ids") or ())}
    declared: dict[str, Any] = {}
    for layer in layers:
        declared.update(layer.get("tracked_events") or {})
    return {app: events for app, events in declared.items() if app in apps}


def _listing(what: str, names: Sequence[str]) -> str:
    return f"{what}: {', '.join(names)}" if names else f"none {what}"
