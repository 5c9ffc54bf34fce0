//! Projects: `GET /api/projects/v1/projects[/{key}]` (internal API, Bearer).

use crate::client::{ZebrunnerClient, cached};
use crate::error::Error;
use crate::models::Project;
use crate::transport::Call;

use super::{decode_items, decode_single};

impl ZebrunnerClient {
    /// All projects visible to the user, including deleted ones (callers hide them).
    pub async fn list_projects(&self) -> Result<Vec<Project>, Error> {
        let call = Call::internal(["api", "projects", "v1", "projects"])
            .query("extraFields", "starred")
            .what("the project list");
        self.inner.transport.fetch(call, decode_items).await
    }

    /// The project with `key` (cached for 5 minutes).
    pub async fn project(&self, key: &str) -> Result<Project, Error> {
        let init = async {
            let call = Call::internal(["api", "projects", "v1", "projects", key])
                .what(format!("project {key}"))
                .project(key);
            self.inner.transport.fetch(call, decode_single).await
        };
        cached(&self.inner.caches.projects, key.to_owned(), init).await
    }

    /// The numeric id of project `key` (cached), for the internal APIs.
    pub async fn project_id(&self, key: &str) -> Result<i64, Error> {
        Ok(self.project(key).await?.id)
    }
}
