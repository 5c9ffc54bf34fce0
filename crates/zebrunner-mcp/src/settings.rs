//! Zebrunner connection settings from the environment. Each variable may
//! instead name a file with `<NAME>_FILE` (Docker and Kubernetes secrets).

use std::path::Path;

use anyhow::{Context, bail};
use secrecy::SecretString;

/// The Zebrunner workspace address.
pub const ZEBRUNNER_URL: &str = "ZEBRUNNER_URL";
/// The service account's Zebrunner login.
pub const ZEBRUNNER_LOGIN: &str = "ZEBRUNNER_LOGIN";
/// The service account's Zebrunner API token.
pub const ZEBRUNNER_TOKEN: &str = "ZEBRUNNER_TOKEN";
/// The vault's key ring (`id:base64key` lines).
pub const ZMCP_VAULT_KEYS: &str = "ZMCP_VAULT_KEYS";
/// The connect page's sign-in client secret.
pub const ZMCP_OIDC_CLIENT_SECRET: &str = "ZMCP_OIDC_CLIENT_SECRET";

/// Every variable read with [`env_or_file`]: never a setting or a flag, each also readable
/// from the file `<NAME>_FILE` names. `zebrunner-mcp config env` lists them, and the
/// deployment files' tests check the names they use against that list.
pub const ENV_OR_FILE: [&str; 5] = [
    ZEBRUNNER_URL,
    ZEBRUNNER_LOGIN,
    ZEBRUNNER_TOKEN,
    ZMCP_VAULT_KEYS,
    ZMCP_OIDC_CLIENT_SECRET,
];

/// Read `name`, or the file named by `<name>_FILE`. Setting both is an
/// error, because which one wins would be a guess.
pub fn env_or_file(name: &str) -> anyhow::Result<Option<String>> {
    let direct = std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let file_var = format!("{name}_FILE");
    let file = std::env::var(&file_var)
        .ok()
        .filter(|v| !v.trim().is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => bail!("both {name} and {file_var} are set; set only one"),
        (Some(value), None) => Ok(Some(value.trim().to_string())),
        (None, Some(path)) => {
            let value = std::fs::read_to_string(Path::new(&path))
                .with_context(|| format!("could not read {file_var} ({path})"))?;
            let value = value.trim().to_string();
            if value.is_empty() {
                bail!("{file_var} ({path}) is empty");
            }
            Ok(Some(value))
        }
        (None, None) => Ok(None),
    }
}

fn required(name: &str) -> anyhow::Result<String> {
    env_or_file(name)?.with_context(|| format!("{name} (or {name}_FILE) is not set"))
}

/// The vault's key ring: `ZMCP_VAULT_KEYS` or the file `ZMCP_VAULT_KEYS_FILE` names (never a
/// flag: arguments show in process listings). `Ok(None)` when neither is set.
pub fn vault_keys() -> anyhow::Result<Option<zebrunner_vault_crypto::KeyRing>> {
    let Some(text) = env_or_file(ZMCP_VAULT_KEYS)? else {
        return Ok(None);
    };
    let text = secrecy::SecretString::from(text);
    use secrecy::ExposeSecret;
    zebrunner_vault_crypto::KeyRing::parse(text.expose_secret())
        .map(Some)
        .map_err(|e| anyhow::anyhow!("ZMCP_VAULT_KEYS: {e}"))
}

/// The vault's key ring, or why the vault cannot be used without one.
pub fn required_vault_keys() -> anyhow::Result<zebrunner_vault_crypto::KeyRing> {
    vault_keys()?.context(
        "the vault needs its keys: set ZMCP_VAULT_KEYS=id:base64key (or ZMCP_VAULT_KEYS_FILE, \
         a file of such lines); make one with `zebrunner-mcp vault keygen`",
    )
}

/// The Zebrunner workspace address (`ZEBRUNNER_URL` or `ZEBRUNNER_URL_FILE`).
pub fn zebrunner_url() -> anyhow::Result<String> {
    required(ZEBRUNNER_URL)
}

/// The service account used to reach Zebrunner.
pub struct ZebrunnerSettings {
    pub url: String,
    pub login: String,
    pub token: SecretString,
}

impl ZebrunnerSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            url: required(ZEBRUNNER_URL)?,
            login: required(ZEBRUNNER_LOGIN)?,
            token: SecretString::from(required(ZEBRUNNER_TOKEN)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each test uses its own variable names, so parallel tests don't collide.
    #[allow(unsafe_code)] // std::env::set_var is unsafe since edition 2024
    fn set(name: &str, value: &str) {
        // SAFETY: only this test reads or writes these uniquely named variables.
        unsafe { std::env::set_var(name, value) }
    }

    #[test]
    fn reads_the_variable_or_its_file() {
        set("ZMCP_T1", " direct \n");
        assert_eq!(env_or_file("ZMCP_T1").unwrap().as_deref(), Some("direct"));

        let path = std::env::temp_dir().join(format!("zmcp-settings-{}", std::process::id()));
        std::fs::write(&path, "from-file\n").unwrap();
        set("ZMCP_T2_FILE", path.to_str().unwrap());
        assert_eq!(
            env_or_file("ZMCP_T2").unwrap().as_deref(),
            Some("from-file")
        );
        std::fs::remove_file(&path).unwrap();

        assert_eq!(env_or_file("ZMCP_T3_UNSET").unwrap(), None);
    }

    #[test]
    fn both_or_an_unreadable_file_is_an_error() {
        set("ZMCP_T4", "a");
        set("ZMCP_T4_FILE", "/nonexistent");
        assert!(env_or_file("ZMCP_T4").is_err());
        set("ZMCP_T5_FILE", "/nonexistent/zmcp");
        let err = env_or_file("ZMCP_T5").unwrap_err().to_string();
        assert!(err.contains("ZMCP_T5_FILE"), "{err}");
    }
}
