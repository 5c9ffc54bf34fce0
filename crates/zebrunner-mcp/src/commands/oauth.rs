//! `zebrunner-mcp oauth clients|grants|revoke`: the state of the authorization server (identity
//! `broker`) from the command line, for administrators: which clients are registered, who
//! granted which client access, and taking that access away.
//!
//! It reads the database the server uses (`ZMCP_DATABASE_URL`, or `zebrunner-mcp.db` in the
//! data directory) and the configured `[[oauth.clients]]`. Nothing it prints is a secret: the
//! tables hold codes and refresh tokens only as hashes, and no hash is printed either.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::builder::NonEmptyStringValueParser;
use clap::{ArgGroup, Args, Subcommand};
use serde_json::{Value, json};
use zebrunner_mcp_server::config::Config;
use zebrunner_oauth::StaticClient;
use zebrunner_storage::audit::export::{aligned, escape_json, printable};
use zebrunner_storage::oauth::{ClientKind, ClientRow, GrantRow};
use zebrunner_storage::{OAuthStore, Storage};

use super::setup;
use crate::output::outln;

/// Why an administrator's revocation happened, as `oauth grants` shows it.
const REVOKED_BY_ADMIN: &str = "revoked by an administrator";
/// Most rows one listing shows (the store's own limit).
const MAX_ROWS: u32 = 10_000;
/// Characters of a grant id the table shows.
const SHORT_ID_CHARS: usize = 12;

#[derive(Debug, Args)]
pub struct OAuthArgs {
    #[command(subcommand)]
    pub command: OAuthCommand,
    /// Database of the authorization server: sqlite:///path/to/file.db or postgres://...
    /// (default: the server's, zebrunner-mcp.db in the data directory).
    #[arg(long, global = true, env = "ZMCP_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Data directory holding zebrunner-mcp.db (default: the platform's data directory).
    #[arg(long, global = true, env = "ZMCP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum OAuthCommand {
    /// The clients: registered (dcr), metadata documents (cimd) and configured
    /// `[[oauth.clients]]` (static), by client id.
    Clients {
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
        /// At most this many clients.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_ROWS)))]
        limit: u32,
    },
    /// The grants (refresh-token families), live and revoked, newest first.
    Grants(GrantsArgs),
    /// Take access away: every live grant of a person (`--user`, optionally `--client`; their
    /// consent is forgotten too), a client registration with its grants (`--client`), or one
    /// grant (`--grant`). Their refresh and access tokens are refused from then on.
    Revoke(RevokeArgs),
    /// Make a secret for a confidential client (`[[oauth.confidential_clients]]`): prints the
    /// secret, to give to the client once, and its SHA-256, the only form the configuration
    /// holds. Nothing is stored.
    ClientSecret {
        /// The client id the printed configuration names.
        #[arg(long, value_parser = NonEmptyStringValueParser::new())]
        client: String,
    },
}

#[derive(Debug, Args)]
pub struct GrantsArgs {
    /// Only this person's grants (user key: `uid:...`, `sub:...`).
    #[arg(long, value_parser = NonEmptyStringValueParser::new())]
    pub user: Option<String>,
    /// Only grants to this client id.
    #[arg(long, value_parser = NonEmptyStringValueParser::new())]
    pub client: Option<String>,
    /// JSON lines instead of a table (with the grant ids whole).
    #[arg(long)]
    pub json: bool,
    /// At most this many grants.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_ROWS)))]
    pub limit: u32,
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("target")
        .required(true)
        .multiple(true)
        .args(["user", "client", "grant"])
))]
pub struct RevokeArgs {
    /// Revoke every live grant of this person (user key: `uid:...`, `sub:...`) and forget
    /// their consent, so their next sign-in asks again.
    #[arg(long, value_parser = NonEmptyStringValueParser::new())]
    pub user: Option<String>,
    /// With --user: only their grants to this client. Alone: delete this client's
    /// registration, revoking all its grants.
    #[arg(long, value_parser = NonEmptyStringValueParser::new())]
    pub client: Option<String>,
    /// Revoke this one grant (its whole id, as `oauth grants --json` shows it).
    #[arg(long, value_name = "FAMILY_ID", value_parser = NonEmptyStringValueParser::new(), conflicts_with_all = ["user", "client"])]
    pub grant: Option<String>,
}

