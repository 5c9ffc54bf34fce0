//! One pass over every tool's schemas, so that `tools/list` costs a model
//! little context and every client can read it.
//!
//! schemars writes what serde accepts or produces, in its own dialect:
//! `$schema` on every schema, integer widths as `format` (`uint32`,
//! `int64`, ... which no JSON Schema validator knows), `Option<T>` as
//! `type: [T, "null"]` or `anyOf: [T, {type: null}]`, enums as `oneOf` of
//! `const`s, and each referenced type under `$defs`. [`compact_tool`]
//! rewrites that to standard, smaller JSON Schema:
//!
//! - `$schema` goes, and so do `true` schemas (`items: true`); only
//!   standard `format` values stay (`date-time`, `uri`, ...); an integer's
//!   width bounds go with its format (a range set by hand, such as
//!   `limit`'s 1-100, stays). Wrapped doc-comment lines are joined.
//! - `oneOf`/`anyOf` of `const`s becomes one `enum`.
//! - Input: an optional argument is typed plainly (`"type": "integer"`),
//!   without `null`: leaving it out is how a caller says "not given", and
//!   clients such as the MCP Inspector CLI can only convert a typed value.
//!   serde still accepts a missing or `null` optional. Defaults that say
//!   what leaving an argument out means anyway (`false`, `""`, `[]`, `{}`)
//!   go, and so does `additionalProperties: false`: the server refuses
//!   unknown arguments itself, naming the known ones, and a model only
//!   uses the listed properties anyway.
//! - Output: a value that can be `null` keeps saying so (structured content
//!   is validated against these), as `type: [T, "null"]` where that is
//!   shorter than `anyOf`. Output schemas keep their structure (types,
//!   `required`, enums) and lose their prose: clients validate against
//!   them, and what a field means is in the tool's description and its
//!   Markdown text. That halves them.
//! - A `$defs` entry is inlined where it is used once or inlining is no
//!   bigger than sharing it; recursive ones (a suite tree) stay shared.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use rmcp::model::{JsonObject, Tool};
use serde_json::{Map, Value};

/// `format` values defined by JSON Schema 2020-12 (format-annotation
/// vocabulary); anything else is dropped.
const STANDARD_FORMATS: [&str; 19] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

const DEFS_PREFIX: &str = "#/$defs/";

/// Which side of a tool a schema describes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    /// What the tool accepts (`inputSchema`).
    Input,
    /// What the tool returns (`outputSchema`).
    Output,
}

/// Rewrite a tool's input and output schemas in place (see the module
/// docs).
pub fn compact_tool(tool: &mut Tool) {
    tool.input_schema = Arc::new(compact(&tool.input_schema, Side::Input));
    if let Some(output) = &tool.output_schema {
        tool.output_schema = Some(Arc::new(compact(output, Side::Output)));
    }
}

