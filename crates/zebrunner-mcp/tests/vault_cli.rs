//! `zebrunner-mcp vault ...` as an administrator uses it: the real binary, the sandbox
//! Zebrunner, a SQLite database in a temporary directory, keys in the environment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use zebrunner_oauth::SigningKeys;
use zebrunner_sandbox::{Sandbox, SandboxConfig};
use zebrunner_storage::{OAuthStore, Storage};
use zebrunner_vault_crypto::KeyRing;

struct Cli {
    data_dir: tempfile::TempDir,
    zebrunner_url: String,
}

impl Cli {
    fn run(&self, keys: &str, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_with(keys, args, stdin, &[])
    }

    /// As [`Cli::run`], with more environment variables.
    fn run_with(
        &self,
        keys: &str,
        args: &[&str],
        stdin: Option<&str>,
        env: &[(&str, &str)],
    ) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"))
            .arg("vault")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ZMCP_DATA_DIR", self.data_dir.path())
            .env("ZMCP_VAULT_KEYS", keys)
            .env("ZEBRUNNER_URL", &self.zebrunner_url)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    fn ok(&self, keys: &str, args: &[&str], stdin: Option<&str>) -> (String, String) {
        let out = self.run(keys, args, stdin);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{args:?}: {stdout}\n{stderr}");
        (stdout, stderr)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn keygen(id: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"))
        .args(["vault", "keygen", "--id", id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout).trim().to_string();
    assert!(line.starts_with(&format!("{id}:")), "{line}");
    line
}

#[tokio::test(flavor = "multi_thread")]
async fn an_administrator_stores_lists_verifies_and_rekeys() {
    let sandbox = Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    let users = sandbox.sandbox.users();
    let alice = users.iter().find(|u| u.login.starts_with("alice")).unwrap();
    let bob = users.iter().find(|u| u.login.starts_with("bob")).unwrap();
    let cli = Cli {
        data_dir: tempfile::tempdir().unwrap(),
        zebrunner_url: sandbox.url.clone(),
    };
    let k1 = keygen("k1");
    let put = |keys: &str, login: &str, token: &str| {
        cli.run(
            keys,
            &["put", "--user", "uid:00ualice", "--login", login],
            Some(&format!("{token}\n")),
        )
    };

    // Bob's token under Alice's login: Zebrunner's answer names Bob, so it is refused.
    let refused = put(&k1, &alice.login, &bob.token);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("belongs to the Zebrunner user"),
        "{}",
        text(&refused.stderr)
    );
    // A token Zebrunner refuses is not stored either.
    assert!(!put(&k1, &alice.login, "not-a-token").status.success());

    let stored = put(&k1, &alice.login, &alice.token);
    assert!(stored.status.success(), "{}", text(&stored.stderr));
    assert!(text(&stored.stderr).contains("verified"));

    let (listed, _) = cli.ok(&k1, &["list", "--json"], None);
    let records: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["login"], alice.login.as_str());
    assert_eq!(records[0]["key_id"], "k1");
    assert_eq!(records[0]["status"], "active");

    // Rotate: the new key last, rekey, then the old key can go.
    let k2 = keygen("k2");
    let (_, rekeyed) = cli.ok(&format!("{k1},{k2}"), &["rekey", "--batch", "1"], None);
    assert!(
        rekeyed.contains("every record and OAuth signing key is sealed with k2")
            && rekeyed.contains("older keys may be removed"),
        "{rekeyed}"
    );
    let (verified, _) = cli.ok(&k2, &["verify"], None);
    assert!(verified.contains("uid:00ualice: ok"), "{verified}");
    let (csv, _) = cli.ok(&k2, &["export-metadata", "--format", "csv"], None);
    assert!(
        csv.starts_with("user_key,zebrunner_url,login,status"),
        "{csv}"
    );
    assert!(csv.contains(",k2,"), "{csv}");

    // Without the key that sealed it, a record does not open, and says which key is missing.
    let lost = cli.run(&keygen("k3"), &["verify"], None);
    assert!(!lost.status.success());
    assert!(
        text(&lost.stdout).contains("\"k2\""),
        "{}",
        text(&lost.stdout)
    );

    // Nothing printed, and nothing on disk, holds the token.
    for (output, what) in [(&listed, "list"), (&verified, "verify"), (&csv, "export")] {
        assert!(!output.contains(&alice.token), "{what} printed the token");
    }
    for entry in std::fs::read_dir(cli.data_dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows(alice.token.len())
                .any(|w| w == alice.token.as_bytes())
        );
    }

    let (_, deleted) = cli.ok(&k2, &["delete", "--user", "uid:00ualice"], None);
    assert!(deleted.contains("deleted"));
    assert!(
        !cli.run(&k2, &["delete", "--user", "uid:00ualice"], None)
            .status
            .success()
    );
}

/// The broker's signing key, sealed with vault key `key` (`id:base64`) for `issuer`, in the
/// CLI's database; its `kid`.
async fn signing_key(cli: &Cli, key: &str, issuer: &str) -> String {
    zebrunner_identity::install_crypto_provider();
    let storage = Storage::connect(&Storage::default_sqlite_url(cli.data_dir.path()))
        .await
        .unwrap();
    let keys = SigningKeys::new(
        OAuthStore::new(storage.clone()),
        Arc::new(KeyRing::parse(key).unwrap()),
        issuer,
        30 * 86_400,
        3600,
    );
    keys.refresh(time::OffsetDateTime::now_utc().unix_timestamp())
        .await
        .unwrap();
    let jwks = keys.jwks();
    storage.close().await;
    jwks["keys"][0]["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rekey_that_leaves_signing_keys_sealed_keeps_the_old_key() {
    let cli = Cli {
        data_dir: tempfile::tempdir().unwrap(),
        // Rekeying asks Zebrunner nothing.
        zebrunner_url: "http://127.0.0.1:9".into(),
    };
    let (k1, k2) = (keygen("k1"), keygen("k2"));
    let kid = signing_key(&cli, &k1, "https://mcp.example.com").await;
    let both = format!("{k1},{k2}");

    // Without the servers' public_url the signing key does not open: it stays on k1, and
    // nothing says the old key may go.
    let partial = cli.run(&both, &["rekey"], None);
    let stderr = text(&partial.stderr);
    assert!(!partial.status.success(), "{stderr}");
    assert!(!stderr.contains("may be removed"), "{stderr}");
    for needed in [
        "older keys must stay",
        &format!("{kid} (vault key k1)"),
        "keep vault key(s) k1 in ZMCP_VAULT_KEYS",
        "public_url",
    ] {
        assert!(stderr.contains(needed), "{needed}: {stderr}");
    }

    // With it, everything moves to k2 and only then may k1 go.
    let env = [("ZMCP_PUBLIC_URL", "https://mcp.example.com")];
    let done = cli.run_with(&both, &["rekey"], None, &env);
    let stderr = text(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    let moved = stderr.find("1 OAuth signing key(s) now on the newest key");
    let removable = stderr.find("older keys may be removed");
    assert!(
        moved.is_some() && removable.is_some() && moved < removable,
        "{stderr}"
    );
    assert_eq!(
        signing_key(&cli, &k2, "https://mcp.example.com").await,
        kid,
        "k2 alone opens it"
    );
}

#[test]
fn without_keys_the_vault_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"))
        .args(["vault", "list"])
        .env_remove("ZMCP_VAULT_KEYS")
        .env_remove("ZMCP_VAULT_KEYS_FILE")
        .env("ZMCP_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("ZMCP_VAULT_KEYS") && err.contains("vault keygen"),
        "{err}"
    );
}