pub async fn run(config_file: Option<&Path>, args: OAuthArgs) -> anyhow::Result<()> {
    if let OAuthCommand::ClientSecret { client } = &args.command {
        return client_secret(client);
    }
    let mut config = setup::load_config(config_file, Default::default())?;
    if let Some(url) = &args.database_url {
        config.database_url = Some(url.clone());
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = Some(dir.clone());
    }
    let url = setup::existing_database_url(
        config.database_url.as_deref(),
        config.data_dir.as_deref(),
        "database",
    )?;
    let storage = Storage::connect(&url).await.with_context(|| {
        format!(
            "cannot open the authorization server's database ({})",
            setup::redact_url(&url)
        )
    })?;
    let store = OAuthStore::new(storage);
    match args.command {
        OAuthCommand::Clients { json, limit } => {
            clients(&store, &config.oauth.clients, json, limit).await
        }
        OAuthCommand::Grants(grants_args) => grants(&store, grants_args).await,
        OAuthCommand::Revoke(revoke_args) => revoke(&store, &config, revoke_args).await,
        OAuthCommand::ClientSecret { .. } => Ok(()),
    }
}

// ---- client-secret --------------------------------------------------------------------------

/// A fresh 256-bit secret, and the configuration that accepts it.
fn client_secret(client: &str) -> anyhow::Result<()> {
    let (secret, digest) = zebrunner_oauth::client_auth::new_secret();
    let mut out = crate::output::stdout();
    writeln!(
        out,
        "client secret (give it to the client now; it is not shown again):\n  {secret}\n\n\
         configuration:\n  [[oauth.confidential_clients]]\n  client_id = {}\n  \
         client_name = {}\n  secret_sha256 = \"{digest}\"\n  grants = [\"client_credentials\"]",
        toml_string(client),
        toml_string(client),
    )?;
    Ok(())
}

/// `value` as a TOML basic string.
fn toml_string(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "\"\"".into())
}

// ---- clients --------------------------------------------------------------------------------

/// One client as listed.
struct ClientView {
    client_id: String,
    kind: ClientKind,
    name: Option<String>,
    redirect_uris: Vec<String>,
    created_at: Option<i64>,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
}