/// The compact form of one root schema.
pub fn compact(schema: &JsonObject, side: Side) -> JsonObject {
    let mut root = schema.clone();
    root.remove("$schema");
    let mut defs: BTreeMap<String, Value> = match root.remove("$defs") {
        Some(Value::Object(defs)) => defs.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    let mut root = Value::Object(root);
    normalise(&mut root, side);
    for def in defs.values_mut() {
        normalise(def, side);
    }
    inline_defs(&mut root, &mut defs, side);
    // Inlining can form new patterns (`anyOf` of an inlined enum and null).
    normalise(&mut root, side);
    for def in defs.values_mut() {
        normalise(def, side);
    }
    let Value::Object(mut root) = root else {
        return schema.clone();
    };
    if !defs.is_empty() {
        root.insert("$defs".into(), Value::Object(defs.into_iter().collect()));
    }
    root
}

/// Apply the local rewrites to a schema and everything under it.
fn normalise(schema: &mut Value, side: Side) {
    let Value::Object(object) = schema else {
        return;
    };
    for_each_subschema(object, |sub| normalise(sub, side));

    strip_format(object);
    // schemars keeps a doc comment's line breaks; they are only wrapping.
    if let Some(Value::String(text)) = object.get_mut("description") {
        *text = unwrap_lines(text);
    }
    // `true` schemas say nothing: any value is allowed without them too.
    for key in ["additionalProperties", "items"] {
        if object.get(key) == Some(&Value::Bool(true)) {
            object.remove(key);
        }
    }
    consts_to_enum(object, "oneOf");
    consts_to_enum(object, "anyOf");
    types_to_type_list(object);
    match side {
        Side::Input => {
            drop_null_input(object);
            // Unknown arguments are refused by the server all the same
            // (`deny_unknown_fields`), with a message naming the known ones.
            if object.get("additionalProperties") == Some(&Value::Bool(false)) {
                object.remove("additionalProperties");
            }
            // An array's items need no description of their own when the
            // array has one (it is the item type's doc, repeated).
            if object.contains_key("description")
                && let Some(Value::Object(items)) = object.get_mut("items")
            {
                items.remove("description");
            }
            // What leaving an argument out means anyway: nothing, false, "".
            let empty_default = object.get("default").is_some_and(|d| match d {
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                Value::String(s) => s.is_empty(),
                Value::Bool(b) => !b,
                Value::Null => true,
                Value::Number(_) => false,
            });
            if empty_default {
                object.remove("default");
            }
        }
        Side::Output => {
            nullable_output(object);
            object.remove("description");
        }
    }
}

/// Join wrapped lines with spaces; keep paragraph breaks.
fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .split('\n')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Call `f` on every direct subschema of a schema object.
fn for_each_subschema(object: &mut Map<String, Value>, mut f: impl FnMut(&mut Value)) {
    for key in [
        "properties",
        "patternProperties",
        "$defs",
        "dependentSchemas",
    ] {
        if let Some(Value::Object(map)) = object.get_mut(key) {
            map.values_mut().for_each(&mut f);
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(list)) = object.get_mut(key) {
            list.iter_mut().for_each(&mut f);
        }
    }
    for key in [
        "items",
        "additionalProperties",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
    ] {
        if let Some(sub @ Value::Object(_)) = object.get_mut(key) {
            f(sub);
        }
    }
}

/// Drop a non-standard `format`, and with an integer width format the
/// bounds that only restate the width (`minimum: 0` of an unsigned type,
/// the limits of `u8`/`i16`...).
fn strip_format(object: &mut Map<String, Value>) {
    let Some(Value::String(format)) = object.get("format") else {
        return;
    };
    if STANDARD_FORMATS.contains(&format.as_str()) {
        return;
    }
    let format = format.clone();
    object.remove("format");
    let (min, max): (Option<f64>, Option<f64>) = match format.as_str() {
        "uint" | "uint32" | "uint64" | "uint128" => (Some(0.0), None),
        "uint8" => (Some(0.0), Some(f64::from(u8::MAX))),
        "uint16" => (Some(0.0), Some(f64::from(u16::MAX))),
        "int8" => (Some(f64::from(i8::MIN)), Some(f64::from(i8::MAX))),
        "int16" => (Some(f64::from(i16::MIN)), Some(f64::from(i16::MAX))),
        _ => (None, None),
    };
    for (key, width) in [("minimum", min), ("maximum", max)] {
        if width.is_some() && object.get(key).and_then(Value::as_f64) == width {
            object.remove(key);
        }
    }
}

/// `oneOf: [{const: a}, {const: b}]` (each perhaps with `type` and a
/// `description`) becomes `enum: [a, b]`, with `type` when they share one.
/// The per-value descriptions go: a field's own description says what a
/// model needs to know of its values.
fn consts_to_enum(object: &mut Map<String, Value>, key: &str) {
    let Some(Value::Array(variants)) = object.get(key) else {
        return;
    };
    let mut values = Vec::new();
    let mut types = BTreeSet::new();
    for variant in variants {
        let Value::Object(variant) = variant else {
            return;
        };
        let extra = variant
            .keys()
            .any(|k| !matches!(k.as_str(), "const" | "type" | "description"));
        if extra {
            return;
        }
        if let Some(value) = variant.get("const") {
            values.push(value.clone());
            types.insert(json_type(value));
        } else if variant.get("type").and_then(Value::as_str) == Some("null") {
            values.push(Value::Null);
            types.insert("null");
        } else {
            return;
        }
    }
    if values.is_empty() || object.contains_key("enum") {
        return;
    }
    object.remove(key);
    match types.len() {
        1 => {
            let only = types.into_iter().next().unwrap_or("string");
            object.insert("type".into(), Value::String(only.into()));
        }
        _ => {
            let types = types.into_iter().map(|t| Value::String(t.into())).collect();
            object.insert("type".into(), Value::Array(types));
        }
    }
    object.insert("enum".into(), Value::Array(values));
}

/// `anyOf: [{type: integer}, {type: string}]` becomes
/// `type: [integer, string]`.
fn types_to_type_list(object: &mut Map<String, Value>) {
    let Some(Value::Array(variants)) = object.get("anyOf") else {
        return;
    };
    let types: Option<Vec<Value>> = variants
        .iter()
        .map(|v| {
            let v = v.as_object()?;
            (v.len() == 1).then(|| v.get("type").filter(|t| t.is_string()).cloned())?
        })
        .collect();
    let Some(types) = types else {
        return;
    };
    if types.len() < 2 || object.contains_key("type") {
        return;
    }
    object.remove("anyOf");
    object.insert("type".into(), Value::Array(types));
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_null_schema(value: &Value) -> bool {
    value.as_object().is_some_and(|o| {
        o.get("type").and_then(Value::as_str) == Some("null")
            && o.keys().all(|k| k == "type" || k == "description")
    })
}

/// Input side: no `null` anywhere. An optional argument is left out, not
/// sent as `null` (which serde accepts all the same).
fn drop_null_input(object: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t.as_str() != Some("null"));
        if types.len() == 1 {
            let only = types.remove(0);
            object.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = object.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(variants)) = object.get_mut(key) else {
            continue;
        };
        variants.retain(|v| !is_null_schema(v));
        if variants.len() == 1 {
            let Some(Value::Object(only)) = object
                .remove(key)
                .and_then(|mut v| v.as_array_mut().and_then(|a| a.pop()))
            else {
                continue;
            };
            merge_under(object, only);
        }
    }
}

