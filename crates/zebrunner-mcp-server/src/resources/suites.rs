//! `zebrunner://projects/{project_key}/suites`: the whole suite tree as
//! depth-first rows with parent ids, depths and paths, built by paging the
//! `list_test_suites` tool's flat mode to the end (the suites are fetched
//! once and cached by the client, so paging costs no extra requests).

use serde_json::{Value, json};

use crate::{
    context::CallContext,
    handler::ZebrunnerMcp,
    tools::{ListTestSuitesArgs, error::ToolError},
};

/// Rows per internal page (the tool's maximum).
const PAGE: usize = 200;

impl ZebrunnerMcp {
    pub(crate) async fn suites_resource(
        &self,
        cx: &CallContext,
        key: &str,
    ) -> Result<Value, ToolError> {
        let mut args = ListTestSuitesArgs {
            project_key: key.to_string(),
            limit: Some(PAGE),
            ..Default::default()
        };
        let mut suites = Vec::new();
        loop {
            let page = self.list_test_suites_impl(cx, &args).await?;
            suites.extend(page.suites.unwrap_or_default());
            match page.next_cursor {
                Some(next) => args.cursor = Some(next),
                None => {
                    return Ok(json!({
                        "project_key": page.project_key,
                        "total": suites.len(),
                        "suites": suites,
                    }));
                }
            }
        }
    }
}
