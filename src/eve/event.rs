//! Suricata EVE JSON: one object per line, Suricata's field names and shapes. An [`Event`] holds
//! what every event type shares (time, flow, endpoints) and its type-specific objects; the
//! [`StatsRecord`] is the `stats` event, which has no flow.

use super::types::EventType;
use crate::detect::rules::compile::Rule;
use crate::detect::Hit;
use crate::flow::{EndReason, TcpPhase};
use proto::decode::{Tunnel, Vlans};
use proto::json::{self, RawJson};
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
#[derive(Debug, Clone)]
pub enum Object {
    Json(Value),
    /// Already serialised (`dns`, `tls`, `quic`: written straight to JSON by their parsers).
    Raw(RawJson),
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

impl AlertObject {
    /// The `alert` object of a built-in detection's `hit`, with `metadata`.
    fn of_hit(hit: &Hit, metadata: AlertMetadata) -> Self {
        AlertObject {
            action: "allowed",
            gid: 1,
            signature_id: hit.detection.signature_id(),
            rev: 1,
            signature: hit.signature(),
            category: hit.detection.category(),
            severity: hit.detection.severity(),
            metadata: Some(metadata),
        }
    }
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
    /// A detection on a file, not on traffic (`phantom-dependency` from a lockfile): which file,
    /// and the CI job that read it when the environment names one.
    File {
        detection: [&'static str; 1],
        indicator: [String; 1],
        lockfile: [String; 1],
        #[serde(skip_serializing_if = "Option::is_none")]
        ci_repository: Option<[String; 1]>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ci_pipeline: Option<[String; 1]>,
    },
}

/// The `flow` object of a finished flow.
#[derive(Debug, Clone, Copy)]
pub struct FlowObject {
    pub(crate) pkts_toserver: u64,
    pub(crate) pkts_toclient: u64,
    pub(crate) bytes_toserver: u64,
    pub(crate) bytes_toclient: u64,
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    pub(crate) age: u64,
    pub(crate) state: TcpPhase,
    pub(crate) reason: EndReason,
    /// Whether any alert was raised on the flow (set by the merge stage, which writes the
    /// flow's `direct-ip` alert).
    pub(crate) alerted: bool,
}

impl FlowObject {
    /// Appends the object (JSON).
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        json::field_int(out, "pkts_toserver", self.pkts_toserver);
        json::field_int(out, "pkts_toclient", self.pkts_toclient);
        json::field_int(out, "bytes_toserver", self.bytes_toserver);
        json::field_int(out, "bytes_toclient", self.bytes_toclient);
        json::key(out, "start");
        write_timestamp(out, self.start);
        json::key(out, "end");
        write_timestamp(out, self.end);
        json::field_int(out, "age", self.age);
        json::field_str(out, "state", self.state.eve_name());
        json::field_str(out, "reason", self.reason.eve_name());
        json::field_bool(out, "alerted", self.alerted);
        out.push(b'}');
    }
}

/// Packet time as Suricata writes it (`2026-11-29T20:40:19.153000+0000`).
struct TsDisplay(Timestamp);

thread_local! {
    /// The formatted date and time of the last whole second seen: events come in bursts within a
    /// second, and the calendar conversion costs more than the rest of the timestamp.
    static LAST_SECOND: std::cell::RefCell<(i64, String)> =
        const { std::cell::RefCell::new((i64::MIN, String::new())) };
}

/// Calls `f` with the date and time of second `secs` (`2026-11-29T20:40:19`), cached.
fn with_second<R>(secs: i64, f: impl FnOnce(&str) -> R) -> R {
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
        f(text)
    })
}

/// Appends `ts` as a JSON string in Suricata's form, without `core::fmt`.
pub(crate) fn write_timestamp(out: &mut Vec<u8>, ts: Timestamp) {
    out.push(b'"');
    with_second(ts.secs(), |text| out.extend_from_slice(text.as_bytes()));
    let mut micros = ts.subsec_micros();
    let mut digits = *b".000000+0000\"";
    for d in digits[1..7].iter_mut().rev() {
        *d = b'0' + (micros % 10) as u8;
        micros /= 10;
    }
    out.extend_from_slice(&digits);
}

