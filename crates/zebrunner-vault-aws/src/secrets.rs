//! [`SecretsManagerRecords`]: vault records in AWS Secrets Manager, one secret per person.
//!
//! - Name: `<prefix><hex sha256(user key)>` (prefix `vault.aws_secret_prefix`, default
//!   `zebrunner-mcp/`).
//! - Value (`SecretString`): the record as JSON ([`crate::record::RecordValue`]): the sealed
//!   token in base64, the key id and the metadata the database keeps beside it.
//! - Tags: the user key and the Zebrunner login, and the last use (kept out of the value so a
//!   use does not make a new version).
//!
//! Writes are compare-and-swap on the secret's version: the new value is put as a version
//! labelled [`PENDING`], then `AWSCURRENT` is moved to it *from the version that was read*
//! (`UpdateSecretVersionStage` with `RemoveFromVersionId`), which AWS refuses when another
//! writer moved it first. A process killed between the two steps leaves the record as it was;
//! a lost race reads again and retries. So a rekey never overwrites a token stored meanwhile,
//! and a status verdict applies only to the revision it was made about.
//!
//! Listing is `ListSecrets` filtered by the prefix (user keys from the tags, sorted here), then
//! the values of the records asked for. Deletion keeps the secret for the configured recovery
//! window (`vault.aws_recovery_window_days`, 0 deletes at once); storing a token again for a
//! person whose secret awaits deletion restores it and starts a new record.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use zebrunner_storage::BoxFuture;
use zebrunner_storage::vault::store::{RecordStore, Selection, StoredRecord, Upsert};
use zebrunner_storage::vault::{RecordStatus, VaultError};
use zebrunner_vault_crypto::Sealed;

use crate::failure::{Call, Failure, classify};
use crate::record::{
    self, FORMAT, RecordValue, TAG_LAST_USED, TAG_LOGIN, TAG_USER_KEY, secret_name, tag_text,
    tag_value,
};

const SERVICE: &str = "AWS Secrets Manager";
/// The label a new value carries until `AWSCURRENT` is moved to it.
pub const PENDING: &str = "ZEBRUNNER_MCP_PENDING";
const CURRENT: &str = "AWSCURRENT";
/// Compare-and-swap attempts before giving up on a record others keep changing.
const MAX_RACES: usize = 8;
/// Values read at once when listing.
const READ_CONCURRENCY: usize = 8;
/// Longest prefix: Secrets Manager names are at most 512 characters, 64 are the hash.
const MAX_PREFIX: usize = 256;

/// Where the records live and how they are deleted.
#[derive(Debug, Clone)]
pub struct SecretsSettings {
    /// Every record's name starts with it, e.g. `zebrunner-mcp/` or `prod/zebrunner-mcp/`.
    pub prefix: String,
    /// Days a deleted record can be restored (7 to 30); 0 deletes at once, without recovery.
    pub recovery_window_days: u32,
}

impl SecretsSettings {
    /// Why these settings cannot work, if they cannot.
    pub fn problem(&self) -> Option<String> {
        let p = &self.prefix;
        if p.is_empty() || p.len() > MAX_PREFIX {
            return Some(format!("the prefix must be 1 to {MAX_PREFIX} characters"));
        }
        if !p
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
        {
            return Some(format!(
                "the prefix {:?} may hold only letters, digits and / _ + = . @ -",
                record::clean(p)
            ));
        }
        let window = self.recovery_window_days;
        if window != 0 && !(7..=30).contains(&window) {
            return Some(format!(
                "the recovery window is {window} days; Secrets Manager accepts 7 to 30, or 0 to \
                 delete at once"
            ));
        }
        None
    }
}

/// Vault records in AWS Secrets Manager.
#[derive(Debug, Clone)]
pub struct SecretsManagerRecords {
    client: Client,
    settings: SecretsSettings,
}

/// A record's secret as read: its current version and value.
struct Current {
    version_id: String,
    value: RecordValue,
}

