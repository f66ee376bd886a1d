//! The EVE `process` object on a host: each alert and flow line is joined to the process the
//! host collector saw open its socket, by the exact 5-tuple (either way round) and the time of
//! the event, never by a port alone. Other lines pass untouched.
//!
//! Only this host's traffic is looked up: a line neither of whose addresses is on one of the
//! sensor's interfaces or was a socket's own address (any namespace) passes at once, so a SPAN
//! sensor loses nothing by having attribution on. A NATed connection (a container's, seen on the
//! uplink with the host's address) is traced back to its socket through the kernel's conntrack
//! table.

use crate::eve::{parse_timestamp, EventSink};
use crate::host::conntrack::{Direction, Table};
use crate::host::{Collector, OwnAddresses, Proto};
use proto::Timestamp;
use serde_json::Value;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// An [`EventSink`] that adds `process` to alerts and flows before handing them on.
pub struct Attributing<W> {
    pub inner: W,
    collector: Arc<Collector>,
    /// Alert and flow lines that got a `process`, those of this host no socket matched, and
    /// those of other hosts (not looked up).
    pub attributed: u64,
    pub unattributed: u64,
    pub not_this_host: u64,
    own: OwnAddresses,
    /// NATed tuples already traced back (the entry may be gone by the time the flow ends).
    untranslated: HashMap<(Proto, SocketAddr, SocketAddr), Direction>,
    conntrack: Table,
    /// `run`'s step: an ancestry that reaches it stops there (what started egress-ids, the CI
    /// agent with its command line, is not the step's). 0 until the step has started.
    ancestry_root: Arc<AtomicU32>,
    /// Waiting for the collector's drain, in the current second of wall time: bounded, so that
    /// alerts of traffic no local process made (a SPAN port) are not held back.
    waited: Duration,
    second: std::time::Instant,
}

/// Longest an alert waits for the collector's next drain, and the most waiting per second.
const ALERT_WAIT: Duration = Duration::from_millis(50);
const WAIT_PER_SECOND: Duration = Duration::from_millis(100);
/// Most NAT translations remembered.
const UNTRANSLATED_CAP: usize = 4096;

/// Ends `process.ancestry` at `root` (kept) when it is there; the process itself being `root`
/// leaves no ancestry.
fn cut_ancestry(process: &mut Value, root: u32) {
    if root == 0 {
        return;
    }
    if process["pid"] == root {
        process["ancestry"] = Value::Array(Vec::new());
        return;
    }
    if let Some(list) = process["ancestry"].as_array_mut() {
        if let Some(i) = list.iter().position(|a| a["pid"] == root) {
            list.truncate(i + 1);
        }
    }
}

/// A flow event's type field.
const FLOW: &[u8] = b"\"event_type\":\"flow\"";

/// The start of the two address fields in a line the EVE writer made.
const SRC_IP: &[u8] = b"\"src_ip\":\"";
const DEST_IP: &[u8] = b"\"dest_ip\":\"";

