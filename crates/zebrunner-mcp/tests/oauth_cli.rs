//! `zebrunner-mcp oauth ...` as an administrator uses it: the real binary against a SQLite
//! database in a temporary data directory, seeded through the store the server writes with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use serde_json::Value;
use zebrunner_storage::oauth::{ClientKind, ClientRow, RefreshRow};
use zebrunner_storage::{OAuthStore, Storage};

/// A stand-in for a SHA-256 digest: `label` in hex, padded to 64 digits.
fn h(label: &str) -> String {
    let hex: String = label.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{hex:0<64}")
}

/// Grant ids look like the server's: 43 characters of base64url.
fn family(label: &str) -> String {
    format!("{label:-<43}")
}

const CIMD: &str = "https://app.example/oauth/client.json";
const NOW: i64 = 1_780_000_000;

struct Cli {
    data_dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

impl Cli {
    fn new() -> Cli {
        let data_dir = tempfile::tempdir().unwrap();
        let config = data_dir.path().join("zmcp.toml");
        std::fs::write(
            &config,
            r#"
[[oauth.clients]]
client_id = "desktop"
client_name = "Acme Desktop"
redirect_uris = ["http://127.0.0.1/callback", "https://desktop.acme.com/cb"]
"#,
        )
        .unwrap();
        Cli { data_dir, config }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"))
            .arg("--config")
            .arg(&self.config)
            .arg("oauth")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ZMCP_DATA_DIR", self.data_dir.path())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{args:?}: {stdout}\n{stderr}");
        (stdout, stderr)
    }