impl SecretsManagerRecords {
    /// Records under `settings.prefix`, reached with `config` (see [`crate::sdk::load`]).
    pub fn new(
        config: &aws_config::SdkConfig,
        settings: SecretsSettings,
    ) -> Result<SecretsManagerRecords, String> {
        if let Some(problem) = settings.problem() {
            return Err(problem);
        }
        Ok(SecretsManagerRecords {
            client: Client::new(config),
            settings,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn settings(&self) -> &SecretsSettings {
        &self.settings
    }

    fn name(&self, user_key: &str) -> String {
        secret_name(&self.settings.prefix, user_key)
    }

    /// The current value of `name`; `None` when there is no such secret or it awaits
    /// deletion. `user_key`, when known, must be the one the value names.
    async fn current(&self, name: &str, user_key: &str) -> Result<Option<Current>, VaultError> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(name)
            .version_stage(CURRENT)
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(error) => {
                let failure = classify(call("secretsmanager:GetSecretValue", name), &error);
                // InvalidRequest: the secret is scheduled for deletion.
                if failure.is("ResourceNotFoundException") || failure.is("InvalidRequestException")
                {
                    return Ok(None);
                }
                return Err(store_error(failure));
            }
        };
        let (Some(version_id), Some(text)) = (output.version_id(), output.secret_string()) else {
            return Err(corrupt(name, "it has no text value"));
        };
        let value: RecordValue = serde_json::from_str(text)
            .map_err(|_| corrupt(name, "its value is not a vault record"))?;
        if value.user_key != user_key {
            return Err(corrupt(
                name,
                "it holds the record of another user key (copied or renamed); delete it and \
                 store the token again",
            ));
        }
        Ok(Some(Current {
            version_id: version_id.to_owned(),
            value,
        }))
    }

    /// Read `user_key`'s record, let `change` make the next value (or `None`: leave it), and
    /// write it only if nobody wrote in between, reading again after a lost race. Whether it
    /// was changed; false when there is no record or `change` declined.
    async fn update(
        &self,
        user_key: &str,
        change: impl Fn(&str, &RecordValue) -> Result<Option<RecordValue>, VaultError>,
    ) -> Result<bool, VaultError> {
        let name = self.name(user_key);
        for _ in 0..MAX_RACES {
            let Some(current) = self.current(&name, user_key).await? else {
                return Ok(false);
            };
            let Some(value) = change(&name, &current.value)? else {
                return Ok(false);
            };
            if self.replace(&name, &current.version_id, &value).await? {
                return Ok(true);
            }
        }
        Err(raced(&name))
    }

    /// Make `value` the current one of `name` if `expected` still is; whether it was.
    async fn replace(
        &self,
        name: &str,
        expected: &str,
        value: &RecordValue,
    ) -> Result<bool, VaultError> {
        let put = self
            .client
            .put_secret_value()
            .secret_id(name)
            .secret_string(to_json(value)?)
            .version_stages(PENDING)
            .send()
            .await
            .map_err(|e| store_error(classify(call("secretsmanager:PutSecretValue", name), &e)))?;
        let Some(new_version) = put.version_id() else {
            return Err(corrupt(name, "PutSecretValue returned no version"));
        };
        let moved = self
            .client
            .update_secret_version_stage()
            .secret_id(name)
            .version_stage(CURRENT)
            .remove_from_version_id(expected)
            .move_to_version_id(new_version)
            .send()
            .await;
        match moved {
            Ok(_) => Ok(true),
            Err(error) => {
                let failure = classify(
                    call("secretsmanager:UpdateSecretVersionStage", name),
                    &error,
                );
                // AWSCURRENT is no longer on the version we read: someone wrote first.
                if failure.is("InvalidParameterException") || failure.is("InvalidRequestException")
                {
                    Ok(false)
                } else {
                    Err(store_error(failure))
                }
            }
        }
    }

    /// Create the secret of a new record; false when one appeared meanwhile, or one awaiting
    /// deletion was restored (read it again either way).
    async fn create(&self, name: &str, value: &RecordValue) -> Result<bool, VaultError> {
        let mut request = self
            .client
            .create_secret()
            .name(name)
            .description("zebrunner-mcp vault record: a Zebrunner API token sealed by the server")
            .secret_string(to_json(value)?);
        for (key, text) in [(TAG_USER_KEY, &value.user_key), (TAG_LOGIN, &value.login)] {
            if let Some(tag) = tag(key, text) {
                request = request.tags(tag);
            }
        }
        let error = match request.send().await {
            Ok(_) => return Ok(true),
            Err(error) => classify(call("secretsmanager:CreateSecret", name), &error),
        };
        if !(error.is("ResourceExistsException") || error.is("InvalidRequestException")) {
            return Err(store_error(error));
        }
        // The name is taken: by a record stored meanwhile (read it again), or by one awaiting
        // deletion (AWS says InvalidRequest, some stand-ins ResourceExists): bring that back,
        // and the caller replaces it as a new record.
        let described = self
            .client
            .describe_secret()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| store_error(classify(call("secretsmanager:DescribeSecret", name), &e)))?;
        if described.deleted_date().is_some() {
            self.client
                .restore_secret()
                .secret_id(name)
                .send()
                .await
                .map_err(|e| {
                    store_error(classify(call("secretsmanager:RestoreSecret", name), &e))
                })?;
            self.client
                .untag_resource()
                .secret_id(name)
                .tag_keys(TAG_LAST_USED)
                .send()
                .await
                .map_err(|e| {
                    store_error(classify(call("secretsmanager:UntagResource", name), &e))
                })?;
        }
        Ok(false)
    }

