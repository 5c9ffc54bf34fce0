//! `zebrunner-mcp audit tail|search|export`: read the audit log from the database the server
//! writes to (SQLite file in the data directory by default, or `ZMCP_DATABASE_URL`);
//! `audit prune` deletes records past the retention period.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use zebrunner_storage::Storage;
use zebrunner_storage::audit::export::{format_table, write_csv, write_jsonl};
use zebrunner_storage::audit::retention;
use zebrunner_storage::audit::timefmt::{Bound, parse_time_arg_now};
use zebrunner_storage::audit::{AuditFilter, AuditRecord, Outcome};

use crate::output::outln;

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    /// Database to read: sqlite:///path/to/file.db or postgres://... (default: the SQLite
    /// file zebrunner-mcp.db in the data directory).
    #[arg(long, global = true, env = "ZMCP_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Data directory holding zebrunner-mcp.db (default: the platform's data directory).
    #[arg(long, global = true, env = "ZMCP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Show the latest records (oldest of them first), optionally following new ones.
    Tail(TailArgs),
    /// Find records by user, tool, time and outcome (newest first).
    Search(SearchArgs),
    /// Write records as CSV or JSON lines (oldest first).
    Export(ExportArgs),
    /// Delete records older than the retention period (`audit.retention_days`, or
    /// --older-than-days), in batches; safe while servers run.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Delete records older than this many days (default: audit.retention_days from the
    /// configuration, ZMCP_AUDIT_RETENTION_DAYS).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub older_than_days: Option<u32>,
    /// Only count what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// How many records to show.
    #[arg(short = 'n', long = "lines", default_value_t = 20)]
    pub lines: u32,
    /// Keep polling for new records until interrupted.
    #[arg(short, long)]
    pub follow: bool,
    /// Poll interval for --follow, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..))]
    pub interval_ms: u64,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub filters: FilterArgs,
    /// At most this many records.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write to this file (created with mode 0600) instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// At most this many records (default: all).
    #[arg(long)]
    pub limit: Option<u32>,
}

