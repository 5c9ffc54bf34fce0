//! Widget SQL (R17): `POST /api/reporting/v1/widget-templates/sql?projectId=N`
//! with `{templateId, paramsConfig}`, the dashboards' own queries.

use serde_json::{Value, json};

use crate::client::ZebrunnerClient;
use crate::error::Error;
use crate::models::{WidgetRow, WidgetRows};
use crate::transport::{Answer, Api, Call};

use super::decode_items;

/// Rows kept from one answer at most: a widget is a dashboard tile, and a
/// tool never needs more than this to rank or sum.
pub const MAX_WIDGET_ROWS: usize = 2000;

impl ZebrunnerClient {
    /// Runs widget template `template_id` with `params_config` for a project.
    /// Accepts a bare array of rows, `{results|data|items: [...]}` or
    /// `{data: {results|items: [...]}}`; keeps the first `max_rows` rows
    /// (at most [`MAX_WIDGET_ROWS`]).
    pub async fn widget_sql(
        &self,
        project_id: i64,
        template_id: i64,
        params_config: Value,
        max_rows: usize,
    ) -> Result<WidgetRows, Error> {
        let call = Call::new(
            reqwest::Method::POST,
            Api::Internal,
            ["api", "reporting", "v1", "widget-templates", "sql"],
        )
        .query("projectId", project_id)
        .json(json!({"templateId": template_id, "paramsConfig": params_config}))
        // A read: running it twice changes nothing, so it may be retried.
        .idempotent(true)
        .what(format!(
            "widget template {template_id} in project id {project_id}"
        ))
        .project(format!("id {project_id}"));
        let cap = max_rows.min(MAX_WIDGET_ROWS);
        self.inner
            .transport
            .fetch(call, move |body| rows_of(body, cap))
            .await
    }
}

fn rows_of(body: Answer, cap: usize) -> Result<WidgetRows, serde_json::Error> {
    let mut rows: Vec<WidgetRow> = decode_items(body)?;
    let total = rows.len();
    rows.truncate(cap);
    Ok(WidgetRows { rows, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_envelope_and_the_cap() -> Result<(), serde_json::Error> {
        let rows = json!([{"A": 1}, {"A": 2}, {"A": 3}]);
        for body in [
            rows.clone(),
            json!({"results": rows}),
            json!({"data": rows}),
            json!({"items": rows}),
            json!({"data": {"results": rows}}),
            json!({"data": {"items": rows}}),
        ] {
            let got = rows_of(body.into(), 2)?;
            assert_eq!((got.rows.len(), got.total), (2, 3));
            assert_eq!(got.rows[1]["A"], 2);
        }
        assert_eq!(rows_of(Value::Null.into(), 5)?.total, 0);
        assert!(rows_of(json!({"unexpected": 1}).into(), 5).is_err());
        Ok(())
    }
}