    /// Every record's secret under the prefix: (user key when its tag holds it, name, last
    /// use).
    async fn names(&self) -> Result<Vec<Listed>, VaultError> {
        let prefix = &self.settings.prefix;
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_secrets()
                .filters(
                    Filter::builder()
                        .key(FilterNameStringType::Name)
                        .values(prefix)
                        .build(),
                )
                .max_results(100)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| {
                    store_error(classify(call("secretsmanager:ListSecrets", prefix), &e))
                })?;
            for secret in page.secret_list() {
                let Some(name) = secret.name() else { continue };
                // The name filter matches prefixes of words too; only ours count.
                if !name.starts_with(prefix.as_str()) || secret.deleted_date().is_some() {
                    continue;
                }
                let tag_of = |key: &str| {
                    secret
                        .tags()
                        .iter()
                        .find(|t| t.key() == Some(key))
                        .and_then(|t| t.value())
                        .and_then(tag_text)
                };
                out.push(Listed {
                    user_key: tag_of(TAG_USER_KEY),
                    name: name.to_owned(),
                    last_used_at: tag_of(TAG_LAST_USED),
                });
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    /// The value of a listed secret, without knowing its user key in advance.
    async fn read_listed(&self, listed: &Listed) -> Result<Option<StoredRecord>, VaultError> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(&listed.name)
            .version_stage(CURRENT)
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(error) => {
                let failure = classify(call("secretsmanager:GetSecretValue", &listed.name), &error);
                if failure.is("ResourceNotFoundException") || failure.is("InvalidRequestException")
                {
                    return Ok(None);
                }
                return Err(store_error(failure));
            }
        };
        let value: RecordValue = output
            .secret_string()
            .and_then(|text| serde_json::from_str(text).ok())
            .ok_or_else(|| corrupt(&listed.name, "its value is not a vault record"))?;
        if secret_name(&self.settings.prefix, &value.user_key) != listed.name {
            return Err(corrupt(
                &listed.name,
                "it holds the record of another user key (copied or renamed); delete it and \
                 store the token again",
            ));
        }
        value
            .stored(listed.last_used_at.clone())
            .map(Some)
            .map_err(|why| corrupt(&listed.name, &why))
    }

    /// The records of `listed`, read [`READ_CONCURRENCY`] at a time, in order.
    async fn read_many(&self, listed: &[Listed]) -> Result<Vec<Option<StoredRecord>>, VaultError> {
        let mut out = Vec::with_capacity(listed.len());
        for chunk in listed.chunks(READ_CONCURRENCY) {
            let mut tasks = tokio::task::JoinSet::new();
            for (index, item) in chunk.iter().enumerate() {
                let this = self.clone();
                let item = item.clone();
                tasks.spawn(async move { (index, this.read_listed(&item).await) });
            }
            let mut chunk_out: Vec<Option<StoredRecord>> = vec![None; chunk.len()];
            while let Some(joined) = tasks.join_next().await {
                let (index, read) = joined.map_err(|e| VaultError::Store {
                    store: SERVICE,
                    message: format!("a read stopped: {e}"),
                })?;
                if let Some(slot) = chunk_out.get_mut(index) {
                    *slot = read?;
                }
            }
            out.extend(chunk_out);
        }
        Ok(out)
    }

    async fn set_tag(&self, name: &str, key: &str, text: &str) -> Result<(), VaultError> {
        let Some(tag) = tag(key, text) else {
            return Ok(());
        };
        match self
            .client
            .tag_resource()
            .secret_id(name)
            .tags(tag)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => {
                let failure = classify(call("secretsmanager:TagResource", name), &error);
                // Deleted meanwhile: nothing to note.
                if failure.is("ResourceNotFoundException") || failure.is("InvalidRequestException")
                {
                    Ok(())
                } else {
                    Err(store_error(failure))
                }
            }
        }
    }

    async fn last_used(&self, name: &str) -> Result<Option<String>, VaultError> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(output) => Ok(output
                .tags()
                .iter()
                .find(|t| t.key() == Some(TAG_LAST_USED))
                .and_then(|t| t.value())
                .and_then(tag_text)),
            Err(error) => {
                let failure = classify(call("secretsmanager:DescribeSecret", name), &error);
                if failure.is("ResourceNotFoundException") {
                    Ok(None)
                } else {
                    Err(store_error(failure))
                }
            }
        }
    }
}

