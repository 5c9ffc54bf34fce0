//! Shared helpers: a sandbox per test, clients for its users, and the
//! `/__sandbox/` control API (request log, faults, auth settings).

#![allow(dead_code)] // each test binary uses a different subset

use std::time::Duration;

use serde_json::{Value, json};
use zebrunner_client::{
    ClientConfig, SecretString, SsoGrant, Workspace, ZebrunnerClient, ZebrunnerUrl,
};
use zebrunner_sandbox::{RunningSandbox, Sandbox, SandboxConfig, SandboxUser};

pub struct Env {
    pub sandbox: RunningSandbox,
    http: reqwest::Client,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub user: Option<String>,
    pub status: u16,
}

impl Env {
    pub async fn start() -> Env {
        let sandbox = Sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0")
            .await
            .expect("sandbox starts");
        Env::with(sandbox)
    }

    /// An environment around a sandbox started otherwise (e.g. with the token exchange on).
    pub fn with(sandbox: RunningSandbox) -> Env {
        zebrunner_client::install_crypto_provider(); // before our own reqwest client
        Env {
            sandbox,
            http: reqwest::Client::new(),
        }
    }

    pub fn user(&self, login_prefix: &str) -> SandboxUser {
        self.sandbox
            .sandbox
            .users()
            .into_iter()
            .find(|u| u.login.starts_with(login_prefix))
            .expect("seeded user")
    }

    pub fn config(&self, login_prefix: &str) -> ClientConfig {
        let u = self.user(login_prefix);
        let url = ZebrunnerUrl::parse(&self.sandbox.url).expect("sandbox url");
        let mut cfg = ClientConfig::new(url, u.login, SecretString::from(u.token));
        cfg.retry_deadline = Duration::from_secs(10);
        cfg.timeout = Duration::from_secs(10);
        cfg
    }

    pub fn client(&self, login_prefix: &str) -> ZebrunnerClient {
        ZebrunnerClient::new(self.config(login_prefix)).expect("client")
    }

    fn control(&self, path: &str) -> String {
        format!("{}/__sandbox/{path}", self.sandbox.url)
    }

    pub async fn requests(&self) -> Vec<Logged> {
        self.http
            .get(self.control("requests"))
            .send()
            .await
            .expect("request log")
            .json()
            .await
            .expect("request log json")
    }

    /// The long-lived token of `grant` works as `user`: IAM refresh (internal APIs) and Basic
    /// password (Public API), through `ws`'s pool; every request but those to `not_checked`
    /// is `user`'s and succeeds.
    pub async fn assert_long_lived_token_works(
        &self,
        ws: &Workspace,
        grant: &SsoGrant,
        user: &SandboxUser,
        not_checked: &[&str],
    ) {
        let client = ws.client(grant.login.clone(), grant.token.clone()).unwrap();
        let identity = client.check_credentials().await.unwrap();
        assert_eq!(identity.username, user.login);
        assert_eq!(identity.user_id, user.user_id);
        let keys: Vec<String> = client
            .list_projects()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(keys, ["DEMO", "MOBILE"]);
        assert!(!client.all_test_suites("DEMO").await.unwrap().is_empty());
        let logged = self.requests().await;
        assert!(
            logged
                .iter()
                .filter(|r| !not_checked.contains(&r.path.as_str()))
                .all(|r| r.user.as_deref() == Some(user.login.as_str()) && r.status == 200),
            "{logged:?}"
        );
    }

    pub async fn clear_requests(&self) {
        self.http
            .delete(self.control("requests"))
            .send()
            .await
            .expect("clear log");
    }

    pub async fn fault(&self, spec: Value) {
        let resp = self
            .http
            .post(self.control("faults"))
            .json(&spec)
            .send()
            .await
            .expect("add fault");
        assert!(resp.status().is_success(), "fault rejected: {spec}");
    }

    pub async fn clear_faults(&self) {
        self.http
            .delete(self.control("faults"))
            .send()
            .await
            .expect("clear faults");
    }

    pub async fn auth_settings(&self, body: Value) {
        let resp = self
            .http
            .post(self.control("auth"))
            .json(&body)
            .send()
            .await
            .expect("auth settings");
        assert!(resp.status().is_success(), "auth settings rejected: {body}");
    }

    pub async fn revoke_bearers(&self) {
        self.auth_settings(json!({"revoke_bearers": true})).await;
    }

    /// `POST /__sandbox/sso`: a finished SSO sign-in of the user with `login_prefix`, with
    /// `extra` fields merged into the body. Returns the landing address.
    pub async fn sso_sign_in(&self, login_prefix: &str, extra: Value) -> String {
        let mut body = json!({"login": self.user(login_prefix).login});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let resp = self
            .http
            .post(self.control("sso"))
            .json(&body)
            .send()
            .await
            .expect("sso sign-in");
        assert_eq!(resp.status(), 201, "sso sign-in refused: {body}");
        let answer: Value = resp.json().await.expect("sso json");
        answer["url"].as_str().expect("url").to_owned()
    }

    /// Log entries whose path starts with `prefix`.
    pub async fn requests_to(&self, prefix: &str) -> Vec<Logged> {
        self.requests()
            .await
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }
}

pub const REFRESH: &str = "/api/iam/v1/auth/refresh";
