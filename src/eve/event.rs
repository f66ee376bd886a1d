//! Suricata EVE JSON: one object per line, Suricata's field names and shapes. An [`Event`] holds
//! what every event type shares (time, flow, endpoints) and its type-specific objects; the
//! [`StatsRecord`] is the `stats` event, which has no flow.

use super::types::EventType;
use crate::detect::rules::compile::Rule;
use crate::detect::Hit;
use crate::flow::{EndReason, TcpPhase};
use proto::decode::{Tunnel, Vlans};
use proto::text::{JsonText, SuricataIp};
use proto::Timestamp;
use serde::Serialize;
use serde_json::Value;
use std::net::IpAddr;

/// One EVE record.
#[derive(Debug, Clone)]
pub struct Event {
    pub timestamp: Timestamp,
    pub flow_id: u64,
    /// Position of the packet that produced the event in its capture.
    pub pcap_cnt: Option<u64>,
    pub event_type: EventType,
    pub vlans: Vlans,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dest_ip: IpAddr,
    pub dest_port: u16,
    pub proto: &'static str,
    pub direction: Option<&'static str>,
    pub app_proto: Option<&'static str>,
    /// The flow's first protocol when it changed (a CONNECT tunnel: `http`, then `tls`).
    pub app_proto_orig: Option<&'static str>,
    /// Type-specific objects (`alert`, `tls`, `dns`, `http`, `flow`), in order.
    pub objects: Vec<(EventType, Object)>,
    /// The tunnel the flow came through: an alert then carries Suricata's `tunnel` object
    /// right after its `alert` object.
    pub tunnel: Tunnel,
}

/// A type-specific object of an event: the common ones typed, the rest as JSON values.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Object {
    Json(Value),
    /// Already serialised (the `dns` object is written straight to JSON).
    Raw(Box<serde_json::value::RawValue>),
    Alert(AlertObject),
    Flow(FlowObject),
}

/// The `alert` object.
#[derive(Debug, Clone, Serialize)]
pub struct AlertObject {
    pub(crate) action: &'static str,
    pub(crate) gid: u32,
    pub(crate) signature_id: u64,
    pub(crate) rev: u32,
    pub(crate) signature: String,
    pub(crate) category: &'static str,
    pub(crate) severity: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) metadata: Option<AlertMetadata>,
}

/// `alert.metadata`: which built-in detection fired and on what, or a rule's own metadata.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum AlertMetadata {
    Detection {
        detection: [&'static str; 1],
        indicator: [String; 1],
    },
    /// A rule's `metadata`, as Suricata logs it (`{key: [values]}`).
    Rule(Box<serde_json::value::RawValue>),
}

/// The `flow` object of a finished flow.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FlowObject {
    pub(crate) pkts_toserver: u64,
    pub(crate) pkts_toclient: u64,
    pub(crate) bytes_toserver: u64,
    pub(crate) bytes_toclient: u64,
    #[serde(serialize_with = "ser_ts")]
    pub(crate) start: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub(crate) end: Timestamp,
    pub(crate) age: u64,
    #[serde(serialize_with = "ser_state")]
    pub(crate) state: TcpPhase,
    #[serde(serialize_with = "ser_reason")]
    pub(crate) reason: EndReason,
    /// Whether any alert was raised on the flow (set by the merge stage, which writes the
    /// flow's `direct-ip` alert).
    pub(crate) alerted: bool,
}

fn ser_state<S: serde::Serializer>(state: &TcpPhase, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.eve_name())
}

fn ser_reason<S: serde::Serializer>(reason: &EndReason, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(reason.eve_name())
}

/// Packet time as Suricata writes it, formatted straight into the output.
struct TsDisplay(Timestamp);

thread_local! {
    /// The formatted date and time of the last whole second seen: events come in bursts within a
    /// second, and the calendar conversion costs more than the rest of the timestamp.
    static LAST_SECOND: std::cell::RefCell<(i64, String)> =
        const { std::cell::RefCell::new((i64::MIN, String::new())) };
}

impl std::fmt::Display for TsDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.secs();
        LAST_SECOND.with_borrow_mut(|(cached, text)| {
            if *cached != secs {
                let dt = time::OffsetDateTime::from_unix_timestamp(secs)
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                text.clear();
                use std::fmt::Write as _;
                let _ = write!(
                    text,
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                    dt.year(),
                    u8::from(dt.month()),
                    dt.day(),
                    dt.hour(),
                    dt.minute(),
                    dt.second()
                );
                *cached = secs;
            }
            write!(f, "{text}.{:06}+0000", self.0.subsec_micros())
        })
    }
}

