//! [`bearer_token`]: the access token from an `Authorization` header
//! (RFC 6750 §2.1: `Bearer <token68>`, scheme case-insensitive), telling an
//! absent header (no credentials: 401) from a malformed one (400).

use http::HeaderValue;

/// Why an `Authorization` header could not be read as `Bearer <token68>`.
/// Messages never contain the header's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedAuthorization {
    #[error("the Authorization header is empty")]
    Empty,
    #[error("the Authorization header contains characters other than visible ASCII and spaces")]
    NotAscii,
    #[error("the Authorization header uses a scheme other than Bearer")]
    OtherScheme,
    #[error("the Authorization header has no token after `Bearer`")]
    MissingToken,
    #[error("the Authorization header must be `Bearer`, one space, then the token")]
    BadSeparator,
    #[error("the bearer token contains characters not allowed in a token68")]
    InvalidToken,
}

impl MalformedAuthorization {
    /// Fixed text for a `WWW-Authenticate` `error_description`.
    pub fn description(&self) -> &'static str {
        match self {
            MalformedAuthorization::Empty => "The Authorization header is empty",
            MalformedAuthorization::NotAscii => "The Authorization header is not ASCII",
            MalformedAuthorization::OtherScheme => "Use the Bearer authorization scheme",
            MalformedAuthorization::MissingToken => "The Authorization header has no token",
            MalformedAuthorization::BadSeparator => "Use exactly one space after Bearer",
            MalformedAuthorization::InvalidToken => "The bearer token has invalid characters",
        }
    }
}

/// The token from `Authorization: Bearer <token68>`.
///
/// `Ok(None)` when there is no header; `Err` when there is one but it is not
/// exactly the scheme `Bearer` (any case), one space, and a non-empty
/// token68 (`A-Z a-z 0-9 - . _ ~ + /` then optional `=` padding). Leading or
/// trailing whitespace, tabs, two spaces and other schemes are refused.
pub fn bearer_token(
    authorization: Option<&HeaderValue>,
) -> Result<Option<&str>, MalformedAuthorization> {
    let Some(value) = authorization else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.iter().all(|b| *b == b' ' || *b == b'\t') {
        return Err(MalformedAuthorization::Empty);
    }
    if !bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(MalformedAuthorization::NotAscii);
    }
    // Only visible ASCII and spaces remain, so this cannot fail.
    let text = value
        .to_str()
        .map_err(|_| MalformedAuthorization::NotAscii)?;
    let (scheme, rest) = match text.find(' ') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    if scheme.is_empty() {
        return Err(MalformedAuthorization::BadSeparator);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(MalformedAuthorization::OtherScheme);
    }
    if rest.is_empty() {
        return Err(MalformedAuthorization::MissingToken);
    }
    if rest.contains(' ') {
        return Err(MalformedAuthorization::BadSeparator);
    }
    if !is_token68(rest) {
        return Err(MalformedAuthorization::InvalidToken);
    }
    Ok(Some(rest))
}

fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::MalformedAuthorization as M;
    use super::*;

    fn parse(raw: &[u8]) -> Result<Option<String>, M> {
        let v = HeaderValue::from_bytes(raw).expect("test header value");
        bearer_token(Some(&v)).map(|o| o.map(str::to_owned))
    }

    #[test]
    fn absent_header_is_none() {
        assert_eq!(bearer_token(None), Ok(None));
    }

    #[test]
    fn accepted_forms() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
        assert_eq!(
            parse(format!("Bearer {jwt}").as_bytes()),
            Ok(Some(jwt.to_owned()))
        );
        assert_eq!(parse(b"bearer abc"), Ok(Some("abc".into())));
        assert_eq!(parse(b"BEARER abc"), Ok(Some("abc".into())));
        assert_eq!(
            parse(b"BeArEr a-b.c_d~e+f/g"),
            Ok(Some("a-b.c_d~e+f/g".into()))
        );
        assert_eq!(parse(b"Bearer abc=="), Ok(Some("abc==".into())));
    }

    #[test]
    fn refused_forms() {
        let cases: &[(&[u8], M)] = &[
            (b"", M::Empty),
            (b"   ", M::Empty),
            (b"Bearer", M::MissingToken),
            (b"Bearer ", M::MissingToken),
            (b"Bearer  abc", M::BadSeparator),
            (b"Bearer abc ", M::BadSeparator),
            (b"Bearer abc def", M::BadSeparator),
            (b" Bearer abc", M::BadSeparator),
            (b"Bearer\tabc", M::NotAscii),
            (b"Basic dXNlcjpwYXNz", M::OtherScheme),
            (b"Token abc", M::OtherScheme),
            (b"Bearerabc", M::OtherScheme),
            (b"DPoP abc", M::OtherScheme),
            (b"Bearer ab\"c", M::InvalidToken),
            (b"Bearer a,b", M::InvalidToken),
            (b"Bearer ===", M::InvalidToken),
            (b"Bearer ab=c", M::InvalidToken),
            (b"Bearer \xc3\xa9t\xc3\xa9", M::NotAscii),
            (b"Bearer abc\xff", M::NotAscii),
        ];
        for (raw, want) in cases {
            assert_eq!(parse(raw), Err(*want), "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn errors_never_echo_the_value() {
        let secret = "Basic c2VjcmV0LXRva2Vu";
        let err = parse(secret.as_bytes()).unwrap_err();
        assert!(!err.to_string().contains("c2VjcmV0"));
        assert!(!err.description().contains("c2VjcmV0"));
    }
}
