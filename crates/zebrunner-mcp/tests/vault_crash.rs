//! Crash safety of the vault: `zebrunner-mcp vault` processes killed with SIGKILL while
//! storing tokens concurrently and while rekeying lose no acknowledged record and leave none
//! that does not decrypt.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use zebrunner_storage::Storage;
use zebrunner_storage::vault::{NewCredential, Vault};
use zebrunner_vault_crypto::KeyRing;

fn key(id: &str, byte: u8) -> String {
    use base64::Engine;
    format!(
        "{id}:{}",
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    )
}

fn vault_command(data_dir: &std::path::Path, keys: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"));
    command
        .arg("vault")
        .args(args)
        .env("ZMCP_DATA_DIR", data_dir)
        .env("ZMCP_VAULT_KEYS", keys)
        .env("ZEBRUNNER_URL", "https://zebrunner.example.test")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

async fn open_vault(data_dir: &std::path::Path, keys: &str) -> Vault {
    let storage = Storage::connect(&Storage::default_sqlite_url(data_dir))
        .await
        .unwrap();
    Vault::new(storage, Arc::new(KeyRing::parse(keys).unwrap()))
}

fn token_of(i: usize) -> String {
    format!("zbr-crash-token-{i:04}")
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_registrations_lose_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let keys = key("k1", 1);
    // Make the database first, so every process races on writes, not on creating it.
    drop(open_vault(dir.path(), &keys).await);
    let mut children: Vec<(usize, Child)> = Vec::new();
    for i in 0..24 {
        let user = format!("uid:crash{i:02}");
        let login = format!("user{i}@example.test");
        let mut child = vault_command(
            dir.path(),
            &keys,
            &["put", "--user", &user, "--login", &login, "--no-verify"],
        )
        .spawn()
        .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{}\n", token_of(i)).as_bytes())
            .unwrap();
        drop(stdin);
        children.push((i, child));
    }
    // Kill every third one at once, wherever it is.
    for (i, child) in children.iter_mut() {
        if *i % 3 == 0 {
            let _ = child.kill();
        }
    }
    let mut acknowledged = Vec::new();
    for (i, mut child) in children {
        if child.wait().unwrap().success() {
            acknowledged.push(i);
        }
    }
    assert!(acknowledged.len() >= 16, "only {acknowledged:?} finished");

    let vault = open_vault(dir.path(), &keys).await;
    for i in &acknowledged {
        let record = vault.get(&format!("uid:crash{i:02}")).await.unwrap();
        let record = record.unwrap_or_else(|| panic!("acknowledged record {i} is lost"));
        assert_eq!(record.token.expose_secret(), token_of(*i));
    }
    // Every record there is, acknowledged or not, opens.
    for meta in vault.list(None, 100).await.unwrap() {
        vault.get(&meta.user_key).await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_rekey_leaves_every_record_readable_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let old = key("k1", 1);
    let both = format!("{old},{}", key("k2", 2));
    let vault = open_vault(dir.path(), &old).await;
    for i in 0..400 {
        let token = SecretString::from(token_of(i));
        vault
            .put(&NewCredential {
                user_key: &format!("uid:r{i:04}"),
                zebrunner_url: "https://zebrunner.example.test",
                login: &format!("u{i}"),
                token: &token,
                validated: false,
            })
            .await
            .unwrap();
    }
    // Kill rekeys at growing delays until one is caught with work half done.
    let mut caught_midway = false;
    for delay_ms in [20u64, 40, 80, 160, 320, 640, 1280, 2560, 5120] {
        let mut child = vault_command(dir.path(), &both, &["rekey", "--batch", "1"])
            .spawn()
            .unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(delay_ms) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        let vault = open_vault(dir.path(), &both).await;
        let records = vault.list(None, 1000).await.unwrap();
        assert_eq!(records.len(), 400);
        let moved = records.iter().filter(|m| m.key_id == "k2").count();
        for (i, meta) in records.iter().enumerate() {
            let opened = vault.get(&meta.user_key).await.unwrap().unwrap();
            assert_eq!(
                opened.token.expose_secret(),
                token_of(i),
                "{}",
                meta.user_key
            );
        }
        if moved > 0 && moved < 400 {
            caught_midway = true;
            break;
        }
    }
    assert!(caught_midway, "no kill landed in the middle of a rekey");
    // Run to the end; then the old key can go.
    let status = vault_command(dir.path(), &both, &["rekey"])
        .status()
        .unwrap();
    assert!(status.success());
    let new_only = open_vault(dir.path(), &key("k2", 2)).await;
    for (i, meta) in new_only.list(None, 1000).await.unwrap().iter().enumerate() {
        assert_eq!(meta.key_id, "k2");
        let opened = new_only.get(&meta.user_key).await.unwrap().unwrap();
        assert_eq!(opened.token.expose_secret(), token_of(i));
    }
}
