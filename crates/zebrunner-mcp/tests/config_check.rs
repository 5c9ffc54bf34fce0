//! `zebrunner-mcp config check [--online]` as an operator runs it: the real binary against the
//! sandbox Zebrunner (in this process), stand-in OpenID issuers (raw HTTP, in this process)
//! and a SQLite database in a temporary directory.
//!
//! - Without `--online` nothing is contacted: no request reaches the sandbox or the issuer,
//!   and no database file is created.
//! - With `--online` every dependency is reached and reported one line each; an unreachable
//!   issuer, a key set without a key for the configured algorithms, rejected credentials and
//!   a key ring that cannot open a stored record each fail the check (exit status 1) with the
//!   reason, while the others still say ok.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zebrunner_sandbox::{RunningSandbox, Sandbox, SandboxConfig};

/// The public RSA key of `zebrunner-identity/tests/keys/rsa-a.pem` (test-only), as a JWK.
const RSA_N: &str = "iL_FGqIROxZ3W_jyHGGCBTlG9kTqU_sfxJAl-FJDGjqsjY9gdeCsFzOC8CTDp1Od7we8Ktt0eEl4ZPzYJJMQ84Qf-II8-cO714vHkNh74f_fknPH-AvqKsxjm14u3LS2_LBM_bE1ZuOcS0ha6B5fPt59aOyfOpeMLv2XFwgdi6-r97UllkGeKtmyRUm_gmVls67xFAmYy4stLUjbQJDZb6lrHXzbu7zWVNf3rT38HiR5AmN4vrewWllBjeg8YUKLX7IRMlqQ55_JubxJRsd1rqBt0TqOsm4ArzA0ANeyI1FAj6WiJrnwLcsu7GQWue9kGK6VZ9bUaFI2xtCh4FdxTw";
/// The public EC P-256 key of `zebrunner-identity/tests/keys/ec-p256.pem` (test-only).
const EC_X: &str = "_R104JiDBNJrDHhuzdDGWuYChFtUGeuMGVNhtiPTp5s";
const EC_Y: &str = "8FKDiiqs9l4y1CRh-2xIq-DiPS1PKX7Qw3STh10FhGU";

fn rsa_key() -> Value {
    json!({"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": RSA_N, "e": "AQAB"})
}

fn ec_key() -> Value {
    json!({"kty": "EC", "kid": "ec-1", "use": "sig", "crv": "P-256", "x": EC_X, "y": EC_Y})
}