/// The address after `pattern` (`"key":"`) in a line, without parsing the line.
fn field_ip(json: &[u8], pattern: &[u8]) -> Option<IpAddr> {
    let at = json.windows(pattern.len()).position(|w| w == pattern)? + pattern.len();
    let rest = &json[at..];
    let end = rest.iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

impl<W> Attributing<W> {
    pub fn new(inner: W, collector: Arc<Collector>) -> Self {
        Attributing {
            inner,
            collector,
            attributed: 0,
            unattributed: 0,
            not_this_host: 0,
            own: OwnAddresses::new(),
            untranslated: HashMap::new(),
            // Opened now, while the sensor may still read it (before it gives up root).
            conntrack: Table::open(),
            ancestry_root: Arc::new(AtomicU32::new(0)),
            waited: Duration::ZERO,
            second: std::time::Instant::now(),
        }
    }
}

impl<W: EventSink> Attributing<W> {
    /// Whether one of `addrs` is this host's: on an interface here, or a socket's own address.
    fn any_ours(&mut self, addrs: &[IpAddr]) -> bool {
        addrs.iter().any(|&a| self.own.contains(a)) || self.collector.any_local(addrs)
    }

    /// The `process` of an alert or flow event, if a socket matches it.
    fn process_of(&mut self, v: &Value) -> Option<Value> {
        let proto = match v["proto"].as_str()? {
            "TCP" => Proto::Tcp,
            "UDP" => Proto::Udp,
            _ => return None,
        };
        let addr = |k: &str| v[k].as_str()?.parse::<IpAddr>().ok();
        let port = |k: &str| v[k].as_u64().and_then(|p| u16::try_from(p).ok());
        let src = (addr("src_ip")?, port("src_port")?);
        let dst = (addr("dest_ip")?, port("dest_port")?);
        // A flow's socket existed at its start; an alert's, at its own time.
        let when = v["flow"]["start"]
            .as_str()
            .or_else(|| v["timestamp"].as_str())
            .and_then(parse_timestamp)?;
        // The flow's client first (the source of an alert or flow event opened it), then the
        // client behind a NAT, and only then the server: on one host, a server in another
        // namespace (a resolver's unconnected socket) also had the tuple, the other way round.
        let found = self
            .collector
            .lookup(proto, src, dst, when)
            .or_else(|| self.untranslated_lookup(proto, src, dst, when))
            .or_else(|| self.collector.lookup(proto, dst, src, when))?;
        let mut process = found.to_eve();
        cut_ancestry(&mut process, self.ancestry_root.load(Ordering::Relaxed));
        Some(process)
    }

    /// The socket behind a NATed flow: its own tuple from the conntrack table.
    fn untranslated_lookup(
        &mut self,
        proto: Proto,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        when: SystemTime,
    ) -> Option<crate::host::Attribution> {
        let seen = (proto, SocketAddr::from(src), SocketAddr::from(dst));
        let original = match self.untranslated.get(&seen) {
            Some(d) => *d,
            None => {
                let d = self.conntrack.untranslate(proto, seen.1, seen.2)?;
                if self.untranslated.len() >= UNTRANSLATED_CAP {
                    self.untranslated.clear();
                }
                self.untranslated.insert(seen, d);
                d
            }
        };
        self.collector.lookup(
            proto,
            (original.src.ip(), original.src.port()),
            (original.dst.ip(), original.dst.port()),
            when,
        )
    }
}

impl<W: EventSink> EventSink for Attributing<W> {
    fn line(&mut self, json: &[u8], is_alert: bool) {
        let wanted = is_alert || json.windows(FLOW.len()).any(|w| w == FLOW);
        if !wanted {
            return self.inner.line(json, is_alert);
        }
        let pair;
        let addrs: &[IpAddr] = match (field_ip(json, SRC_IP), field_ip(json, DEST_IP)) {
            (Some(a), Some(b)) => {
                pair = [a, b];
                &pair
            }
            (Some(a), None) | (None, Some(a)) => {
                pair = [a, a];
                &pair[..1]
            }
            (None, None) => &[],
        };
        if !self.any_ours(addrs) {
            self.not_this_host += 1;
            return self.inner.line(json, is_alert);
        }
        let Ok(mut v) = serde_json::from_slice::<Value>(json) else {
            return self.inner.line(json, is_alert);
        };
        // A lookup applies what the kernel has queued, so a socket that existed when its packet
        // left is found at once. An unanswered SYN is queued only at its first retransmission:
        // an alert on one waits a little, within a budget per second of wall time.
        let mut found = self.process_of(&v);
        if self.second.elapsed() >= Duration::from_secs(1) {
            self.second = std::time::Instant::now();
            self.waited = Duration::ZERO;
        }
        let step = Duration::from_millis(10);
        let mut this_alert = Duration::ZERO;
        while is_alert
            && found.is_none()
            && this_alert < ALERT_WAIT
            && self.waited < WAIT_PER_SECOND
        {
            std::thread::sleep(step);
            this_alert += step;
            self.waited += step;
            found = self.process_of(&v);
        }
        match found {
            Some(process) => {
                self.attributed += 1;
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("process".into(), process);
                }
                let line = serde_json::to_vec(&v).unwrap_or_else(|_| json.to_vec());
                self.inner.line(&line, is_alert);
            }
            None => {
                self.unattributed += 1;
                self.inner.line(json, is_alert);
            }
        }
    }

    fn emit_stats(&mut self, ts: Timestamp, stats: Value) {
        self.inner.emit_stats(ts, stats);
    }

    fn flush(&mut self) {
        self.inner.flush();
    }
}

/// What the join did, for the sensor's last lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributionCounts {
    pub attributed: u64,
    pub unattributed: u64,
    pub not_this_host: u64,
}

impl std::fmt::Display for AttributionCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "process attribution: {} alert and flow events named their process, {} of this host's \
             matched no socket, {} of other hosts were not looked up",
            self.attributed, self.unattributed, self.not_this_host
        )
    }
}

/// A sink with the join when a collector runs, without it otherwise.
pub enum MaybeAttributing<W> {
    Plain(W),
    Joined(Box<Attributing<W>>),
}

