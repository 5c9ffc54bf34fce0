//! The log filter: `RUST_LOG` as written, except that crates which log MCP
//! payloads below `info` stay at `info` unless `RUST_LOG` names them.
//!
//! rmcp logs every request with its arguments (`received request`) and every
//! response (`response message`) at `debug`, so `RUST_LOG=debug` would write
//! confirmation tokens, free-text arguments and whole test cases to the log.
//! Checked and left alone, because they log no payloads: hyper (built without
//! its `tracing` feature, so it logs nothing), reqwest (at `debug` only the
//! host of a new connection; its byte dumps need `connection_verbose`, which
//! the Zebrunner client never sets) and sqlx (`sqlx::query` logs the SQL text
//! with placeholders, never the bound values).

use std::str::FromStr;

use tracing::{Level, Metadata};
use tracing_subscriber::{
    EnvFilter,
    filter::{FilterFn, LevelFilter, ParseError, filter_fn},
};

/// Crates that log payloads below `info`.
const PAYLOAD_LOGGERS: [&str; 1] = ["rmcp"];

/// The level when `RUST_LOG` is unset or empty.
const DEFAULT: &str = "info";

/// The target a `RUST_LOG` directive is about: `rmcp::service` in
/// `rmcp::service=debug` or `rmcp::service[span{field=value}]=debug`, `rmcp`
/// in a bare `rmcp` (every level), and nothing for a level (`debug`) or a
/// span-only directive (`[request]=debug`).
fn directive_target(directive: &str) -> &str {
    if LevelFilter::from_str(directive).is_ok() {
        return "";
    }
    let end = directive.find(['[', '=']).unwrap_or(directive.len());
    directive[..end].trim()
}

/// What is logged: the `RUST_LOG` directives (default `info`) and, for each
/// payload-logging crate, the targets `RUST_LOG` names, which alone may log
/// below `info`.
#[derive(Debug, PartialEq, Eq)]
pub struct LogFilter {
    pub directives: String,
    /// `(crate, targets of that crate RUST_LOG names)`; an empty list holds
    /// the whole crate at `info`.
    held: Vec<(&'static str, Vec<String>)>,
}

impl LogFilter {
    /// Read `rust_log` (the `RUST_LOG` text). `RUST_LOG=debug` logs rmcp at
    /// `info`; `RUST_LOG=debug,rmcp=debug` logs it at debug, and
    /// `debug,rmcp::transport=debug` only its transport.
    pub fn new(rust_log: Option<&str>) -> Self {
        let directives = rust_log
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT)
            .to_string();
        let targets: Vec<&str> = directives
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(directive_target)
            .collect();
        let held = PAYLOAD_LOGGERS
            .into_iter()
            .map(|krate| {
                let named = targets
                    .iter()
                    .filter(|t| within(t, krate))
                    .map(|t| t.to_string())
                    .collect();
                (krate, named)
            })
            .collect();
        Self { directives, held }
    }

    /// Whether a span or event may be logged as far as the payload rule goes
    /// (the directives decide the rest).
    pub fn allows(&self, metadata: &Metadata<'_>) -> bool {
        if *metadata.level() <= Level::INFO {
            return true;
        }
        let target = metadata.target();
        self.held
            .iter()
            .all(|(krate, named)| !within(target, krate) || named.iter().any(|n| within(target, n)))
    }

