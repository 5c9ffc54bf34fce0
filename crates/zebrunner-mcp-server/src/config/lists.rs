//! Lists that may be written as TOML arrays or, from environment variables,
//! as comma-separated strings (`ZMCP_POLICY_ALLOWED_GROUPS=qa,dev`).

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrString {
    List(Vec<String>),
    One(String),
}

/// Deserialise a list from an array or a comma-separated string; blank
/// entries are dropped and entries trimmed.
pub fn comma_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let items = match ListOrString::deserialize(deserializer)? {
        ListOrString::List(items) => items,
        ListOrString::One(text) => text.split(',').map(str::to_string).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "comma_list")]
        items: Vec<String>,
    }

    #[test]
    fn accepts_arrays_and_comma_strings() {
        let a: Holder = serde_json::from_str(r#"{"items": ["a", " b "]}"#).unwrap();
        assert_eq!(a.items, vec!["a", "b"]);
        let b: Holder = serde_json::from_str(r#"{"items": "a, b,,c"}"#).unwrap();
        assert_eq!(b.items, vec!["a", "b", "c"]);
        let c: Holder = serde_json::from_str(r#"{"items": ""}"#).unwrap();
        assert!(c.items.is_empty());
    }
}
