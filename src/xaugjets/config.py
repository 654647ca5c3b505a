"""Configuration checks: the JSON schema (with defaults) plus the cross-field rules a schema cannot say.

The Snakefile calls :func:`validate_config` before building the DAG, so a bad config stops the run
before any job starts, with a message that names the offending key.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlparse
from urllib.request import url2pathname

import yaml
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

if TYPE_CHECKING:
    from referencing._core import Resolver

S = TypeVar("S", bound="Settings")
# The workflow's schema (workflow/schemas/, the catalog's place), reached through a link in the package so
# that an installed package, whose wheel carries the file itself, finds it too.
SCHEMA = Path(__file__).with_name("config.schema.yaml")


class ConfigError(ValueError):
    """A configuration value is invalid; the message starts with the key path."""


def _check_window(key: str, window: list[float]) -> None:
    low, high = window
    if not low < high:
        raise ConfigError(f"{key}: window low ({low}) must be below high ({high})")


# The study's own networks (xaugjets.models.MODELS; not imported here, it needs torch; a test checks it).
BUILTIN_MODELS = ("cnn2d", "cnn2d_xaug", "cnn1d", "cnn1d_xaug", "xaug_dnn")


def _check_models(config: dict[str, Any]) -> None:
    """Every network is the study's own or declared in user_models, and no user network shadows one."""
    user = config["user_models"]
    for name in user:
        if name in BUILTIN_MODELS:
            raise ConfigError(f"user_models.{name}: the study already has a network of that name")
    for i, name in enumerate(config["models"]):
        if name not in BUILTIN_MODELS and name not in user:
            raise ConfigError(f"models.{i}: {name!r} is neither one of {list(BUILTIN_MODELS)} nor in user_models")


def semantic_checks(config: dict[str, Any]) -> None:
    """Rules that span several keys or depend on values (the schema has checked types and ranges)."""
    if config["images"]["grid"] % 2:
        raise ConfigError(f"images.grid: must be even for the parity flip, got {config['images']['grid']}")
    for name, window in config["dataset"]["windows"].items():
        _check_window(f"dataset.windows.{name}", window)
    _check_models(config)
    for i, name in enumerate(config["efp"]["black_boxes"]):  # those a sample does not train are skipped there
        if name not in BUILTIN_MODELS and name not in config["user_models"]:
            known = list(BUILTIN_MODELS)
            raise ConfigError(f"efp.black_boxes.{i}: {name!r} is neither one of {known} nor in user_models")
    from .study import check_samples  # samples and user_samples

    check_samples(config)
    pythia = config["pythia"]
    if not pythia["decays"]:
        raise ConfigError("pythia.decays: the list of allowed Z decays is empty")
    _check_window("pythia.m_sd_window", pythia["m_sd_window"])


def validate_config(config: dict[str, Any], schema: str | Path = SCHEMA) -> dict[str, Any]:
    """Validate ``config`` in place (coercing ``--config`` strings, filling defaults) and return it.

    Raises :class:`ConfigError` naming the key on error.
    """
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    coerce_types(config, schema)
    try:
        validate(config, str(schema), set_default=True)
    except WorkflowError as err:
        raise ConfigError(_schema_message(err)) from err
    semantic_checks(config)
    return config


# --config values: Snakemake 9 (snakemake.cli.parse_config) tries int, float, "True"/"False" and then
# yaml.BaseLoader on each `key=value`.  A top-level scalar becomes a number, but everything inside a mapping
# or list stays a string (BaseLoader resolves no scalar types), so 'training={"seeds": [1, 2]}' arrives as
# {"seeds": ["1", "2"]}.  coerce_types turns such strings into what the schema asks for, and nothing else.
_BOOLEANS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_SCALAR_KINDS = ("integer", "number", "boolean")  # the order a string is tried in
_NO = object()  # "cannot convert" (None and False are values)
_Branch = tuple[dict[str, Any], "Resolver"]


def coerce_types(config: dict[str, Any], schema: str | Path = SCHEMA) -> dict[str, Any]:
    """Turn strings where the schema wants integer/number/boolean into those types, in place; return config.

    Why: Snakemake passes nested ``--config`` values as strings.  Walks the schema along the data
    (``properties``, ``patternProperties``, ``additionalProperties``, ``items``, ``prefixItems``, ``$ref``,
    ``allOf``/``anyOf``/``oneOf``); a string the schema accepts as a string, or that does not parse, is left
    for validation to report.
    """
    path = Path(schema).resolve()
    contents = yaml.safe_load(path.read_text())
    uri = path.as_uri()
    registry = Registry(retrieve=_retrieve).with_resource(uri, _resource(contents))  # type: ignore[call-arg]
    return _coerce(config, [(contents, registry.resolver(base_uri=uri))])


def _resource(contents: Any) -> Resource:
    return Resource.from_contents(contents, default_specification=DRAFT202012)


def _retrieve(uri: str) -> Resource:
    """Load a schema that a ``$ref`` names by file (the same local resolution as snakemake.utils.validate)."""
    return _resource(yaml.safe_load(Path(url2pathname(urlparse(uri).path)).read_text()))


