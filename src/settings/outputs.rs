//! The output settings: the sensor's name, EVE file paths, Unix socket paths, webhook and Redis
//! URLs and the Redis key, and the rule that no output is given twice.

use crate::output::sensor_name::SensorName;
use crate::output::targets::{
    check_redis_url, check_socket_path, check_webhook_url, OutputSpec, RedisMode,
};
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

/// A Redis URL: `redis://`, `rediss://` (TLS) or `unix://`. Messages show it without user and
/// password.
pub fn redis_url(text: &str) -> Result<String, String> {
    check_redis_url(text)?;
    Ok(text.to_string())
}

/// A Redis mode, as Suricata's `eve-log` redis `mode` names it.
pub fn redis_mode(text: &str) -> Result<RedisMode, String> {
    text.parse()
}

/// A Redis key (list, channel or stream name): not empty, printable, no spaces (a key that
/// `redis-cli` can be given as typed).
pub fn redis_key(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("the key is empty; e.g. egress-ids".into());
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "the key {text:?} has spaces or characters that are not printable ASCII; e.g. egress-ids:eve"
        ));
    }
    Ok(text.to_string())
}

/// The length a Redis stream is trimmed to (0: never trimmed), as Suricata's `stream-maxlen`.
pub fn redis_stream_maxlen(text: &str) -> Result<u64, String> {
    crate::settings::count_in(
        text,
        0,
        1_000_000_000,
        "use 0 (never trimmed) to 1000000000",
    )
}

/// A CA file goes with a `rediss://` URL only: over plain TCP or a Unix socket it would be
/// silently unused.
pub fn redis_ca_file_applies(url: &str) -> Result<(), String> {
    if url.to_ascii_lowercase().starts_with("rediss://") {
        Ok(())
    } else {
        Err("a CA file is only used with TLS; write rediss:// in the URL".into())
    }
}

/// Commands in one pipelined batch at most, as Suricata's `pipelining: batch-size`.
pub fn redis_batch_size(text: &str) -> Result<usize, String> {
    crate::settings::count_in(text, 1, 10_000, "use 1 to 10000")
}

/// No output twice: every EVE line would be written to it twice. The error names the second one
/// (its index) and the reason.
pub fn distinct_outputs(specs: &[OutputSpec]) -> Result<(), (usize, String)> {
    let same = |a: &OutputSpec, b: &OutputSpec| match (a, b) {
        (OutputSpec::Stdout, OutputSpec::Stdout) => true,
        (OutputSpec::File { path: a }, OutputSpec::File { path: b }) => a == b,
        (OutputSpec::UnixSocket { path: a }, OutputSpec::UnixSocket { path: b }) => a == b,
        (OutputSpec::Webhook(a), OutputSpec::Webhook(b)) => a.url == b.url,
        (OutputSpec::Redis(a), OutputSpec::Redis(b)) => a.url == b.url && a.key == b.key,
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
    use crate::output::targets::{RedisSpec, WebhookSpec};

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
        let e = redis_url("redis://eids:s3cret@h:0").unwrap_err();
        assert!(
            e.starts_with("\"redis://h:0\" is not a usable Redis URL"),
            "{e}"
        );
        assert!(!e.contains("s3cret"), "{e}");
        assert_eq!(redis_mode("stream"), Ok(RedisMode::Xadd));
        assert_eq!(redis_stream_maxlen("0"), Ok(0));
        assert!(redis_stream_maxlen("-1").is_err());
        assert!(redis_batch_size("0").is_err());
        assert!(redis_key("").is_err() && redis_key("a b").is_err());
        assert_eq!(redis_key("egress-ids:eve"), Ok("egress-ids:eve".into()));
        let redis = |key: &str| {
            let mut spec = RedisSpec::new("redis://h");
            spec.key = key.into();
            OutputSpec::Redis(spec)
        };
        assert_eq!(distinct_outputs(&[redis("a"), redis("b")]), Ok(()));
        assert_eq!(
            distinct_outputs(&[redis("a"), redis("a")]).unwrap_err().0,
            1
        );
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
