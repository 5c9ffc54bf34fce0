//! The RQL subset Zebrunner accepts in `filter=` query parameters.
//!
//! [`parse`] turns text such as `testSuite.id IN [1, 2] AND title ~= 'login'`
//! into an [`Expr`]; `Expr`'s `Display` prints RQL that parses back to the same
//! tree (the property tests rely on that). [`Expr::check_selectors`] rejects
//! selectors a resource does not support, and [`Expr::matches`] evaluates the
//! expression against anything implementing [`Record`].
//!
//! Grammar (keywords are case-insensitive):
//!
//! ```text
//! expr    := and ( OR and )*
//! and     := primary ( AND primary )*
//! primary := '(' expr ')' | ident op value | ident IN '[' value ( ',' value )* ']'
//! op      := '=' | '>=' | '<=' | '~='
//! value   := 'str' | "str" | number | true | false | null
//! ```
//!
//! `!=`, `<` and `>` are not part of what Zebrunner is known to accept, so they
//! are rejected rather than guessed at.

use std::cmp::Ordering;
use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// A parse or validation failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RqlError {
    pub message: String,
    /// Byte offset in the input, when the problem is syntactic.
    pub position: Option<usize>,
}

impl RqlError {
    fn at(position: usize, message: impl Into<String>) -> Self {
        RqlError {
            message: message.into(),
            position: Some(position),
        }
    }
}

impl fmt::Display for RqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{} (at position {p})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RqlError {}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ge,
    Le,
    /// Case-insensitive "contains".
    Contains,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Contains => "~=",
        }
    }
}