impl std::fmt::Display for TsDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        with_second(self.0.secs(), |text| {
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

impl Event {
    /// Appends the event as one line of JSON (no newline), Suricata's keys in Suricata's order.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write_json_with(out, &[]);
    }

    /// [`Event::write_json`] with `more` objects after the event's own: an event built for one line carries its objects
    /// without a vector of its own, and an alert its flow's app-layer object without a copy.
    pub(crate) fn write_json_with(&self, out: &mut Vec<u8>, more: &[(EventType, &Object)]) {
        self.write_head(out);
        let own = self.objects.iter().map(|(kind, object)| (kind, object));
        for (kind, object) in own.chain(more.iter().map(|(kind, object)| (kind, *object))) {
            json::key(out, kind.name());
            object.write_json(out);
            if *kind == EventType::Alert && self.tunnel.is_some() {
                json::key(out, "tunnel");
                write_tunnel(out, &self.tunnel, self.pcap_cnt);
            }
        }
        out.push(b'}');
    }

    /// [`Event::write_json`] with one more object, `kind`, that `object` writes straight into
    /// the line: an app-layer object nothing else needs is never kept on its own.
    pub(crate) fn write_json_then(
        &self,
        out: &mut Vec<u8>,
        kind: EventType,
        object: impl FnOnce(&mut Vec<u8>),
    ) {
        debug_assert!(self.objects.is_empty() && kind != EventType::Alert);
        self.write_head(out);
        json::key(out, kind.name());
        object(out);
        out.push(b'}');
    }

    /// The opening brace and the fields every event type shares.
    fn write_head(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        json::key(out, "timestamp");
        write_timestamp(out, self.timestamp);
        json::field_int(out, "flow_id", self.flow_id);
        if let Some(n) = self.pcap_cnt {
            json::field_int(out, "pcap_cnt", n);
        }
        json::field_str(out, "event_type", self.event_type.name());
        if !self.vlans.is_empty() {
            json::key(out, "vlan");
            json::serde(out, &self.vlans);
        }
        json::key(out, "src_ip");
        json::ip(out, self.src_ip);
        json::field_int(out, "src_port", self.src_port);
        json::key(out, "dest_ip");
        json::ip(out, self.dest_ip);
        json::field_int(out, "dest_port", self.dest_port);
        json::field_str(out, "proto", self.proto);
        for (key, value) in [
            ("direction", self.direction),
            ("app_proto", self.app_proto),
            ("app_proto_orig", self.app_proto_orig),
        ] {
            if let Some(v) = value {
                json::field_str(out, key, v);
            }
        }
    }
}

impl Object {
    /// Appends the object (JSON).
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Object::Json(v) => json::serde(out, v),
            Object::Raw(raw) => out.extend_from_slice(raw.as_bytes()),
            Object::Alert(alert) => json::serde(out, alert),
            Object::Flow(flow) => flow.write_json(out),
        }
    }
}

/// Appends Suricata's `tunnel` object of an alert (`AlertJsonTunnel` in Suricata 7's
/// src/output-json-alert.c): the outermost packet's endpoints, ports and protocol, the
/// tunnel depth (`recursion_level`), the capture position `pcap_cnt` and the packet source.
/// Suricata writes no VNI or key there; egress-ids keeps it in the flow key only.
fn write_tunnel(out: &mut Vec<u8>, t: &Tunnel, pcap_cnt: Option<u64>) {
    out.push(b'{');
    json::key(out, "src_ip");
    json::ip(out, t.src);
    json::field_int(out, "src_port", t.src_port);
    json::key(out, "dest_ip");
    json::ip(out, t.dst);
    json::field_int(out, "dest_port", t.dst_port);
    json::field_str(out, "proto", t.eve_proto());
    json::field_int(out, "depth", t.depth);
    if let Some(n) = pcap_cnt {
        json::field_int(out, "pcap_cnt", n);
    }
    json::field_str(out, "pkt_src", "wire/pcap");
    out.push(b'}');
}

impl Event {
    /// The `alert` object Suricata writes for `hit`.
    pub fn alert_object(hit: &Hit) -> Object {
        Object::Alert(AlertObject::of_hit(
            hit,
            AlertMetadata::Detection {
                detection: [hit.detection.name()],
                indicator: [hit.indicator.clone()],
            },
        ))
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

/// An alert with no flow (a lockfile names a package the inventory lacks): Suricata's schema
/// requires only `timestamp` and `event_type`, so there is no `flow_id` or endpoint.
#[derive(Serialize)]
pub(crate) struct FlowlessAlert {
    #[serde(serialize_with = "ser_ts")]
    timestamp: Timestamp,
    event_type: EventType,
    alert: AlertObject,
}

impl FlowlessAlert {
    /// The alert of `hit` found in file `lockfile` at wall-clock time `timestamp`, with the CI
    /// job's repository and pipeline when known; JSON without the newline.
    pub(crate) fn to_json(
        timestamp: Timestamp,
        hit: &Hit,
        lockfile: &str,
        ci_repository: Option<&str>,
        ci_pipeline: Option<&str>,
    ) -> Vec<u8> {
        let record = FlowlessAlert {
            timestamp,
            event_type: EventType::Alert,
            alert: AlertObject::of_hit(
                hit,
                AlertMetadata::File {
                    detection: [hit.detection.name()],
                    indicator: [hit.indicator.clone()],
                    lockfile: [lockfile.to_owned()],
                    ci_repository: ci_repository.map(|r| [r.to_owned()]),
                    ci_pipeline: ci_pipeline.map(|p| [p.to_owned()]),
                },
            ),
        };
        let mut out = Vec::new();
        json::serde(&mut out, &record);
        out
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