/// An EVE `timestamp` (`2026-11-29T20:40:19.153000+0000`, as [`TsDisplay`] writes it) read back
/// as wall-clock time; `None` for any other form.
pub fn parse_timestamp(text: &str) -> Option<std::time::SystemTime> {
    let date = text.get(..10)?;
    let mut d = date.split('-').map(|p| p.parse::<i32>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    let date = time::Date::from_calendar_date(y, month, u8::try_from(day).ok()?).ok()?;
    let clock = text.get(11..26)?;
    let (h, rest) = clock.split_once(':')?;
    let (min, rest) = rest.split_once(':')?;
    let (s, micros) = rest.split_once('.')?;
    let t = time::Time::from_hms_micro(
        h.parse().ok()?,
        min.parse().ok()?,
        s.parse().ok()?,
        micros.parse().ok()?,
    )
    .ok()?;
    let since =
        time::PrimitiveDateTime::new(date, t).assume_utc() - time::OffsetDateTime::UNIX_EPOCH;
    let since: std::time::Duration = since.try_into().ok()?;
    Some(std::time::SystemTime::UNIX_EPOCH + since)
}

fn ser_ts<S: serde::Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&TsDisplay(*ts))
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("timestamp", &JsonText(TsDisplay(self.timestamp)))?;
        m.serialize_entry("flow_id", &self.flow_id)?;
        if let Some(n) = self.pcap_cnt {
            m.serialize_entry("pcap_cnt", &n)?;
        }
        m.serialize_entry("event_type", &self.event_type)?;
        if !self.vlans.is_empty() {
            m.serialize_entry("vlan", &self.vlans)?;
        }
        m.serialize_entry("src_ip", &JsonText(SuricataIp(self.src_ip)))?;
        m.serialize_entry("src_port", &self.src_port)?;
        m.serialize_entry("dest_ip", &JsonText(SuricataIp(self.dest_ip)))?;
        m.serialize_entry("dest_port", &self.dest_port)?;
        m.serialize_entry("proto", self.proto)?;
        for (key, value) in [
            ("direction", self.direction),
            ("app_proto", self.app_proto),
            ("app_proto_orig", self.app_proto_orig),
        ] {
            if let Some(v) = value {
                m.serialize_entry(key, v)?;
            }
        }
        for (kind, object) in &self.objects {
            m.serialize_entry(kind.name(), object)?;
            if *kind == EventType::Alert && self.tunnel.is_some() {
                m.serialize_entry("tunnel", &TunnelObject(&self.tunnel, self.pcap_cnt))?;
            }
        }
        m.end()
    }
}

/// Suricata's `tunnel` object of an alert (`AlertJsonTunnel` in Suricata 7's
/// src/output-json-alert.c): the outermost packet's endpoints, ports and protocol, the
/// tunnel depth (`recursion_level`), the capture position and the packet source. Suricata
/// writes no VNI or key there; egress-ids keeps it in the flow key only.
struct TunnelObject<'a>(&'a Tunnel, Option<u64>);

impl Serialize for TunnelObject<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("src_ip", &JsonText(SuricataIp(t.src)))?;
        m.serialize_entry("src_port", &t.src_port)?;
        m.serialize_entry("dest_ip", &JsonText(SuricataIp(t.dst)))?;
        m.serialize_entry("dest_port", &t.dst_port)?;
        m.serialize_entry("proto", t.eve_proto())?;
        m.serialize_entry("depth", &t.depth)?;
        if let Some(n) = self.1 {
            m.serialize_entry("pcap_cnt", &n)?;
        }
        m.serialize_entry("pkt_src", "wire/pcap")?;
        m.end()
    }
}

impl Event {
    /// The `alert` object Suricata writes for `hit`.
    pub fn alert_object(hit: &Hit) -> Object {
        Object::Alert(AlertObject {
            action: "allowed",
            gid: 1,
            signature_id: hit.detection.signature_id(),
            rev: 1,
            signature: hit.signature(),
            category: hit.detection.category(),
            severity: hit.detection.severity(),
            metadata: Some(AlertMetadata::Detection {
                detection: [hit.detection.name()],
                indicator: [hit.indicator.clone()],
            }),
        })
    }

    /// The `alert` object Suricata writes for a match of `rule`.
    pub(crate) fn rule_alert_object(rule: &Rule) -> Object {
        Object::Alert(AlertObject {
            action: "allowed",
            gid: rule.gid,
            signature_id: rule.sid.into(),
            rev: rule.rev,
            signature: rule.msg.clone(),
            category: rule.category,
            severity: rule.severity,
            metadata: rule.metadata.clone().map(AlertMetadata::Rule),
        })
    }
}

/// A `stats` record: no flow, just the counters.
#[derive(Serialize)]
pub(crate) struct StatsRecord {
    #[serde(serialize_with = "ser_ts")]
    timestamp: Timestamp,
    event_type: EventType,
    stats: Value,
}

impl StatsRecord {
    /// The serialised `stats` event at packet time `timestamp` (JSON without the newline).
    pub(crate) fn to_json(timestamp: Timestamp, stats: Value) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(&StatsRecord {
            timestamp,
            event_type: EventType::Stats,
            stats,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_look_like_suricata() {
        let ts = Timestamp::from_parts(1_774_958_400, 123_456, 1_000_000);
        let format_timestamp = |ts| TsDisplay(ts).to_string();
        assert_eq!(format_timestamp(ts), "2026-03-31T12:00:00.123456+0000");
        // The per-second cache follows the clock both ways.
        assert_eq!(
            format_timestamp(ts.plus_secs(86_400)),
            "2026-04-01T12:00:00.123456+0000"
        );
        assert_eq!(
            format_timestamp(Timestamp(ts.0 + 7_000)),
            "2026-03-31T12:00:00.123463+0000"
        );
        // Addresses: proto::text::SuricataIp, tested there.
    }

    #[test]
    fn timestamps_read_back() {
        let ts = Timestamp::from_parts(1_774_958_400, 123_456, 1_000_000);
        let t = parse_timestamp(&TsDisplay(ts).to_string()).unwrap();
        let since = t.duration_since(std::time::UNIX_EPOCH).unwrap();
        assert_eq!(
            (since.as_secs(), since.subsec_micros()),
            (1_774_958_400, 123_456)
        );
        assert!(parse_timestamp("not a time").is_none());
    }
}
