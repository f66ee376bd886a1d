//! The `[[output]]` tables: each one's type and the keys that type takes, its paths, URL,
//! webhook delivery and Redis settings, and no output given twice.

use super::check::{absolute, checked};
use super::errors::{ConfigError, Doc};
use super::raw::RawOutput;
use crate::output::targets::{OutputSpec, RedisSpec, WebhookSpec};
use crate::settings::{self, count_in, duration, Zero};
use std::ops::Range;
use toml::Spanned;

/// The output types, as `type` takes them, with the keys each one takes besides `type`.
const OUTPUT_TYPES: [(&str, &[&str]); 5] = [
    ("file", &["path"]),
    ("stdout", &[]),
    ("unix-socket", &["path"]),
    (
        "webhook",
        &[
            "url",
            "queue",
            "timeout",
            "max_attempts",
            "backoff",
            "max_backoff",
        ],
    ),
    (
        "redis",
        &[
            "url",
            "mode",
            "key",
            "stream_maxlen",
            "stream_trim_exact",
            "batch_size",
            "queue",
            "ca_file",
        ],
    ),
];

/// Every `[[output]]`: at least one, each valid, none twice.
pub(super) fn check(
    doc: &Doc<'_>,
    list: &Spanned<Vec<Spanned<RawOutput>>>,
) -> Result<Vec<OutputSpec>, ConfigError> {
    if list.get_ref().is_empty() {
        return Err(doc.error(
            list.span(),
            "output",
            "no output; give at least one [[output]] table, or leave `output` out for the default file",
        ));
    }
    let specs = list
        .get_ref()
        .iter()
        .enumerate()
        .map(|(i, out)| {
            out.get_ref()
                .check(doc, &format!("output[{i}]"), out.span())
        })
        .collect::<Result<Vec<_>, _>>()?;
    settings::distinct_outputs(&specs).map_err(|(i, reason)| {
        let span = list
            .get_ref()
            .get(i)
            .map_or_else(|| list.span(), Spanned::span);
        doc.error(span, &format!("output[{i}]"), reason)
    })?;
    Ok(specs)
}

