//! The `audit_log` table: [`Storage::append_audit`] and [`Storage::query_audit`].

use sqlx::types::Json;
use sqlx::{QueryBuilder, Row};

use super::{AuditFilter, AuditRecord, timefmt};
use crate::BoxFuture;
use crate::StorageError;
use crate::sql::on_pool;
use crate::storage::Storage;

/// JSON columns are `TEXT` on SQLite and `JSONB` on PostgreSQL: read both as text.
const SELECT: &str = "SELECT id, at, correlation_id, kind, user_key, email, client_id, \
    zebrunner_login, \
    transport, tool, CAST(arguments AS TEXT) AS arguments, \
    CAST(zebrunner_requests AS TEXT) AS zebrunner_requests, outcome, error_class, detail, \
    latency_ms FROM audit_log";

/// Followed by one `(...)` of values per record ([`QueryBuilder::push_values`], which numbers
/// the placeholders for each database).
const INSERT: &str = "INSERT INTO audit_log (at, correlation_id, kind, user_key, email, \
    client_id, zebrunner_login, transport, tool, arguments, zebrunner_requests, outcome, \
    error_class, detail, latency_ms) ";

/// Append the filter's `WHERE`, `ORDER BY` and `LIMIT` to a `SELECT`.
macro_rules! push_filter {
    ($qb:expr, $f:expr) => {{
        let f: &Filter = $f;
        $qb.push(" WHERE 1 = 1");
        if let Some(user) = &f.user {
            let [a, b, c] = user_keys(user);
            $qb.push(" AND (user_key IN (")
                .push_bind(a)
                .push(", ")
                .push_bind(b)
                .push(", ")
                .push_bind(c)
                .push(") OR email = ")
                .push_bind(user.clone())
                .push(")");
        }
        if let Some(tool) = &f.tool {
            $qb.push(" AND tool = ").push_bind(tool.clone());
        }
        if let Some(since) = &f.since {
            $qb.push(" AND at >= ").push_bind(since.clone());
        }
        if let Some(until) = &f.until {
            $qb.push(" AND at < ").push_bind(until.clone());
        }
        if let Some(outcome) = f.outcome {
            $qb.push(" AND outcome = ").push_bind(outcome);
        }
        if let Some(after_id) = f.after_id {
            $qb.push(" AND id > ").push_bind(after_id);
        }
        $qb.push(if f.oldest_first {
            " ORDER BY at ASC, id ASC"
        } else {
            " ORDER BY at DESC, id DESC"
        });
        if let Some(limit) = f.limit {
            $qb.push(" LIMIT ").push_bind(i64::from(limit));
        }
    }};
}

macro_rules! decode_row {
    ($row:expr) => {{
        let row = $row;
        let corrupt = |what: &'static str, reason: String| StorageError::Corrupt { what, reason };
        let arguments: String = row.try_get("arguments")?;
        let requests: String = row.try_get("zebrunner_requests")?;
        let kind: String = row.try_get("kind")?;
        let outcome: String = row.try_get("outcome")?;
        let latency: i64 = row.try_get("latency_ms")?;
        AuditRecord {
            id: Some(row.try_get("id")?),
            at: row.try_get("at")?,
            correlation_id: row.try_get("correlation_id")?,
            kind: kind.parse().map_err(|e| corrupt("audit kind", e))?,
            user_key: row.try_get("user_key")?,
            email: row.try_get("email")?,
            client_id: row.try_get("client_id")?,
            zebrunner_login: row.try_get("zebrunner_login")?,
            transport: row.try_get("transport")?,
            tool: row.try_get("tool")?,
            arguments: serde_json::from_str(&arguments)
                .map_err(|e| corrupt("audit arguments", e.to_string()))?,
            zebrunner_requests: serde_json::from_str(&requests)
                .map_err(|e| corrupt("audit zebrunner_requests", e.to_string()))?,
            outcome: outcome.parse().map_err(|e| corrupt("audit outcome", e))?,
            error_class: row.try_get("error_class")?,
            detail: row.try_get("detail")?,
            latency_ms: u64::try_from(latency).unwrap_or(0),
        }
    }};
}

