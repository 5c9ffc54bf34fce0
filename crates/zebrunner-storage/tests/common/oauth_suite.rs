//! Authorization-server store (`OAuthStore`) test bodies that run unchanged on SQLite and
//! PostgreSQL.

use std::collections::HashMap;

use zebrunner_storage::oauth::{
    ClientKind, ClientRow, CodeRow, PendingRow, Redeem, RefreshRow, Rotate, SigningKeyRow,
};
use zebrunner_storage::{OAuthStore, Storage, StorageError};

/// A stand-in for a SHA-256 digest: `label` in hex, padded to 64 digits (labels are short).
pub fn h(label: &str) -> String {
    assert!(label.len() <= 32, "{label}");
    let hex: String = label.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{hex:0<64}")
}

fn is_invalid<T: std::fmt::Debug>(result: Result<T, StorageError>) -> bool {
    matches!(result, Err(StorageError::Invalid { .. }))
}

const IDENTITY: &str = r#"{"email": "ann@acme.com", "name": "Ann"}"#;

fn pending(id: &str, expires_at: i64) -> PendingRow {
    PendingRow {
        id_hash: h(id),
        client_id: "client-1".into(),
        request: r#"{"redirect_uri": "http://127.0.0.1:3000/cb", "state": "s1",
                     "code_challenge": "abc", "scope": "mcp", "resource": "https://mcp.acme.com/mcp"}"#
            .into(),
        user_key: None,
        identity: None,
        expires_at,
    }
}

fn code(id: &str, family: &str, expires_at: i64) -> CodeRow {
    CodeRow {
        code_hash: h(id),
        client_id: "client-1".into(),
        user_key: "uid:ann".into(),
        identity: IDENTITY.into(),
        redirect_uri: "http://127.0.0.1:3000/cb".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        resource: "https://mcp.acme.com/mcp".into(),
        scope: "mcp offline_access".into(),
        family_id: family.into(),
        expires_at,
    }
}

fn refresh(id: &str, family: &str, client: &str, user: &str, now: i64) -> RefreshRow {
    RefreshRow {
        token_hash: h(id),
        family_id: family.into(),
        client_id: client.into(),
        user_key: user.into(),
        identity: IDENTITY.into(),
        scope: "mcp offline_access".into(),
        resource: "https://mcp.acme.com/mcp".into(),
        expires_at: now + 1000,
        created_at: now,
        rotated_at: None,
    }
}

/// Start `family` for `client`/`user` at `now` with one refresh token `id`.
async fn grant(store: &OAuthStore, family: &str, client: &str, user: &str, id: &str, now: i64) {
    assert!(store.start_family(family, client, user, now).await.unwrap());
    assert!(
        store
            .put_refresh(&refresh(id, family, client, user, now))
            .await
            .unwrap()
    );
}

/// An authorization request lives until it expires, takes an identity once, and is taken once.
pub async fn pending_is_single_use_and_expires(storage: &Storage) {
    let store = OAuthStore::new(storage.clone());
    store
        .put_pending(&pending("p1", 1_100), 1_000)
        .await
        .unwrap();
    let got = store.pending(&h("p1"), 1_000).await.unwrap().unwrap();
    assert_eq!(got, pending("p1", 1_100));
    assert!(got.request.contains("\n"), "the request is stored as given");

    // The person signs in: recorded once; a second sign-in cannot swap who it was.
    assert!(
        store
            .set_pending_identity(&h("p1"), "uid:ann", IDENTITY, 1_010)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_pending_identity(&h("p1"), "uid:mallory", r#"{"email": "m@x"}"#, 1_020)
            .await
            .unwrap()
    );
    let got = store.pending(&h("p1"), 1_020).await.unwrap().unwrap();
    assert_eq!(got.user_key.as_deref(), Some("uid:ann"));
    assert_eq!(got.identity.as_deref(), Some(IDENTITY));

    // Taken once, by one of several concurrent takers.
    let takes = join_all((0..6).map(|_| {
        let store = store.clone();
        async move { store.take_pending(&h("p1"), 1_030).await.unwrap() }
    }))
    .await;
    let taken: Vec<_> = takes.into_iter().flatten().collect();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].user_key.as_deref(), Some("uid:ann"));
    assert!(store.take_pending(&h("p1"), 1_030).await.unwrap().is_none());
    assert!(store.pending(&h("p1"), 1_030).await.unwrap().is_none());

    // Expired: not shown, not taken, no identity.
    store
        .put_pending(&pending("p2", 1_050), 1_000)
        .await
        .unwrap();
    assert!(store.pending(&h("p2"), 1_049).await.unwrap().is_some());
    assert!(store.pending(&h("p2"), 1_050).await.unwrap().is_none());
    assert!(
        !store
            .set_pending_identity(&h("p2"), "uid:ann", IDENTITY, 1_050)
            .await
            .unwrap()
    );
    assert!(store.take_pending(&h("p2"), 1_060).await.unwrap().is_none());
    // Still in the table (a read with an earlier clock sees it) until a put purges it.
    assert!(store.pending(&h("p2"), 1_000).await.unwrap().is_some());
    store
        .put_pending(&pending("p3", 3_000), 2_000)
        .await
        .unwrap();
    assert!(store.pending(&h("p2"), 1_000).await.unwrap().is_none());

    // Bad input is refused; a lookup by a key that cannot exist finds nothing.
    let mut bad = pending("p4", 3_000);
    bad.id_hash = "not-a-digest".into();
    assert!(is_invalid(store.put_pending(&bad, 2_000).await));
    let mut bad = pending("p4", 3_000);
    bad.request = "[1, 2]".into();
    assert!(is_invalid(store.put_pending(&bad, 2_000).await));
    let mut bad = pending("p4", 3_000);
    bad.client_id = "x".repeat(5_000);
    assert!(is_invalid(store.put_pending(&bad, 2_000).await));
    let mut bad = pending("p4", 3_000);
    bad.request = format!("{{\"a\": \"{}\"}}", "x".repeat(70_000));
    assert!(is_invalid(store.put_pending(&bad, 2_000).await));
    assert!(is_invalid(
        store
            .set_pending_identity(&h("p3"), "uid:ann", "not json", 2_000)
            .await
    ));
    assert!(
        store
            .pending(&"A".repeat(64), 2_000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_pending("raw-secret", 2_000)
            .await
            .unwrap()
            .is_none()
    );
}

