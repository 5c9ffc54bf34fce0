//! The state of zebrunner-mcp's own OAuth 2.1 authorization server (the identity "broker": MCP
//! clients register, a person signs in at the identity provider and consents, the server issues
//! authorization codes, access tokens and refresh tokens), kept in the database so that a
//! sign-in started on one replica finishes on another and a restart loses nothing.
//!
//! [`OAuthStore`] owns nine tables:
//!
//! - `oauth_clients`: registered clients (dynamic registration, client ID metadata documents,
//!   configured ones) with their metadata document as given.
//! - `oauth_pending`: authorization requests in flight while the person is at the identity
//!   provider and on the consent page; single use ([`OAuthStore::take_pending`]).
//! - `oauth_codes`: authorization codes; single use ([`OAuthStore::redeem_code`]).
//! - `oauth_families` and `oauth_refresh`: refresh tokens, rotated on every use, in families
//!   (one per grant) that are revoked whole when a rotated token comes back
//!   ([`OAuthStore::rotate_refresh`]).
//! - `oauth_consents`: what each person approved for each client ([`OAuthStore::withdraw`]
//!   takes an approval back with the grants it led to).
//! - `oauth_signing_keys`: the keys that sign access tokens, sealed by the caller.
//! - `oauth_jti`: assertion ids seen, against replays ([`OAuthStore::remember_jti`]).
//!
//! Secrets never reach this module: pending-request ids, codes and refresh tokens arrive as the
//! lowercase hex SHA-256 the caller computed, and signing keys arrive sealed (opaque bytes plus
//! the id of the key that sealed them and the nonce). Times are Unix seconds passed in by the
//! caller (`now`), so tests control the clock. Every text field is bounded (the limits below)
//! and refused with [`StorageError::Invalid`] when it is empty, too long, holds control
//! characters, or is not the JSON object or digest it should be; a lookup by a key that could
//! never have been stored simply finds nothing.
//!
//! Every decision that must hold across replicas is one conditional statement (a code is
//! redeemed, a refresh token rotated, a JWT id remembered, by exactly one caller), or a short
//! transaction that starts with its write (so SQLite takes its write lock up front and never
//! has to upgrade a read).

use sqlx::Row;

use crate::BoxFuture;
use crate::StorageError;
use crate::check;
use crate::sql::{self, Sql, on_pool, sql};
use crate::storage::Storage;

/// Longest client id: a client ID metadata document's id is its URL.
pub const MAX_CLIENT_ID_CHARS: usize = 2048;
/// Longest user key (as in the vault).
pub const MAX_USER_KEY_CHARS: usize = 256;
/// Longest family id, key id (`kid`), sealing key id.
pub const MAX_ID_CHARS: usize = 256;
/// Longest redirect URI and resource.
pub const MAX_URI_CHARS: usize = 2048;
/// Longest scope string.
pub const MAX_SCOPE_CHARS: usize = 2048;
/// Longest PKCE code challenge (RFC 7636 allows 43 to 128 characters).
pub const MAX_CODE_CHALLENGE_CHARS: usize = 128;
/// Longest signing algorithm name (`ES256`, `EdDSA`, ...).
pub const MAX_ALG_CHARS: usize = 32;
/// Longest issuer of a remembered JWT id.
pub const MAX_ISSUER_CHARS: usize = 2048;
/// Longest JWT id.
pub const MAX_JTI_CHARS: usize = 512;
/// Longest revocation reason kept (longer ones are cut, control characters dropped).
pub const MAX_REASON_CHARS: usize = 500;
/// Largest JSON document (client metadata, request, identity, public JWK), in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// Largest sealed signing key, in bytes.
pub const MAX_SEALED_BYTES: usize = 64 * 1024;
/// Largest nonce of a sealed signing key, in bytes.
pub const MAX_NONCE_BYTES: usize = 64;

/// Codes and refresh tokens are kept this long past their expiry, so that one presented late
/// is answered "expired" (or, when it was used, "reused") rather than "unknown".
pub const PURGE_GRACE_SECS: i64 = 24 * 60 * 60;
/// [`OAuthStore::delete_dead_families`] keeps a revoked family, or one without any refresh
/// token left, this long (for [`OAuthStore::list_grants`]).
pub const FAMILY_RETENTION_SECS: i64 = 30 * 24 * 60 * 60;

/// [`OAuthStore::withdraw`] also stops codes that expired this recently: one may have been
/// redeemed just before it expired and not have started its grant yet.
const CODE_REDEEM_MARGIN_SECS: i64 = 60;

/// Most rows one listing returns.
const MAX_LIST: u32 = 10_000;
/// The `leases` row whose lock serializes [`OAuthStore::add_signing_key`].
const SIGNING_KEY_LOCK: &str = "oauth_signing_keys.add";

/// How a client came to be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKind {
    /// Dynamic client registration (RFC 7591): expires when unused.
    Dcr,
    /// A client ID metadata document: the client id is the document's URL.
    Cimd,
    /// Configured by the operator.
    Static,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Dcr => "dcr",
            ClientKind::Cimd => "cimd",
            ClientKind::Static => "static",
        }
    }

    fn parse(value: &str) -> Result<ClientKind, StorageError> {
        match value {
            "dcr" => Ok(ClientKind::Dcr),
            "cimd" => Ok(ClientKind::Cimd),
            "static" => Ok(ClientKind::Static),
            other => Err(StorageError::Corrupt {
                what: "OAuth client",
                reason: format!("unknown kind {other:?}"),
            }),
        }
    }
}

/// A row of `oauth_clients`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    pub client_id: String,
    pub kind: ClientKind,
    /// The client's metadata, a JSON object, stored exactly as given.
    pub metadata: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; set by [`OAuthStore::touch_client`].
    pub last_used_at: Option<i64>,
    /// Unix seconds; `None`: never expires.
    pub expires_at: Option<i64>,
}