/// One secret found by [`SecretsManagerRecords::names`].
#[derive(Debug, Clone)]
struct Listed {
    user_key: Option<String>,
    name: String,
    last_used_at: Option<String>,
}

impl RecordStore for SecretsManagerRecords {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn upsert<'a>(&'a self, r: Upsert<'a>) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(async move {
            let name = self.name(r.user_key);
            let mut fresh = false;
            for _ in 0..MAX_RACES {
                let current = self.current(&name, r.user_key).await?;
                let (revision, created_at) = match &current {
                    Some(c) if !fresh => (c.value.revision + 1, c.value.created_at.clone()),
                    _ => (1, r.now.to_owned()),
                };
                let mut value = RecordValue {
                    format: FORMAT.to_owned(),
                    user_key: r.user_key.to_owned(),
                    zebrunner_url: r.zebrunner_url.to_owned(),
                    login: r.login.to_owned(),
                    key_id: String::new(),
                    nonce: String::new(),
                    ciphertext: String::new(),
                    revision,
                    status: "active".to_owned(),
                    invalid_reason: None,
                    created_at,
                    updated_at: r.now.to_owned(),
                    last_validated_at: r.validated_at.map(str::to_owned),
                };
                value.set_sealed(r.sealed);
                let done = match &current {
                    None => {
                        let created = self.create(&name, &value).await?;
                        // Restored from deletion: what it held is not this record's history.
                        fresh = !created;
                        created
                    }
                    Some(c) => self.replace(&name, &c.version_id, &value).await?,
                };
                if done {
                    if current.as_ref().is_some_and(|c| c.value.login != r.login) {
                        self.set_tag(&name, TAG_LOGIN, r.login).await?;
                    }
                    return Ok(());
                }
            }
            Err(raced(&name))
        })
    }

    fn find<'a>(
        &'a self,
        user_key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, VaultError>> {
        Box::pin(async move {
            let name = self.name(user_key);
            let (current, last_used) =
                tokio::join!(self.current(&name, user_key), self.last_used(&name));
            let Some(current) = current? else {
                return Ok(None);
            };
            current
                .value
                .stored(last_used?)
                .map(Some)
                .map_err(|why| corrupt(&name, &why))
        })
    }

    fn select<'a>(
        &'a self,
        selection: Selection<'a>,
        after: Option<&'a str>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<StoredRecord>, VaultError>> {
        Box::pin(async move {
            let limit = limit.clamp(1, 10_000) as usize;
            let mut listed = self.names().await?;
            // A user key too long for a tag is learnt from the value.
            let untagged: Vec<Listed> = listed
                .iter()
                .filter(|l| l.user_key.is_none())
                .cloned()
                .collect();
            if !untagged.is_empty() {
                let read = self.read_many(&untagged).await?;
                for (item, record) in untagged.iter().zip(read) {
                    if let (Some(record), Some(slot)) =
                        (record, listed.iter_mut().find(|l| l.name == item.name))
                    {
                        slot.user_key = Some(record.meta.user_key);
                    }
                }
            }
            let mut listed: Vec<Listed> = listed
                .into_iter()
                .filter(|l| {
                    l.user_key
                        .as_deref()
                        .is_some_and(|key| after.is_none_or(|after| key > after))
                })
                .collect();
            listed.sort_by(|a, b| a.user_key.cmp(&b.user_key));
            let mut out = Vec::new();
            for window in listed.chunks(limit.max(READ_CONCURRENCY)) {
                for record in self.read_many(window).await?.into_iter().flatten() {
                    if selection.admits(&record.meta) {
                        out.push(record);
                        if out.len() == limit {
                            return Ok(out);
                        }
                    }
                }
            }
            Ok(out)
        })
    }

    fn touch<'a>(
        &'a self,
        user_key: &'a str,
        now: &'a str,
    ) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(async move { self.set_tag(&self.name(user_key), TAG_LAST_USED, now).await })
    }

    fn delete<'a>(&'a self, user_key: &'a str) -> BoxFuture<'a, Result<bool, VaultError>> {
        Box::pin(async move {
            let name = self.name(user_key);
            let mut request = self.client.delete_secret().secret_id(&name);
            request = match self.settings.recovery_window_days {
                0 => request.force_delete_without_recovery(true),
                days => request.recovery_window_in_days(i64::from(days)),
            };
            match request.send().await {
                Ok(_) => Ok(true),
                Err(error) => {
                    let failure = classify(call("secretsmanager:DeleteSecret", &name), &error);
                    // Not there, or already awaiting deletion.
                    if failure.is("ResourceNotFoundException")
                        || failure.is("InvalidRequestException")
                    {
                        Ok(false)
                    } else {
                        Err(store_error(failure))
                    }
                }
            }
        })
    }

    fn set_status<'a>(
        &'a self,
        user_key: &'a str,
        revision: i64,
        status: &'a RecordStatus,
        now: &'a str,
    ) -> BoxFuture<'a, Result<bool, VaultError>> {
        Box::pin(async move {
            self.update(user_key, |_, value| {
                if value.revision != revision {
                    return Ok(None);
                }
                let mut value = value.clone();
                value.set_status(status);
                value.last_validated_at = Some(now.to_owned());
                Ok(Some(value))
            })
            .await
        })
    }

    fn reseal<'a>(
        &'a self,
        user_key: &'a str,
        expected_nonce: &'a [u8],
        resealed: &'a Sealed,
    ) -> BoxFuture<'a, Result<bool, VaultError>> {
        Box::pin(async move {
            self.update(user_key, |name, value| {
                let sealed = value.sealed().map_err(|why| corrupt(name, &why))?;
                if sealed.nonce != expected_nonce {
                    return Ok(None);
                }
                let mut value = value.clone();
                value.set_sealed(resealed);
                Ok(Some(value))
            })
            .await
        })
    }
}

fn call<'a>(permission: &'static str, resource: &'a str) -> Call<'a> {
    Call {
        service: SERVICE,
        permission,
        resource,
    }
}

fn tag(key: &str, text: &str) -> Option<Tag> {
    tag_value(text).map(|value| Tag::builder().key(key).value(value).build())
}

fn to_json(value: &RecordValue) -> Result<String, VaultError> {
    serde_json::to_string(value).map_err(|e| VaultError::Store {
        store: SERVICE,
        message: format!("a record could not be encoded: {e}"),
    })
}

fn store_error(failure: Failure) -> VaultError {
    VaultError::Store {
        store: SERVICE,
        message: failure.message,
    }
}

fn corrupt(name: &str, why: &str) -> VaultError {
    VaultError::Store {
        store: SERVICE,
        message: format!("the secret {name} is not a usable vault record: {why}"),
    }
}

fn raced(name: &str) -> VaultError {
    VaultError::Store {
        store: SERVICE,
        message: format!(
            "the secret {name} kept changing while this write was retried {MAX_RACES} times; \
             nothing was overwritten: try again"
        ),
    }
}
