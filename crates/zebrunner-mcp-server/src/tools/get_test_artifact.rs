//! `get_test_artifact`: one screenshot (as an image block, downscaled) or
//! text file (a session log..., paged by lines) of a launch test, by the
//! reference `analyze_test_failure` lists.
//!
//! The reference must be one of that test's: a screenshot in its log, an
//! artifact of the test or of its session. Checking costs the test, its
//! sessions and (for screenshots) its log; so a caller cannot fetch files of
//! projects they may not see by guessing paths. The download is streamed and
//! stopped at a byte cap; videos are refused (too large for an answer).

use rmcp::{
    ErrorData as McpError,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::{CallToolResult, ContentBlock},
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    cursor::{self, OffsetCursor},
    error::ToolError,
    forensics,
    output::{Format, ToolOutput, finish_with_content, truncate},
};
use crate::{context::CallContext, handler::ZebrunnerMcp};

/// Bytes of a text file read at most; longer files are paged within them.
const TEXT_DOWNLOAD_CAP: usize = 4 * 1024 * 1024;
/// Characters kept of one text line.
const LINE_CHARS: usize = 2_000;

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetTestArtifactArgs {
    pub project_key: String,
    pub launch_id: i64,
    pub test_id: i64,
    /// A screenshot or artifact reference from analyze_test_failure.
    pub reference: String,
    /// Text lines per page (default 200).
    #[schemars(range(min = 10, max = 1000))]
    pub lines: Option<u32>,
    /// Longest image side in pixels (default 1280).
    #[schemars(range(min = 128, max = 2048))]
    pub image_px: Option<u32>,
    pub cursor: Option<String>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ArtifactOutput {
    pub project_key: String,
    pub launch_id: i64,
    pub test_id: i64,
    pub reference: String,
    pub name: String,
    pub kind: String,
    pub content_type: Option<String>,
    pub bytes: usize,
    pub truncated: bool,
    pub image: Option<ImageFacts>,
    pub lines: Vec<TextLine>,
    pub total_lines: Option<usize>,
    /// Pass as `cursor` for the next lines.
    pub next_cursor: Option<String>,
    pub zebrunner_requests: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ImageFacts {
    pub width: u32,
    pub height: u32,
    pub original_width: u32,
    pub original_height: u32,
    pub bytes: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TextLine {
    pub n: usize,
    pub text: String,
}

impl ToolOutput for ArtifactOutput {
    fn markdown(&self) -> String {
        let mut md = format!(
            "**{}** `{}` of test {} (launch {}, {})\n",
            self.name, self.reference, self.test_id, self.launch_id, self.project_key
        );
        if let Some(i) = &self.image {
            md.push_str(&format!(
                "Screenshot {}x{} (original {}x{}), {} KB, shown below.\n",
                i.width,
                i.height,
                i.original_width,
                i.original_height,
                i.bytes.div_ceil(1024)
            ));
        }
        if let (Some(total), Some(first), Some(last)) =
            (self.total_lines, self.lines.first(), self.lines.last())
        {
            md.push_str(&format!("Lines {}–{} of {total}:\n```\n", first.n, last.n));
            for l in &self.lines {
                md.push_str(&format!("{:>5} {}\n", l.n, l.text));
            }
            md.push_str("```\n");
        }
        if self.truncated {
            md.push_str("The file is longer than the download cap; only its start was read.\n");
        }
        if let Some(c) = &self.next_cursor {
            md.push_str(&format!("More lines: call again with `cursor` = `{c}`.\n"));
        }
        md
    }
}

#[tool_router(router = get_test_artifact_router, vis = "pub(crate)")]
impl ZebrunnerMcp {
    #[tool(
        name = "get_test_artifact",
        description = "One screenshot (as an image) or text file (paged lines) of a launch test, by a reference from analyze_test_failure.",
        output_schema = rmcp::handler::server::tool::schema_for_output::<ArtifactOutput>(),
        annotations(title = "Get test artifact", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn get_test_artifact(
        &self,
        Extension(cx): Extension<CallContext>,
        Parameters(args): Parameters<GetTestArtifactArgs>,
    ) -> Result<CallToolResult, McpError> {
        finish_with_content(&cx, args.format, artifact(&cx, &args).await)
    }
}

async fn artifact(
    cx: &CallContext,
    a: &GetTestArtifactArgs,
) -> Result<(ArtifactOutput, Vec<ContentBlock>), ToolError> {
    let page = a.lines.unwrap_or(200);
    if !(10..=1000).contains(&page) {
        return Err(ToolError::invalid("`lines` must be between 10 and 1000"));
    }
    let image_px = a.image_px.unwrap_or(1280);
    if !(128..=2048).contains(&image_px) {
        return Err(ToolError::invalid(
            "`image_px` must be between 128 and 2048",
        ));
    }
    let client = &cx.client;
    let wanted = client
        .file_reference(&a.reference)
        .map_err(|e| ToolError::invalid(format!("{e}")))?;
    let found = forensics::locate(cx, &a.project_key, a.launch_id, a.test_id).await?;
    let (project, project_id, test) = (found.project, found.project_id, found.test);
    let fingerprint = cursor::fingerprint(&(
        "get_test_artifact",
        &project,
        a.launch_id,
        a.test_id,
        wanted.as_str(),
        page,
    ));
    let offset = OffsetCursor::resume(&cx.cursors, a.cursor.as_deref(), &fingerprint)?;

    // Is it one of this test's? Artifacts first (one request), then its log.
    let same = |reference: &str| {
        client
            .file_reference(reference)
            .is_ok_and(|f| f.same_file(&wanted))
    };
    let sessions = forensics::sessions_of(client, project_id, a.launch_id, test.id).await?;
    let listed = forensics::artifacts(&test, &sessions)
        .into_iter()
        .find(|art| same(&art.reference));
    let (name, screenshot) = match listed {
        Some(art) if forensics::is_video(&art.name, &art.reference) => {
            return Err(ToolError::invalid(format!(
                "`{}` is a video, which is not returned (too large for an answer); open it in Zebrunner",
                art.reference
            )));
        }
        Some(art) => (art.name, false),
        None => {
            let (entries, _) = forensics::read_logs(client, a.launch_id, test.id).await?;
            let in_log = entries
                .iter()
                .any(|e| e.is_screenshot() && e.value.as_deref().is_some_and(same));
            if !in_log {
                return Err(ToolError::invalid(format!(
                    "`{}` is not a screenshot or artifact of test {} in launch {}; analyze_test_failure lists them",
                    a.reference, test.id, a.launch_id
                )));
            }
            (wanted.file_name().to_string(), true)
        }
    };

    let cap = if screenshot {
        forensics::SCREENSHOT_DOWNLOAD_CAP
    } else {
        TEXT_DOWNLOAD_CAP
    };
    let download = client.download_file(&wanted, cap).await?;
    let mut out = ArtifactOutput {
        project_key: project,
        launch_id: a.launch_id,
        test_id: test.id,
        reference: wanted.as_str().to_string(),
        name,
        kind: String::new(),
        content_type: download.content_type.clone(),
        bytes: download.bytes.len(),
        truncated: download.truncated,
        image: None,
        lines: Vec::new(),
        total_lines: None,
        next_cursor: None,
        zebrunner_requests: 0,
    };
    let mut blocks = Vec::new();
    let is_image = screenshot
        || download
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("image/"));
    if is_image {
        let p = forensics::prepare_image(&download, image_px).map_err(|why| {
            ToolError::invalid(format!("`{}` cannot be shown: {why}", a.reference))
        })?;
        out.kind = "screenshot".into();
        out.image = Some(ImageFacts {
            width: p.width,
            height: p.height,
            original_width: p.original_width,
            original_height: p.original_height,
            bytes: p.png.len(),
        });
        blocks.push(p.block());
    } else {
        let head = &download.bytes[..download.bytes.len().min(8192)];
        if head.contains(&0) {
            return Err(ToolError::invalid(format!(
                "`{}` is a binary file ({}), not text or a PNG screenshot; open it in Zebrunner",
                a.reference,
                download.content_type.as_deref().unwrap_or("unknown type")
            )));
        }
        let text = String::from_utf8_lossy(&download.bytes);
        let all: Vec<&str> = text.lines().collect();
        if offset > all.len() {
            return Err(ToolError::invalid(
                "`cursor` is past the end of the file; repeat the call without `cursor`",
            ));
        }
        let end = (offset + page as usize).min(all.len());
        out.kind = "text".into();
        out.lines = all[offset..end]
            .iter()
            .enumerate()
            .map(|(i, l)| TextLine {
                n: offset + i + 1,
                text: truncate(l, LINE_CHARS),
            })
            .collect();
        out.total_lines = Some(all.len());
        out.next_cursor = (end < all.len()).then(|| {
            cx.cursors.encode(&OffsetCursor {
                q: fingerprint.clone(),
                o: end,
            })
        });
    }
    out.zebrunner_requests = cx.requests.total();
    Ok((out, blocks))
}
