//! The `audit_log` table: [`Storage::append_audit`] and [`Storage::query_audit`].

use sqlx::{QueryBuilder, Row};

use super::{AuditFilter, AuditRecord, timefmt};
use crate::StorageError;
use crate::storage::{Pool, Storage};

const COLUMNS: &str = "id, at, correlation_id, kind, user_key, email, client_id, transport, \
                       tool, arguments, zebrunner_requests, outcome, error_class, detail, latency_ms";

const INSERT_SQLITE: &str = "INSERT INTO audit_log (at, correlation_id, kind, user_key, email, \
    client_id, transport, tool, arguments, zebrunner_requests, outcome, error_class, detail, \
    latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

const INSERT_POSTGRES: &str = "INSERT INTO audit_log (at, correlation_id, kind, user_key, email, \
    client_id, transport, tool, arguments, zebrunner_requests, outcome, error_class, detail, \
    latency_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13, $14)";

/// A record as column values.
struct Encoded<'a> {
    at: String,
    record: &'a AuditRecord,
    arguments: String,
    zebrunner_requests: String,
    latency_ms: i64,
}

impl<'a> Encoded<'a> {
    fn new(record: &'a AuditRecord) -> Result<Self, StorageError> {
        let json = |what: &'static str, result: serde_json::Result<String>| {
            result.map_err(|e| StorageError::Invalid {
                what,
                reason: e.to_string(),
            })
        };
        Ok(Encoded {
            at: timefmt::canonical(&record.at)?,
            record,
            arguments: json("arguments", serde_json::to_string(&record.arguments))?,
            zebrunner_requests: json(
                "zebrunner_requests",
                serde_json::to_string(&record.zebrunner_requests),
            )?,
            latency_ms: i64::try_from(record.latency_ms).unwrap_or(i64::MAX),
        })
    }
}

macro_rules! bind_record {
    ($query:expr, $e:expr) => {
        $query
            .bind(&$e.at)
            .bind(&$e.record.correlation_id)
            .bind($e.record.kind.as_str())
            .bind(&$e.record.user_key)
            .bind(&$e.record.email)
            .bind(&$e.record.client_id)
            .bind(&$e.record.transport)
            .bind(&$e.record.tool)
            .bind(&$e.arguments)
            .bind(&$e.zebrunner_requests)
            .bind($e.record.outcome.as_str())
            .bind(&$e.record.error_class)
            .bind(&$e.record.detail)
            .bind($e.latency_ms)
    };
}

/// Append the filter's `WHERE`, `ORDER BY` and `LIMIT` to a `SELECT`.
macro_rules! push_filter {
    ($qb:expr, $f:expr) => {{
        let f: &Filter = $f;
        $qb.push(" WHERE 1 = 1");
        if let Some(user) = &f.user {
            $qb.push(" AND (user_key = ")
                .push_bind(user.clone())
                .push(" OR email = ")
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
    /// in the canonical form and must be RFC 3339).
    pub async fn append_audit(&self, record: &AuditRecord) -> Result<(), StorageError> {
        let encoded = Encoded::new(record)?;
        match &self.pool {
            Pool::Sqlite(pool) => {
                bind_record!(sqlx::query(INSERT_SQLITE), encoded)
                    .execute(pool)
                    .await?;
            }
            Pool::Postgres(pool) => {
                bind_record!(sqlx::query(INSERT_POSTGRES), encoded)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Records matching `filter`, newest first unless `filter.oldest_first`.
    pub async fn query_audit(
        &self,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>, StorageError> {
        let filter = Filter::new(filter)?;
        let mut records = Vec::new();
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut qb =
                    QueryBuilder::<sqlx::Sqlite>::new(format!("SELECT {COLUMNS} FROM audit_log"));
                push_filter!(qb, &filter);
                for row in qb.build().fetch_all(pool).await? {
                    records.push(decode_row!(&row));
                }
            }
            Pool::Postgres(pool) => {
                let columns = COLUMNS
                    .replace("arguments,", "arguments::text AS arguments,")
                    .replace(
                        "zebrunner_requests,",
                        "zebrunner_requests::text AS zebrunner_requests,",
                    );
                let mut qb =
                    QueryBuilder::<sqlx::Postgres>::new(format!("SELECT {columns} FROM audit_log"));
                push_filter!(qb, &filter);
                for row in qb.build().fetch_all(pool).await? {
                    records.push(decode_row!(&row));
                }
            }
        }
        Ok(records)
    }
}
