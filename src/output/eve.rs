//! Suricata EVE JSON: one object per line, Suricata's field names and shapes. An [`Event`] holds
//! what every event type shares (time, flow, endpoints) and its type-specific objects; the
//! [`EveWriter`] serialises events to a file or stdout.

use crate::capture::Timestamp;
use crate::detect::Hit;
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{self, Write};
use std::net::IpAddr;

/// Formats packet time as Suricata does: `2026-03-31T12:00:00.123456+0000` (UTC).
pub fn format_timestamp(ts: Timestamp) -> String {
    let dt = time::OffsetDateTime::from_unix_timestamp(ts.secs())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+0000",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        ts.subsec_micros()
    )
}

/// Formats an address as Suricata does (IPv6 fully expanded, e.g. `2001:0db8:0000:...`).
pub fn format_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!(
                "{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}",
                s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
            )
        }
    }
}

/// One EVE record.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    #[serde(serialize_with = "ser_ts")]
    pub timestamp: Timestamp,
    pub flow_id: u64,
    /// Position of the packet that produced the event in its capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcap_cnt: Option<u64>,
    pub event_type: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vlan: Vec<u16>,
    #[serde(serialize_with = "ser_ip")]
    pub src_ip: IpAddr,
    pub src_port: u16,
    #[serde(serialize_with = "ser_ip")]
    pub dest_ip: IpAddr,
    pub dest_port: u16,
    pub proto: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<&'static str>,
    /// The flow's first protocol when it changed (a CONNECT tunnel: `http`, then `tls`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_proto_orig: Option<&'static str>,
    /// Type-specific objects (`alert`, `tls`, `dns`, `http`, `flow`), in insertion order.
    #[serde(flatten)]
    pub objects: Map<String, Value>,
}

fn ser_ts<S: serde::Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_timestamp(*ts))
}

fn ser_ip<S: serde::Serializer>(ip: &IpAddr, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_ip(*ip))
}

impl Event {
    /// Adds a type-specific object under `key`.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.objects.insert(key.to_owned(), value);
        self
    }

    /// The `alert` object Suricata writes for `hit`.
    pub fn alert_object(hit: &Hit) -> Value {
        serde_json::json!({
            "action": "allowed",
            "gid": 1,
            "signature_id": hit.detection.signature_id(),
            "rev": 1,
            "signature": hit.signature(),
            "category": hit.detection.category(),
            "severity": hit.detection.severity(),
            "metadata": {
                "detection": [hit.detection.name()],
                "indicator": [hit.indicator],
            },
        })
    }
}

/// Where EVE lines go.
pub trait EventSink {
    /// One serialised event (JSON without the newline); alerts are to be delivered at once.
    fn line(&mut self, json: &[u8], is_alert: bool);
    /// A `stats` event at packet time `ts`.
    fn emit_stats(&mut self, ts: Timestamp, stats: Value);
}

/// Writes events as JSON lines.
pub struct EveWriter {
    out: Box<dyn Write + Send>,
    /// The first write error, kept so the caller can report it (events after it are lost).
    pub error: Option<io::Error>,
    pub written: u64,
}

impl EveWriter {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        EveWriter {
            out,
            error: None,
            written: 0,
        }
    }

    /// Flushes buffered lines; returns the first error seen.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

/// A `stats` record: no flow, just the counters.
#[derive(Serialize)]
struct StatsRecord {
    #[serde(serialize_with = "ser_ts")]
    timestamp: Timestamp,
    event_type: &'static str,
    stats: Value,
}

impl EveWriter {
    fn write_bytes(&mut self, json: &[u8], flush: bool) {
        if self.error.is_some() {
            return;
        }
        let result = self
            .out
            .write_all(json)
            .and_then(|_| self.out.write_all(b"\n"))
            .and_then(|_| if flush { self.out.flush() } else { Ok(()) });
        match result {
            Ok(()) => self.written += 1,
            Err(e) => self.error = Some(e),
        }
    }
}

impl EventSink for EveWriter {
    fn emit_stats(&mut self, timestamp: Timestamp, stats: Value) {
        let record = StatsRecord {
            timestamp,
            event_type: "stats",
            stats,
        };
        match serde_json::to_vec(&record) {
            Ok(json) => self.write_bytes(&json, false),
            Err(e) => self.error = Some(e.into()),
        }
    }

    /// An alert is flushed at once: it reaches the file or pipe within the packet that raised
    /// it, and an interrupted run never loses it in a buffer.
    fn line(&mut self, json: &[u8], is_alert: bool) {
        self.write_bytes(json, is_alert);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_addresses_look_like_suricata() {
        let ts = Timestamp::from_parts(1_774_958_400, 123_456, 1_000_000);
        assert_eq!(format_timestamp(ts), "2026-03-31T12:00:00.123456+0000");
        assert_eq!(
            format_ip("2001:db8::1".parse().unwrap()),
            "2001:0db8:0000:0000:0000:0000:0000:0001"
        );
        assert_eq!(format_ip("10.0.0.1".parse().unwrap()), "10.0.0.1");
    }
}