impl RawOutput {
    /// This output, `at` (`output[2]`) in messages; `span` is its table's.
    fn check(
        &self,
        doc: &Doc<'_>,
        at: &str,
        span: Range<usize>,
    ) -> Result<OutputSpec, ConfigError> {
        let kind = self.kind.get_ref().as_str();
        self.only_keys_of(doc, at, kind)?;
        let required = |v: &'_ Option<Spanned<String>>, name: &str| {
            v.clone().ok_or_else(|| {
                doc.error(
                    span.clone(),
                    &format!("{at}.{name}"),
                    format!("a {kind:?} output needs `{name}`"),
                )
            })
        };
        let path_key = format!("{at}.path");
        Ok(match kind {
            "file" => OutputSpec::File {
                path: absolute(
                    doc,
                    &path_key,
                    &required(&self.path, "path")?,
                    settings::file_path,
                )?,
            },
            "unix-socket" => OutputSpec::UnixSocket {
                path: absolute(
                    doc,
                    &path_key,
                    &required(&self.path, "path")?,
                    settings::socket_path,
                )?,
            },
            "stdout" => OutputSpec::Stdout,
            "redis" => OutputSpec::Redis(self.redis(doc, at, &required(&self.url, "url")?)?),
            _ => OutputSpec::Webhook(self.webhook(doc, at, &required(&self.url, "url")?)?),
        })
    }

    /// Refuses an unknown `type`, and any key that `type` does not take.
    fn only_keys_of(&self, doc: &Doc<'_>, at: &str, kind: &str) -> Result<(), ConfigError> {
        let Some((_, allowed)) = OUTPUT_TYPES.iter().find(|(t, _)| *t == kind) else {
            return Err(doc.error(
                self.kind.span(),
                &format!("{at}.type"),
                format!("unknown output type {kind:?}; use \"file\", \"stdout\", \"unix-socket\", \"webhook\" or \"redis\""),
            ));
        };
        let given: [(&str, Option<Range<usize>>); 13] = [
            ("path", self.path.as_ref().map(Spanned::span)),
            ("url", self.url.as_ref().map(Spanned::span)),
            ("queue", self.queue.as_ref().map(Spanned::span)),
            ("timeout", self.timeout.as_ref().map(Spanned::span)),
            (
                "max_attempts",
                self.max_attempts.as_ref().map(Spanned::span),
            ),
            ("backoff", self.backoff.as_ref().map(Spanned::span)),
            ("max_backoff", self.max_backoff.as_ref().map(Spanned::span)),
            ("mode", self.mode.as_ref().map(Spanned::span)),
            ("key", self.key.as_ref().map(Spanned::span)),
            (
                "stream_maxlen",
                self.stream_maxlen.as_ref().map(Spanned::span),
            ),
            (
                "stream_trim_exact",
                self.stream_trim_exact.as_ref().map(Spanned::span),
            ),
            ("batch_size", self.batch_size.as_ref().map(Spanned::span)),
            ("ca_file", self.ca_file.as_ref().map(Spanned::span)),
        ];
        for (name, span) in given {
            let Some(span) = span else { continue };
            if !allowed.contains(&name) {
                let takes = if allowed.is_empty() {
                    "no other key".to_string()
                } else {
                    allowed.join(", ")
                };
                return Err(doc.error(
                    span,
                    &format!("{at}.{name}"),
                    format!("a {kind:?} output has no `{name}` (it takes {takes})"),
                ));
            }
        }
        Ok(())
    }

    /// A Redis output: its URL, and its mode, key, trimming and batching over the defaults.
    fn redis(
        &self,
        doc: &Doc<'_>,
        at: &str,
        url: &Spanned<String>,
    ) -> Result<RedisSpec, ConfigError> {
        let key = |name: &str| format!("{at}.{name}");
        let mut r = RedisSpec::new(checked(doc, &key("url"), url, settings::redis_url)?);
        if let Some(v) = &self.mode {
            r.mode = checked(doc, &key("mode"), v, settings::redis_mode)?;
        }
        if let Some(v) = &self.key {
            r.key = checked(doc, &key("key"), v, settings::redis_key)?;
        }
        if let Some(v) = &self.stream_maxlen {
            r.stream_maxlen =
                checked(doc, &key("stream_maxlen"), v, settings::redis_stream_maxlen)?;
        }
        if let Some(v) = &self.stream_trim_exact {
            r.stream_trim_exact = *v.get_ref();
        }
        if let Some(v) = &self.batch_size {
            r.batch_size = checked(doc, &key("batch_size"), v, settings::redis_batch_size)?;
        }
        if let Some(v) = &self.queue {
            r.queue = checked(doc, &key("queue"), v, |t| {
                count_in(t, 1, 1 << 20, "use 1 to 1048576")
            })?;
        }
        if let Some(v) = &self.ca_file {
            r.ca_file = Some(absolute(doc, &key("ca_file"), v, settings::file_path)?);
            settings::redis_ca_file_applies(url.get_ref())
                .map_err(|reason| doc.error(v.span(), &key("ca_file"), reason))?;
        }
        Ok(r)
    }

    /// A webhook output: its URL, and its queue and retry settings over the defaults.
    fn webhook(
        &self,
        doc: &Doc<'_>,
        at: &str,
        url: &Spanned<String>,
    ) -> Result<WebhookSpec, ConfigError> {
        let key = |name: &str| format!("{at}.{name}");
        let mut w = WebhookSpec::new(checked(doc, &key("url"), url, settings::webhook_url)?);
        if let Some(v) = &self.queue {
            w.queue = checked(doc, &key("queue"), v, |t| {
                count_in(t, 1, 1 << 20, "use 1 to 1048576")
            })?;
        }
        if let Some(v) = &self.max_attempts {
            w.max_attempts = checked(doc, &key("max_attempts"), v, |t| {
                count_in(t, 1, 1000, "use 1 to 1000")
            })?;
        }
        let positive = |t: &str| duration(t, Zero::Refused);
        if let Some(v) = &self.timeout {
            w.timeout = checked(doc, &key("timeout"), v, positive)?;
        }
        if let Some(v) = &self.backoff {
            w.backoff = checked(doc, &key("backoff"), v, positive)?;
        }
        if let Some(v) = &self.max_backoff {
            w.max_backoff = checked(doc, &key("max_backoff"), v, positive)?;
        }
        if w.max_backoff < w.backoff {
            let span = self
                .max_backoff
                .as_ref()
                .or(self.backoff.as_ref())
                .map_or_else(|| url.span(), Spanned::span);
            return Err(doc.error(
                span,
                &key("max_backoff"),
                format!(
                    "max_backoff ({:?}) is shorter than backoff ({:?})",
                    w.max_backoff, w.backoff
                ),
            ));
        }
        Ok(w)
    }
}