/// The `user_key` values `AuditFilter.user` matches. Keys have been namespaced by their claim
/// (`uid:…`, `sub:…`) since records that hold the bare uid or sub, which are not rewritten: a
/// bare search finds the old and the new form, a namespaced one only itself (its bare form
/// could be another user's old row). Always three, for one statement shape.
fn user_keys(user: &str) -> [String; 3] {
    if user.starts_with("uid:") || user.starts_with("sub:") {
        [user.to_string(), user.to_string(), user.to_string()]
    } else {
        [
            user.to_string(),
            format!("uid:{user}"),
            format!("sub:{user}"),
        ]
    }
}

/// The filter with its times in canonical form and its outcome as text.
struct Filter {
    user: Option<String>,
    tool: Option<String>,
    since: Option<String>,
    until: Option<String>,
    outcome: Option<&'static str>,
    limit: Option<u32>,
    oldest_first: bool,
    after_id: Option<i64>,
}

impl Filter {
    fn new(filter: &AuditFilter) -> Result<Self, StorageError> {
        let time = |t: &Option<String>| t.as_deref().map(timefmt::canonical).transpose();
        Ok(Filter {
            user: filter.user.clone(),
            tool: filter.tool.clone(),
            since: time(&filter.since)?,
            until: time(&filter.until)?,
            outcome: filter.outcome.map(|o| o.as_str()),
            limit: filter.limit,
            oldest_first: filter.oldest_first,
            after_id: filter.after_id,
        })
    }
}

impl Storage {
    /// Store one record (its `id` is ignored: the database assigns one; its `at` is rewritten
    /// in the canonical form and must be RFC 3339). Oversized fields are cut first
    /// ([`AuditRecord::bounded`]).
    pub async fn append_audit(&self, record: &AuditRecord) -> Result<(), StorageError> {
        self.append_audit_batch(std::slice::from_ref(record)).await
    }

    /// Store several records in one statement, so in one transaction: all of them or none.
    /// Each as [`append_audit`](Self::append_audit) would; ids follow the slice's order.
    pub async fn append_audit_batch(&self, records: &[AuditRecord]) -> Result<(), StorageError> {
        if records.is_empty() {
            return Ok(());
        }
        let rows = records
            .iter()
            .map(|record| {
                let record = record.bounded();
                let at = timefmt::canonical(&record.at)?;
                let latency_ms = i64::try_from(record.latency_ms).unwrap_or(i64::MAX);
                Ok((record, at, latency_ms))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        on_pool!(&self.pool, pool => {
            let mut qb = QueryBuilder::new(INSERT);
            qb.push_values(&rows, |mut row, (record, at, latency_ms)| {
                row.push_bind(at)
                    .push_bind(&record.correlation_id)
                    .push_bind(record.kind.as_str())
                    .push_bind(&record.user_key)
                    .push_bind(&record.email)
                    .push_bind(&record.client_id)
                    .push_bind(&record.zebrunner_login)
                    .push_bind(&record.transport)
                    .push_bind(&record.tool)
                    // TEXT on SQLite, JSONB on PostgreSQL.
                    .push_bind(Json(&record.arguments))
                    .push_bind(Json(&record.zebrunner_requests))
                    .push_bind(record.outcome.as_str())
                    .push_bind(&record.error_class)
                    .push_bind(&record.detail)
                    .push_bind(*latency_ms);
            });
            qb.build().execute(pool).await?;
        });
        Ok(())
    }

    /// Records matching `filter`, newest first unless `filter.oldest_first`.
    /// (Boxed: see [`Storage::connect`].)
    pub fn query_audit<'a>(
        &'a self,
        filter: &'a AuditFilter,
    ) -> BoxFuture<'a, Result<Vec<AuditRecord>, StorageError>> {
        Box::pin(self.query_audit_unboxed(filter))
    }

    async fn query_audit_unboxed(
        &self,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>, StorageError> {
        let filter = Filter::new(filter)?;
        on_pool!(&self.pool, pool => {
            let mut qb = QueryBuilder::new(SELECT);
            push_filter!(qb, &filter);
            qb.build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok(decode_row!(row)))
                .collect()
        })
    }
}