def _expand(branches: list[_Branch]) -> list[_Branch]:
    """The schemas that apply to one value: each branch plus what its ``$ref`` and ``*Of`` point to."""
    out: list[_Branch] = []
    seen: set[int] = set()

    def visit(schema: Any, resolver: Resolver) -> Iterator[_Branch]:
        if not isinstance(schema, dict) or id(schema) in seen:
            return
        seen.add(id(schema))
        yield schema, resolver
        ref = schema.get("$ref")
        if isinstance(ref, str):
            try:
                resolved = resolver.lookup(ref)
            except Unresolvable:  # validation will say so
                pass
            else:
                yield from visit(resolved.contents, resolved.resolver)
        for word in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(word, ()):
                yield from visit(sub, resolver)

    for schema, resolver in branches:
        out.extend(visit(schema, resolver))
    return out


def _types(schema: dict[str, Any]) -> set[str]:
    """JSON types a schema allows: ``type``, else those of its ``enum``/``const`` values."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return set(kind)
    values = [*schema.get("enum", ()), *([schema["const"]] if "const" in schema else [])]
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    return {names[type(v)] for v in values if type(v) in names}


def _convert(text: str, kind: str) -> Any:
    """``text`` as a JSON ``kind`` (YAML-style spelling), or ``_NO``; NaN and infinities are not numbers here."""
    word = text.strip()
    if kind == "boolean":
        return _BOOLEANS.get(word.lower(), _NO)
    try:
        return int(word)
    except ValueError:
        pass
    try:
        number = float(word)
    except ValueError:
        return _NO
    if not math.isfinite(number):
        return _NO
    if kind == "integer":
        return int(number) if number.is_integer() else _NO
    return number


def _children(branches: list[_Branch], key: str | int, size: int = 0) -> list[_Branch]:
    """The schemas of one mapping entry (``key`` a str) or one list item (``key`` an int)."""
    out: list[_Branch] = []
    for schema, resolver in branches:
        if isinstance(key, str):
            props = schema.get("properties") or {}
            found = [props[key]] if key in props else []
            found += [s for p, s in (schema.get("patternProperties") or {}).items() if re.search(p, key)]
            extra = schema.get("additionalProperties")
            if not found and isinstance(extra, dict):
                found = [extra]
        else:
            prefix = schema.get("prefixItems") or []
            items = schema.get("items")
            if isinstance(items, list):  # draft 4-7 tuple form
                prefix, items = items, schema.get("additionalItems")
            found = [prefix[key]] if key < len(prefix) else [items] if isinstance(items, dict) else []
        out.extend((s, resolver) for s in found if isinstance(s, dict))
    return out


def _coerce(value: Any, branches: list[_Branch]) -> Any:
    branches = _expand(branches)
    if not branches:
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _coerce(item, _children(branches, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = _coerce(item, _children(branches, index))
    elif isinstance(value, str):
        kinds = set().union(*(_types(schema) for schema, _ in branches))
        if "string" not in kinds:
            for kind in _SCALAR_KINDS:
                if kind in kinds and (converted := _convert(value, kind)) is not _NO:
                    return converted
    return value


def _schema_message(err: Exception) -> str:
    """Turn jsonschema's report into 'key.path: reason'."""
    cause = err.__cause__ or err.__context__
    while cause is not None and not hasattr(cause, "absolute_path"):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return str(err)
    path = ".".join(str(p) for p in cause.absolute_path) or "<top level>"
    return f"{path}: {cause.message}"


def config_hash(config: dict[str, Any]) -> str:
    """A short stable hash of the resolved config, recorded in every provenance file."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def load_schema(schema: str | Path = SCHEMA) -> dict[str, Any]:
    """The parsed schema, read once per process (the C YAML loader: every job's flags come from it)."""
    with open(schema) as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def schema_section(section: str, schema: str | Path = SCHEMA) -> dict[str, Any]:
    """The schema's properties of one config section: the single source of every default and choice."""
    return load_schema(schema)["properties"][section]["properties"]


def _defaults(node: dict[str, Any]) -> Any:
    """The default of one schema node; an object's default is filled from its properties' defaults."""
    value = copy.deepcopy(node.get("default"))
    if isinstance(value, dict) and "properties" in node:
        for key, child in node["properties"].items():
            if "default" in child:
                value.setdefault(key, _defaults(child))
    return value


def has_default(cls: type, name: str) -> bool:
    """Whether a dataclass field has a default of its own (only non-config fields may have one)."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


class Settings:
    """Base of the frozen settings dataclasses: built from config values, with no defaults of their own.

    Every default lives in the schema.  ``SECTIONS`` names the config sections a class reads (for
    :meth:`default`), ``CONFIG_KEYS`` maps a field to its config key where the names differ.
    """

    SECTIONS: ClassVar[tuple[str, ...]] = ()
    CONFIG_KEYS: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_config(cls: type[S], values: Mapping[str, Any], **fixed: Any) -> S:
        """From config values (or parsed flags, which carry the config's names); ``fixed`` sets per-job fields.

        Lists become tuples, so that settings stay immutable.
        """
        keys = [(f.name, cls.CONFIG_KEYS.get(f.name, f.name)) for f in dataclasses.fields(cls) if f.name not in fixed]
        found = {name: values[key] for name, key in keys if key in values or not has_default(cls, name)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in found.items()}, **fixed)

    @classmethod
    def default(cls: type[S], **fixed: Any) -> S:
        """The study's defaults (the schema's), with ``fixed`` fields by name: for tests, benchmarks, notebooks."""
        values: dict[str, Any] = {}
        for section in cls.SECTIONS:
            values |= section_defaults(section)
        return cls.from_config(values, **fixed)


def section_defaults(section: str, schema: str | Path = SCHEMA) -> dict[str, Any]:
    """A config section with every default filled in, as the workflow sees it when the config is silent."""
    return _defaults(load_schema(schema)["properties"][section])