/// Output side: `anyOf: [X, {type: null}]` where X is a plain typed schema
/// becomes X with `null` added to its `type` (and `enum`).
fn nullable_output(object: &mut Map<String, Value>) {
    let Some(Value::Array(variants)) = object.get("anyOf") else {
        return;
    };
    if variants.len() != 2 {
        return;
    }
    let Some(null_at) = variants.iter().position(is_null_schema) else {
        return;
    };
    let Value::Object(other) = &variants[1 - null_at] else {
        return;
    };
    let Some(Value::String(kind)) = other.get("type") else {
        return;
    };
    if other.contains_key("$ref") {
        return;
    }
    let mut other = other.clone();
    let kind = kind.clone();
    other.insert(
        "type".into(),
        Value::Array(vec![Value::String(kind), Value::String("null".into())]),
    );
    if let Some(Value::Array(values)) = other.get_mut("enum") {
        values.push(Value::Null);
    }
    object.remove("anyOf");
    merge_under(object, other);
}

/// Merge `inner` into `outer`; `outer`'s own keys (a field's description
/// or default) win over the inner type's.
fn merge_under(outer: &mut Map<String, Value>, inner: Map<String, Value>) {
    for (key, value) in inner {
        outer.entry(key).or_insert(value);
    }
}

/// Inline `$defs` entries where that is no bigger than sharing them, and
/// drop the ones nothing refers to any more.
fn inline_defs(root: &mut Value, defs: &mut BTreeMap<String, Value>, side: Side) {
    loop {
        let mut counts = BTreeMap::new();
        count_refs(root, &mut counts);
        for def in defs.values() {
            count_refs(def, &mut counts);
        }
        defs.retain(|name, _| counts.contains_key(name));
        let now = size(root) + size_of_defs(defs);
        let pick = defs.iter().find_map(|(name, def)| {
            counts.get(name)?;
            if reaches(name, def, defs, &mut BTreeSet::new()) {
                return None;
            }
            let (mut root, mut rest) = (root.clone(), defs.clone());
            rest.remove(name);
            replace_refs(&mut root, name, def);
            normalise(&mut root, side);
            for d in rest.values_mut() {
                replace_refs(d, name, def);
                normalise(d, side);
            }
            (size(&root) + size_of_defs(&rest) <= now).then(|| name.clone())
        });
        let Some(name) = pick else {
            break;
        };
        let Some(def) = defs.remove(&name) else {
            break;
        };
        replace_refs(root, &name, &def);
        for other in defs.values_mut() {
            replace_refs(other, &name, &def);
        }
    }
}

fn size(value: &Value) -> usize {
    serde_json::to_string(value).map_or(usize::MAX, |s| s.len())
}

