//! The `[[output]]` tables: each one's type and the keys that type takes, its paths, URL and
//! webhook delivery settings, and no output given twice.

use super::check::{absolute, checked};
use super::errors::{ConfigError, Doc};
use super::raw::RawOutput;
use crate::output::targets::{OutputSpec, WebhookSpec};
use crate::settings::{self, count_in, duration, Zero};
use std::ops::Range;
use toml::Spanned;

/// The output types, as `type` takes them, with the keys each one takes besides `type`.
const OUTPUT_TYPES: [(&str, &[&str]); 4] = [
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
            _ => OutputSpec::Webhook(self.webhook(doc, at, &required(&self.url, "url")?)?),
        })
    }

    /// Refuses an unknown `type`, and any key that `type` does not take.
    fn only_keys_of(&self, doc: &Doc<'_>, at: &str, kind: &str) -> Result<(), ConfigError> {
        let Some((_, allowed)) = OUTPUT_TYPES.iter().find(|(t, _)| *t == kind) else {
            return Err(doc.error(
                self.kind.span(),
                &format!("{at}.type"),
                format!("unknown output type {kind:?}; use \"file\", \"stdout\", \"unix-socket\" or \"webhook\""),
            ));
        };
        let given: [(&str, Option<Range<usize>>); 7] = [
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
