//! The output settings: the sensor's name, EVE file paths, Unix socket paths and webhook URLs, and the rule that no
//! output is given twice.

use crate::output::sensor_name::SensorName;
use crate::output::targets::{check_socket_path, check_webhook_url, OutputSpec};
use std::path::PathBuf;

/// A file path (an EVE file, a signature list): not empty. Whether it may be relative is the
/// front end's call: the command line has a working directory, the daemon's file does not.
pub fn file_path(text: &str) -> Result<PathBuf, String> {
    if text.is_empty() {
        return Err("the path is empty".into());
    }
    Ok(PathBuf::from(text))
}

/// The allowlist `run --learn` writes: named as an `allow-domains` list, so that
/// `--signatures` reads it as one.
pub fn learn_file(text: &str) -> Result<PathBuf, String> {
    let path = file_path(text)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let kind = name
        .strip_suffix(".txt")
        .or_else(|| name.strip_suffix(".list"))
        .unwrap_or(name);
    if kind == "allow-domains" || kind.ends_with(".allow-domains") {
        Ok(path)
    } else {
        Err(format!(
            "{name:?}: name the file allow-domains.txt or NAME.allow-domains.txt, so that --signatures reads it as an allowlist"
        ))
    }
}

/// The sensor's name, written as `host` in every EVE record: not empty, no control characters,
/// at most [`crate::output::sensor_name::MAX_SENSOR_NAME`] bytes.
pub fn sensor_name(text: &str) -> Result<SensorName, String> {
    SensorName::new(text)
}

/// A Unix socket path: not empty, and short enough for a socket address.
pub fn socket_path(text: &str) -> Result<PathBuf, String> {
    let path = file_path(text)?;
    check_socket_path(&path)?;
    Ok(path)
}

/// A webhook URL: `http://` or `https://` with a host. Messages show it without user, password
/// and query, which may hold secrets.
pub fn webhook_url(text: &str) -> Result<String, String> {
    check_webhook_url(text)?;
    Ok(text.to_string())
}

/// No output twice: every EVE line would be written to it twice. The error names the second one
/// (its index) and the reason.
pub fn distinct_outputs(specs: &[OutputSpec]) -> Result<(), (usize, String)> {
    let same = |a: &OutputSpec, b: &OutputSpec| match (a, b) {
        (OutputSpec::Stdout, OutputSpec::Stdout) => true,
        (OutputSpec::File { path: a }, OutputSpec::File { path: b }) => a == b,
        (OutputSpec::UnixSocket { path: a }, OutputSpec::UnixSocket { path: b }) => a == b,
        (OutputSpec::Webhook(a), OutputSpec::Webhook(b)) => a.url == b.url,
        _ => false,
    };
    for (i, spec) in specs.iter().enumerate() {
        if specs[..i].iter().any(|earlier| same(earlier, spec)) {
            return Err((
                i,
                "the same output is given twice; every EVE line would be written to it twice"
                    .into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::targets::WebhookSpec;

    #[test]
    fn paths_urls_and_duplicates() {
        assert!(file_path("").is_err());
        assert_eq!(file_path("eve.json"), Ok("eve.json".into()));
        assert!(socket_path(&format!("/run/{}", "s".repeat(110)))
            .unwrap_err()
            .contains("at most 107 bytes"));
        assert_eq!(socket_path("/run/x.sock"), Ok("/run/x.sock".into()));
        let e = webhook_url("ftp://user:pw@h/x?token=s3cret").unwrap_err();
        assert!(
            e.starts_with(
                "\"ftp://h/x?…\" is not a usable webhook URL: the scheme ftp:// is not supported"
            ),
            "{e}"
        );
        assert!(!e.contains("s3cret") && !e.contains("pw"), "{e}");
        let hook = || OutputSpec::Webhook(WebhookSpec::new("https://h/x"));
        assert_eq!(distinct_outputs(&[OutputSpec::Stdout, hook()]), Ok(()));
        assert_eq!(
            distinct_outputs(&[hook(), OutputSpec::Stdout, hook()])
                .unwrap_err()
                .0,
            2
        );
    }
}