/// Filters shared by the subcommands. TIME is RFC 3339 (2026-05-01T10:00:00Z), a date
/// (2026-05-01) or a duration ago (90s, 30m, 1h, 7d, 2w).
#[derive(Debug, Args, Default)]
pub struct FilterArgs {
    /// User key (`uid:<uid>`, `sub:<sub>` or `client:<id>`) or e-mail address.
    #[arg(long)]
    pub user: Option<String>,
    /// Tool name (exact).
    #[arg(long)]
    pub tool: Option<String>,
    /// Records at or after TIME.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Records before TIME (a date includes that whole day).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only this outcome.
    #[arg(long, value_enum)]
    pub outcome: Option<OutcomeArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutcomeArg {
    Ok,
    Error,
    Denied,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

pub async fn run(config_file: Option<&Path>, args: AuditArgs) -> anyhow::Result<()> {
    // Resolved before the database is opened, so a mistake there changes nothing.
    let prune_days = match &args.command {
        AuditCommand::Prune(prune) => Some(prune_days(config_file, prune)?),
        _ => None,
    };
    let url = database_url(&args)?;
    let storage = Storage::connect(&url)
        .await
        .context("cannot open the audit database")?;
    match args.command {
        AuditCommand::Tail(tail_args) => tail(&storage, tail_args).await,
        AuditCommand::Search(search) => {
            let mut filter = search.filters.to_filter()?;
            filter.limit = Some(search.limit);
            let records = storage.query_audit(&filter).await?;
            print_records(&records, search.json, true)
        }
        AuditCommand::Export(export) => {
            let mut filter = export.filters.to_filter()?;
            filter.limit = export.limit;
            filter.oldest_first = true;
            let records = storage.query_audit(&filter).await?;
            match &export.output {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(create_private(path)?);
                    write_export(&mut file, export.format, &records)
                        .and_then(|()| file.flush())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("{} records written to {}", records.len(), path.display());
                    Ok(())
                }
                None => {
                    let mut out = crate::output::stdout();
                    write_export(&mut out, export.format, &records)?;
                    Ok(out.flush()?)
                }
            }
        }
        AuditCommand::Prune(prune) => {
            let days = prune_days.context("the retention period")?;
            let before = retention::cutoff(time::OffsetDateTime::now_utc(), days);
            let result = if prune.dry_run {
                storage.count_audit_before(&before).await.map(|count| {
                    format!("{count} audit records are older than {days} days (before {before})")
                })
            } else {
                storage
                    .prune_audit(&before, retention::PRUNE_BATCH)
                    .await
                    .map(|deleted| {
                        format!(
                            "deleted {deleted} audit records older than {days} days (before {before})"
                        )
                    })
            };
            storage.close().await;
            let done = result.context(
                "could not prune the audit log (the database role needs DELETE on audit_log)",
            )?;
            outln!("{done}")?;
            Ok(())
        }
    }
}

/// `--older-than-days`, else `audit.retention_days` from the configuration (which must not be
/// 0, "keep forever").
fn prune_days(config_file: Option<&Path>, args: &PruneArgs) -> anyhow::Result<u32> {
    if let Some(days) = args.older_than_days {
        return Ok(days);
    }
    let config = super::setup::load_config(config_file, serde_json::Map::new())?;
    match config.audit.retention_days {
        0 => anyhow::bail!(
            "audit.retention_days is 0 (keep records forever); pass --older-than-days N to \
             prune anyway"
        ),
        days => Ok(days),
    }
}

/// `--database-url`, else the SQLite file in `--data-dir`/`ZMCP_DATA_DIR`, else in the
/// platform data directory. The default file must exist: reading must not create it.
pub fn database_url(args: &AuditArgs) -> anyhow::Result<String> {
    super::setup::existing_database_url(
        args.database_url.as_deref(),
        args.data_dir.as_deref(),
        "audit database",
    )
}

async fn tail(storage: &Storage, args: TailArgs) -> anyhow::Result<()> {
    let base = args.filters.to_filter()?;
    let mut records = storage
        .query_audit(&AuditFilter {
            limit: Some(args.lines),
            ..base.clone()
        })
        .await?;
    records.reverse();
    print_records(&records, args.json, true)?;
    if !args.follow {
        return Ok(());
    }
    let mut last_id = records.iter().filter_map(|r| r.id).max().unwrap_or(0);
    if last_id == 0 {
        // Nothing matched yet: start after the newest record of all.
        let newest = storage
            .query_audit(&AuditFilter {
                limit: Some(1),
                ..AuditFilter::default()
            })
            .await?;
        last_id = newest.first().and_then(|r| r.id).unwrap_or(0);
    }
    let mut header = records.is_empty();
    loop {
        tokio::select! {
            () = super::shutdown_signal() => return Ok(()),
            () = tokio::time::sleep(Duration::from_millis(args.interval_ms)) => {}
        }
        let new = storage
            .query_audit(&AuditFilter {
                after_id: Some(last_id),
                oldest_first: true,
                ..base.clone()
            })
            .await?;
        // Ordered by time, so take the largest id rather than the last one.
        if let Some(max) = new.iter().filter_map(|r| r.id).max() {
            last_id = last_id.max(max);
            print_records(&new, args.json, header)?;
            header = false;
        }
    }
}

fn print_records(records: &[AuditRecord], json: bool, header: bool) -> anyhow::Result<()> {
    let mut out = crate::output::stdout();
    if json {
        write_jsonl(&mut out, records)?;
    } else if !records.is_empty() {
        let table = format_table(records);
        let body = if header {
            table.as_str()
        } else {
            table.split_once('\n').map_or("", |(_, rest)| rest)
        };
        out.write_all(body.as_bytes())?;
    } else if header {
        eprintln!("no matching audit records");
    }
    Ok(out.flush()?)
}

fn write_export<W: Write>(
    out: &mut W,
    format: ExportFormat,
    records: &[AuditRecord],
) -> std::io::Result<()> {
    match format {
        ExportFormat::Csv => write_csv(out, records, true),
        ExportFormat::Jsonl => write_jsonl(out, records),
    }
}

fn create_private(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

impl FilterArgs {
    /// The storage filter, with TIME arguments resolved against now.
    pub fn to_filter(&self) -> anyhow::Result<AuditFilter> {
        let time = |value: &Option<String>, bound, flag| {
            value
                .as_deref()
                .map(|v| parse_time_arg_now(v, bound).with_context(|| format!("--{flag}")))
                .transpose()
        };
        Ok(AuditFilter {
            user: self.user.clone(),
            tool: self.tool.clone(),
            since: time(&self.since, Bound::Since, "since")?,
            until: time(&self.until, Bound::Until, "until")?,
            outcome: self.outcome.map(|o| match o {
                OutcomeArg::Ok => Outcome::Ok,
                OutcomeArg::Error => Outcome::Error,
                OutcomeArg::Denied => Outcome::Denied,
            }),
            ..AuditFilter::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        audit: AuditArgs,
    }

    #[test]
    fn parses_every_subcommand() {
        let cli = Cli::try_parse_from(["x", "tail", "-n", "5", "--follow"]).unwrap();
        assert!(matches!(
            cli.audit.command,
            AuditCommand::Tail(TailArgs {
                lines: 5,
                follow: true,
                ..
            })
        ));
        let cli = Cli::try_parse_from([
            "x",
            "search",
            "--user",
            "jane@acme.com",
            "--tool",
            "get_test_case",
            "--since",
            "1h",
            "--until",
            "2026-05-01",
            "--outcome",
            "denied",
            "--limit",
            "3",
        ])
        .unwrap();
        let AuditCommand::Search(search) = cli.audit.command else {
            panic!()
        };
        let filter = search.filters.to_filter().unwrap();
        assert_eq!(filter.outcome, Some(Outcome::Denied));
        assert_eq!(filter.until.as_deref(), Some("2026-05-02T00:00:00.000Z"));
        assert_eq!(search.limit, 3);
        let cli =
            Cli::try_parse_from(["x", "export", "--format", "csv", "-o", "/tmp/a.csv"]).unwrap();
        assert!(matches!(
            cli.audit.command,
            AuditCommand::Export(ExportArgs {
                format: ExportFormat::Csv,
                ..
            })
        ));
        assert!(Cli::try_parse_from(["x", "export", "--format", "xml"]).is_err());
        let cli = Cli::try_parse_from(["x", "prune", "--older-than-days", "30"]).unwrap();
        assert!(matches!(
            cli.audit.command,
            AuditCommand::Prune(PruneArgs {
                older_than_days: Some(30),
                dry_run: false,
            })
        ));
        assert!(Cli::try_parse_from(["x", "prune", "--older-than-days", "0"]).is_err());
        assert!(Cli::try_parse_from(["x", "search", "--outcome", "maybe"]).is_err());
    }

    #[test]
    fn bad_times_are_explained() {
        let filters = FilterArgs {
            since: Some("last week".into()),
            ..FilterArgs::default()
        };
        let err = format!("{:#}", filters.to_filter().unwrap_err());
        assert!(err.contains("--since") && err.contains("RFC 3339"), "{err}");
    }

    #[test]
    fn the_default_database_must_exist() {
        let dir = std::env::temp_dir().join(format!("zmcp-audit-test-{}", std::process::id()));
        let args = AuditArgs {
            command: AuditCommand::Search(SearchArgs {
                filters: FilterArgs::default(),
                limit: 1,
                json: false,
            }),
            database_url: None,
            data_dir: Some(dir.clone()),
        };
        assert!(
            database_url(&args)
                .unwrap_err()
                .to_string()
                .contains("no audit database")
        );
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("zebrunner-mcp.db"), "").unwrap();
        assert_eq!(
            database_url(&args).unwrap(),
            format!("sqlite://{}/zebrunner-mcp.db", dir.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
