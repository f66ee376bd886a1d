//! The sensor's name in every EVE record: Suricata's `sensor-name` setting, which adds
//! `"host": "<name>"` as the last field of each record of every event type (Suricata's
//! `OutputJsonBuilderBuffer` in `src/output-json.c` sets it just before it closes the record).
//!
//! [`SensorName`] is the checked name; [`HostField`] is the sink in front of the writer that
//! appends the field. Unset, the sink hands each line on untouched: outputs stay byte-identical
//! and the cost is one branch per line. Set, the field (escaped once, when the sink is made) is
//! appended to a copy of the line in a buffer the sink reuses.

use crate::eve::event::StatsRecord;
use crate::eve::EventSink;
use proto::Timestamp;
use serde_json::Value;
use std::fmt;

/// Longest name accepted, in bytes (a host name is at most 253; this leaves room for a label).
pub const MAX_SENSOR_NAME: usize = 255;

/// A sensor name: not empty, at most [`MAX_SENSOR_NAME`] bytes, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SensorName(String);

impl SensorName {
    /// Checks `text`; the refusal says what is wrong with it.
    pub fn new(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the name is empty".into());
        }
        if text.len() > MAX_SENSOR_NAME {
            return Err(format!(
                "the name is {} bytes long; at most {MAX_SENSOR_NAME}",
                text.len()
            ));
        }
        if let Some(c) = text.chars().find(|c| c.is_control()) {
            return Err(format!(
                "the name holds a control character ({:?}); use letters, digits, '-', '.' or '_'",
                c
            ));
        }
        Ok(SensorName(text.to_string()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SensorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A sink that appends `"host": "<name>"` to every line before handing it to `inner`.
pub(crate) struct HostField<S> {
    inner: S,
    /// `,"host":"<name>"}`, escaped; `None`: lines pass untouched.
    suffix: Option<Box<[u8]>>,
    /// The line with the field, reused.
    buf: Vec<u8>,
}

impl<S: EventSink> HostField<S> {
    /// `inner` behind the field of `name`; with `None`, a pass-through.
    pub(crate) fn new(inner: S, name: Option<&SensorName>) -> Self {
        let suffix = name.map(|n| {
            let mut s = b",\"host\":".to_vec();
            proto::json::string(&mut s, n.as_str());
            s.push(b'}');
            s.into_boxed_slice()
        });
        HostField {
            inner,
            suffix,
            buf: Vec::new(),
        }
    }

    /// The sink behind, mutably.
    pub(crate) fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The sink behind, given back.
    pub(crate) fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: EventSink> EventSink for HostField<S> {
    fn line(&mut self, json: &[u8], is_alert: bool) {
        let Some(suffix) = &self.suffix else {
            return self.inner.line(json, is_alert);
        };
        // Every line is an object (`{...}`); one that is not is passed on as it is.
        match json.strip_suffix(b"}") {
            Some(body) if json.first() == Some(&b'{') => {
                self.buf.clear();
                self.buf.extend_from_slice(body);
                // `{}` has no field to follow: no comma.
                let suffix = if body.len() == 1 {
                    &suffix[1..]
                } else {
                    suffix
                };
                self.buf.extend_from_slice(suffix);
                self.inner.line(&self.buf, is_alert);
            }
            _ => self.inner.line(json, is_alert),
        }
    }

    /// Serialised here when the field is set (the record's last field must be `host`, after
    /// `stats`), else handed on.
    fn emit_stats(&mut self, ts: Timestamp, stats: Value) {
        if self.suffix.is_none() {
            return self.inner.emit_stats(ts, stats);
        }
        // Serialising a `Value` into memory cannot fail; were it to, the record is skipped.
        if let Ok(json) = StatsRecord::to_json(ts, stats) {
            self.line(&json, false);
        }
    }

    fn flush(&mut self) {
        self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Lines(Vec<(String, bool)>);

    impl EventSink for Lines {
        fn line(&mut self, json: &[u8], is_alert: bool) {
            self.0
                .push((String::from_utf8(json.to_vec()).unwrap(), is_alert));
        }
        fn emit_stats(&mut self, ts: Timestamp, stats: Value) {
            let json = StatsRecord::to_json(ts, stats).unwrap();
            self.line(&json, false);
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(SensorName::new("runner-17.ci.example").is_ok());
        assert!(SensorName::new("Läufer 3").is_ok());
        assert_eq!(SensorName::new("").unwrap_err(), "the name is empty");
        assert!(SensorName::new("a\nb").unwrap_err().contains("control"));
        assert!(SensorName::new("a\u{7f}b").unwrap_err().contains("control"));
        assert!(SensorName::new(&"x".repeat(256))
            .unwrap_err()
            .contains("at most 255"));
        assert!(SensorName::new(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn unset_passes_lines_untouched() {
        let mut sink = HostField::new(Lines::default(), None);
        sink.line(br#"{"event_type":"alert"}"#, true);
        let ts = Timestamp::from_parts(1_774_958_400, 0, 1_000_000);
        sink.emit_stats(ts, serde_json::json!({"uptime": 1}));
        let lines = sink.into_inner().0;
        assert_eq!(lines[0], (r#"{"event_type":"alert"}"#.to_string(), true));
        assert_eq!(
            lines[1].0,
            r#"{"timestamp":"2026-03-31T12:00:00.000000+0000","event_type":"stats","stats":{"uptime":1}}"#
        );
    }

    #[test]
    fn set_appends_host_last_escaped() {
        let name = SensorName::new("ci \"east\" \\ 1").unwrap();
        let mut sink = HostField::new(Lines::default(), Some(&name));
        sink.line(br#"{"event_type":"flow","flow":{"age":0}}"#, false);
        sink.line(br#"{"event_type":"alert"}"#, true);
        sink.line(b"{}", false);
        let ts = Timestamp::from_parts(1_774_958_400, 0, 1_000_000);
        sink.emit_stats(ts, serde_json::json!({"uptime": 1}));
        let lines = sink.into_inner().0;
        let host = r#""host":"ci \"east\" \\ 1""#;
        assert_eq!(
            lines[0].0,
            format!(r#"{{"event_type":"flow","flow":{{"age":0}},{host}}}"#)
        );
        assert_eq!(
            lines[1],
            (format!(r#"{{"event_type":"alert",{host}}}"#), true)
        );
        assert_eq!(lines[2].0, format!("{{{host}}}"));
        assert!(lines[3]
            .0
            .ends_with(&format!(r#""stats":{{"uptime":1}},{host}}}"#)));
        for (line, _) in &lines {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["host"], "ci \"east\" \\ 1");
            // `host` is the last key, as Suricata writes it.
            assert_eq!(v.as_object().unwrap().keys().next_back().unwrap(), "host");
        }
    }
}
