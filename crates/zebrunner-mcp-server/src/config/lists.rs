//! Lists that may be written as TOML arrays or, from environment variables,
//! as one value or a comma-separated string (`ZMCP_AUDIT_SINKS=file`,
//! `ZMCP_POLICY_ALLOWED_GROUPS=qa,dev`).
//!
//! figment parses an environment value that looks like a number or a
//! boolean as one (`ZMCP_OIDC_ALLOWED_CLIENT_IDS=12345` arrives as an
//! integer), so a scalar of any kind is read as its text and split.

use std::{fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer,
    de::{self, DeserializeOwned, IntoDeserializer, SeqAccess, Visitor},
};

/// Deserialise a list from an array or a comma-separated string. Entries of
/// a string are trimmed, blank ones dropped, and each is read as a `T` (a
/// `String`, or a unit-variant enum such as the audit sinks), so an unknown
/// value is reported with the valid ones.
pub fn comma_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    deserializer.deserialize_any(ListVisitor(PhantomData))
}

/// Like [`comma_list`] for an optional list: absent stays `None`, and an
/// empty string or array is `Some(vec![])` (an explicit "none").
pub fn optional_comma_list<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(Option::<CommaList<T>>::deserialize(deserializer)?.map(|l| l.0))
}

/// A list read with [`comma_list`], as a type (for `Option` and nesting).
struct CommaList<T>(Vec<T>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for CommaList<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        comma_list(deserializer).map(CommaList)
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<T: DeserializeOwned> ListVisitor<T> {
    fn split<E: de::Error>(text: &str) -> Result<Vec<T>, E> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| T::deserialize(item.into_deserializer()))
            .collect()
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for ListVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list, or one value or a comma-separated string of values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::new();
        // Array entries get the comma form's treatment: trimmed, blank dropped.
        while let Some(item) = seq.next_element::<Entry<T>>()? {
            if let Entry::Item(item) = item {
                items.push(item);
            }
        }
        Ok(items)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<T>, E> {
        Self::split(text)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Vec<T>, E> {
        Self::split(&value.to_string())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Vec<T>, E> {
        Self::split(&value.to_string())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Vec<T>, E> {
        Self::split(&value.to_string())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Vec<T>, E> {
        Self::split(&value.to_string())
    }
}

/// One array entry: a value, or a blank string to drop. Strings are trimmed
/// like the comma form's entries.
enum Entry<T> {
    Item(T),
    Blank,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Entry<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for EntryVisitor<T> {
            type Value = Entry<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list entry")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Entry<T>, E> {
                let text = text.trim();
                if text.is_empty() {
                    return Ok(Entry::Blank);
                }
                T::deserialize(text.into_deserializer()).map(Entry::Item)
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Entry<T>, E> {
                self.visit_str(&value.to_string())
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Entry<T>, E> {
                self.visit_str(&value.to_string())
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Entry<T>, E> {
                self.visit_str(&value.to_string())
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Entry<T>, E> {
                self.visit_str(&value.to_string())
            }
        }
        deserializer.deserialize_any(EntryVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Sink {
        Database,
        File,
    }

    #[derive(Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "comma_list")]
        items: Vec<String>,
    }

    #[derive(Deserialize)]
    struct Sinks {
        #[serde(deserialize_with = "comma_list")]
        sinks: Vec<Sink>,
    }

    #[derive(Deserialize)]
    struct Optional {
        #[serde(default, deserialize_with = "optional_comma_list")]
        items: Option<Vec<String>>,
    }

    #[test]
    fn accepts_arrays_and_comma_strings() {
        let a: Holder = serde_json::from_str(r#"{"items": ["a", " b ", ""]}"#).unwrap();
        assert_eq!(a.items, vec!["a", "b"]);
        let b: Holder = serde_json::from_str(r#"{"items": "a, b,,c"}"#).unwrap();
        assert_eq!(b.items, vec!["a", "b", "c"]);
        let c: Holder = serde_json::from_str(r#"{"items": ""}"#).unwrap();
        assert!(c.items.is_empty());
        let d: Holder = serde_json::from_str(r#"{"items": 12345}"#).unwrap();
        assert_eq!(d.items, vec!["12345"]);
    }

    #[test]
    fn enums_from_one_value_a_comma_string_or_an_array() {
        let one: Sinks = serde_json::from_str(r#"{"sinks": "file"}"#).unwrap();
        assert_eq!(one.sinks, vec![Sink::File]);
        let two: Sinks = serde_json::from_str(r#"{"sinks": "database, file"}"#).unwrap();
        assert_eq!(two.sinks, vec![Sink::Database, Sink::File]);
        let array: Sinks = serde_json::from_str(r#"{"sinks": ["file"]}"#).unwrap();
        assert_eq!(array.sinks, vec![Sink::File]);
        for bad in [r#"{"sinks": "database,fiel"}"#, r#"{"sinks": ["fiel"]}"#] {
            let err = serde_json::from_str::<Sinks>(bad)
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("fiel") && err.contains("database"), "{err}");
        }
    }

    #[test]
    fn optional_lists_tell_absent_from_empty() {
        let absent: Optional = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.items, None);
        let empty: Optional = serde_json::from_str(r#"{"items": ""}"#).unwrap();
        assert_eq!(empty.items, Some(vec![]));
        let array: Optional = serde_json::from_str(r#"{"items": []}"#).unwrap();
        assert_eq!(array.items, Some(vec![]));
        let some: Optional = serde_json::from_str(r#"{"items": "a,b"}"#).unwrap();
        assert_eq!(some.items, Some(vec!["a".into(), "b".into()]));
    }
}