/// What `$defs` costs: each entry plus its name.
fn size_of_defs(defs: &BTreeMap<String, Value>) -> usize {
    defs.iter()
        .map(|(name, def)| name.len() + 4 + size(def))
        .sum::<usize>()
        + if defs.is_empty() { 0 } else { 10 }
}

fn ref_name(value: &Value) -> Option<&str> {
    value.get("$ref")?.as_str()?.strip_prefix(DEFS_PREFIX)
}

fn count_refs(value: &Value, counts: &mut BTreeMap<String, usize>) {
    match value {
        Value::Object(object) => {
            if let Some(name) = ref_name(value) {
                *counts.entry(name.to_string()).or_default() += 1;
            }
            object.values().for_each(|v| count_refs(v, counts));
        }
        Value::Array(list) => list.iter().for_each(|v| count_refs(v, counts)),
        _ => {}
    }
}

/// Whether `def` refers, directly or through other defs, to `name`.
fn reaches(
    name: &str,
    def: &Value,
    defs: &BTreeMap<String, Value>,
    seen: &mut BTreeSet<String>,
) -> bool {
    let mut refs = BTreeMap::new();
    count_refs(def, &mut refs);
    refs.keys().any(|r| {
        r == name
            || (seen.insert(r.clone()) && defs.get(r).is_some_and(|d| reaches(name, d, defs, seen)))
    })
}

fn replace_refs(value: &mut Value, name: &str, def: &Value) {
    match value {
        Value::Object(object) => {
            if ref_name(&Value::Object(object.clone())) == Some(name) {
                object.remove("$ref");
                if let Value::Object(def) = def {
                    merge_under(object, def.clone());
                }
            }
            object.values_mut().for_each(|v| replace_refs(v, name, def));
        }
        Value::Array(list) => list.iter_mut().for_each(|v| replace_refs(v, name, def)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(schema: Value, side: Side) -> Value {
        let Value::Object(object) = schema else {
            panic!("an object")
        };
        Value::Object(compact(&object, side))
    }

    #[test]
    fn input_optionals_are_typed_plainly() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "dry_run": {"type": "boolean", "default": false, "description": "Only show\nthe request."},
                "limit": {"type": ["integer", "null"], "format": "uint32", "minimum": 1, "maximum": 100},
                "page": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
                "at": {"type": ["string", "null"], "format": "date-time"},
                "mode": {"anyOf": [{"$ref": "#/$defs/Mode"}, {"type": "null"}], "description": "How."},
                "tags": {"type": "array", "items": {"type": "string"}, "default": []}
            },
            "$defs": {"Mode": {"description": "The mode.", "oneOf": [
                {"const": "a", "type": "string", "description": "A."},
                {"const": "b", "type": "string", "description": "B."}
            ]}}
        });
        assert_eq!(
            run(schema, Side::Input),
            json!({
                "type": "object",
                "properties": {
                    "dry_run": {"type": "boolean", "description": "Only show the request."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
                    "page": {"type": "integer"},
                    "at": {"type": "string", "format": "date-time"},
                    "mode": {"type": "string", "enum": ["a", "b"], "description": "How."},
                    "tags": {"type": "array", "items": {"type": "string"}}
                }
            })
        );
    }

    #[test]
    fn output_nulls_stay_and_recursive_defs_stay_shared() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "next": {"type": ["string", "null"]},
                "stage": {"anyOf": [{"$ref": "#/$defs/Stage"}, {"type": "null"}]},
                "tree": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                "id": {"type": "integer", "format": "int64"}
            },
            "$defs": {
                "Stage": {"oneOf": [{"const": "x", "type": "string"}]},
                "Node": {"type": "object", "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
                }}
            }
        });
        assert_eq!(
            run(schema, Side::Output),
            json!({
                "type": "object",
                "properties": {
                    "next": {"type": ["string", "null"]},
                    "stage": {"type": ["string", "null"], "enum": ["x", null]},
                    "tree": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    "id": {"type": "integer"}
                },
                "$defs": {"Node": {"type": "object", "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
                }}}
            })
        );
    }

    #[test]
    fn a_property_named_format_is_not_a_keyword() {
        let schema = json!({
            "type": "object",
            "properties": {"format": {"type": "string", "enum": ["markdown", "json"]}}
        });
        assert_eq!(run(schema.clone(), Side::Input), schema);
    }
}