/// A row of `oauth_pending`: an authorization request waiting for sign-in and consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    /// SHA-256 (lowercase hex) of the request's random id.
    pub id_hash: String,
    pub client_id: String,
    /// The validated request, a JSON object (redirect URI, state, code challenge, scope,
    /// resource), stored exactly as given.
    pub request: String,
    /// Set, with `identity`, once the person signed in.
    pub user_key: Option<String>,
    /// Who signed in, a JSON object given by the caller.
    pub identity: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A row of `oauth_codes`, without its `used` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRow {
    /// SHA-256 (lowercase hex) of the code.
    pub code_hash: String,
    pub client_id: String,
    pub user_key: String,
    /// Who signed in, a JSON object.
    pub identity: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    /// May be empty.
    pub resource: String,
    /// May be empty.
    pub scope: String,
    /// The refresh-token family the tokens issued for this code will belong to.
    pub family_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The result of [`OAuthStore::redeem_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeem {
    /// First use: now marked used. The caller still checks the client, redirect URI and PKCE
    /// verifier against it.
    Fresh(CodeRow),
    /// Used before. The store has already revoked `family_id` (and every token issued from
    /// it), as RFC 6749 section 4.1.2 asks; issue nothing.
    Reused { family_id: String },
    /// Unused but past its expiry.
    Expired,
    /// Never issued, or purged.
    Unknown,
}

/// A row of `oauth_refresh`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRow {
    /// SHA-256 (lowercase hex) of the refresh token.
    pub token_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub user_key: String,
    /// Who the grant is for, a JSON object.
    pub identity: String,
    /// May be empty.
    pub scope: String,
    /// May be empty.
    pub resource: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; when the token was exchanged for its successor. Ignored when storing: a
    /// new token is always stored unrotated.
    pub rotated_at: Option<i64>,
}

/// The result of [`OAuthStore::rotate_refresh`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotate {
    /// The old token, now rotated (as stored: `rotated_at` is `now`); the new one is stored in
    /// its family.
    Rotated(RefreshRow),
    /// The old token had been rotated before: someone holds a copy. The store has revoked
    /// the whole family; issue nothing.
    Reused { family_id: String },
    /// The token's family is revoked.
    Revoked,
    /// Unrotated but past its expiry.
    Expired,
    /// Never issued (to this client), or purged.
    Unknown,
}

/// What [`OAuthStore::withdraw`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Withdrawn {
    /// The person's approval for the client was forgotten.
    pub consent: bool,
    /// Live grants revoked.
    pub grants: u64,
}

/// One grant (refresh-token family) as [`OAuthStore::list_grants`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    pub family_id: String,
    pub client_id: String,
    pub user_key: String,
    /// Unix seconds: when the code was redeemed.
    pub created_at: i64,
    /// Unix seconds: when a refresh token of the family was last used; `None` if never.
    pub last_refresh_at: Option<i64>,
    /// Unix seconds; `None` while the grant is live.
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
}

/// A row of `oauth_consents`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    pub user_key: String,
    pub client_id: String,
    /// What was approved; may be empty.
    pub scope: String,
    /// Unix seconds.
    pub approved_at: i64,
}

/// A row of `oauth_signing_keys`: a signing key, sealed by the caller.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRow {
    /// The key id published in the JWKS and in tokens' `kid`.
    pub kid: String,
    /// The JWS algorithm (`ES256`, `EdDSA`, ...).
    pub alg: String,
    /// The private key, sealed by the caller; opaque here.
    pub sealed: Vec<u8>,
    /// The id of the key that sealed it.
    pub seal_key_id: String,
    /// The nonce it was sealed with.
    pub nonce: Vec<u8>,
    /// The public key as a JWK (a JSON object).
    pub public_jwk: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds: from then on the key is neither used nor published.
    pub retire_after: i64,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("sealed", &format_args!("[{} bytes]", self.sealed.len()))
            .field("seal_key_id", &self.seal_key_id)
            .field("public_jwk", &self.public_jwk)
            .field("created_at", &self.created_at)
            .field("retire_after", &self.retire_after)
            .finish_non_exhaustive()
    }
}

// ---- Statements -----------------------------------------------------------------------------

macro_rules! client_columns {
    () => {
        "client_id, kind, metadata, created_at, last_used_at, expires_at"
    };
}
macro_rules! pending_columns {
    () => {
        "id_hash, client_id, request, user_key, identity, expires_at"
    };
}
macro_rules! code_columns {
    () => {
        "code_hash, client_id, user_key, identity, redirect_uri, code_challenge, resource, \
         scope, family_id, expires_at"
    };
}
macro_rules! refresh_columns {
    () => {
        "token_hash, family_id, client_id, user_key, identity, scope, resource, expires_at, \
         created_at, rotated_at"
    };
}
macro_rules! key_columns {
    () => {
        "kid, alg, sealed, seal_key_id, nonce, public_jwk, created_at, retire_after"
    };
}

/// Insert, or replace the metadata and expiry of a client of the same kind; a client of
/// another kind keeps its id.
const PUT_CLIENT: Sql = sql!(concat!(
    "INSERT INTO oauth_clients (",
    client_columns!(),
    ") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO UPDATE SET \
     metadata = excluded.metadata, expires_at = excluded.expires_at \
     WHERE oauth_clients.kind = excluded.kind"
));
const CLIENT: Sql = sql!(concat!(
    "SELECT ",
    client_columns!(),
    " FROM oauth_clients WHERE client_id = ?"
));
const LIST_CLIENTS: Sql = sql!(concat!(
    "SELECT ",
    client_columns!(),
    " FROM oauth_clients WHERE client_id > ? ORDER BY client_id LIMIT ?"
));
/// Note the use; a registered (`dcr`) client's expiry moves to `now + keep_secs` if that is
/// later. A client without expiry keeps none.
const TOUCH_CLIENT: Sql = sql!(
    "UPDATE oauth_clients SET last_used_at = ?, expires_at = CASE \
     WHEN kind = 'dcr' AND expires_at IS NOT NULL AND expires_at < ? THEN ? \
     ELSE expires_at END WHERE client_id = ?"
);
/// Expired clients without a live refresh token (unrotated, unexpired, in a live family).
const DELETE_EXPIRED_CLIENTS: Sql = sql!(
    "DELETE FROM oauth_clients WHERE expires_at < ? AND NOT EXISTS (\
     SELECT 1 FROM oauth_families f JOIN oauth_refresh r ON r.family_id = f.family_id \
     WHERE f.client_id = oauth_clients.client_id AND f.revoked_at IS NULL \
     AND r.rotated_at IS NULL AND r.expires_at > ?) RETURNING client_id, kind"
);
const DELETE_CLIENT: Sql = sql!("DELETE FROM oauth_clients WHERE client_id = ?");
const REVOKE_CLIENT_FAMILIES: Sql = sql!(
    "UPDATE oauth_families SET revoked_at = ?, revoked_reason = ? \
     WHERE client_id = ? AND revoked_at IS NULL"
);
const DELETE_CLIENT_CONSENTS: Sql = sql!("DELETE FROM oauth_consents WHERE client_id = ?");
const DELETE_CLIENT_PENDING: Sql = sql!("DELETE FROM oauth_pending WHERE client_id = ?");
const DELETE_CLIENT_CODES: Sql = sql!("DELETE FROM oauth_codes WHERE client_id = ?");

const PURGE_PENDING: Sql = sql!("DELETE FROM oauth_pending WHERE expires_at <= ?");
const PUT_PENDING: Sql = sql!(concat!(
    "INSERT INTO oauth_pending (",
    pending_columns!(),
    ") VALUES (?, ?, ?, ?, ?, ?)"
));
const PENDING: Sql = sql!(concat!(
    "SELECT ",
    pending_columns!(),
    " FROM oauth_pending WHERE id_hash = ? AND expires_at > ?"
));
/// Once per request: a second sign-in cannot replace who signed in.
const SET_PENDING_IDENTITY: Sql = sql!(
    "UPDATE oauth_pending SET user_key = ?, identity = ? \
     WHERE id_hash = ? AND expires_at > ? AND user_key IS NULL"
);
const TAKE_PENDING: Sql = sql!(concat!(
    "DELETE FROM oauth_pending WHERE id_hash = ? AND expires_at > ? RETURNING ",
    pending_columns!()
));

const PURGE_CODES: Sql = sql!("DELETE FROM oauth_codes WHERE expires_at < ?");
const PUT_CODE: Sql = sql!(concat!(
    "INSERT INTO oauth_codes (",
    code_columns!(),
    ", used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE)"
));
/// The one statement that decides a redemption: of concurrent attempts, one changes the row.
const REDEEM_CODE: Sql = sql!(
    "UPDATE oauth_codes SET used = TRUE \
     WHERE code_hash = ? AND used = FALSE AND expires_at > ?"
);
const CODE: Sql = sql!(concat!(
    "SELECT ",
    code_columns!(),
    ", used FROM oauth_codes WHERE code_hash = ?"
));

const START_FAMILY: Sql = sql!(
    "INSERT INTO oauth_families (family_id, client_id, user_key, created_at) \
     VALUES (?, ?, ?, ?) ON CONFLICT (family_id) DO NOTHING"
);
/// Revoke a family, creating it revoked if it was not started yet (a reused code may be
/// presented before the first redemption started the family).
const REVOKE_OR_CREATE_FAMILY: Sql = sql!(
    "INSERT INTO oauth_families (family_id, client_id, user_key, created_at, revoked_at, \
     revoked_reason) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (family_id) DO UPDATE SET \
     revoked_at = excluded.revoked_at, revoked_reason = excluded.revoked_reason \
     WHERE oauth_families.revoked_at IS NULL"
);
const REVOKE_FAMILY: Sql = sql!(
    "UPDATE oauth_families SET revoked_at = ?, revoked_reason = ? \
     WHERE family_id = ? AND revoked_at IS NULL"
);
const REVOKE_BY_REFRESH: Sql = sql!(
    "UPDATE oauth_families SET revoked_at = ?, revoked_reason = ? WHERE revoked_at IS NULL \
     AND family_id IN (SELECT family_id FROM oauth_refresh WHERE token_hash = ? AND client_id = ?)"
);
const REVOKE_FOR_USER: Sql = sql!(
    "UPDATE oauth_families SET revoked_at = ?, revoked_reason = ? WHERE revoked_at IS NULL \
     AND user_key = ? AND (CAST(? AS TEXT) IS NULL OR client_id = ?)"
);
/// For [`OAuthStore::withdraw`]: the grants this person's outstanding codes for the client
/// would start, created revoked (a code redeemed meanwhile then starts nothing).
const REVOKE_CODE_FAMILIES: Sql = sql!(
    "INSERT INTO oauth_families (family_id, client_id, user_key, created_at, revoked_at, \
     revoked_reason) SELECT family_id, client_id, user_key, ?, ?, ? FROM oauth_codes \
     WHERE user_key = ? AND client_id = ? AND expires_at > ? \
     ON CONFLICT (family_id) DO NOTHING"
);
const FAMILY_REVOKED_AT: Sql = sql!("SELECT revoked_at FROM oauth_families WHERE family_id = ?");
const LIST_GRANTS: Sql = sql!(
    "SELECT f.family_id, f.client_id, f.user_key, f.created_at, f.revoked_at, f.revoked_reason, \
     (SELECT MAX(r.rotated_at) FROM oauth_refresh r WHERE r.family_id = f.family_id) \
     AS last_refresh_at FROM oauth_families f \
     WHERE (CAST(? AS TEXT) IS NULL OR f.user_key = ?) \
     AND (CAST(? AS TEXT) IS NULL OR f.client_id = ?) \
     ORDER BY f.created_at DESC, f.family_id LIMIT ?"
);
/// Their refresh tokens go with them (`ON DELETE CASCADE`).
const DELETE_REVOKED_FAMILIES: Sql = sql!("DELETE FROM oauth_families WHERE revoked_at < ?");
const DELETE_EMPTY_FAMILIES: Sql = sql!(
    "DELETE FROM oauth_families WHERE created_at < ? AND NOT EXISTS \
     (SELECT 1 FROM oauth_refresh r WHERE r.family_id = oauth_families.family_id)"
);

const PURGE_REFRESH: Sql = sql!("DELETE FROM oauth_refresh WHERE expires_at < ?");
/// Only into a live family of the same client and user.
const PUT_REFRESH: Sql = sql!(
    "INSERT INTO oauth_refresh (token_hash, family_id, client_id, user_key, identity, scope, \
     resource, expires_at, created_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS \
     (SELECT 1 FROM oauth_families WHERE family_id = ? AND client_id = ? AND user_key = ? \
     AND revoked_at IS NULL)"
);
const INSERT_REFRESH: Sql = sql!(
    "INSERT INTO oauth_refresh (token_hash, family_id, client_id, user_key, identity, scope, \
     resource, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
);
const REFRESH: Sql = sql!(concat!(
    "SELECT ",
    refresh_columns!(),
    " FROM oauth_refresh WHERE token_hash = ?"
));
/// The one statement that decides a rotation: of concurrent attempts, one changes the row.
const ROTATE: Sql = sql!(
    "UPDATE oauth_refresh SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL \
     AND expires_at > ? AND family_id = ? AND client_id = ? AND user_key = ? AND EXISTS \
     (SELECT 1 FROM oauth_families f WHERE f.family_id = oauth_refresh.family_id \
     AND f.revoked_at IS NULL)"
);
/// Why a rotation changed nothing.
const DIAGNOSE_REFRESH: Sql = sql!(concat!(
    "SELECT ",
    refresh_columns!(),
    ", (SELECT f.revoked_at FROM oauth_families f WHERE f.family_id = oauth_refresh.family_id) \
     AS family_revoked_at, (SELECT COUNT(*) FROM oauth_families f \
     WHERE f.family_id = oauth_refresh.family_id) AS family_count \
     FROM oauth_refresh WHERE token_hash = ?"
));

const RECORD_CONSENT: Sql = sql!(
    "INSERT INTO oauth_consents (user_key, client_id, scope, approved_at) VALUES (?, ?, ?, ?) \
     ON CONFLICT (user_key, client_id) DO UPDATE SET scope = excluded.scope, \
     approved_at = excluded.approved_at"
);
const CONSENT: Sql = sql!(
    "SELECT user_key, client_id, scope, approved_at FROM oauth_consents \
     WHERE user_key = ? AND client_id = ?"
);
const REVOKE_CONSENT: Sql = sql!("DELETE FROM oauth_consents WHERE user_key = ? AND client_id = ?");
const CONSENTS_OF: Sql = sql!(
    "SELECT user_key, client_id, scope, approved_at FROM oauth_consents \
     WHERE user_key = ? ORDER BY client_id LIMIT ?"
);

const SIGNING_KEYS: Sql = sql!(concat!(
    "SELECT ",
    key_columns!(),
    " FROM oauth_signing_keys WHERE retire_after > ? ORDER BY created_at DESC, kid DESC"
));
/// Taken first in [`OAuthStore::add_signing_key`]'s transaction: on PostgreSQL it locks the
/// row until commit, on SQLite it takes the database's write lock.
const LOCK_SIGNING_KEYS: Sql = sql!(
    "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
);
const ADD_SIGNING_KEY: Sql = sql!(concat!(
    "INSERT INTO oauth_signing_keys (",
    key_columns!(),
    ") SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS \
     (SELECT 1 FROM oauth_signing_keys WHERE created_at >= ?) ON CONFLICT (kid) DO NOTHING"
));
/// The compare-and-swap of a vault rekey: only if the row still holds what was opened.
const RESEAL_SIGNING_KEY: Sql = sql!(
    "UPDATE oauth_signing_keys SET seal_key_id = ?, sealed = ?, nonce = ? \
     WHERE kid = ? AND nonce = ?"
);
const DELETE_RETIRED_KEYS: Sql = sql!("DELETE FROM oauth_signing_keys WHERE retire_after <= ?");

const PURGE_JTI: Sql = sql!("DELETE FROM oauth_jti WHERE expires_at < ?");
const REMEMBER_JTI: Sql = sql!(
    "INSERT INTO oauth_jti (issuer, jti, expires_at) VALUES (?, ?, ?) \
     ON CONFLICT (issuer, jti) DO NOTHING"
);

// ---- Row decoding (macros: the body is written once and typed against each backend's row) ---

macro_rules! decode_client {
    ($row:expr) => {{
        let row = &$row;
        let kind: String = row.try_get("kind")?;
        ClientRow {
            client_id: row.try_get("client_id")?,
            kind: ClientKind::parse(&kind)?,
            metadata: row.try_get("metadata")?,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
            expires_at: row.try_get("expires_at")?,
        }
    }};
}

macro_rules! decode_pending {
    ($row:expr) => {{
        let row = &$row;
        PendingRow {
            id_hash: row.try_get("id_hash")?,
            client_id: row.try_get("client_id")?,
            request: row.try_get("request")?,
            user_key: row.try_get("user_key")?,
            identity: row.try_get("identity")?,
            expires_at: row.try_get("expires_at")?,
        }
    }};
}

macro_rules! decode_code {
    ($row:expr) => {{
        let row = &$row;
        CodeRow {
            code_hash: row.try_get("code_hash")?,
            client_id: row.try_get("client_id")?,
            user_key: row.try_get("user_key")?,
            identity: row.try_get("identity")?,
            redirect_uri: row.try_get("redirect_uri")?,
            code_challenge: row.try_get("code_challenge")?,
            resource: row.try_get("resource")?,
            scope: row.try_get("scope")?,
            family_id: row.try_get("family_id")?,
            expires_at: row.try_get("expires_at")?,
        }
    }};
}

macro_rules! decode_refresh {
    ($row:expr) => {{
        let row = &$row;
        RefreshRow {
            token_hash: row.try_get("token_hash")?,
            family_id: row.try_get("family_id")?,
            client_id: row.try_get("client_id")?,
            user_key: row.try_get("user_key")?,
            identity: row.try_get("identity")?,
            scope: row.try_get("scope")?,
            resource: row.try_get("resource")?,
            expires_at: row.try_get("expires_at")?,
            created_at: row.try_get("created_at")?,
            rotated_at: row.try_get("rotated_at")?,
        }
    }};
}

macro_rules! decode_grant {
    ($row:expr) => {{
        let row = &$row;
        GrantRow {
            family_id: row.try_get("family_id")?,
            client_id: row.try_get("client_id")?,
            user_key: row.try_get("user_key")?,
            created_at: row.try_get("created_at")?,
            last_refresh_at: row.try_get("last_refresh_at")?,
            revoked_at: row.try_get("revoked_at")?,
            revoked_reason: row.try_get("revoked_reason")?,
        }
    }};
}

macro_rules! decode_consent {
    ($row:expr) => {{
        let row = &$row;
        ConsentRow {
            user_key: row.try_get("user_key")?,
            client_id: row.try_get("client_id")?,
            scope: row.try_get("scope")?,
            approved_at: row.try_get("approved_at")?,
        }
    }};
}

macro_rules! decode_key {
    ($row:expr) => {{
        let row = &$row;
        SigningKeyRow {
            kid: row.try_get("kid")?,
            alg: row.try_get("alg")?,
            sealed: row.try_get("sealed")?,
            seal_key_id: row.try_get("seal_key_id")?,
            nonce: row.try_get("nonce")?,
            public_jwk: row.try_get("public_jwk")?,
            created_at: row.try_get("created_at")?,
            retire_after: row.try_get("retire_after")?,
        }
    }};
}

/// What [`OAuthStore::rotate_refresh`] reads when its update changed nothing.
struct RefreshState {
    row: RefreshRow,
    /// The family is missing or revoked.
    revoked: bool,
}

/// The authorization server's store: a [`Storage`] and the `oauth_*` tables. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OAuthStore {
    storage: Storage,
}

impl OAuthStore {
    pub fn new(storage: Storage) -> OAuthStore {
        OAuthStore { storage }
    }

    // ---- Clients ----------------------------------------------------------------------------

    /// Store a client, or replace the metadata and expiry of the stored client with this id
    /// and kind (`created_at` and `last_used_at` stay). `false`: the id belongs to a client
    /// of another kind, which is left as it was.
    pub fn put_client<'a>(
        &'a self,
        client: &'a ClientRow,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            check::text("client id", &client.client_id, MAX_CLIENT_ID_CHARS)?;
            check::json_object("client metadata", &client.metadata, MAX_DOCUMENT_BYTES)?;
            let stored = on_pool!(&self.storage.pool, pool => {
                sql::query(&PUT_CLIENT)
                    .bind(&client.client_id)
                    .bind(client.kind.as_str())
                    .bind(&client.metadata)
                    .bind(client.created_at)
                    .bind(client.last_used_at)
                    .bind(client.expires_at)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            Ok(stored == 1)
        })
    }

    /// The client `client_id`, expired or not (see [`ClientRow::expires_at`]).
    pub fn client<'a>(
        &'a self,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ClientRow>, StorageError>> {
        Box::pin(async move {
            if check::text("client id", client_id, MAX_CLIENT_ID_CHARS).is_err() {
                return Ok(None);
            }
            Ok(on_pool!(&self.storage.pool, pool => {
                match sql::query(&CLIENT).bind(client_id).fetch_optional(pool).await? {
                    Some(row) => Some(decode_client!(row)),
                    None => None,
                }
            }))
        })
    }

    /// Note that `client_id` was used at `now`; a registered (`dcr`) client that expires gets
    /// until `now + keep_secs` at least. Whether the client exists.
    pub fn touch_client<'a>(
        &'a self,
        client_id: &'a str,
        now: i64,
        keep_secs: i64,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            if check::text("client id", client_id, MAX_CLIENT_ID_CHARS).is_err() {
                return Ok(false);
            }
            let until = now.saturating_add(keep_secs.max(0));
            let changed = on_pool!(&self.storage.pool, pool => {
                sql::query(&TOUCH_CLIENT)
                    .bind(now)
                    .bind(until)
                    .bind(until)
                    .bind(client_id)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            Ok(changed > 0)
        })
    }

    /// Delete the clients whose expiry is before `now` and that hold no live refresh token
    /// (one unrotated and unexpired, in a family not revoked); with a registered (`dcr`)
    /// client go its consents (its id is never given out again). How many were deleted.
    pub fn delete_expired_clients(&self, now: i64) -> BoxFuture<'_, Result<u64, StorageError>> {
        Box::pin(async move {
            Ok(on_pool!(&self.storage.pool, pool => {
                let mut tx = pool.begin().await?;
                let deleted = sql::query(&DELETE_EXPIRED_CLIENTS)
                    .bind(now)
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                for row in &deleted {
                    let client_id: String = row.try_get("client_id")?;
                    let kind: String = row.try_get("kind")?;
                    if kind == ClientKind::Dcr.as_str() {
                        sql::query(&DELETE_CLIENT_CONSENTS)
                            .bind(&client_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                deleted.len() as u64
            }))
        })
    }

    /// Up to `limit` clients after `after` (by client id). Start with `None`; continue with
    /// the last client id returned.
    pub fn list_clients<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<ClientRow>, StorageError>> {
        Box::pin(async move {
            let after = after.unwrap_or("");
            Ok(on_pool!(&self.storage.pool, pool => {
                let mut out = Vec::new();
                for row in sql::query(&LIST_CLIENTS)
                    .bind(after)
                    .bind(list_limit(limit))
                    .fetch_all(pool)
                    .await?
                {
                    out.push(decode_client!(row));
                }
                out
            }))
        })
    }

    /// Delete a client and everything it holds: its grants are revoked (reason "client
    /// deleted"), its consents, pending requests and codes deleted. Whether the client was
    /// stored.
    pub fn delete_client<'a>(
        &'a self,
        client_id: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            if check::text("client id", client_id, MAX_CLIENT_ID_CHARS).is_err() {
                return Ok(false);
            }
            let deleted = on_pool!(&self.storage.pool, pool => {
                let mut tx = pool.begin().await?;
                let deleted = sql::query(&DELETE_CLIENT)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sql::query(&REVOKE_CLIENT_FAMILIES)
                    .bind(now)
                    .bind("client deleted")
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?;
                for statement in [&DELETE_CLIENT_CONSENTS, &DELETE_CLIENT_PENDING, &DELETE_CLIENT_CODES] {
                    sql::query(statement).bind(client_id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                deleted
            });
            Ok(deleted > 0)
        })
    }

    // ---- Pending authorization requests -----------------------------------------------------

    /// Store a request in flight (and delete the expired ones).
    pub fn put_pending<'a>(
        &'a self,
        pending: &'a PendingRow,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            check::sha256_hex("pending request id hash", &pending.id_hash)?;
            check::text("client id", &pending.client_id, MAX_CLIENT_ID_CHARS)?;
            check::json_object(
                "authorization request",
                &pending.request,
                MAX_DOCUMENT_BYTES,
            )?;
            if let Some(user_key) = &pending.user_key {
                check::text("user key", user_key, MAX_USER_KEY_CHARS)?;
            }
            if let Some(identity) = &pending.identity {
                check::json_object("identity", identity, MAX_DOCUMENT_BYTES)?;
            }
            on_pool!(&self.storage.pool, pool => {
                sql::query(&PURGE_PENDING).bind(now).execute(pool).await?;
                sql::query(&PUT_PENDING)
                    .bind(&pending.id_hash)
                    .bind(&pending.client_id)
                    .bind(&pending.request)
                    .bind(&pending.user_key)
                    .bind(&pending.identity)
                    .bind(pending.expires_at)
                    .execute(pool)
                    .await?;
            });
            Ok(())
        })
    }

    /// The request `id_hash`, unless it expired (or was taken).
    pub fn pending<'a>(
        &'a self,
        id_hash: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<PendingRow>, StorageError>> {
        Box::pin(async move {
            if check::sha256_hex("pending request id hash", id_hash).is_err() {
                return Ok(None);
            }
            Ok(on_pool!(&self.storage.pool, pool => {
                match sql::query(&PENDING).bind(id_hash).bind(now).fetch_optional(pool).await? {
                    Some(row) => Some(decode_pending!(row)),
                    None => None,
                }
            }))
        })
    }

    /// Record who signed in for the request `id_hash`. Only once, and only while it has not
    /// expired: `false` when it is unknown, expired, taken, or already has an identity.
    pub fn set_pending_identity<'a>(
        &'a self,
        id_hash: &'a str,
        user_key: &'a str,
        identity: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            check::text("user key", user_key, MAX_USER_KEY_CHARS)?;
            check::json_object("identity", identity, MAX_DOCUMENT_BYTES)?;
            if check::sha256_hex("pending request id hash", id_hash).is_err() {
                return Ok(false);
            }
            let changed = on_pool!(&self.storage.pool, pool => {
                sql::query(&SET_PENDING_IDENTITY)
                    .bind(user_key)
                    .bind(identity)
                    .bind(id_hash)
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            Ok(changed > 0)
        })
    }

    /// Delete the request `id_hash` and return it, unless it expired: one statement
    /// (`DELETE ... RETURNING`), so of concurrent takes exactly one gets it.
    pub fn take_pending<'a>(
        &'a self,
        id_hash: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<PendingRow>, StorageError>> {
        Box::pin(async move {
            if check::sha256_hex("pending request id hash", id_hash).is_err() {
                return Ok(None);
            }
            Ok(on_pool!(&self.storage.pool, pool => {
                match sql::query(&TAKE_PENDING).bind(id_hash).bind(now).fetch_optional(pool).await? {
                    Some(row) => Some(decode_pending!(row)),
                    None => None,
                }
            }))
        })
    }

    // ---- Authorization codes ----------------------------------------------------------------

    /// Store a new code (and delete codes expired more than [`PURGE_GRACE_SECS`] ago).
    pub fn put_code<'a>(
        &'a self,
        code: &'a CodeRow,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            check::sha256_hex("authorization code hash", &code.code_hash)?;
            check::text("client id", &code.client_id, MAX_CLIENT_ID_CHARS)?;
            check::text("user key", &code.user_key, MAX_USER_KEY_CHARS)?;
            check::json_object("identity", &code.identity, MAX_DOCUMENT_BYTES)?;
            check::text("redirect URI", &code.redirect_uri, MAX_URI_CHARS)?;
            check::text(
                "code challenge",
                &code.code_challenge,
                MAX_CODE_CHALLENGE_CHARS,
            )?;
            check::text_or_empty("resource", &code.resource, MAX_URI_CHARS)?;
            check::text_or_empty("scope", &code.scope, MAX_SCOPE_CHARS)?;
            check::text("family id", &code.family_id, MAX_ID_CHARS)?;
            on_pool!(&self.storage.pool, pool => {
                sql::query(&PURGE_CODES)
                    .bind(now.saturating_sub(PURGE_GRACE_SECS))
                    .execute(pool)
                    .await?;
                sql::query(&PUT_CODE)
                    .bind(&code.code_hash)
                    .bind(&code.client_id)
                    .bind(&code.user_key)
                    .bind(&code.identity)
                    .bind(&code.redirect_uri)
                    .bind(&code.code_challenge)
                    .bind(&code.resource)
                    .bind(&code.scope)
                    .bind(&code.family_id)
                    .bind(code.expires_at)
                    .execute(pool)
                    .await?;
            });
            Ok(())
        })
    }

    /// Use the code `code_hash`: one conditional `UPDATE` marks it used only if it is unused
    /// and unexpired, so of concurrent redemptions exactly one is [`Redeem::Fresh`]. A second
    /// use revokes the code's family (creating it revoked if it was not started yet) and is
    /// [`Redeem::Reused`].
    pub fn redeem_code<'a>(
        &'a self,
        code_hash: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Redeem, StorageError>> {
        Box::pin(async move {
            if check::sha256_hex("authorization code hash", code_hash).is_err() {
                return Ok(Redeem::Unknown);
            }
            let (redeemed, row) = on_pool!(&self.storage.pool, pool => {
                let redeemed = sql::query(&REDEEM_CODE)
                    .bind(code_hash)
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
                    == 1;
                match sql::query(&CODE).bind(code_hash).fetch_optional(pool).await? {
                    Some(row) => {
                        let used: bool = row.try_get("used")?;
                        (redeemed, Some((decode_code!(row), used)))
                    }
                    None => (redeemed, None),
                }
            });
            Ok(match row {
                // Purged between the two statements: it had long expired.
                None => Redeem::Unknown,
                Some((code, _)) if redeemed => Redeem::Fresh(code),
                Some((code, true)) => {
                    self.revoke_or_create_family(&code, "authorization code reused", now)
                        .await?;
                    Redeem::Reused {
                        family_id: code.family_id,
                    }
                }
                // Unused, and the update did not take it: expired.
                Some((_, false)) => Redeem::Expired,
            })
        })
    }

    async fn revoke_or_create_family(
        &self,
        code: &CodeRow,
        reason: &str,
        now: i64,
    ) -> Result<(), StorageError> {
        on_pool!(&self.storage.pool, pool => {
            sql::query(&REVOKE_OR_CREATE_FAMILY)
                .bind(&code.family_id)
                .bind(&code.client_id)
                .bind(&code.user_key)
                .bind(now)
                .bind(now)
                .bind(reason)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    // ---- Refresh tokens and their families --------------------------------------------------

    /// Start the grant `family_id` (when its code is redeemed). `false` when the family
    /// exists already, which after [`Redeem::Fresh`] means a reused code revoked it meanwhile:
    /// issue nothing then.
    pub fn start_family<'a>(
        &'a self,
        family_id: &'a str,
        client_id: &'a str,
        user_key: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            check::text("family id", family_id, MAX_ID_CHARS)?;
            check::text("client id", client_id, MAX_CLIENT_ID_CHARS)?;
            check::text("user key", user_key, MAX_USER_KEY_CHARS)?;
            let inserted = on_pool!(&self.storage.pool, pool => {
                sql::query(&START_FAMILY)
                    .bind(family_id)
                    .bind(client_id)
                    .bind(user_key)
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            Ok(inserted == 1)
        })
    }

    /// Store a refresh token (and delete those expired more than [`PURGE_GRACE_SECS`] before
    /// its `created_at`). Only into a live family of the same client and user: `false` (and
    /// nothing stored) when the family is missing, revoked, or another client's or user's.
    pub fn put_refresh<'a>(
        &'a self,
        token: &'a RefreshRow,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            check_refresh(token)?;
            let stored = on_pool!(&self.storage.pool, pool => {
                sql::query(&PURGE_REFRESH)
                    .bind(token.created_at.saturating_sub(PURGE_GRACE_SECS))
                    .execute(pool)
                    .await?;
                sql::query(&PUT_REFRESH)
                    .bind(&token.token_hash)
                    .bind(&token.family_id)
                    .bind(&token.client_id)
                    .bind(&token.user_key)
                    .bind(&token.identity)
                    .bind(&token.scope)
                    .bind(&token.resource)
                    .bind(token.expires_at)
                    .bind(token.created_at)
                    .bind(&token.family_id)
                    .bind(&token.client_id)
                    .bind(&token.user_key)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            Ok(stored == 1)
        })
    }

    /// The refresh token `token_hash` as stored, rotated or not: what the token endpoint
    /// builds the successor from. Deciding is [`OAuthStore::rotate_refresh`]'s job.
    pub fn refresh<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshRow>, StorageError>> {
        Box::pin(async move {
            if check::sha256_hex("refresh token hash", token_hash).is_err() {
                return Ok(None);
            }
            Ok(on_pool!(&self.storage.pool, pool => {
                match sql::query(&REFRESH).bind(token_hash).fetch_optional(pool).await? {
                    Some(row) => Some(decode_refresh!(row)),
                    None => None,
                }
            }))
        })
    }

    /// Exchange the refresh token `old_hash` for `new`, which must continue it: same family,
    /// client (the one presenting the token) and user. One conditional `UPDATE` marks the old
    /// token rotated only if it is unrotated, unexpired, in a live family and issued to that
    /// client; in the same transaction `new` is stored. Of concurrent rotations of one token
    /// exactly one is [`Rotate::Rotated`]; the others, and any later use, are
    /// [`Rotate::Reused`] and revoke the family (so `new` is revoked too). A token presented
    /// by another client is [`Rotate::Unknown`] and changes nothing.
    pub fn rotate_refresh<'a>(
        &'a self,
        old_hash: &'a str,
        new: &'a RefreshRow,
        now: i64,
    ) -> BoxFuture<'a, Result<Rotate, StorageError>> {
        Box::pin(async move {
            check_refresh(new)?;
            if check::sha256_hex("refresh token hash", old_hash).is_err() {
                return Ok(Rotate::Unknown);
            }
            if new.token_hash == old_hash {
                return Err(StorageError::Invalid {
                    what: "new refresh token",
                    reason: "it is the token it replaces".into(),
                });
            }
            let rotated = on_pool!(&self.storage.pool, pool => {
                let mut tx = pool.begin().await?;
                let rotated = sql::query(&ROTATE)
                    .bind(now)
                    .bind(old_hash)
                    .bind(now)
                    .bind(&new.family_id)
                    .bind(&new.client_id)
                    .bind(&new.user_key)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if rotated {
                    let Some(old) = sql::query(&REFRESH)
                        .bind(old_hash)
                        .fetch_optional(&mut *tx)
                        .await?
                    else {
                        return Err(StorageError::Corrupt {
                            what: "refresh token",
                            reason: "rotated but cannot be read back".into(),
                        });
                    };
                    let old = decode_refresh!(old);
                    sql::query(&INSERT_REFRESH)
                        .bind(&new.token_hash)
                        .bind(&new.family_id)
                        .bind(&new.client_id)
                        .bind(&new.user_key)
                        .bind(&new.identity)
                        .bind(&new.scope)
                        .bind(&new.resource)
                        .bind(new.expires_at)
                        .bind(new.created_at)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Some(old)
                } else {
                    // Nothing was written; dropping the transaction rolls it back.
                    None
                }
            });
            if let Some(old) = rotated {
                return Ok(Rotate::Rotated(old));
            }
            let Some(state) = self.refresh_state(old_hash).await? else {
                return Ok(Rotate::Unknown);
            };
            let old = state.row;
            if old.client_id != new.client_id {
                return Ok(Rotate::Unknown);
            }
            if old.family_id != new.family_id || old.user_key != new.user_key {
                return Err(StorageError::Invalid {
                    what: "new refresh token",
                    reason: "it must continue the old token's family and user".into(),
                });
            }
            Ok(if state.revoked {
                Rotate::Revoked
            } else if old.rotated_at.is_some() {
                self.revoke_family(&old.family_id, "refresh token reused", now)
                    .await?;
                Rotate::Reused {
                    family_id: old.family_id,
                }
            } else {
                // Unrotated in a live family, yet the update did not take it: expired.
                Rotate::Expired
            })
        })
    }

    async fn refresh_state(&self, token_hash: &str) -> Result<Option<RefreshState>, StorageError> {
        Ok(on_pool!(&self.storage.pool, pool => {
            match sql::query(&DIAGNOSE_REFRESH).bind(token_hash).fetch_optional(pool).await? {
                Some(row) => {
                    let revoked_at: Option<i64> = row.try_get("family_revoked_at")?;
                    let families: i64 = row.try_get("family_count")?;
                    Some(RefreshState {
                        row: decode_refresh!(row),
                        revoked: revoked_at.is_some() || families == 0,
                    })
                }
                None => None,
            }
        }))
    }

    /// Revoke the grant `family_id` with `reason`: every refresh token of it is refused from
    /// now on and [`OAuthStore::family_live`] says `false`. Whether this call revoked it (it
    /// was live).
    pub fn revoke_family<'a>(
        &'a self,
        family_id: &'a str,
        reason: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            if check::text("family id", family_id, MAX_ID_CHARS).is_err() {
                return Ok(false);
            }
            let reason = check::clean(reason, MAX_REASON_CHARS);
            let changed = on_pool!(&self.storage.pool, pool => {
                sql::query(&REVOKE_FAMILY)
                    .bind(now)
                    .bind(&reason)
                    .bind(family_id)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            Ok(changed > 0)
        })
    }

    /// RFC 7009 revocation of a refresh token: revokes its whole family, but only when the
    /// token was issued to `client_id` (the client asking). Whether a live family was revoked.
    pub fn revoke_by_refresh<'a>(
        &'a self,
        token_hash: &'a str,
        client_id: &'a str,
        reason: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            if check::sha256_hex("refresh token hash", token_hash).is_err()
                || check::text("client id", client_id, MAX_CLIENT_ID_CHARS).is_err()
            {
                return Ok(false);
            }
            let reason = check::clean(reason, MAX_REASON_CHARS);
            let changed = on_pool!(&self.storage.pool, pool => {
                sql::query(&REVOKE_BY_REFRESH)
                    .bind(now)
                    .bind(&reason)
                    .bind(token_hash)
                    .bind(client_id)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            Ok(changed > 0)
        })
    }

    /// Revoke every live grant of `user_key` (to `client_id` only, when given). How many.
    pub fn revoke_for_user<'a>(
        &'a self,
        user_key: &'a str,
        client_id: Option<&'a str>,
        reason: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(async move {
            if check::text("user key", user_key, MAX_USER_KEY_CHARS).is_err()
                || client_id
                    .is_some_and(|c| check::text("client id", c, MAX_CLIENT_ID_CHARS).is_err())
            {
                return Ok(0);
            }
            let reason = check::clean(reason, MAX_REASON_CHARS);
            Ok(on_pool!(&self.storage.pool, pool => {
                sql::query(&REVOKE_FOR_USER)
                    .bind(now)
                    .bind(&reason)
                    .bind(user_key)
                    .bind(client_id)
                    .bind(client_id)
                    .execute(pool)
                    .await?
                    .rows_affected()
            }))
        })
    }

    /// Withdraw everything `user_key` gave `client_id`, in one transaction: every live grant
    /// is revoked with `reason` (its refresh tokens are refused and its access tokens fail
    /// [`OAuthStore::family_live`] at once), the grants that the person's codes for the client
    /// not yet redeemed, or being redeemed right now, would start are created revoked (so
    /// such a code yields nothing), and the approval is forgotten (the next authorization
    /// asks again). Nothing of anyone else, or of another client, changes.
    pub fn withdraw<'a>(
        &'a self,
        user_key: &'a str,
        client_id: &'a str,
        reason: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Withdrawn, StorageError>> {
        Box::pin(async move {
            if check::text("user key", user_key, MAX_USER_KEY_CHARS).is_err()
                || check::text("client id", client_id, MAX_CLIENT_ID_CHARS).is_err()
            {
                return Ok(Withdrawn::default());
            }
            let reason = check::clean(reason, MAX_REASON_CHARS);
            // A code is redeemed (marked used) a moment before its grant starts: one that
            // expired this long ago may still be between the two.
            let codes_since = now.saturating_sub(CODE_REDEEM_MARGIN_SECS);
            Ok(on_pool!(&self.storage.pool, pool => {
                let mut tx = pool.begin().await?;
                let grants = sql::query(&REVOKE_FOR_USER)
                    .bind(now)
                    .bind(&reason)
                    .bind(user_key)
                    .bind(Some(client_id))
                    .bind(Some(client_id))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sql::query(&REVOKE_CODE_FAMILIES)
                    .bind(now)
                    .bind(now)
                    .bind(&reason)
                    .bind(user_key)
                    .bind(client_id)
                    .bind(codes_since)
                    .execute(&mut *tx)
                    .await?;
                let consent = sql::query(&REVOKE_CONSENT)
                    .bind(user_key)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
                tx.commit().await?;
                Withdrawn { consent, grants }
            }))
        })
    }

    /// Whether the grant `family_id` exists and is not revoked: what an access token issued
    /// from it checks.
    pub fn family_live<'a>(
        &'a self,
        family_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            if check::text("family id", family_id, MAX_ID_CHARS).is_err() {
                return Ok(false);
            }
            let revoked_at: Option<Option<i64>> = on_pool!(&self.storage.pool, pool => {
                sql::query_scalar(&FAMILY_REVOKED_AT)
                    .bind(family_id)
                    .fetch_optional(pool)
                    .await?
            });
            Ok(matches!(revoked_at, Some(None)))
        })
    }

    /// Up to `limit` grants, newest first, live and revoked, of `user_key` and/or to
    /// `client_id` (all when both are `None`).
    pub fn list_grants<'a>(
        &'a self,
        user_key: Option<&'a str>,
        client_id: Option<&'a str>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<GrantRow>, StorageError>> {
        Box::pin(async move {
            if user_key.is_some_and(|u| check::text("user key", u, MAX_USER_KEY_CHARS).is_err())
                || client_id
                    .is_some_and(|c| check::text("client id", c, MAX_CLIENT_ID_CHARS).is_err())
            {
                return Ok(Vec::new());
            }
            Ok(on_pool!(&self.storage.pool, pool => {
                let mut out = Vec::new();
                for row in sql::query(&LIST_GRANTS)
                    .bind(user_key)
                    .bind(user_key)
                    .bind(client_id)
                    .bind(client_id)
                    .bind(list_limit(limit))
                    .fetch_all(pool)
                    .await?
                {
                    out.push(decode_grant!(row));
                }
                out
            }))
        })
    }

    /// Delete, with their refresh tokens, the grants revoked more than
    /// [`FAMILY_RETENTION_SECS`] ago and those started that long ago that hold no refresh
    /// token any more (all expired and purged, or never issued). How many. For a periodic
    /// job, with [`OAuthStore::delete_expired_clients`].
    pub fn delete_dead_families(&self, now: i64) -> BoxFuture<'_, Result<u64, StorageError>> {
        Box::pin(async move {
            let before = now.saturating_sub(FAMILY_RETENTION_SECS);
            Ok(on_pool!(&self.storage.pool, pool => {
                let revoked = sql::query(&DELETE_REVOKED_FAMILIES)
                    .bind(before)
                    .execute(pool)
                    .await?
                    .rows_affected();
                let empty = sql::query(&DELETE_EMPTY_FAMILIES)
                    .bind(before)
                    .execute(pool)
                    .await?
                    .rows_affected();
                revoked + empty
            }))
        })
    }

    // ---- Consents ---------------------------------------------------------------------------

    /// Record that `user_key` approved `scope` for `client_id` at `now` (replacing an earlier
    /// approval).
    pub fn record_consent<'a>(
        &'a self,
        user_key: &'a str,
        client_id: &'a str,
        scope: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            check::text("user key", user_key, MAX_USER_KEY_CHARS)?;
            check::text("client id", client_id, MAX_CLIENT_ID_CHARS)?;
            check::text_or_empty("scope", scope, MAX_SCOPE_CHARS)?;
            on_pool!(&self.storage.pool, pool => {
                sql::query(&RECORD_CONSENT)
                    .bind(user_key)
                    .bind(client_id)
                    .bind(scope)
                    .bind(now)
                    .execute(pool)
                    .await?;
            });
            Ok(())
        })
    }

    /// What `user_key` approved for `client_id`, if anything.
    pub fn consent<'a>(
        &'a self,
        user_key: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ConsentRow>, StorageError>> {
        Box::pin(async move {
            if check::text("user key", user_key, MAX_USER_KEY_CHARS).is_err()
                || check::text("client id", client_id, MAX_CLIENT_ID_CHARS).is_err()
            {
                return Ok(None);
            }
            Ok(on_pool!(&self.storage.pool, pool => {
                match sql::query(&CONSENT)
                    .bind(user_key)
                    .bind(client_id)
                    .fetch_optional(pool)
                    .await?
                {
                    Some(row) => Some(decode_consent!(row)),
                    None => None,
                }
            }))
        })
    }

    /// Forget `user_key`'s approval for `client_id` (the next authorization asks again).
    /// Whether there was one. Grants already issued stay: see
    /// [`OAuthStore::revoke_for_user`] and [`OAuthStore::withdraw`].
    pub fn revoke_consent<'a>(
        &'a self,
        user_key: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            if check::text("user key", user_key, MAX_USER_KEY_CHARS).is_err()
                || check::text("client id", client_id, MAX_CLIENT_ID_CHARS).is_err()
            {
                return Ok(false);
            }
            let deleted = on_pool!(&self.storage.pool, pool => {
                sql::query(&REVOKE_CONSENT)
                    .bind(user_key)
                    .bind(client_id)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            Ok(deleted > 0)
        })
    }

    /// Every approval of `user_key`, by client id (at most 10,000).
    pub fn consents_of<'a>(
        &'a self,
        user_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ConsentRow>, StorageError>> {
        Box::pin(async move {
            if check::text("user key", user_key, MAX_USER_KEY_CHARS).is_err() {
                return Ok(Vec::new());
            }
            Ok(on_pool!(&self.storage.pool, pool => {
                let mut out = Vec::new();
                for row in sql::query(&CONSENTS_OF)
                    .bind(user_key)
                    .bind(i64::from(MAX_LIST))
                    .fetch_all(pool)
                    .await?
                {
                    out.push(decode_consent!(row));
                }
                out
            }))
        })
    }

    // ---- Signing keys -----------------------------------------------------------------------

    /// The signing keys not retired at `now`, newest first.
    pub fn signing_keys(
        &self,
        now: i64,
    ) -> BoxFuture<'_, Result<Vec<SigningKeyRow>, StorageError>> {
        Box::pin(async move {
            Ok(on_pool!(&self.storage.pool, pool => {
                let mut out = Vec::new();
                for row in sql::query(&SIGNING_KEYS).bind(now).fetch_all(pool).await? {
                    out.push(decode_key!(row));
                }
                out
            }))
        })
    }

    /// Store `key` unless some key was created at or after `newest_created_before`; whether
    /// it was stored. Replicas that start (or rotate) at the same moment, each with its own
    /// new key and the same cut-off, store exactly one: the insert runs in a transaction that
    /// first upserts a row of `leases`, which on PostgreSQL locks that row until commit (the
    /// others wait, and their `INSERT ... WHERE NOT EXISTS`, a new statement under READ
    /// COMMITTED, then sees the committed key) and on SQLite takes the database's write lock.
    /// A plain `INSERT ... WHERE NOT EXISTS` would not do on PostgreSQL: two transactions
    /// could both see no key and insert two (different `kid`s do not conflict).
    pub fn add_signing_key<'a>(
        &'a self,
        key: &'a SigningKeyRow,
        newest_created_before: i64,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            check::text("key id", &key.kid, MAX_ID_CHARS)?;
            check::text("signing algorithm", &key.alg, MAX_ALG_CHARS)?;
            check::bytes("sealed signing key", &key.sealed, MAX_SEALED_BYTES)?;
            check::text("sealing key id", &key.seal_key_id, MAX_ID_CHARS)?;
            check::bytes("nonce", &key.nonce, MAX_NONCE_BYTES)?;
            check::json_object("public JWK", &key.public_jwk, MAX_DOCUMENT_BYTES)?;
            let added = on_pool!(&self.storage.pool, pool => {
                let mut tx = pool.begin().await?;
                sql::query(&LOCK_SIGNING_KEYS)
                    .bind(SIGNING_KEY_LOCK)
                    .bind(&key.kid)
                    .bind(key.created_at)
                    .execute(&mut *tx)
                    .await?;
                let added = sql::query(&ADD_SIGNING_KEY)
                    .bind(&key.kid)
                    .bind(&key.alg)
                    .bind(&key.sealed)
                    .bind(&key.seal_key_id)
                    .bind(&key.nonce)
                    .bind(&key.public_jwk)
                    .bind(key.created_at)
                    .bind(key.retire_after)
                    .bind(newest_created_before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                added
            });
            Ok(added == 1)
        })
    }

    /// Replace the sealing of key `kid` (a vault rekey), only if it still has `old_nonce`
    /// (compare-and-swap: a key resealed meanwhile is left alone). Whether it changed.
    pub fn reseal_signing_key<'a>(
        &'a self,
        kid: &'a str,
        old_nonce: &'a [u8],
        seal_key_id: &'a str,
        sealed: &'a [u8],
        nonce: &'a [u8],
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            check::text("sealing key id", seal_key_id, MAX_ID_CHARS)?;
            check::bytes("sealed signing key", sealed, MAX_SEALED_BYTES)?;
            check::bytes("nonce", nonce, MAX_NONCE_BYTES)?;
            if check::text("key id", kid, MAX_ID_CHARS).is_err() {
                return Ok(false);
            }
            let changed = on_pool!(&self.storage.pool, pool => {
                sql::query(&RESEAL_SIGNING_KEY)
                    .bind(seal_key_id)
                    .bind(sealed)
                    .bind(nonce)
                    .bind(kid)
                    .bind(old_nonce)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            Ok(changed > 0)
        })
    }

    /// Delete the keys retired at `now`. How many.
    pub fn delete_retired_signing_keys(
        &self,
        now: i64,
    ) -> BoxFuture<'_, Result<u64, StorageError>> {
        Box::pin(async move {
            Ok(on_pool!(&self.storage.pool, pool => {
                sql::query(&DELETE_RETIRED_KEYS)
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
            }))
        })
    }

    // ---- JWT ids ----------------------------------------------------------------------------

    /// Remember the JWT id `jti` of `issuer` until `expires_at` (the assertion's `exp` plus
    /// any clock-skew leeway the caller allows): `true` the first time, `false` for a replay.
    /// One `INSERT ... ON CONFLICT DO NOTHING`, so of concurrent uses exactly one is first.
    /// Ids expired at `now` are deleted.
    pub fn remember_jti<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            check::text("issuer", issuer, MAX_ISSUER_CHARS)?;
            check::text("JWT id", jti, MAX_JTI_CHARS)?;
            let inserted = on_pool!(&self.storage.pool, pool => {
                sql::query(&PURGE_JTI).bind(now).execute(pool).await?;
                sql::query(&REMEMBER_JTI)
                    .bind(issuer)
                    .bind(jti)
                    .bind(expires_at)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            Ok(inserted == 1)
        })
    }
}

/// The bounds of a refresh token to store.
fn check_refresh(token: &RefreshRow) -> Result<(), StorageError> {
    check::sha256_hex("refresh token hash", &token.token_hash)?;
    check::text("family id", &token.family_id, MAX_ID_CHARS)?;
    check::text("client id", &token.client_id, MAX_CLIENT_ID_CHARS)?;
    check::text("user key", &token.user_key, MAX_USER_KEY_CHARS)?;
    check::json_object("identity", &token.identity, MAX_DOCUMENT_BYTES)?;
    check::text_or_empty("scope", &token.scope, MAX_SCOPE_CHARS)?;
    check::text_or_empty("resource", &token.resource, MAX_URI_CHARS)
}

fn list_limit(limit: u32) -> i64 {
    i64::from(limit.clamp(1, MAX_LIST))
}
