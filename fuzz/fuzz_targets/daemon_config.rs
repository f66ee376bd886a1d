//! Fuzzes the daemon's configuration reader: any text gives a configuration or an error with a
//! location inside the text, never a panic. Half the inputs are spliced into the default
//! configuration, so the checks behind the TOML syntax (CIDRs, sizes, durations, URLs, BPF
//! filters, user names) are reached too.
#![no_main]
use egress_ids::daemon::config::{default_toml, ConfigError, DaemonConfig};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let spliced;
    let text = if data.first().is_some_and(|b| b % 2 == 0) {
        let base = default_toml();
        let at = (data.len() * 7919) % base.len();
        let at = (0..=at).rev().find(|i| base.is_char_boundary(*i)).unwrap_or(0);
        spliced = format!("{}{}{}", &base[..at], text, &base[at..]);
        spliced.as_str()
    } else {
        text
    };
    match DaemonConfig::from_toml(text, Path::new("fuzz.toml")) {
        Ok(config) => {
            let _ = config.sensor_options();
        }
        Err(ConfigError::Invalid {
            location: Some(l), ..
        }) => {
            assert!(l.line >= 1 && l.line <= text.lines().count().max(1) + 1, "{l:?}");
        }
        Err(_) => {}
    }
});