/// Eight concurrent redemptions of one code: exactly one is fresh, the others see it reused,
/// and reuse revokes the family; expired and unknown codes say so.
pub async fn codes_are_single_use(storage: &Storage) {
    let store = OAuthStore::new(storage.clone());
    store
        .put_code(&code("c1", "fam-c1", 1_060), 1_000)
        .await
        .unwrap();
    let results = join_all((0..8).map(|_| {
        let store = store.clone();
        async move { store.redeem_code(&h("c1"), 1_010).await.unwrap() }
    }))
    .await;
    let fresh: Vec<_> = results
        .iter()
        .filter_map(|r| match r {
            Redeem::Fresh(code) => Some(code),
            _ => None,
        })
        .collect();
    assert_eq!(fresh.len(), 1, "{results:?}");
    assert_eq!(*fresh[0], code("c1", "fam-c1", 1_060));
    let reused = results
        .iter()
        .filter(|r| matches!(r, Redeem::Reused { family_id } if family_id == "fam-c1"))
        .count();
    assert_eq!(reused, 7, "{results:?}");
    // The reuse came before the winner started the family: it exists, revoked, so the
    // winner's start says no and nothing can be issued from it.
    assert!(
        !store
            .start_family("fam-c1", "client-1", "uid:ann", 1_011)
            .await
            .unwrap()
    );
    assert!(!store.family_live("fam-c1").await.unwrap());
    assert!(
        !store
            .put_refresh(&refresh("r-c1", "fam-c1", "client-1", "uid:ann", 1_011))
            .await
            .unwrap()
    );
    let grants = store.list_grants(Some("uid:ann"), None, 10).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].revoked_at, Some(1_010));
    assert_eq!(
        grants[0].revoked_reason.as_deref(),
        Some("authorization code reused")
    );

    // The usual order: redeemed, family started, tokens issued; then the code comes back.
    store
        .put_code(&code("c2", "fam-c2", 1_060), 1_000)
        .await
        .unwrap();
    assert!(matches!(
        store.redeem_code(&h("c2"), 1_001).await.unwrap(),
        Redeem::Fresh(_)
    ));
    grant(&store, "fam-c2", "client-1", "uid:ann", "r-c2", 1_002).await;
    assert!(store.family_live("fam-c2").await.unwrap());
    assert_eq!(
        store.redeem_code(&h("c2"), 1_003).await.unwrap(),
        Redeem::Reused {
            family_id: "fam-c2".into()
        }
    );
    assert!(!store.family_live("fam-c2").await.unwrap());
    assert_eq!(
        store
            .rotate_refresh(
                &h("r-c2"),
                &refresh("r-c2b", "fam-c2", "client-1", "uid:ann", 1_004),
                1_004
            )
            .await
            .unwrap(),
        Rotate::Revoked
    );

    // Expired, unknown, malformed.
    store
        .put_code(&code("c3", "fam-c3", 1_060), 1_000)
        .await
        .unwrap();
    assert_eq!(
        store.redeem_code(&h("c3"), 1_060).await.unwrap(),
        Redeem::Expired
    );
    assert_eq!(
        store.redeem_code(&h("nope"), 1_000).await.unwrap(),
        Redeem::Unknown
    );
    assert_eq!(
        store.redeem_code("raw-code", 1_000).await.unwrap(),
        Redeem::Unknown
    );
    // A day after expiry a put purges it.
    store
        .put_code(&code("c4", "fam-c4", 200_000), 1_060 + 86_400 + 1)
        .await
        .unwrap();
    assert_eq!(
        store.redeem_code(&h("c3"), 1_060).await.unwrap(),
        Redeem::Unknown
    );

    let mut bad = code("c5", "fam-c5", 2_000);
    bad.identity = "{".into();
    assert!(is_invalid(store.put_code(&bad, 1_000).await));
    let mut bad = code("c5", "fam-c5", 2_000);
    bad.redirect_uri = "http://x/\r\nSet-Cookie: a=b".into();
    assert!(is_invalid(store.put_code(&bad, 1_000).await));
    let mut bad = code("c5", "fam-c5", 2_000);
    bad.code_challenge = String::new();
    assert!(is_invalid(store.put_code(&bad, 1_000).await));
}