impl ClientView {
    fn stored(row: ClientRow) -> ClientView {
        let metadata: Value = serde_json::from_str(&row.metadata).unwrap_or(Value::Null);
        let name = metadata
            .get("client_name")
            .and_then(Value::as_str)
            .filter(|name| !name.trim().is_empty())
            .map(str::to_owned);
        let redirect_uris = metadata
            .get("redirect_uris")
            .and_then(Value::as_array)
            .map(|uris| {
                uris.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        ClientView {
            client_id: row.client_id,
            kind: row.kind,
            name,
            redirect_uris,
            created_at: Some(row.created_at),
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
        }
    }

    /// A configured client; the server finds it in the configuration before the database,
    /// so what the configuration says wins over a stored row with the same id.
    fn configured(client: &StaticClient, stored: Option<ClientView>) -> ClientView {
        ClientView {
            client_id: client.client_id.clone(),
            kind: ClientKind::Static,
            name: Some(client.client_name.clone()).filter(|name| !name.trim().is_empty()),
            redirect_uris: client.redirect_uris.clone(),
            created_at: stored.as_ref().and_then(|s| s.created_at),
            last_used_at: stored.as_ref().and_then(|s| s.last_used_at),
            expires_at: None,
        }
    }

    /// The hosts (with a port when one is given) of the redirect URIs, each once.
    fn redirect_hosts(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for uri in &self.redirect_uris {
            let host = match url::Url::parse(uri) {
                Ok(url) => match (url.host_str(), url.port()) {
                    (Some(host), Some(port)) => format!("{host}:{port}"),
                    (Some(host), None) => host.to_owned(),
                    (None, _) => format!("{}:", url.scheme()),
                },
                Err(_) => "(invalid)".to_owned(),
            };
            if seen.insert(host.clone()) {
                out.push(host);
            }
        }
        out
    }

    fn json(&self, now: i64) -> Value {
        json!({
            "client_id": self.client_id,
            "kind": self.kind.as_str(),
            "name": self.name,
            "redirect_uris": self.redirect_uris,
            "redirect_hosts": self.redirect_hosts(),
            "created_at": self.created_at.map(time_text),
            "last_used_at": self.last_used_at.map(time_text),
            "expires_at": self.expires_at.map(time_text),
            "expired": self.expires_at.is_some_and(|t| t <= now),
        })
    }

    fn cells(&self, now: i64) -> [String; 7] {
        let expires = match self.expires_at {
            Some(t) if t <= now => format!("{} (expired)", time_text(t)),
            Some(t) => time_text(t),
            None => "-".into(),
        };
        let hosts = self.redirect_hosts();
        [
            self.client_id.clone(),
            self.kind.as_str().to_owned(),
            self.name.clone().unwrap_or_else(|| "-".into()),
            if hosts.is_empty() {
                "-".into()
            } else {
                hosts.join(",")
            },
            optional_time(self.created_at),
            optional_time(self.last_used_at),
            expires,
        ]
        .map(|cell| clean(&cell))
    }
}

async fn clients(
    store: &OAuthStore,
    configured: &[StaticClient],
    json: bool,
    limit: u32,
) -> anyhow::Result<()> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut stored = Vec::new();
    let mut after: Option<String> = None;
    // One more than shown, to know whether there are more.
    while stored.len() <= limit {
        let page = store.list_clients(after.as_deref(), 500).await?;
        let done = page.len() < 500;
        after = page.last().map(|c| c.client_id.clone());
        stored.extend(page.into_iter().map(ClientView::stored));
        if done {
            break;
        }
    }
    let mut views: Vec<ClientView> = Vec::new();
    for client in configured {
        let row = stored
            .iter()
            .position(|s| s.client_id == client.client_id)
            .map(|i| stored.remove(i));
        views.push(ClientView::configured(client, row));
    }
    views.extend(stored);
    let more = views.len() > limit;
    views.truncate(limit);

    let now = now();
    let mut out = crate::output::stdout();
    if json {
        for view in &views {
            writeln!(out, "{}", escape_json(&view.json(now).to_string()))?;
        }
        return Ok(out.flush()?);
    }
    let header = [
        "CLIENT",
        "KIND",
        "NAME",
        "REDIRECT HOSTS",
        "CREATED",
        "LAST USED",
        "EXPIRES",
    ];
    let rows: Vec<[String; 7]> = views.iter().map(|v| v.cells(now)).collect();
    if rows.is_empty() {
        eprintln!("no clients");
        return Ok(());
    }
    out.write_all(aligned(header, &rows).as_bytes())?;
    out.flush()?;
    eprintln!(
        "{} client(s){}",
        rows.len(),
        if more {
            "; there are more: raise --limit"
        } else {
            ""
        }
    );
    Ok(())
}

// ---- grants ---------------------------------------------------------------------------------

async fn grants(store: &OAuthStore, args: GrantsArgs) -> anyhow::Result<()> {
    let fetch = args.limit.saturating_add(1).min(MAX_ROWS);
    let mut rows = store
        .list_grants(args.user.as_deref(), args.client.as_deref(), fetch)
        .await?;
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);

    let mut out = crate::output::stdout();
    if args.json {
        for grant in &rows {
            writeln!(out, "{}", escape_json(&grant_json(grant).to_string()))?;
        }
        return Ok(out.flush()?);
    }
    if rows.is_empty() {
        eprintln!("no grants");
        return Ok(());
    }
    let header = [
        "GRANT",
        "CLIENT",
        "USER",
        "CREATED",
        "LAST REFRESH",
        "REVOKED",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|g| {
            let revoked = match (g.revoked_at, g.revoked_reason.as_deref()) {
                (Some(at), Some(reason)) if !reason.is_empty() => {
                    format!("{} ({reason})", time_text(at))
                }
                (Some(at), _) => time_text(at),
                (None, _) => "-".into(),
            };
            [
                short_id(&g.family_id),
                g.client_id.clone(),
                g.user_key.clone(),
                time_text(g.created_at),
                optional_time(g.last_refresh_at),
                revoked,
            ]
            .map(|cell| clean(&cell))
        })
        .collect();
    out.write_all(aligned(header, &cells).as_bytes())?;
    out.flush()?;
    let live = rows.iter().filter(|g| g.revoked_at.is_none()).count();
    eprintln!(
        "{} grant(s), {live} live; grant ids shortened (--json shows them whole){}",
        rows.len(),
        if more {
            "; there are more: raise --limit"
        } else {
            ""
        }
    );
    Ok(())
}

