//! Lenient `serde` helpers for numbers, booleans and strings.
//!
//! Zebrunner's internal APIs send some numbers as JSON strings
//! (`"startedAt": "1735689600000"`), and `null` shows up where a count is
//! expected. Use these with `#[serde(deserialize_with = "...")]` (together
//! with `#[serde(default)]`) so one odd field never fails a whole page:
//!
//! * [`i64`] / [`f64`] / [`bool`]: number, numeric string or `null` (→ default);
//! * [`opt_i64`] / [`opt_f64`]: as above, `null`, `""` or missing → `None`;
//! * [`opt_string`]: string, number or bool rendered as a string.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// What a lenient visitor saw, before conversion to the target type.
enum Scalar {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Null,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, a numeric string, a boolean or null")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        i64::try_from(v)
            .map(Scalar::Int)
            .or(Ok(Scalar::Float(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(self)
    }
}

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
    d.deserialize_any(ScalarVisitor)
}

fn to_i64<E: de::Error>(s: Scalar) -> Result<Option<i64>, E> {
    match s {
        Scalar::Int(v) => Ok(Some(v)),
        Scalar::Float(v) if v.fract() == 0.0 && v.abs() < 9.0e18 => Ok(Some(v as i64)),
        Scalar::Float(v) => Err(E::custom(format!("expected an integer, got {v}"))),
        Scalar::Str(s) => parse_int_str(&s),
        Scalar::Bool(b) => Err(E::custom(format!("expected an integer, got {b}"))),
        Scalar::Null => Ok(None),
    }
}

fn parse_int_str<E: de::Error>(s: &str) -> Result<Option<i64>, E> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if let Ok(v) = t.parse::<i64>() {
        return Ok(Some(v));
    }
    // "12.0" happens; anything fractional is a real mismatch.
    match t.parse::<f64>() {
        Ok(v) if v.fract() == 0.0 && v.abs() < 9.0e18 => Ok(Some(v as i64)),
        _ => Err(E::custom(format!("expected an integer, got \"{t}\""))),
    }
}

fn to_f64<E: de::Error>(s: Scalar) -> Result<Option<f64>, E> {
    match s {
        Scalar::Int(v) => Ok(Some(v as f64)),
        Scalar::Float(v) => Ok(Some(v)),
        Scalar::Str(s) if s.trim().is_empty() => Ok(None),
        Scalar::Str(s) => s
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| E::custom(format!("expected a number, got \"{s}\""))),
        Scalar::Bool(b) => Err(E::custom(format!("expected a number, got {b}"))),
        Scalar::Null => Ok(None),
    }
}

/// An `i64` from a number or numeric string; `null`/`""` become `0`.
pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(to_i64(scalar(d)?)?.unwrap_or_default())
}

/// An optional `i64`; `null`, `""` and missing become `None`.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    to_i64(scalar(d)?)
}

/// An `f64` from a number or numeric string; `null`/`""` become `0.0`.
pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(to_f64(scalar(d)?)?.unwrap_or_default())
}

/// An optional `f64`; `null`, `""` and missing become `None`.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    to_f64(scalar(d)?)
}

/// A `bool` from a boolean, `"true"`/`"false"` or `0`/`1`; `null` becomes `false`.
pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    to_bool(scalar(d)?)
}

fn to_bool<E: de::Error>(value: Scalar) -> Result<bool, E> {
    match value {
        Scalar::Bool(b) => Ok(b),
        Scalar::Null => Ok(false),
        Scalar::Int(v) => Ok(v != 0),
        Scalar::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" | "" => Ok(false),
            other => Err(E::custom(format!("expected a boolean, got \"{other}\""))),
        },
        Scalar::Float(v) => Err(E::custom(format!("expected a boolean, got {v}"))),
    }
}

/// An optional `bool` as [`bool`] reads it; `null` and missing become `None`
/// (for flags where absent means "not said", such as `isRelaunchPossible`).
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match scalar(d)? {
        Scalar::Null => Ok(None),
        other => to_bool(other).map(Some),
    }
}

/// An optional string that may arrive as a number or boolean (`buildNumber: 42`).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Str(s) => Some(s),
        Scalar::Int(v) => Some(v.to_string()),
        Scalar::Float(v) => Some(v.to_string()),
        Scalar::Bool(b) => Some(b.to_string()),
        Scalar::Null => None,
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Probe {
        #[serde(deserialize_with = "super::i64")]
        a: i64,
        #[serde(deserialize_with = "super::opt_i64")]
        b: Option<i64>,
        #[serde(deserialize_with = "super::f64")]
        c: f64,
        #[serde(deserialize_with = "super::opt_f64")]
        d: Option<f64>,
        #[serde(deserialize_with = "super::bool")]
        e: bool,
        #[serde(deserialize_with = "super::opt_string")]
        f: Option<String>,
    }

    fn probe(v: serde_json::Value) -> Result<Probe, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn numbers_and_numeric_strings() -> Result<(), serde_json::Error> {
        let p =
            probe(json!({"a": "1735689600000", "b": 7, "c": "2.5", "d": 3, "e": "true", "f": 42}))?;
        assert_eq!(p.a, 1_735_689_600_000);
        assert_eq!(p.b, Some(7));
        assert_eq!(p.c, 2.5);
        assert_eq!(p.d, Some(3.0));
        assert!(p.e);
        assert_eq!(p.f.as_deref(), Some("42"));

        let p = probe(json!({"a": 12.0, "b": " 8 ", "c": 1, "e": 1}))?;
        assert_eq!((p.a, p.b, p.c, p.e), (12, Some(8), 1.0, true));
        let p = probe(json!({"a": "12.0"}))?;
        assert_eq!(p.a, 12);
        Ok(())
    }

    #[test]
    fn null_empty_and_missing() -> Result<(), serde_json::Error> {
        let p = probe(json!({"a": null, "b": null, "c": null, "d": "", "e": null, "f": null}))?;
        assert_eq!(
            (p.a, p.b, p.c, p.d, p.e, p.f),
            (0, None, 0.0, None, false, None)
        );
        let p = probe(json!({"b": ""}))?;
        assert_eq!((p.a, p.b), (0, None));
        Ok(())
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(probe(json!({"a": "abc"})).is_err());
        assert!(probe(json!({"a": 1.5})).is_err());
        assert!(probe(json!({"b": "1.5"})).is_err());
        assert!(probe(json!({"c": "x"})).is_err());
        assert!(probe(json!({"e": "maybe"})).is_err());
    }
}