impl<W> MaybeAttributing<W> {
    pub fn new(inner: W, collector: Option<Arc<Collector>>) -> Self {
        match collector {
            Some(c) => MaybeAttributing::Joined(Box::new(Attributing::new(inner, c))),
            None => MaybeAttributing::Plain(inner),
        }
    }

    /// Ancestries that reach the pid this holds (once it is set) end there: `run`'s step.
    pub fn ancestry_root(&self) -> Option<Arc<AtomicU32>> {
        match self {
            MaybeAttributing::Plain(_) => None,
            MaybeAttributing::Joined(a) => Some(a.ancestry_root.clone()),
        }
    }

    /// The join's counts, when there is a join.
    pub fn attribution(&self) -> Option<AttributionCounts> {
        match self {
            MaybeAttributing::Plain(_) => None,
            MaybeAttributing::Joined(a) => Some(AttributionCounts {
                attributed: a.attributed,
                unattributed: a.unattributed,
                not_this_host: a.not_this_host,
            }),
        }
    }

    pub fn into_inner(self) -> W {
        match self {
            MaybeAttributing::Plain(w) => w,
            MaybeAttributing::Joined(a) => a.inner,
        }
    }
}

impl<W: EventSink> EventSink for MaybeAttributing<W> {
    fn line(&mut self, json: &[u8], is_alert: bool) {
        match self {
            MaybeAttributing::Plain(w) => w.line(json, is_alert),
            MaybeAttributing::Joined(a) => a.line(json, is_alert),
        }
    }

    fn emit_stats(&mut self, ts: Timestamp, stats: Value) {
        match self {
            MaybeAttributing::Plain(w) => w.emit_stats(ts, stats),
            MaybeAttributing::Joined(a) => a.emit_stats(ts, stats),
        }
    }

    fn flush(&mut self) {
        match self {
            MaybeAttributing::Plain(w) => w.flush(),
            MaybeAttributing::Joined(a) => a.flush(),
        }
    }
}

/// Whether a sensor names the process behind its alerts and flows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttributeMode {
    /// Where the collector starts (root, BTF, not locked down); otherwise the sensor says why
    /// once and runs without it. The default: on a SPAN sensor it costs nothing, as traffic of
    /// other hosts is not looked up.
    #[default]
    Auto,
    /// Asked for (`--attribute`, `capture.attribute = true`): the sensor does not start without it.
    Required,
    /// Asked not to (`--no-attribute`, `capture.attribute = false`).
    Off,
}

/// Starts the host collector as `mode` says; logs whether it runs and, if not, why. An error
/// only when it was required and cannot start.
pub fn start_collector(
    mode: AttributeMode,
    log: &dyn Fn(&str),
) -> Result<Option<Arc<Collector>>, crate::host::Unavailable> {
    if mode == AttributeMode::Off {
        return Ok(None);
    }
    match Collector::start() {
        Ok(c) => {
            log("process attribution: on (eBPF collector running)");
            for blind in c.blind_spots() {
                log(&format!("process attribution: {blind}"));
            }
            Ok(Some(Arc::new(c)))
        }
        Err(e) if mode == AttributeMode::Required => Err(e),
        Err(e) => {
            log(&format!(
                "process attribution: off: {e} (--no-attribute or capture.attribute = false says \
                 so without this line)"
            ));
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_read_from_the_line_without_parsing_it() {
        let line = br#"{"timestamp":"x","event_type":"alert","src_ip":"10.0.0.5","src_port":1,"dest_ip":"2001:db8::1","dest_port":443}"#;
        assert_eq!(
            super::field_ip(line, super::SRC_IP),
            "10.0.0.5".parse().ok()
        );
        assert_eq!(
            super::field_ip(line, super::DEST_IP),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(super::field_ip(line, b"\"other\":\""), None);
        assert_eq!(
            super::field_ip(br#"{"src_ip":"nope"}"#, super::SRC_IP),
            None
        );
    }

    #[test]
    fn an_ancestry_ends_at_the_step() {
        let chain =
            || serde_json::json!({"pid": 9, "ancestry": [{"pid": 8}, {"pid": 7}, {"pid": 1}]});
        let mut p = chain();
        super::cut_ancestry(&mut p, 7);
        assert_eq!(p["ancestry"], serde_json::json!([{"pid": 8}, {"pid": 7}]));
        let mut p = chain();
        super::cut_ancestry(&mut p, 9);
        assert_eq!(p["ancestry"], serde_json::json!([]));
        for root in [0, 42] {
            let mut p = chain();
            super::cut_ancestry(&mut p, root);
            assert_eq!(p, chain(), "not the step's: whole");
        }
    }
}