fn grant_json(g: &GrantRow) -> Value {
    json!({
        "family_id": g.family_id,
        "client_id": g.client_id,
        "user_key": g.user_key,
        "created_at": time_text(g.created_at),
        "last_refresh_at": g.last_refresh_at.map(time_text),
        "live": g.revoked_at.is_none(),
        "revoked_at": g.revoked_at.map(time_text),
        "revoked_reason": g.revoked_reason,
    })
}

/// The first characters of a grant id, enough to tell grants apart in a table.
fn short_id(id: &str) -> String {
    if id.chars().count() <= SHORT_ID_CHARS + 1 {
        id.to_owned()
    } else {
        let mut short: String = id.chars().take(SHORT_ID_CHARS).collect();
        short.push('…');
        short
    }
}

// ---- revoke ---------------------------------------------------------------------------------

async fn revoke(store: &OAuthStore, config: &Config, args: RevokeArgs) -> anyhow::Result<()> {
    let now = now();
    match (args.user, args.client, args.grant) {
        (Some(user), client, None) => revoke_user(store, &user, client.as_deref(), now).await,
        (None, Some(client), None) => revoke_client(store, config, &client, now).await,
        (None, None, Some(grant)) => revoke_grant(store, &grant, now).await,
        // clap refuses the other combinations before this runs.
        _ => bail!("give --user (optionally with --client), --client alone, or --grant alone"),
    }
}

async fn revoke_user(
    store: &OAuthStore,
    user: &str,
    client: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    let revoked = store
        .revoke_for_user(user, client, REVOKED_BY_ADMIN, now)
        .await?;
    let forgotten = match client {
        Some(client) => u64::from(store.revoke_consent(user, client).await?),
        None => {
            let mut forgotten = 0;
            for consent in store.consents_of(user).await? {
                if store.revoke_consent(user, &consent.client_id).await? {
                    forgotten += 1;
                }
            }
            forgotten
        }
    };
    let who = clean(user);
    let whom = match client {
        Some(client) => format!(" for {}", clean(client)),
        None => String::new(),
    };
    if revoked == 0 && forgotten == 0 {
        outln!("nothing to revoke: {who} has no live grant and no consent{whom}")?;
        return Ok(());
    }
    let consents = match (client, forgotten) {
        (_, 0) => "no consent to forget".to_owned(),
        (Some(_), _) => "consent forgotten".to_owned(),
        (None, 1) => "1 consent forgotten".to_owned(),
        (None, n) => format!("{n} consents forgotten"),
    };
    outln!(
        "revoked {revoked} {} of {who}{whom}; {consents}",
        plural(revoked, "grant", "grants")
    )?;
    Ok(())
}

async fn revoke_client(
    store: &OAuthStore,
    config: &Config,
    client: &str,
    now: i64,
) -> anyhow::Result<()> {
    let stored = store.client(client).await?;
    let live_before: BTreeSet<String> = store
        .list_grants(None, Some(client), MAX_ROWS)
        .await?
        .into_iter()
        .filter(|g| g.revoked_at.is_none())
        .map(|g| g.family_id)
        .collect();
    let deleted = store.delete_client(client, now).await?;
    // The grants this deletion revoked: those live before and revoked now.
    let revoked = store
        .list_grants(None, Some(client), MAX_ROWS)
        .await?
        .iter()
        .filter(|g| g.revoked_at.is_some() && live_before.contains(&g.family_id))
        .count();
    let grants = format!(
        "{revoked} {}",
        plural(
            u64::try_from(revoked).unwrap_or(u64::MAX),
            "grant",
            "grants"
        )
    );
    let id = clean(client);
    let configured = config.oauth.clients.iter().any(|c| c.client_id == client);
    if configured {
        outln!(
            "revoked {grants} of {id} and forgot its consents; it stays registered while \
             [[oauth.clients]] lists it"
        )?;
        return Ok(());
    }
    match (deleted, stored.map(|s| s.kind)) {
        (true, Some(ClientKind::Cimd)) => outln!(
            "deleted client {id} (cimd) and revoked {grants}; its metadata document is fetched \
             again if it signs someone in"
        )?,
        (true, _) => outln!("deleted client {id} and revoked {grants}")?,
        (false, _) if revoked > 0 => {
            outln!("no client {id} is registered; revoked {grants} it still held")?
        }
        (false, _) => outln!("nothing to revoke: no client {id}")?,
    }
    Ok(())
}

