//! The configuration loader: a TOML file layered over the defaults and extracted into
//! `Config` (as `zebrunner-mcp serve` and `config check` load it, without the `ZMCP_*`
//! environment layer), then what start-up derives from it: every problem `config check`
//! reports, the toolsets, HTTP options, URLs and the access policy.
//!
//! Input: the file's text (UTF-8; other bytes are replaced). Never panics: a bad file is an
//! extraction error naming the setting. An accepted configuration, written out and read
//! back, is the same configuration.
#![no_main]

use figment::Figment;
use figment::providers::{Format as _, Serialized, Toml};
use libfuzzer_sys::fuzz_target;
use zebrunner_mcp_server::config::Config;
use zebrunner_mcp_server::policy::Policy;

fn load(figment: Figment) -> Option<Config> {
    Config::from_figment(figment).ok()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let defaults = || Figment::from(Serialized::defaults(Config::default()));
    let Some(config) = load(defaults().merge(Toml::string(&text))) else {
        return;
    };
    for problem in config.problems() {
        let _ = problem.to_string();
    }
    let _ = config.toolsets();
    let _ = config.http_options();
    let _ = config.confirmation_ttl();
    let _ = config.shutdown_grace();
    let _ = config.audience(None);
    let _ = config.connect_url(None);
    let _ = config.resource_url(None);
    let _ = Policy::new(config.policy.clone(), config.read_only);

    let written = serde_json::to_value(&config).unwrap_or_else(|e| panic!("serialize: {e}"));
    let Some(again) = load(defaults().merge(Serialized::defaults(&written))) else {
        panic!("{text:?} loaded, but written out as {written} it does not load");
    };
    let rewritten = serde_json::to_value(&again).unwrap_or_else(|e| panic!("serialize: {e}"));
    assert_eq!(written, rewritten, "{text:?}");
});