/// Rotation, reuse revoking the family (and with it the newest token), expiry, the wrong
/// client, concurrent rotations, RFC 7009 revocation.
pub async fn refresh_tokens_rotate(storage: &Storage) {
    let store = OAuthStore::new(storage.clone());
    grant(&store, "fam-1", "client-1", "uid:ann", "r1", 1_000).await;
    assert!(store.family_live("fam-1").await.unwrap());
    assert_eq!(
        store.refresh(&h("r1")).await.unwrap(),
        Some(refresh("r1", "fam-1", "client-1", "uid:ann", 1_000))
    );

    let rotated = store
        .rotate_refresh(
            &h("r1"),
            &refresh("r2", "fam-1", "client-1", "uid:ann", 1_100),
            1_100,
        )
        .await
        .unwrap();
    let mut old = refresh("r1", "fam-1", "client-1", "uid:ann", 1_000);
    old.rotated_at = Some(1_100);
    assert_eq!(rotated, Rotate::Rotated(old));
    assert!(matches!(
        store
            .rotate_refresh(
                &h("r2"),
                &refresh("r3", "fam-1", "client-1", "uid:ann", 1_200),
                1_200
            )
            .await
            .unwrap(),
        Rotate::Rotated(_)
    ));

    // Another client presenting r3 learns nothing and burns nothing.
    assert_eq!(
        store
            .rotate_refresh(
                &h("r3"),
                &refresh("r4", "fam-1", "client-2", "uid:ann", 1_250),
                1_250
            )
            .await
            .unwrap(),
        Rotate::Unknown
    );
    // A successor that does not continue the family is a caller bug.
    assert!(is_invalid(
        store
            .rotate_refresh(
                &h("r3"),
                &refresh("r4", "fam-other", "client-1", "uid:ann", 1_250),
                1_250
            )
            .await
    ));
    assert!(is_invalid(
        store
            .rotate_refresh(
                &h("r3"),
                &refresh("r3", "fam-1", "client-1", "uid:ann", 1_250),
                1_250
            )
            .await
    ));

    // r1 comes back: someone holds a copy. The family goes, and r3, the newest, with it.
    assert_eq!(
        store
            .rotate_refresh(
                &h("r1"),
                &refresh("r9", "fam-1", "client-1", "uid:ann", 1_300),
                1_300
            )
            .await
            .unwrap(),
        Rotate::Reused {
            family_id: "fam-1".into()
        }
    );
    assert!(store.refresh(&h("r9")).await.unwrap().is_none());
    assert!(!store.family_live("fam-1").await.unwrap());
    assert_eq!(
        store
            .rotate_refresh(
                &h("r3"),
                &refresh("r5", "fam-1", "client-1", "uid:ann", 1_310),
                1_310
            )
            .await
            .unwrap(),
        Rotate::Revoked
    );
    let grant_row = &store.list_grants(None, Some("client-1"), 10).await.unwrap()[0];
    assert_eq!(grant_row.family_id, "fam-1");
    assert_eq!(grant_row.created_at, 1_000);
    assert_eq!(grant_row.last_refresh_at, Some(1_200));
    assert_eq!(grant_row.revoked_at, Some(1_300));
    assert_eq!(
        grant_row.revoked_reason.as_deref(),
        Some("refresh token reused")
    );
    // A revoked family takes no new tokens.
    assert!(
        !store
            .put_refresh(&refresh("r6", "fam-1", "client-1", "uid:ann", 1_320))
            .await
            .unwrap()
    );
    // Nor does one never started, or another client's.
    assert!(
        !store
            .put_refresh(&refresh("r6", "fam-none", "client-1", "uid:ann", 1_320))
            .await
            .unwrap()
    );

    // Expired.
    grant(&store, "fam-2", "client-1", "uid:ann", "e1", 1_000).await;
    assert_eq!(
        store
            .rotate_refresh(
                &h("e1"),
                &refresh("e2", "fam-2", "client-1", "uid:ann", 2_000),
                2_000
            )
            .await
            .unwrap(),
        Rotate::Expired
    );
    assert_eq!(
        store
            .rotate_refresh(
                &h("unknown"),
                &refresh("e3", "fam-2", "client-1", "uid:ann", 2_000),
                2_000
            )
            .await
            .unwrap(),
        Rotate::Unknown
    );
    assert!(
        !store
            .put_refresh(&refresh("x1", "fam-2", "client-2", "uid:ann", 1_500))
            .await
            .unwrap()
    );

    // Eight concurrent rotations of one token (a client retrying, or a thief racing it):
    // exactly one wins; the others count as reuse and revoke the family, the winner's new
    // token included.
    grant(&store, "fam-3", "client-1", "uid:bob", "k0", 5_000).await;
    let results = join_all((0..8).map(|i| {
        let store = store.clone();
        async move {
            store
                .rotate_refresh(
                    &h("k0"),
                    &refresh(&format!("k0-{i}"), "fam-3", "client-1", "uid:bob", 5_010),
                    5_010,
                )
                .await
                .unwrap()
        }
    }))
    .await;
    // Once the first loser revoked the family, the later ones find it revoked.
    let won = results
        .iter()
        .filter(|r| matches!(r, Rotate::Rotated(_)))
        .count();
    let reused = results
        .iter()
        .filter(|r| matches!(r, Rotate::Reused { family_id } if family_id == "fam-3"))
        .count();
    let revoked = results
        .iter()
        .filter(|r| matches!(r, Rotate::Revoked))
        .count();
    assert_eq!(won, 1, "{results:?}");
    assert!(reused >= 1 && reused + revoked == 7, "{results:?}");
    assert!(!store.family_live("fam-3").await.unwrap());

    // RFC 7009: only the client the token was issued to revokes it; its family goes.
    grant(&store, "fam-4", "client-1", "uid:cyd", "v1", 6_000).await;
    assert!(
        !store
            .revoke_by_refresh(&h("v1"), "client-2", "revoked by client", 6_010)
            .await
            .unwrap()
    );
    assert!(store.family_live("fam-4").await.unwrap());
    assert!(
        store
            .revoke_by_refresh(&h("v1"), "client-1", "revoked by client", 6_010)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_by_refresh(&h("v1"), "client-1", "again", 6_020)
            .await
            .unwrap()
    );
    assert!(!store.family_live("fam-4").await.unwrap());
    assert!(!store.revoke_family("fam-4", "again", 6_030).await.unwrap());
    assert!(!store.family_live("never-started").await.unwrap());
}