    fn json(&self, args: &[&str]) -> Vec<Value> {
        let (stdout, _) = self.ok(args);
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    async fn store(&self) -> OAuthStore {
        let storage = Storage::connect(&Storage::default_sqlite_url(self.data_dir.path()))
            .await
            .unwrap();
        OAuthStore::new(storage)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn client(store: &OAuthStore, id: &str, kind: ClientKind, metadata: &str, expires: i64) {
    assert!(
        store
            .put_client(&ClientRow {
                client_id: id.into(),
                kind,
                metadata: metadata.into(),
                created_at: NOW - 1000,
                last_used_at: None,
                expires_at: Some(expires),
            })
            .await
            .unwrap()
    );
}

/// A grant of `client` to `user`, with one refresh token and the person's consent.
async fn grant(store: &OAuthStore, fam: &str, client: &str, user: &str, at: i64) {
    assert!(store.start_family(fam, client, user, at).await.unwrap());
    assert!(
        store
            .put_refresh(&RefreshRow {
                token_hash: h(&format!("rt-{}", &fam[..8])),
                family_id: fam.into(),
                client_id: client.into(),
                user_key: user.into(),
                identity: r#"{"email": "someone@acme.com"}"#.into(),
                scope: "mcp offline_access".into(),
                resource: "https://mcp.acme.com/mcp".into(),
                expires_at: at + 86_400,
                created_at: at,
                rotated_at: None,
            })
            .await
            .unwrap()
    );
    store
        .record_consent(user, client, "mcp offline_access", at)
        .await
        .unwrap();
}

/// The seeded database: a registered client (Cursor), a metadata-document client whose name
/// carries a bidi override, the configured `desktop`; Ann has granted Cursor and the app, Bob
/// and Carol Cursor.
async fn seeded() -> (Cli, OAuthStore) {
    let cli = Cli::new();
    let store = cli.store().await;
    let far = time_now() + 86_400;
    client(
        &store,
        "dcr_cursor",
        ClientKind::Dcr,
        r#"{"client_id": "dcr_cursor", "client_name": "Cursor",
            "redirect_uris": ["http://127.0.0.1:33418/callback"]}"#,
        far,
    )
    .await;
    client(
        &store,
        CIMD,
        ClientKind::Cimd,
        &format!(
            r#"{{"client_id": "{CIMD}", "client_name": "App\u202eevil",
                "redirect_uris": ["https://app.example/cb", "https://app.example/cb2"]}}"#
        ),
        NOW - 10,
    )
    .await;
    grant(&store, &family("annCursor"), "dcr_cursor", "uid:ann", NOW).await;
    grant(&store, &family("annApp"), CIMD, "uid:ann", NOW + 1).await;
    grant(
        &store,
        &family("bobCursor"),
        "dcr_cursor",
        "uid:bob",
        NOW + 2,
    )
    .await;
    grant(
        &store,
        &family("carolCursor"),
        "dcr_cursor",
        "uid:carol",
        NOW + 3,
    )
    .await;
    (cli, store)
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// Nothing printed holds a stored hash.
fn no_hashes(output: &str) {
    for label in ["rt-annCurso", "rt-annApp--", "rt-bobCurso", "rt-carolCur"] {
        assert!(!output.contains(&h(label)), "a hash was printed: {output}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_and_grants_are_listed() {
    let (cli, _store) = seeded().await;

    let (table, summary) = cli.ok(&["clients"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("CLIENT") && lines[0].contains("REDIRECT HOSTS"),
        "{table}"
    );
    assert_eq!(lines.len(), 4, "{table}");
    // The configured client first, then the stored ones by id.
    assert!(
        lines[1].starts_with("desktop")
            && lines[1].contains("static")
            && lines[1].contains("Acme Desktop")
            && lines[1].contains("127.0.0.1,desktop.acme.com"),
        "{table}"
    );
    let cursor = lines.iter().find(|l| l.starts_with("dcr_cursor")).unwrap();
    assert!(
        cursor.contains("dcr") && cursor.contains("Cursor") && cursor.contains("127.0.0.1:33418"),
        "{cursor}"
    );
    let app = lines.iter().find(|l| l.starts_with(CIMD)).unwrap();
    assert!(
        app.contains("cimd") && app.contains("app.example") && app.contains("(expired)"),
        "{app}"
    );
    assert!(
        !app.contains("app.example,app.example"),
        "hosts once: {app}"
    );
    assert!(!table.contains('\u{202e}'), "the bidi override is printed");
    assert!(summary.contains("3 client(s)"), "{summary}");

    let clients = cli.json(&["clients", "--json"]);
    assert_eq!(clients.len(), 3);
    assert_eq!(clients[0]["client_id"], "desktop");
    assert_eq!(clients[0]["kind"], "static");
    assert_eq!(clients[0]["expires_at"], Value::Null);
    let app = clients.iter().find(|c| c["client_id"] == CIMD).unwrap();
    assert_eq!(app["kind"], "cimd");
    assert_eq!(app["expired"], true);
    assert_eq!(app["name"], "App\u{202e}evil", "JSON keeps the value");
    assert_eq!(app["redirect_hosts"], serde_json::json!(["app.example"]));
    assert_eq!(app["created_at"], "2026-05-28T20:10:00Z");
    let (raw, _) = cli.ok(&["clients", "--json"]);
    assert!(
        raw.contains("\\u202e") && !raw.contains('\u{202e}'),
        "{raw}"
    );
    assert_eq!(cli.json(&["clients", "--json", "--limit", "1"]).len(), 1);

    let (table, summary) = cli.ok(&["grants"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(lines[0].starts_with("GRANT"), "{table}");
    // Newest first; ids shortened.
    assert!(lines[1].starts_with("carolCursor-…"), "{table}");
    assert!(!table.contains(&family("carolCursor")), "{table}");
    assert!(lines[4].contains("uid:ann") && lines[4].contains("dcr_cursor"));
    assert!(summary.contains("4 grant(s), 4 live"), "{summary}");

    let grants = cli.json(&["grants", "--json"]);
    assert_eq!(grants.len(), 4);
    assert_eq!(grants[0]["family_id"], family("carolCursor"));
    assert_eq!(grants[0]["user_key"], "uid:carol");
    assert_eq!(grants[0]["live"], true);
    assert_eq!(grants[0]["revoked_at"], Value::Null);
    assert_eq!(grants[3]["created_at"], "2026-05-28T20:26:40Z");
    let anns = cli.json(&["grants", "--json", "--user", "uid:ann"]);
    assert_eq!(anns.len(), 2);
    let cursors = cli.json(&["grants", "--json", "--client", "dcr_cursor"]);
    assert_eq!(cursors.len(), 3);
    let one = cli.json(&[
        "grants",
        "--json",
        "--user",
        "uid:ann",
        "--client",
        "dcr_cursor",
    ]);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["family_id"], family("annCursor"));
    let (_, summary) = cli.ok(&["grants", "--limit", "2"]);
    assert!(summary.contains("raise --limit"), "{summary}");
    let (_, summary) = cli.ok(&["grants", "--user", "uid:nobody"]);
    assert!(summary.contains("no grants"), "{summary}");

    for args in [
        &["clients"][..],
        &["clients", "--json"],
        &["grants"],
        &["grants", "--json"],
    ] {
        let (stdout, stderr) = cli.ok(args);
        no_hashes(&stdout);
        no_hashes(&stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_loses_their_grants_and_consents() {
    let (cli, store) = seeded().await;

    // Only Cursor: Ann keeps the app.
    let (said, _) = cli.ok(&["revoke", "--user", "uid:ann", "--client", "dcr_cursor"]);
    assert_eq!(
        said.trim(),
        "revoked 1 grant of uid:ann for dcr_cursor; consent forgotten"
    );
    assert!(!store.family_live(&family("annCursor")).await.unwrap());
    assert!(store.family_live(&family("annApp")).await.unwrap());
    assert!(
        store
            .consent("uid:ann", "dcr_cursor")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.consent("uid:ann", CIMD).await.unwrap().is_some());
    let revoked = cli.json(&[
        "grants",
        "--json",
        "--user",
        "uid:ann",
        "--client",
        "dcr_cursor",
    ]);
    assert_eq!(revoked[0]["live"], false);
    assert_eq!(revoked[0]["revoked_reason"], "revoked by an administrator");
    let (table, _) = cli.ok(&["grants", "--user", "uid:ann"]);
    assert!(table.contains("(revoked by an administrator)"), "{table}");

    // Everything else of Ann's.
    let (said, _) = cli.ok(&["revoke", "--user", "uid:ann"]);
    assert_eq!(
        said.trim(),
        "revoked 1 grant of uid:ann; 1 consent forgotten"
    );
    assert!(!store.family_live(&family("annApp")).await.unwrap());
    assert!(store.consents_of("uid:ann").await.unwrap().is_empty());
    // Others keep theirs.
    assert!(store.family_live(&family("bobCursor")).await.unwrap());
    assert!(
        store
            .consent("uid:bob", "dcr_cursor")
            .await
            .unwrap()
            .is_some()
    );

    // Again: nothing left, and that is no failure.
    let (said, _) = cli.ok(&["revoke", "--user", "uid:ann"]);
    assert!(said.starts_with("nothing to revoke"), "{said}");
    let (said, _) = cli.ok(&["revoke", "--user", "uid:nobody", "--client", "dcr_cursor"]);
    assert!(said.starts_with("nothing to revoke"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_grant_or_a_whole_client_is_revoked() {
    let (cli, store) = seeded().await;

    let bob = family("bobCursor");
    let (said, _) = cli.ok(&["revoke", "--grant", &bob]);
    assert_eq!(
        said.trim(),
        format!("revoked grant {bob} of uid:bob for dcr_cursor")
    );
    assert!(!store.family_live(&bob).await.unwrap());
    assert!(store.family_live(&family("carolCursor")).await.unwrap());
    // A single grant keeps the consent.
    assert!(
        store
            .consent("uid:bob", "dcr_cursor")
            .await
            .unwrap()
            .is_some()
    );
    let (said, _) = cli.ok(&["revoke", "--grant", &bob]);
    assert!(
        said.starts_with(&format!("nothing to revoke: grant {bob} was revoked at"))
            && said.contains("(revoked by an administrator)"),
        "{said}"
    );
    let (said, _) = cli.ok(&["revoke", "--grant", "no-such-grant"]);
    assert_eq!(
        said.trim(),
        "nothing to revoke: no live grant no-such-grant"
    );

    // The whole client: registration gone, its live grants (Ann's, Carol's) revoked, its
    // consents forgotten; the other client is untouched.
    let (said, _) = cli.ok(&["revoke", "--client", "dcr_cursor"]);
    assert_eq!(
        said.trim(),
        "deleted client dcr_cursor and revoked 2 grants"
    );
    assert!(store.client("dcr_cursor").await.unwrap().is_none());
    assert!(!store.family_live(&family("carolCursor")).await.unwrap());
    assert!(!store.family_live(&family("annCursor")).await.unwrap());
    assert!(
        store
            .consent("uid:bob", "dcr_cursor")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.family_live(&family("annApp")).await.unwrap());
    let carol = cli.json(&["grants", "--json", "--user", "uid:carol"]);
    assert_eq!(carol[0]["revoked_reason"], "client deleted");
    let clients = cli.json(&["clients", "--json"]);
    assert!(clients.iter().all(|c| c["client_id"] != "dcr_cursor"));

    let (said, _) = cli.ok(&["revoke", "--client", "dcr_cursor"]);
    assert_eq!(said.trim(), "nothing to revoke: no client dcr_cursor");

    // A metadata-document client can be deleted, and comes back when it is used again.
    let (said, _) = cli.ok(&["revoke", "--client", CIMD]);
    assert!(
        said.starts_with(&format!(
            "deleted client {CIMD} (cimd) and revoked 1 grant;"
        )),
        "{said}"
    );

    // A configured client stays registered; its grants go.
    grant(&store, &family("daveDesktop"), "desktop", "uid:dave", NOW).await;
    let (said, _) = cli.ok(&["revoke", "--client", "desktop"]);
    assert!(
        said.starts_with("revoked 1 grant of desktop and forgot its consents")
            && said.contains("[[oauth.clients]]"),
        "{said}"
    );
    assert!(!store.family_live(&family("daveDesktop")).await.unwrap());
    assert!(
        store
            .consent("uid:dave", "desktop")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2_and_failures_1() {
    let (cli, store) = seeded().await;
    for args in [
        &["revoke"][..],
        &["revoke", "--grant", "x", "--user", "uid:ann"],
        &["revoke", "--grant", "x", "--client", "dcr_cursor"],
        &["revoke", "--user", ""],
        &["grants", "--limit", "0"],
        &["clients", "--limit", "many"],
        &["revoke", "--user", "uid:ann", "--everything"],
    ] {
        let out = cli.run(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stdout).is_empty());
    }
    let err = text(&cli.run(&["revoke"]).stderr);
    assert!(
        err.contains("--user") && err.contains("--client") && err.contains("--grant"),
        "{err}"
    );
    let err = text(
        &cli.run(&["revoke", "--grant", "x", "--user", "uid:ann"])
            .stderr,
    );
    assert!(err.contains("cannot be used with"), "{err}");
    // Nothing was revoked by any of them.
    assert_eq!(
        store
            .list_grants(None, None, 100)
            .await
            .unwrap()
            .iter()
            .filter(|g| g.revoked_at.is_none())
            .count(),
        4
    );

    // No database where one is expected: exit 1, and none is created.
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"))
        .args(["oauth", "grants"])
        .env_clear()
        .env("ZMCP_DATA_DIR", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no database at"),
        "{}",
        text(&out.stderr)
    );
    assert!(!empty.path().join("zebrunner-mcp.db").exists());
}