    /// The filter as two global filter layers: the directives, and the payload rule as a
    /// second filter. A second filter, not an extra `rmcp=info` directive: a span directive
    /// (`[request]=debug`) enables every event inside its spans whatever their target, so no
    /// directive could hold rmcp back there.
    ///
    /// Global, not per-layer (`fmt_layer.with_filter(..)`): with a per-layer filter, crates
    /// that ask `tracing::enabled!` between events (sqlx does after every query) made the next
    /// events vanish (tokio-rs/tracing#2519), so on PostgreSQL "database migrated" and other
    /// info lines, and possibly errors, were never written.
    pub fn into_layers(
        self,
    ) -> Result<(EnvFilter, FilterFn<impl Fn(&Metadata<'_>) -> bool>), ParseError> {
        let directives = EnvFilter::try_new(&self.directives)?;
        Ok((directives, filter_fn(move |metadata| self.allows(metadata))))
    }
}

/// Whether `target` is `module` or inside it (`rmcp::service` is in `rmcp`;
/// `rmcpx` is not).
fn within(target: &str, module: &str) -> bool {
    target
        .strip_prefix(module)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::{fmt::MakeWriter, layer::SubscriberExt as _};

    use super::*;

    fn held(rust_log: Option<&str>) -> (String, Vec<String>) {
        let filter = LogFilter::new(rust_log);
        let rmcp = filter
            .held
            .iter()
            .find(|(krate, _)| *krate == "rmcp")
            .map(|(_, named)| named.clone())
            .unwrap();
        (filter.directives, rmcp)
    }

    #[test]
    fn rmcp_is_held_at_info_unless_named() {
        let none: Vec<String> = Vec::new();
        for (rust_log, directives, named) in [
            (None, "info", none.clone()),
            (Some(""), "info", none.clone()),
            (Some("  "), "info", none.clone()),
            (Some("debug"), "debug", none.clone()),
            (Some(" TRACE "), "TRACE", none.clone()),
            (
                Some("debug,rmcp=debug"),
                "debug,rmcp=debug",
                vec!["rmcp".into()],
            ),
            (
                Some("debug,rmcp::service=trace"),
                "debug,rmcp::service=trace",
                vec!["rmcp::service".into()],
            ),
            (Some("debug,rmcp"), "debug,rmcp", vec!["rmcp".into()]),
            (
                Some("rmcp[serve_inner{id=1}]=debug"),
                "rmcp[serve_inner{id=1}]=debug",
                vec!["rmcp".into()],
            ),
            // Not rmcp by name: another crate, a prefix, a span.
            (Some("debug,rmcpx=debug"), "debug,rmcpx=debug", none.clone()),
            (Some("rm=debug"), "rm=debug", none.clone()),
            (Some("[request]=debug"), "[request]=debug", none.clone()),
            (
                Some("zebrunner_mcp[call{tool=rmcp}]=trace"),
                "zebrunner_mcp[call{tool=rmcp}]=trace",
                none.clone(),
            ),
        ] {
            assert_eq!(
                held(rust_log),
                (directives.to_string(), named),
                "RUST_LOG={rust_log:?}"
            );
        }
    }

    /// Log lines written through a filter built from `rust_log`.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut lines) = self.0.lock() {
                lines.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    fn logged(rust_log: &str) -> String {
        let lines = Lines::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(lines.clone())
            .with_ansi(false);
        let (directives, rule) = LogFilter::new(Some(rust_log)).into_layers().unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(directives)
            .with(rule)
            .with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "rmcp::service", "rmcp request payload");
            tracing::info!(target: "rmcp::service", "rmcp session created");
            tracing::debug!(target: "rmcp::transport", "rmcp transport detail");
            tracing::debug!(target: "rmcpx", "another crate's debug line");
            tracing::debug!(target: "zebrunner_mcp_server::tools", "our own debug line");
            tracing::info_span!("request").in_scope(|| {
                tracing::debug!(target: "rmcp::service", "rmcp payload in a span");
            });
        });
        let text = lines.0.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn the_filter_holds_rmcp_payloads_back() {
        let debug = logged("debug");
        assert!(debug.contains("our own debug line"), "{debug}");
        assert!(debug.contains("rmcp session created"), "{debug}");
        assert!(!debug.contains("payload"), "{debug}");

        assert!(debug.contains("another crate's debug line"), "{debug}");
        assert!(!debug.contains("rmcp transport detail"), "{debug}");

        let asked = logged("debug,rmcp=debug");
        assert!(asked.contains("rmcp request payload"), "{asked}");
        assert!(asked.contains("rmcp payload in a span"), "{asked}");

        let transport = logged("debug,rmcp::transport=debug");
        assert!(transport.contains("rmcp transport detail"), "{transport}");
        assert!(!transport.contains("payload"), "{transport}");

        let span = logged("info,[request]=debug");
        assert!(!span.contains("payload"), "{span}");

        let quiet = logged("warn");
        assert!(!quiet.contains("rmcp"), "{quiet}");
    }
}
