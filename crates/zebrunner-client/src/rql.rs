//! A small builder for Zebrunner's RQL `filter` expressions.
//!
//! Values are always rendered by the builder — strings single-quoted with
//! `\`, `'` and `"` backslash-escaped, NUL and `;` stripped — so text a user
//! typed into a tool can never break out of its literal. Field names are
//! reduced to `[A-Za-z0-9_.]`. Clauses are joined with `AND`; [`Rql::or`]
//! adds a parenthesised `OR` group.
//!
//! ```
//! use zebrunner_client::Rql;
//! let f = Rql::new()
//!     .eq("testSuite.id", 5)
//!     .in_("automationState.id", [10, 12])
//!     .contains("title", "log'in")
//!     .ge("createdAt", "2025-01-01");
//! assert_eq!(
//!     f.to_string(),
//!     r"testSuite.id = 5 AND automationState.id IN [10, 12] AND title ~= 'log\'in' AND createdAt >= '2025-01-01'"
//! );
//! ```

use std::fmt;

/// A literal on the right-hand side of an RQL comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum RqlValue {
    /// Rendered bare: `5`.
    Int(i64),
    /// Rendered bare: `true`.
    Bool(bool),
    /// Rendered quoted and escaped: `'log\'in'`.
    Str(String),
}

macro_rules! int_from {
    ($($t:ty),*) => {$(
        impl From<$t> for RqlValue {
            fn from(v: $t) -> Self { RqlValue::Int(i64::from(v)) }
        }
    )*};
}
int_from!(i8, i16, i32, i64, u8, u16, u32);

impl From<bool> for RqlValue {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<&str> for RqlValue {
    fn from(v: &str) -> Self {
        Self::Str(v.to_owned())
    }
}
impl From<String> for RqlValue {
    fn from(v: String) -> Self {
        Self::Str(v)
    }
}
impl From<&String> for RqlValue {
    fn from(v: &String) -> Self {
        Self::Str(v.clone())
    }
}

impl fmt::Display for RqlValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(v) => write!(f, "{v}"),
            Self::Bool(v) => write!(f, "{v}"),
            Self::Str(s) => write!(f, "'{}'", escape(s)),
        }
    }
}

/// Escapes a string literal body: backslash-escapes `\`, `'`, `"`; drops NUL and `;`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\0' | ';' => {}
            '\\' | '\'' | '"' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Keeps a field name to identifier characters so it cannot inject syntax.
fn field(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
        .collect()
}

/// An RQL filter: clauses joined with `AND`. `Display` renders it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rql {
    clauses: Vec<String>,
}

impl Rql {
    /// An empty filter (renders as the empty string).
    pub fn new() -> Self {
        Self::default()
    }

    /// `true` when no clause was added; callers then omit the `filter` parameter.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    fn cmp(mut self, name: &str, op: &str, value: RqlValue) -> Self {
        self.clauses.push(format!("{} {op} {value}", field(name)));
        self
    }

    /// `field = value`
    pub fn eq(self, name: &str, value: impl Into<RqlValue>) -> Self {
        self.cmp(name, "=", value.into())
    }

    /// `field != value`
    pub fn ne(self, name: &str, value: impl Into<RqlValue>) -> Self {
        self.cmp(name, "!=", value.into())
    }

    /// `field >= value`
    pub fn ge(self, name: &str, value: impl Into<RqlValue>) -> Self {
        self.cmp(name, ">=", value.into())
    }

    /// `field <= value`
    pub fn le(self, name: &str, value: impl Into<RqlValue>) -> Self {
        self.cmp(name, "<=", value.into())
    }

    /// `field ~= 'text'` (substring match).
    pub fn contains(self, name: &str, text: impl Into<String>) -> Self {
        self.cmp(name, "~=", RqlValue::Str(text.into()))
    }

    /// `field IN [a, b]`. An empty list renders `IN []`, which matches nothing.
    pub fn in_<I>(mut self, name: &str, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<RqlValue>,
    {
        let list: Vec<String> = values.into_iter().map(|v| v.into().to_string()).collect();
        self.clauses
            .push(format!("{} IN [{}]", field(name), list.join(", ")));
        self
    }

    /// Adds `(a OR b OR ...)` built from the clauses of `group`.
    /// An empty group adds nothing; a single clause needs no parentheses.
    pub fn or(mut self, group: Rql) -> Self {
        match group.clauses.len() {
            0 => {}
            1 => self.clauses.extend(group.clauses),
            _ => self
                .clauses
                .push(format!("({})", group.clauses.join(" OR "))),
        }
        self
    }

    /// Adds every clause of `other` (AND).
    pub fn and(mut self, other: Rql) -> Self {
        self.clauses.extend(other.clauses);
        self
    }
}

impl fmt::Display for Rql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.clauses.join(" AND "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_example() {
        let f = Rql::new()
            .eq("testSuite.id", 5)
            .in_("automationState.id", [10, 12])
            .contains("title", "log'in")
            .ge("createdAt", "2025-01-01");
        assert_eq!(
            f.to_string(),
            r"testSuite.id = 5 AND automationState.id IN [10, 12] AND title ~= 'log\'in' AND createdAt >= '2025-01-01'"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(escape(r#"a\b'c"d"#), r#"a\\b\'c\"d"#);
        assert_eq!(escape("x;\0y"), "xy");
        let f = Rql::new().contains("title", "'; DROP x; --");
        assert_eq!(f.to_string(), r"title ~= '\' DROP x --'");
        let f = Rql::new().eq("title", r"end\");
        assert_eq!(f.to_string(), r"title = 'end\\'");
    }

    #[test]
    fn field_names_are_sanitised() {
        let f = Rql::new().eq("title = 'x' OR 1", 1);
        assert_eq!(f.to_string(), "titlexOR1 = 1");
    }

    #[test]
    fn empty_and_bools_and_le() {
        assert!(Rql::new().is_empty());
        assert_eq!(Rql::new().to_string(), "");
        let f = Rql::new()
            .eq("deprecated", false)
            .le("createdAt", "2025-12-31T23:59:59Z");
        assert!(!f.is_empty());
        assert_eq!(
            f.to_string(),
            "deprecated = false AND createdAt <= '2025-12-31T23:59:59Z'"
        );
        assert_eq!(
            Rql::new().in_("id", Vec::<i64>::new()).to_string(),
            "id IN []"
        );
        assert_eq!(
            Rql::new().in_("key", ["A-1", "B'2"]).to_string(),
            r"key IN ['A-1', 'B\'2']"
        );
    }

    #[test]
    fn or_groups() {
        let f = Rql::new().eq("closed", true).or(Rql::new()
            .contains("configurations.optionName", "b")
            .contains("title", "b")
            .contains("description", "b"));
        assert_eq!(
            f.to_string(),
            "closed = true AND (configurations.optionName ~= 'b' OR title ~= 'b' OR description ~= 'b')"
        );
        assert_eq!(Rql::new().or(Rql::new()).to_string(), "");
        assert_eq!(Rql::new().or(Rql::new().eq("a", 1)).to_string(), "a = 1");
        assert_eq!(
            Rql::new().eq("a", 1).and(Rql::new().ne("b", 2)).to_string(),
            "a = 1 AND b != 2"
        );
    }
}
