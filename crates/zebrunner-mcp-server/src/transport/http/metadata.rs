//! RFC 9728 protected resource metadata, served at the root well-known URL
//! and at the path-inserted form for `/mcp`, so that clients find the
//! authorization server whichever way they look.

use axum::{
    Json,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use zebrunner_identity::resource_metadata::ProtectedResourceMetadata;

/// Where the document is served, as paths on this server.
pub fn paths(resource_url: &url::Url) -> Vec<String> {
    let root = "/.well-known/oauth-protected-resource".to_string();
    let resource_path = resource_url.path().trim_end_matches('/');
    let mut paths = vec![root.clone()];
    if !resource_path.is_empty() {
        paths.push(format!("{root}{resource_path}"));
    }
    paths
}

pub fn respond(document: &ProtectedResourceMetadata) -> Response {
    let mut response = Json(document).into_response();
    // Clients may cache it briefly; it changes only with configuration.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_path_inserted_forms() {
        let url = url::Url::parse("https://mcp.example.com/mcp").unwrap();
        assert_eq!(
            paths(&url),
            vec![
                "/.well-known/oauth-protected-resource",
                "/.well-known/oauth-protected-resource/mcp"
            ]
        );
    }
}