async fn revoke_grant(store: &OAuthStore, grant: &str, now: i64) -> anyhow::Result<()> {
    let revoked = store.revoke_family(grant, REVOKED_BY_ADMIN, now).await?;
    // For the message: whose grant it is (the store has no lookup by id; scan the newest).
    let row = store
        .list_grants(None, None, MAX_ROWS)
        .await?
        .into_iter()
        .find(|g| g.family_id == grant);
    let id = clean(grant);
    match (revoked, row) {
        (true, Some(g)) => outln!(
            "revoked grant {id} of {} for {}",
            clean(&g.user_key),
            clean(&g.client_id)
        )?,
        (true, None) => outln!("revoked grant {id}")?,
        (false, Some(g)) => {
            let when = g.revoked_at.map(time_text).unwrap_or_else(|| "-".into());
            let why = g
                .revoked_reason
                .filter(|r| !r.is_empty())
                .map(|r| format!(" ({})", clean(&r)))
                .unwrap_or_default();
            outln!("nothing to revoke: grant {id} was revoked at {when}{why}")?;
        }
        (false, None) => outln!("nothing to revoke: no live grant {id}")?,
    }
    Ok(())
}

// ---- helpers --------------------------------------------------------------------------------

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix seconds as RFC 3339 UTC (`2026-05-01T10:00:00Z`); the number when out of range.
fn time_text(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

fn optional_time(unix: Option<i64>) -> String {
    unix.map(time_text).unwrap_or_else(|| "-".into())
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// A stored value as it may be printed on a terminal: no control characters or bidi overrides.
fn clean(value: &str) -> String {
    printable(value).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        oauth: OAuthArgs,
    }

    fn parse(args: &[&str]) -> Result<OAuthCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .map(|cli| cli.oauth.command)
    }

    #[test]
    fn revoke_takes_exactly_one_valid_combination() {
        for ok in [
            &["revoke", "--user", "uid:a"][..],
            &["revoke", "--user", "uid:a", "--client", "c"],
            &["revoke", "--client", "c"],
            &["revoke", "--grant", "f"],
        ] {
            assert!(parse(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            &["revoke"][..],
            &["revoke", "--grant", "f", "--user", "uid:a"],
            &["revoke", "--grant", "f", "--client", "c"],
            &["revoke", "--user", ""],
            &["grants", "--limit", "0"],
            &["clients", "--limit", "10001"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times_ids_and_hosts_print_briefly() {
        assert_eq!(time_text(0), "1970-01-01T00:00:00Z");
        assert_eq!(time_text(i64::MAX), i64::MAX.to_string());
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(short_id("0123456789abcdef"), "0123456789ab…");
        let view = ClientView::stored(ClientRow {
            client_id: "dcr_1".into(),
            kind: ClientKind::Dcr,
            metadata: r#"{"client_name": "Cursor", "redirect_uris": ["http://127.0.0.1:3000/cb",
                "http://127.0.0.1:3000/other", "https://claude.ai/cb", "not a uri"]}"#
                .into(),
            created_at: 0,
            last_used_at: None,
            expires_at: Some(10),
        });
        assert_eq!(view.name.as_deref(), Some("Cursor"));
        assert_eq!(
            view.redirect_hosts(),
            ["127.0.0.1:3000", "claude.ai", "(invalid)"]
        );
        let cells = view.cells(100);
        assert_eq!(cells[6], "1970-01-01T00:00:10Z (expired)");
        assert_eq!(cells[5], "-");
    }
}