/// A stand-in OpenID issuer: its metadata at `<issuer>/.well-known/openid-configuration` and
/// `keys` at `<issuer>/v1/keys`; every other path is 404. Counts the requests it answers.
struct Issuer {
    issuer: String,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Issuer {
    /// `path` is the issuer's path: `/oauth2/default` (an Okta custom authorization server)
    /// or `` (an Okta org, the issuer of ID-JAGs).
    async fn start(path: &str, keys: Vec<Value>) -> Issuer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}{path}", listener.local_addr().unwrap());
        let metadata = json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/v1/keys"),
            "authorization_endpoint": format!("{issuer}/v1/authorize"),
            "token_endpoint": format!("{issuer}/v1/token"),
        })
        .to_string();
        let jwks = json!({ "keys": keys }).to_string();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let (metadata, jwks) = (metadata.clone(), jwks.clone());
                tokio::spawn(answer(stream, move |target| {
                    if target.ends_with("/.well-known/openid-configuration") {
                        Some(metadata)
                    } else if target.ends_with("/v1/keys") {
                        Some(jwks)
                    } else {
                        None
                    }
                }));
            }
        });
        Issuer {
            issuer,
            requests,
            task,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Read one request, answer 200 with the JSON `route` gives for its target, else 404.
async fn answer(mut stream: TcpStream, route: impl FnOnce(&str) -> Option<String>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let (status, body) = match route(&target) {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", "{}".to_owned()),
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// How many requests the sandbox has logged (its control API, over raw HTTP).
async fn sandbox_requests(sandbox: &RunningSandbox) -> usize {
    let addr = sandbox.url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let request =
        format!("GET /__sandbox/requests HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw);
    let body = raw.split_once("\r\n\r\n").unwrap().1;
    let log: Vec<Value> = serde_json::from_str(body).unwrap();
    log.len()
}

/// What a run of the binary printed, and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The `online: <item>...` line about `item`.
    fn line(&self, item: &str) -> &str {
        let prefix = format!("online: {item}");
        self.stdout
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no line for {item}:\n{}", self.stdout))
    }
}

/// `zebrunner-mcp <args>` with exactly `env` (and PATH), stdin `input`.
async fn run(args: &[&str], env: &[(String, String)], input: Option<String>) -> Run {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zebrunner-mcp"))
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(text) = input {
            stdin.write_all(text.as_bytes()).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn keygen(id: &str) -> String {
    let out = run(&["vault", "keygen", "--id", id], &[], None).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.stdout.trim().to_owned()
}

/// A port nobody listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_issuer_fails_online_and_offline_contacts_nothing() {
    let sandbox = Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    let alice = sandbox
        .sandbox
        .users()
        .into_iter()
        .find(|u| u.login.starts_with("alice"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let issuer = format!("http://127.0.0.1:{}/oauth2/default", closed_port());
    let env = vars(&[
        ("ZMCP_DATA_DIR", data.to_str().unwrap()),
        ("ZEBRUNNER_URL", &sandbox.url),
        ("ZEBRUNNER_LOGIN", &alice.login),
        ("ZEBRUNNER_TOKEN", &alice.token),
        ("ZMCP_TRANSPORT", "http"),
        ("ZMCP_IDENTITY", "oidc"),
        ("ZMCP_OIDC_ISSUER", &issuer),
        ("ZMCP_PUBLIC_URL", "http://127.0.0.1:8080"),
    ]);

    // Offline: the settings are fine, so it passes, and it reached nothing.
    let offline = run(&["config", "check"], &env, None).await;
    assert_eq!(
        offline.code,
        Some(0),
        "{}\n{}",
        offline.stdout,
        offline.stderr
    );
    assert!(
        offline.stdout.contains("configuration ok")
            && offline.stdout.contains("nothing was contacted"),
        "{}",
        offline.stdout
    );
    assert!(!offline.stdout.contains("online:"), "{}", offline.stdout);
    assert_eq!(
        sandbox_requests(&sandbox).await,
        0,
        "offline asked Zebrunner"
    );
    assert!(!data.exists(), "offline created the data directory");

    // Online: the issuer fails with the reason and what to check; Zebrunner and the account
    // still say ok; the exit status says it failed.
    let online = run(&["config", "check", "--online"], &env, None).await;
    assert_eq!(online.code, Some(1), "{}\n{}", online.stdout, online.stderr);
    let line = online.line(&format!("oidc.issuer {issuer}: FAILED"));
    assert!(
        line.contains("could not read the issuer's metadata")
            && line.contains("could not connect")
            && line.contains("Check the issuer URL"),
        "{line}"
    );
    assert!(
        online
            .line("database ")
            .contains("ok: no database file yet"),
        "{}",
        online.stdout
    );
    assert!(
        online
            .line(&format!("ZEBRUNNER_URL {}: ok", sandbox.url))
            .contains("Zebrunner answers")
    );
    assert!(
        online
            .line(&format!("service account {}: ok", alice.login))
            .contains("accepts the login and token")
    );
    assert!(
        online.stderr.contains("1 online check(s) failed"),
        "{}",
        online.stderr
    );
    assert!(
        !online.stdout.contains("configuration ok"),
        "{}",
        online.stdout
    );
    assert!(!data.exists(), "--online created the database");
    // The token is never printed.
    assert!(!online.stdout.contains(&alice.token) && !online.stderr.contains(&alice.token));

    // Rejected credentials fail too, with Zebrunner's reason.
    let mut wrong = env.clone();
    wrong.retain(|(k, _)| k != "ZEBRUNNER_TOKEN");
    wrong.push(("ZEBRUNNER_TOKEN".into(), "zbr_not_a_token".into()));
    let refused = run(&["config", "check", "--online"], &wrong, None).await;
    assert_eq!(refused.code, Some(1));
    assert!(
        refused
            .line(&format!("service account {}: FAILED", alice.login))
            .contains("Zebrunner rejected the credentials"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stderr.contains("2 online check(s) failed"),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reachable_broker_setup_passes_and_each_broken_part_is_named() {
    let sandbox = Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    let alice = sandbox
        .sandbox
        .users()
        .into_iter()
        .find(|u| u.login.starts_with("alice"))
        .unwrap();
    let okta = Issuer::start("/oauth2/default", vec![rsa_key()]).await;
    let org = Issuer::start("", vec![ec_key()]).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let k1 = keygen("k1").await;
    let base = vars(&[
        ("ZMCP_DATA_DIR", data.to_str().unwrap()),
        ("ZEBRUNNER_URL", &sandbox.url),
        ("ZMCP_TRANSPORT", "http"),
        ("ZMCP_IDENTITY", "broker"),
        ("ZMCP_CREDENTIALS", "vault"),
        ("ZMCP_OIDC_ISSUER", &okta.issuer),
        ("ZMCP_OIDC_CLIENT_ID", "0oa1web"),
        ("ZMCP_OIDC_CLIENT_SECRET", "test-only-client-secret"),
        ("ZMCP_PUBLIC_URL", "http://127.0.0.1:8088"),
        ("ZMCP_OAUTH_ID_JAG_ISSUERS", &org.issuer),
    ]);
    let with_keys = |keys: &str| {
        let mut env = base.clone();
        env.push(("ZMCP_VAULT_KEYS".into(), keys.into()));
        env
    };

    // Offline first: nothing reached, nothing created.
    let offline = run(&["config", "check"], &with_keys(&k1), None).await;
    assert_eq!(
        offline.code,
        Some(0),
        "{}\n{}",
        offline.stdout,
        offline.stderr
    );
    assert_eq!((okta.requests(), org.requests()), (0, 0));
    assert!(!data.exists());

    // One person's token in the vault (this makes the database).
    let put = run(
        &[
            "vault",
            "put",
            "--user",
            "uid:00ualice",
            "--login",
            &alice.login,
        ],
        &with_keys(&k1),
        Some(format!("{}\n", alice.token)),
    )
    .await;
    assert_eq!(put.code, Some(0), "{}", put.stderr);

    let ok = run(&["config", "check", "--online"], &with_keys(&k1), None).await;
    assert_eq!(ok.code, Some(0), "{}\n{}", ok.stdout, ok.stderr);
    assert!(
        ok.line("database ")
            .contains("ok: reachable, schema up to date"),
        "{}",
        ok.stdout
    );
    let issuer = ok.line(&format!("oidc.issuer {}: ok", okta.issuer));
    assert!(
        issuer.contains("/v1/keys include one for RS256"),
        "{issuer}"
    );
    assert!(
        ok.line(&format!("oauth.id_jag_issuers {}: ok", org.issuer))
            .contains("RS256 or ES256")
    );
    assert!(
        ok.line(&format!("ZEBRUNNER_URL {}: ok", sandbox.url))
            .contains("each person's token")
    );
    assert!(
        ok.line("vault: ok")
            .contains("opens all 1 sampled record(s)"),
        "{}",
        ok.stdout
    );
    assert!(
        ok.stdout.contains("configuration ok") && ok.stdout.contains("everything it depends on"),
        "{}",
        ok.stdout
    );
    assert!(okta.requests() >= 2 && org.requests() >= 2);

    // A ring without the key that sealed the record: the vault check fails and says which key.
    let k2 = keygen("k2").await;
    let lost = run(&["config", "check", "--online"], &with_keys(&k2), None).await;
    assert_eq!(lost.code, Some(1), "{}\n{}", lost.stdout, lost.stderr);
    let vault = lost.line("vault: FAILED");
    assert!(
        vault.contains("1 of 1 sampled record(s) do not open")
            && vault.contains("uid:00ualice")
            && vault.contains("\"k1\""),
        "{vault}"
    );

    // An issuer whose keys have none for the configured algorithm (RS256; it has only EC).
    let no_rsa = Issuer::start("/oauth2/default", vec![ec_key()]).await;
    let mut env = with_keys(&k1);
    env.retain(|(k, _)| k != "ZMCP_OIDC_ISSUER");
    env.push(("ZMCP_OIDC_ISSUER".into(), no_rsa.issuer.clone()));
    let unusable = run(&["config", "check", "--online"], &env, None).await;
    assert_eq!(unusable.code, Some(1));
    assert!(
        unusable
            .line(&format!("oidc.issuer {}: FAILED", no_rsa.issuer))
            .contains("no usable signing key"),
        "{}",
        unusable.stdout
    );
    // The others are still reached and fine.
    assert!(unusable.line("vault: ok").contains("opens all 1"));

    // An ID-JAG issuer that is not there.
    let gone = format!("http://127.0.0.1:{}", closed_port());
    let mut env = with_keys(&k1);
    env.retain(|(k, _)| k != "ZMCP_OAUTH_ID_JAG_ISSUERS");
    env.push((
        "ZMCP_OAUTH_ID_JAG_ISSUERS".into(),
        format!("{},{gone}", org.issuer),
    ));
    let partly = run(&["config", "check", "--online"], &env, None).await;
    assert_eq!(partly.code, Some(1));
    assert!(
        partly
            .line(&format!("oauth.id_jag_issuers {}: ok", org.issuer))
            .contains("ok")
    );
    assert!(
        partly
            .line(&format!("oauth.id_jag_issuers {gone}: FAILED"))
            .contains("Okta org URL"),
        "{}",
        partly.stdout
    );
}
