//! The authorization server's metadata (RFC 8414) follows its settings: it lists only what
//! the server does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use zebrunner_oauth::{OAuthConfig, metadata_document};

const ISSUER: &str = "https://mcp.example.com";

fn scopes() -> Vec<String> {
    vec!["zebrunner:read".into(), "zebrunner:write".into()]
}

#[test]
fn the_registration_endpoint_is_listed_only_while_registration_is_open() {
    let open = metadata_document(ISSUER, &OAuthConfig::default(), &scopes());
    assert_eq!(
        open["registration_endpoint"],
        "https://mcp.example.com/register"
    );

    let closed = OAuthConfig {
        dynamic_registration: false,
        ..OAuthConfig::default()
    };
    let document = metadata_document(ISSUER, &closed, &scopes());
    assert!(
        document.get("registration_endpoint").is_none(),
        "{document:#}"
    );
    // Everything else stays: sign-in, tokens and client ID metadata documents.
    assert_eq!(document["issuer"], ISSUER);
    assert_eq!(document["token_endpoint"], "https://mcp.example.com/token");
    assert_eq!(document["client_id_metadata_document_supported"], true);
    assert_eq!(document["scopes_supported"][1], "zebrunner:write");
}
