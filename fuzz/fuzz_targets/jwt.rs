//! Access-token validation, the whole path a bearer token takes: shape, header, key lookup
//! by `kid`, signature, then the claim checks of access tokens, ID tokens (with and without
//! our nonce) and ID-JAGs.
//!
//! Input: one mode byte, then
//! - `1`..`4`: a JSON header, a newline, a JSON payload; the target signs them with the
//!   test key `ed25519` (EdDSA), `ec-p256` (ES256), `rsa-a` (RS256) or `rsa-b` (PS256), so
//!   the fuzzer reaches the claim checks without forging signatures;
//! - anything else: the rest is the token as sent (shape, base64url, header rules).
//!
//! Never panics: every outcome is an `Ok` or a `TokenError`. `ZMCP_FUZZ_VERBOSE=1` prints them.
#![no_main]

use std::sync::OnceLock;

use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;
use zebrunner_fuzz as fz;
use zebrunner_identity::{IdJagRules, OidcValidator};

fn validator() -> &'static OidcValidator {
    static V: OnceLock<OidcValidator> = OnceLock::new();
    V.get_or_init(|| {
        let config = fz::config(vec![
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ]);
        fz::block_on(fz::validator(config, fz::jwks()))
            .unwrap_or_else(|e| panic!("the test validator: {e}"))
    })
}

fn check(validator: &OidcValidator, token: &str) {
    let rules = IdJagRules {
        audience: fz::ISSUER,
        client_id: fz::CLIENT_ID,
        resource: "https://mcp.example.test/mcp",
        // Long enough for the committed seeds (fixed `iat` and `exp`) to keep passing.
        max_lifetime_secs: 200 * 365 * 86_400,
    };
    fz::block_on(async {
        let access = validator.validate(token).await;
        if let Ok(identity) = &access {
            // What the server relies on: a person or a configured service client, never empty.
            assert!(!identity.subject.is_empty() && !identity.user_key.is_empty());
            assert!(!identity.is_service || identity.user_key.starts_with("client:"));
        }
        let id_token = validator
            .validate_id_token(token, fz::CLIENT_ID, fz::NONCE)
            .await;
        let presented = validator
            .validate_presented_id_token(token, fz::CLIENT_ID)
            .await;
        let jag = validator.validate_id_jag(token, &rules).await;
        if fz::verbose() {
            eprintln!(
                "access: {:?}\nid token: {:?}\npresented id token: {:?}\nid-jag: {:?}",
                access.map(|i| i.user_key),
                id_token.map(|c| c.subject),
                presented.map(|c| c.subject),
                jag.map(|j| j.jti)
            );
        }
    });
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let validator = validator();
    let keys = fz::keys();
    let signer = match mode {
        b'1' => Some((&keys[2], Algorithm::EdDSA)),
        b'2' => Some((&keys[1], Algorithm::ES256)),
        b'3' => Some((&keys[0], Algorithm::RS256)),
        b'4' => Some((&keys[3], Algorithm::PS256)),
        _ => None,
    };
    match signer {
        Some((key, alg)) => {
            let (header, payload) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            if let Some(token) = fz::sign(header, payload, key, alg) {
                check(validator, &token);
            }
        }
        None => check(validator, &String::from_utf8_lossy(rest)),
    }
});