/// A literal (and the values records expose).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => {
                f.write_str("'")?;
                for c in s.chars() {
                    if c == '\\' || c == '\'' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("'")
            }
            // f64's Display never uses exponents, so the output re-parses exactly.
            Value::Num(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
        }
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp {
        selector: String,
        op: Op,
        value: Value,
    },
    In {
        selector: String,
        values: Vec<Value>,
    },
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Parsing is left-associative with AND binding tighter than OR, so a
        // child needs parentheses only where that would regroup it.
        match self {
            Expr::And(l, r) => {
                write_child(f, l, matches!(**l, Expr::Or(..)))?;
                f.write_str(" AND ")?;
                write_child(f, r, matches!(**r, Expr::Or(..) | Expr::And(..)))
            }
            Expr::Or(l, r) => {
                write_child(f, l, false)?;
                f.write_str(" OR ")?;
                write_child(f, r, matches!(**r, Expr::Or(..)))
            }
            Expr::Cmp {
                selector,
                op,
                value,
            } => write!(f, "{selector} {} {value}", op.as_str()),
            Expr::In { selector, values } => {
                write!(f, "{selector} IN [")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

fn write_child(f: &mut fmt::Formatter<'_>, e: &Expr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

/// Something a filter can be evaluated against.
pub trait Record {
    /// Values of a (validated) selector. Several values mean "any of" (e.g.
    /// `configurations.optionName`); an empty vector means the field is null.
    fn field(&self, selector: &str) -> Vec<Value>;
}

impl Expr {
    /// Every selector used, in order of appearance.
    pub fn selectors(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_selectors(&mut out);
        out
    }

    fn collect_selectors<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::And(l, r) | Expr::Or(l, r) => {
                l.collect_selectors(out);
                r.collect_selectors(out);
            }
            Expr::Cmp { selector, .. } | Expr::In { selector, .. } => out.push(selector),
        }
    }

    /// Rejects selectors outside `allowed`, naming the first offender.
    pub fn check_selectors(&self, allowed: &[&str]) -> Result<(), RqlError> {
        match self.selectors().into_iter().find(|s| !allowed.contains(s)) {
            Some(bad) => Err(RqlError {
                message: format!(
                    "Unsupported RQL selector '{bad}'. Supported selectors: {}",
                    allowed.join(", ")
                ),
                position: None,
            }),
            None => Ok(()),
        }
    }

    /// Evaluates the filter against one record.
    pub fn matches<R: Record + ?Sized>(&self, rec: &R) -> bool {
        match self {
            Expr::And(l, r) => l.matches(rec) && r.matches(rec),
            Expr::Or(l, r) => l.matches(rec) || r.matches(rec),
            Expr::Cmp {
                selector,
                op,
                value,
            } => {
                let actual = rec.field(selector);
                if actual.is_empty() {
                    return *op == Op::Eq && *value == Value::Null;
                }
                actual.iter().any(|a| compare(a, *op, value))
            }
            Expr::In { selector, values } => {
                let actual = rec.field(selector);
                actual
                    .iter()
                    .any(|a| values.iter().any(|v| compare(a, Op::Eq, v)))
            }
        }
    }
}

fn compare(actual: &Value, op: Op, expected: &Value) -> bool {
    match op {
        Op::Eq => ordering(actual, expected) == Some(Ordering::Equal),
        Op::Ge => matches!(
            ordering(actual, expected),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Op::Le => matches!(
            ordering(actual, expected),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Op::Contains => {
            let hay = text(actual).to_lowercase();
            let needle = text(expected).to_lowercase();
            hay.contains(&needle)
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Orders two values; numeric strings compare as numbers and date strings as
/// instants (`'2025-01-01'` equals midnight UTC), mirroring how Zebrunner
/// coerces literals to the field type.
fn ordering(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Num(x), Value::Str(s)) => s
            .trim()
            .parse::<f64>()
            .ok()?
            .partial_cmp(x)
            .map(Ordering::reverse),
        (Value::Str(s), Value::Num(y)) => s.trim().parse::<f64>().ok()?.partial_cmp(y),
        (Value::Bool(x), Value::Str(s)) => s.parse::<bool>().ok().map(|y| x.cmp(&y)),
        (Value::Str(x), Value::Str(y)) => match (parse_instant(x), parse_instant(y)) {
            (Some(ix), Some(iy)) => Some(ix.cmp(&iy)),
            _ => Some(x.as_str().cmp(y.as_str())),
        },
        _ => None,
    }
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` (UTC) or full RFC 3339.
pub fn parse_instant(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(s, &date_fmt) {
        return Some(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc());
    }
    let dt_fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    PrimitiveDateTime::parse(s, &dt_fmt)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Op(Op),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

/// Longest accepted input; the reference client caps queries at 1000 chars.
const MAX_LEN: usize = 4096;
/// Nesting limit so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 64;

fn lex(input: &str) -> Result<Vec<(usize, Tok)>, RqlError> {
    let bytes: Vec<(usize, char)> = input.char_indices().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let (pos, c) = bytes[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                toks.push((pos, Tok::LParen));
                i += 1
            }
            ')' => {
                toks.push((pos, Tok::RParen));
                i += 1
            }
            '[' => {
                toks.push((pos, Tok::LBracket));
                i += 1
            }
            ']' => {
                toks.push((pos, Tok::RBracket));
                i += 1
            }
            ',' => {
                toks.push((pos, Tok::Comma));
                i += 1
            }
            '=' => {
                toks.push((pos, Tok::Op(Op::Eq)));
                i += 1
            }
            '>' | '<' | '~' | '!' => {
                let next = bytes.get(i + 1).map(|&(_, c)| c);
                let op = match (c, next) {
                    ('>', Some('=')) => Op::Ge,
                    ('<', Some('=')) => Op::Le,
                    ('~', Some('=')) => Op::Contains,
                    _ => {
                        let shown: String = bytes[i..].iter().take(2).map(|&(_, c)| c).collect();
                        return Err(RqlError::at(pos, format!("Unsupported operator '{shown}'")));
                    }
                };
                toks.push((pos, Tok::Op(op)));
                i += 2;
            }
            '\'' | '"' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err(RqlError::at(pos, "Unterminated string literal")),
                        Some(&(_, '\\')) => match bytes.get(i + 1) {
                            Some(&(_, esc)) => {
                                s.push(esc);
                                i += 2;
                            }
                            None => return Err(RqlError::at(pos, "Unterminated string literal")),
                        },
                        Some(&(_, ch)) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(&(_, ch)) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                toks.push((pos, Tok::Str(s)));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while i < bytes.len() && (bytes[i].1.is_ascii_digit() || bytes[i].1 == '.') {
                    i += 1;
                }
                let text: String = bytes[start..i].iter().map(|&(_, c)| c).collect();
                let n: f64 = text
                    .parse()
                    .map_err(|_| RqlError::at(pos, format!("Invalid number '{text}'")))?;
                if !n.is_finite() {
                    return Err(RqlError::at(pos, format!("Invalid number '{text}'")));
                }
                toks.push((pos, Tok::Num(n)));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].1.is_ascii_alphanumeric()
                        || bytes[i].1 == '_'
                        || bytes[i].1 == '.')
                {
                    i += 1;
                }
                let word: String = bytes[start..i].iter().map(|&(_, c)| c).collect();
                toks.push((pos, Tok::Ident(word)));
            }
            other => {
                return Err(RqlError::at(pos, format!("Unexpected character '{other}'")));
            }
        }
    }
    Ok(toks)
}

fn is_keyword(word: &str) -> bool {
    ["and", "or", "in", "true", "false", "null"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

fn valid_selector(word: &str) -> bool {
    !is_keyword(word)
        && word.split('.').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

// ---------------------------------------------------------------- parser

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    depth: usize,
}

/// Parses an RQL filter.
pub fn parse(input: &str) -> Result<Expr, RqlError> {
    if input.len() > MAX_LEN {
        return Err(RqlError::at(MAX_LEN, "Filter is too long"));
    }
    let toks = lex(input)?;
    if toks.is_empty() {
        return Err(RqlError::at(0, "Empty filter"));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        end: input.len(),
        depth: 0,
    };
    let expr = p.or()?;
    match p.toks.get(p.pos) {
        None => Ok(expr),
        Some((at, t)) => Err(RqlError::at(*at, format!("Unexpected {}", describe(t)))),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(w) => format!("'{w}'"),
        Tok::Str(_) => "string literal".into(),
        Tok::Num(n) => format!("number {n}"),
        Tok::Op(op) => format!("operator '{}'", op.as_str()),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::Comma => "','".into(),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn here(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(p, _)| *p)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self) -> Result<Expr, RqlError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, RqlError> {
        let mut left = self.primary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.primary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, RqlError> {
        let at = self.here();
        match self.next() {
            Some(Tok::LParen) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(RqlError::at(at, "Filter is nested too deeply"));
                }
                let inner = self.or()?;
                self.depth -= 1;
                let close = self.here();
                match self.next() {
                    Some(Tok::RParen) => Ok(inner),
                    _ => Err(RqlError::at(close, "Expected ')'")),
                }
            }
            Some(Tok::Ident(word)) if valid_selector(&word) => self.comparison(word),
            Some(t) => Err(RqlError::at(
                at,
                format!("Expected a selector but found {}", describe(&t)),
            )),
            None => Err(RqlError::at(at, "Unexpected end of filter")),
        }
    }

    fn comparison(&mut self, selector: String) -> Result<Expr, RqlError> {
        let at = self.here();
        if self.keyword("in") {
            self.pos += 1;
            let open = self.here();
            if self.next() != Some(Tok::LBracket) {
                return Err(RqlError::at(open, "Expected '[' after IN"));
            }
            let mut values = vec![self.value()?];
            loop {
                let p = self.here();
                match self.next() {
                    Some(Tok::Comma) => values.push(self.value()?),
                    Some(Tok::RBracket) => break,
                    _ => return Err(RqlError::at(p, "Expected ',' or ']'")),
                }
            }
            return Ok(Expr::In { selector, values });
        }
        match self.next() {
            Some(Tok::Op(op)) => {
                let value = self.value()?;
                if op == Op::Contains && !matches!(value, Value::Str(_)) {
                    return Err(RqlError::at(at, "Operator '~=' requires a string value"));
                }
                Ok(Expr::Cmp {
                    selector,
                    op,
                    value,
                })
            }
            Some(t) => Err(RqlError::at(
                at,
                format!(
                    "Expected an operator after '{selector}' but found {}",
                    describe(&t)
                ),
            )),
            None => Err(RqlError::at(
                at,
                format!("Expected an operator after '{selector}'"),
            )),
        }
    }

    fn value(&mut self) -> Result<Value, RqlError> {
        let at = self.here();
        match self.next() {
            Some(Tok::Str(s)) => Ok(Value::Str(s)),
            Some(Tok::Num(n)) => Ok(Value::Num(n)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("null") => Ok(Value::Null),
            Some(t) => Err(RqlError::at(
                at,
                format!("Expected a value but found {}", describe(&t)),
            )),
            None => Err(RqlError::at(at, "Expected a value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reference_filters() {
        for f in [
            "testSuite.id = 123",
            "testSuite.id=123",
            "testSuite.id IN [1,2,3]",
            "automationState.id IN [10, 12] AND deprecated = false AND draft = false",
            "createdAt >= '2025-01-01' AND createdAt <= '2025-12-31T23:59:59Z'",
            "title~=\"login\"",
            "milestone.id = 556 AND (configurations.optionName ~= 'b' OR title ~= 'b' OR description ~= 'b') AND closed = true",
        ] {
            let e = parse(f).unwrap();
            assert_eq!(parse(&e.to_string()).unwrap(), e, "{f}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        for f in [
            "", "title", "title =", "a != 1", "a > 1", "(a = 1", "a IN []", "a = 'x", "and = 1",
            "a ~= 1",
        ] {
            assert!(parse(f).is_err(), "{f}");
        }
    }

    #[test]
    fn dates_compare_as_instants() {
        assert!(compare(
            &Value::Str("2025-03-01T10:00:00Z".into()),
            Op::Ge,
            &Value::Str("2025-03-01".into())
        ));
        assert!(!compare(
            &Value::Str("2025-03-01T10:00:00Z".into()),
            Op::Le,
            &Value::Str("2025-03-01".into())
        ));
    }
}