/// Revocation per user (and client), listings for the CLI and the self-service page, and
/// the retention of dead families.
pub async fn grants_are_listed_and_revoked(storage: &Storage) {
    let store = OAuthStore::new(storage.clone());
    grant(&store, "g1", "client-1", "uid:ann", "g1r", 1_000).await;
    grant(&store, "g2", "client-1", "uid:ann", "g2r", 1_001).await;
    grant(&store, "g3", "client-2", "uid:ann", "g3r", 1_002).await;
    grant(&store, "g4", "client-1", "uid:bob", "g4r", 1_003).await;

    let ids = |rows: Vec<zebrunner_storage::oauth::GrantRow>| {
        rows.into_iter().map(|g| g.family_id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.list_grants(None, None, 100).await.unwrap()),
        ["g4", "g3", "g2", "g1"]
    );
    assert_eq!(
        ids(store.list_grants(None, None, 2).await.unwrap()),
        ["g4", "g3"]
    );
    assert_eq!(
        ids(store
            .list_grants(Some("uid:ann"), Some("client-1"), 100)
            .await
            .unwrap()),
        ["g2", "g1"]
    );

    assert_eq!(
        store
            .revoke_for_user("uid:ann", Some("client-1"), "signed out\u{7}", 2_000)
            .await
            .unwrap(),
        2
    );
    let ann = store.list_grants(Some("uid:ann"), None, 100).await.unwrap();
    let revoked: HashMap<_, _> = ann
        .iter()
        .map(|g| {
            (
                g.family_id.as_str(),
                (g.revoked_at, g.revoked_reason.as_deref()),
            )
        })
        .collect();
    assert_eq!(revoked["g1"], (Some(2_000), Some("signed out")));
    assert_eq!(revoked["g2"], (Some(2_000), Some("signed out")));
    assert_eq!(revoked["g3"], (None, None));
    assert!(store.family_live("g3").await.unwrap());
    assert!(store.family_live("g4").await.unwrap());
    assert_eq!(
        store
            .revoke_for_user("uid:ann", None, "offboarded", 2_100)
            .await
            .unwrap(),
        1
    );
    assert!(!store.family_live("g3").await.unwrap());
    assert!(store.family_live("g4").await.unwrap(), "bob keeps his");
    assert_eq!(
        store
            .revoke_for_user("uid:nobody", None, "x", 2_100)
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .list_grants(Some("uid:nobody"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Retention: revoked families go 30 days after revocation, with their tokens; a live one
    // that still holds a refresh token stays however old.
    let month = 30 * 24 * 60 * 60;
    assert_eq!(store.delete_dead_families(2_000 + month).await.unwrap(), 0);
    assert_eq!(store.delete_dead_families(2_001 + month).await.unwrap(), 2);
    assert!(store.refresh(&h("g1r")).await.unwrap().is_none());
    assert_eq!(
        ids(store.list_grants(None, None, 100).await.unwrap()),
        ["g4", "g3"]
    );
    assert_eq!(store.delete_dead_families(2_101 + month).await.unwrap(), 1);
    assert_eq!(
        ids(store.list_grants(None, None, 100).await.unwrap()),
        ["g4"]
    );
    // A family that never got a refresh token (or whose tokens were all purged) goes 30 days
    // after it started.
    assert!(
        store
            .start_family("g5", "client-1", "uid:bob", 10_000)
            .await
            .unwrap()
    );
    assert_eq!(store.delete_dead_families(10_000 + month).await.unwrap(), 0);
    assert_eq!(store.delete_dead_families(10_001 + month).await.unwrap(), 1);
    assert!(store.family_live("g4").await.unwrap());
}

/// Consents: recorded, replaced, listed, revoked.
pub async fn consents(storage: &Storage) {
    let store = OAuthStore::new(storage.clone());
    assert!(
        store
            .consent("uid:ann", "client-1")
            .await
            .unwrap()
            .is_none()
    );
    store
        .record_consent("uid:ann", "client-1", "mcp", 1_000)
        .await
        .unwrap();
    store
        .record_consent("uid:ann", "client-1", "mcp offline_access", 1_100)
        .await
        .unwrap();
    store
        .record_consent("uid:ann", "Client-0", "", 1_200)
        .await
        .unwrap();
    store
        .record_consent("uid:bob", "client-1", "mcp", 1_300)
        .await
        .unwrap();
    let got = store.consent("uid:ann", "client-1").await.unwrap().unwrap();
    assert_eq!(
        (got.scope.as_str(), got.approved_at),
        ("mcp offline_access", 1_100)
    );
    let all = store.consents_of("uid:ann").await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.client_id.as_str()).collect::<Vec<_>>(),
        ["Client-0", "client-1"],
        "byte order on both backends"
    );
    assert!(store.revoke_consent("uid:ann", "client-1").await.unwrap());
    assert!(!store.revoke_consent("uid:ann", "client-1").await.unwrap());
    assert!(
        store
            .consent("uid:ann", "client-1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .consent("uid:bob", "client-1")
            .await
            .unwrap()
            .is_some()
    );
    assert!(is_invalid(
        store.record_consent("", "client-1", "mcp", 1).await
    ));
    assert!(is_invalid(
        store
            .record_consent("uid:ann", "client-1", "mcp\nadmin", 1)
            .await
    ));
}

/// A person withdraws what they gave one client: its live grants are revoked, a code not yet
/// redeemed (or being redeemed) can start nothing, the approval is forgotten; the same
/// person's other clients, and other people's grants for that client, are untouched.
pub async fn withdraw_takes_back_a_clients_grants_and_consent(storage: &Storage) {
    let store = OAuthStore::new(storage.clone());
    grant(&store, "w1", "client-1", "uid:ann", "w1r", 1_000).await;
    grant(&store, "w2", "client-1", "uid:ann", "w2r", 1_001).await;
    grant(&store, "w3", "client-2", "uid:ann", "w3r", 1_002).await;
    grant(&store, "w4", "client-1", "uid:bob", "w4r", 1_003).await;
    assert!(store.revoke_family("w2", "earlier", 1_004).await.unwrap());
    for (user, client) in [
        ("uid:ann", "client-1"),
        ("uid:ann", "client-2"),
        ("uid:bob", "client-1"),
    ] {
        store
            .record_consent(user, client, "mcp", 1_000)
            .await
            .unwrap();
    }
    // A code issued but not redeemed; one redeemed whose grant has not started yet; one of
    // Bob's; one long expired.
    store
        .put_code(&code("wc1", "fam-wc1", 2_050), 2_000)
        .await
        .unwrap();
    store
        .put_code(&code("wc2", "fam-wc2", 2_050), 2_000)
        .await
        .unwrap();
    assert!(matches!(
        store.redeem_code(&h("wc2"), 2_001).await.unwrap(),
        Redeem::Fresh(_)
    ));
    let mut bobs = code("wc3", "fam-wc3", 2_050);
    bobs.user_key = "uid:bob".into();
    store.put_code(&bobs, 2_000).await.unwrap();
    store
        .put_code(&code("wc4", "fam-wc4", 1_500), 1_000)
        .await
        .unwrap();

    let withdrawn = store
        .withdraw("uid:ann", "client-1", "revoked by the person\n", 2_010)
        .await
        .unwrap();
    assert_eq!(
        withdrawn,
        zebrunner_storage::oauth::Withdrawn {
            consent: true,
            grants: 1
        },
        "w1 only: w2 was revoked already"
    );
    assert!(!store.family_live("w1").await.unwrap());
    assert!(store.family_live("w3").await.unwrap(), "another client");
    assert!(store.family_live("w4").await.unwrap(), "another person");
    assert!(
        store
            .consent("uid:ann", "client-1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .consent("uid:ann", "client-2")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .consent("uid:bob", "client-1")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .rotate_refresh(
                &h("w1r"),
                &refresh("w1r2", "w1", "client-1", "uid:ann", 2_011),
                2_011
            )
            .await
            .unwrap(),
        Rotate::Revoked
    );
    let ann = store
        .list_grants(Some("uid:ann"), Some("client-1"), 100)
        .await
        .unwrap();
    let w1 = ann.iter().find(|g| g.family_id == "w1").unwrap();
    assert_eq!(
        (w1.revoked_at, w1.revoked_reason.as_deref()),
        (Some(2_010), Some("revoked by the person"))
    );
    let w2 = ann.iter().find(|g| g.family_id == "w2").unwrap();
    assert_eq!(
        w2.revoked_reason.as_deref(),
        Some("earlier"),
        "kept as it was"
    );

    // The unredeemed code, redeemed now, and the one redeemed before: neither starts a grant.
    assert!(matches!(
        store.redeem_code(&h("wc1"), 2_012).await.unwrap(),
        Redeem::Fresh(_)
    ));
    for family in ["fam-wc1", "fam-wc2"] {
        assert!(
            !store
                .start_family(family, "client-1", "uid:ann", 2_013)
                .await
                .unwrap(),
            "{family}"
        );
        assert!(!store.family_live(family).await.unwrap(), "{family}");
    }
    // Bob's code for the same client still starts his grant; the long-expired code left no
    // trace.
    assert!(
        store
            .start_family("fam-wc3", "client-1", "uid:bob", 2_013)
            .await
            .unwrap()
    );
    assert!(
        !store
            .list_grants(None, None, 100)
            .await
            .unwrap()
            .iter()
            .any(|g| g.family_id == "fam-wc4")
    );

    // Again: nothing left to withdraw. Unknown or malformed names withdraw nothing.
    assert_eq!(
        store
            .withdraw("uid:ann", "client-1", "again", 2_020)
            .await
            .unwrap(),
        zebrunner_storage::oauth::Withdrawn::default()
    );
    assert_eq!(
        store.withdraw("", "client-1", "x", 2_020).await.unwrap(),
        zebrunner_storage::oauth::Withdrawn::default()
    );
    assert_eq!(
        store
            .withdraw("uid:ann", &"c".repeat(5_000), "x", 2_020)
            .await
            .unwrap(),
        zebrunner_storage::oauth::Withdrawn::default()
    );
    assert!(store.family_live("w3").await.unwrap());
}

fn key(kid: &str, created_at: i64, retire_after: i64) -> SigningKeyRow {
    SigningKeyRow {
        kid: kid.into(),
        alg: "ES256".into(),
        sealed: format!("sealed-{kid}").into_bytes(),
        seal_key_id: "vault-k1".into(),
        nonce: vec![7; 12],
        public_jwk: format!(r#"{{"kty": "EC", "crv": "P-256", "kid": "{kid}"}}"#),
        created_at,
        retire_after,
    }
}

/// Replicas starting at once make one signing key; rotation, reseal (compare-and-swap) and
/// retirement.
pub async fn signing_keys(storage: &Storage) {
    let store = OAuthStore::new(storage.clone());
    assert!(store.signing_keys(1_000).await.unwrap().is_empty());
    let added = join_all((0..8).map(|i| {
        let store = store.clone();
        async move {
            store
                .add_signing_key(&key(&format!("k{i}"), 1_000, 100_000), 1_000 - 3_600)
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(added.iter().filter(|a| **a).count(), 1, "{added:?}");
    let keys = store.signing_keys(1_000).await.unwrap();
    assert_eq!(keys.len(), 1);
    let first = keys[0].clone();
    assert_eq!(first, key(&first.kid, 1_000, 100_000));
    assert!(!format!("{first:?}").contains("sealed-"), "{first:?}");

    // Too soon for another; a day later, one more (the cut-off is "made within the last day").
    assert!(
        !store
            .add_signing_key(&key("early", 50_000, 200_000), 50_000 - 86_400)
            .await
            .unwrap()
    );
    assert!(
        store
            .add_signing_key(&key("k-next", 90_000, 200_000), 90_000 - 86_400)
            .await
            .unwrap()
    );
    let kids = |keys: Vec<SigningKeyRow>| keys.into_iter().map(|k| k.kid).collect::<Vec<_>>();
    assert_eq!(
        kids(store.signing_keys(90_000).await.unwrap()),
        ["k-next", first.kid.as_str()]
    );

    // Vault rekey: compare-and-swap on the nonce.
    assert!(
        store
            .reseal_signing_key("k-next", &[7; 12], "vault-k2", b"resealed", &[9; 12])
            .await
            .unwrap()
    );
    assert!(
        !store
            .reseal_signing_key("k-next", &[7; 12], "vault-k3", b"stale", &[8; 12])
            .await
            .unwrap()
    );
    let next = &store.signing_keys(90_000).await.unwrap()[0];
    assert_eq!(
        (
            next.seal_key_id.as_str(),
            next.sealed.as_slice(),
            next.nonce.as_slice()
        ),
        ("vault-k2", b"resealed".as_slice(), [9u8; 12].as_slice())
    );
    assert!(is_invalid(
        store
            .reseal_signing_key("k-next", &[9; 12], "vault-k3", b"", &[8; 12])
            .await
    ));

    // Retirement: hidden from then on, deleted on request.
    assert_eq!(kids(store.signing_keys(100_000).await.unwrap()), ["k-next"]);
    assert_eq!(store.delete_retired_signing_keys(99_999).await.unwrap(), 0);
    assert_eq!(store.delete_retired_signing_keys(100_000).await.unwrap(), 1);
    assert_eq!(kids(store.signing_keys(0).await.unwrap()), ["k-next"]);

    let mut bad = key("bad", 1, 2);
    bad.public_jwk = "nope".into();
    assert!(is_invalid(store.add_signing_key(&bad, 0).await));
    let mut bad = key("bad", 1, 2);
    bad.nonce = vec![0; 65];
    assert!(is_invalid(store.add_signing_key(&bad, 0).await));
}

/// A JWT id is accepted once per issuer until it expires; of concurrent uses one is first.
pub async fn jti_replays_are_refused(storage: &Storage) {
    let store = OAuthStore::new(storage.clone());
    let issuer = "https://client.example.com";
    assert!(
        store
            .remember_jti(issuer, "j1", 1_100, 1_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remember_jti(issuer, "j1", 1_100, 1_050)
            .await
            .unwrap()
    );
    assert!(
        store
            .remember_jti("https://other.example.com", "j1", 1_100, 1_050)
            .await
            .unwrap()
    );
    // Once expired it is purged (a replay then fails the caller's `exp` check instead).
    assert!(
        store
            .remember_jti(issuer, "j1", 1_300, 1_101)
            .await
            .unwrap()
    );
    let firsts = join_all((0..8).map(|_| {
        let store = store.clone();
        async move {
            store
                .remember_jti(issuer, "j2", 2_000, 1_500)
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(firsts.iter().filter(|f| **f).count(), 1, "{firsts:?}");
    assert!(is_invalid(
        store.remember_jti(issuer, "", 2_000, 1_500).await
    ));
    assert!(is_invalid(
        store
            .remember_jti(issuer, &"j".repeat(513), 2_000, 1_500)
            .await
    ));
}

fn client(id: &str, kind: ClientKind, expires_at: Option<i64>) -> ClientRow {
    ClientRow {
        client_id: id.into(),
        kind,
        metadata: format!(
            "{{\n  \"client_name\": \"{id}\",\n  \"redirect_uris\": [\"http://127.0.0.1/cb\"]\n}}"
        ),
        created_at: 1_000,
        last_used_at: None,
        expires_at,
    }
}

/// Clients: stored as given, kinds kept apart, used, expired only without live grants,
/// listed, deleted with what they hold.
pub async fn clients_expire_without_live_grants(storage: &Storage) {
    let store = OAuthStore::new(storage.clone());
    let dcr = client("dcr-1", ClientKind::Dcr, Some(2_000));
    let cimd = client(
        "https://app.example.com/client.json",
        ClientKind::Cimd,
        None,
    );
    let fixed = client("claude-code", ClientKind::Static, None);
    for c in [&dcr, &cimd, &fixed] {
        assert!(store.put_client(c).await.unwrap());
    }
    assert_eq!(store.client("dcr-1").await.unwrap().as_ref(), Some(&dcr));
    assert!(store.client("nope").await.unwrap().is_none());
    assert!(store.client(&"x".repeat(3_000)).await.unwrap().is_none());
    // The same id as another kind does not take over.
    assert!(
        !store
            .put_client(&client("claude-code", ClientKind::Dcr, Some(1)))
            .await
            .unwrap()
    );
    assert_eq!(
        store.client("claude-code").await.unwrap().unwrap().kind,
        ClientKind::Static
    );
    // The same kind replaces metadata and expiry, and keeps when it was made.
    let mut refetched = cimd.clone();
    refetched.metadata = r#"{"client_name": "App v2"}"#.into();
    refetched.created_at = 5_000;
    assert!(store.put_client(&refetched).await.unwrap());
    let got = store.client(&cimd.client_id).await.unwrap().unwrap();
    assert_eq!(
        (got.metadata.as_str(), got.created_at),
        (r#"{"client_name": "App v2"}"#, 1_000)
    );

    // Use: a registered client's expiry slides; others keep theirs.
    assert!(store.touch_client("dcr-1", 1_500, 1_000).await.unwrap());
    assert!(
        store
            .touch_client(&cimd.client_id, 1_500, 1_000)
            .await
            .unwrap()
    );
    assert!(!store.touch_client("nope", 1_500, 1_000).await.unwrap());
    let got = store.client("dcr-1").await.unwrap().unwrap();
    assert_eq!(
        (got.last_used_at, got.expires_at),
        (Some(1_500), Some(2_500))
    );
    // Never shortened.
    assert!(store.touch_client("dcr-1", 1_600, 10).await.unwrap());
    assert_eq!(
        store.client("dcr-1").await.unwrap().unwrap().expires_at,
        Some(2_500)
    );
    assert_eq!(
        store
            .client(&cimd.client_id)
            .await
            .unwrap()
            .unwrap()
            .expires_at,
        None
    );

    // Expired but with a live grant: kept. A second, unused registration goes.
    store
        .put_client(&client("dcr-2", ClientKind::Dcr, Some(2_000)))
        .await
        .unwrap();
    store
        .record_consent("uid:ann", "dcr-2", "mcp", 1_000)
        .await
        .unwrap();
    store
        .record_consent("uid:ann", "dcr-1", "mcp", 1_000)
        .await
        .unwrap();
    grant(&store, "fam-dcr", "dcr-1", "uid:ann", "dr1", 2_000).await; // expires at 3_000
    assert_eq!(store.delete_expired_clients(2_600).await.unwrap(), 1);
    assert!(store.client("dcr-2").await.unwrap().is_none());
    assert!(store.consent("uid:ann", "dcr-2").await.unwrap().is_none());
    assert!(store.client("dcr-1").await.unwrap().is_some());
    // Once its refresh token expires (or its family is revoked), it goes too.
    assert_eq!(store.delete_expired_clients(3_000).await.unwrap(), 1);
    assert!(store.client("dcr-1").await.unwrap().is_none());
    assert_eq!(store.delete_expired_clients(10_000).await.unwrap(), 0);

    // Listing pages by client id in byte order on both backends.
    for id in ["b", "a", "C"] {
        store
            .put_client(&client(id, ClientKind::Static, None))
            .await
            .unwrap();
    }
    let page = store.list_clients(None, 2).await.unwrap();
    let ids = |rows: &[ClientRow]| rows.iter().map(|c| c.client_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&page), ["C", "a"]);
    let rest = store.list_clients(Some("a"), 100).await.unwrap();
    assert_eq!(
        ids(&rest),
        ["b", "claude-code", "https://app.example.com/client.json"]
    );

    // Deleting a client revokes its grants and forgets its consents.
    grant(&store, "fam-cc", "claude-code", "uid:bob", "cc1", 4_000).await;
    store
        .record_consent("uid:bob", "claude-code", "mcp", 4_000)
        .await
        .unwrap();
    assert!(store.delete_client("claude-code", 4_100).await.unwrap());
    assert!(!store.delete_client("claude-code", 4_100).await.unwrap());
    assert!(!store.family_live("fam-cc").await.unwrap());
    assert!(
        store
            .consent("uid:bob", "claude-code")
            .await
            .unwrap()
            .is_none()
    );

    let mut bad = client("bad", ClientKind::Dcr, None);
    bad.metadata = "{\"a\": ".into();
    assert!(is_invalid(store.put_client(&bad).await));
    let mut bad = client("bad", ClientKind::Dcr, None);
    bad.client_id = "bad\u{202e}id\n".into();
    assert!(is_invalid(store.put_client(&bad).await));
}

/// Join futures on spawned tasks (so a multi-threaded runtime runs them in parallel) without
/// pulling in the `futures` crate.
async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}
