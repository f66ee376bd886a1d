//! The EVE `process` object on a host: each alert and flow line is joined to the process the
//! host collector saw open its socket, by the exact 5-tuple (either way round) and the time of
//! the event, never by a port alone. Other lines pass untouched.

use crate::eve::EventSink;
use crate::host::{Collector, Proto};
use proto::Timestamp;
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// An [`EventSink`] that adds `process` to alerts and flows before handing them on.
pub struct Attributing<W> {
    pub inner: W,
    collector: Arc<Collector>,
    /// Alert and flow lines that got a `process`, and those no socket matched.
    pub attributed: u64,
    pub unattributed: u64,
    /// Waiting for the collector's drain, in the current second of wall time: bounded, so that
    /// alerts of traffic no local process made (a SPAN port) are not held back.
    waited: Duration,
    second: std::time::Instant,
}

/// Longest an alert waits for the collector's next drain, and the most waiting per second.
const ALERT_WAIT: Duration = Duration::from_millis(50);
const WAIT_PER_SECOND: Duration = Duration::from_millis(100);

impl<W> Attributing<W> {
    pub fn new(inner: W, collector: Arc<Collector>) -> Self {
        Attributing {
            inner,
            collector,
            attributed: 0,
            unattributed: 0,
            waited: Duration::ZERO,
            second: std::time::Instant::now(),
        }
    }
}

/// `2026-11-29T20:40:19.153000+0000` (EVE's form) as a wall-clock time.
fn parse_eve_time(text: &str) -> Option<SystemTime> {
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
    let secs = time::PrimitiveDateTime::new(date, t).assume_utc();
    let since = secs - time::OffsetDateTime::UNIX_EPOCH;
    let since: Duration = since.try_into().ok()?;
    Some(SystemTime::UNIX_EPOCH + since)
}

impl<W: EventSink> Attributing<W> {
    /// The `process` of an alert or flow event, if a socket matches it.
    fn process_of(&self, v: &Value) -> Option<Value> {
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
            .and_then(parse_eve_time)?;
        let found = self
            .collector
            .lookup(proto, src, dst, when)
            .or_else(|| self.collector.lookup(proto, dst, src, when))?;
        Some(found.to_eve())
    }
}

impl<W: EventSink> EventSink for Attributing<W> {
    fn line(&mut self, json: &[u8], is_alert: bool) {
        let wanted = is_alert || json.windows(20).any(|w| w == b"\"event_type\":\"flow\"");
        if !wanted {
            return self.inner.line(json, is_alert);
        }
        let Ok(mut v) = serde_json::from_slice::<Value>(json) else {
            return self.inner.line(json, is_alert);
        };
        // The collector drains its ring buffer every 10 ms: an alert can come before the
        // connect that opened its socket is in the table (a flow ends long after). It waits
        // for the next drains, within a budget per second of wall time.
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

/// A sink with the join when a collector runs, without it otherwise.
pub enum MaybeAttributing<W> {
    Plain(W),
    Joined(Attributing<W>),
}

impl<W> MaybeAttributing<W> {
    pub fn new(inner: W, collector: Option<Arc<Collector>>) -> Self {
        match collector {
            Some(c) => MaybeAttributing::Joined(Attributing::new(inner, c)),
            None => MaybeAttributing::Plain(inner),
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

/// Starts the host collector when `wanted`; logs whether it runs and, if not, why.
pub fn start_collector(wanted: bool, log: &dyn Fn(&str)) -> Option<Arc<Collector>> {
    if !wanted {
        return None;
    }
    match Collector::start() {
        Ok(c) => {
            log("process attribution: on (eBPF collector running)");
            Some(Arc::new(c))
        }
        Err(e) => {
            log(&format!("process attribution: off: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn eve_times_read_back() {
        let t = super::parse_eve_time("2026-03-31T12:00:00.123456+0000").unwrap();
        let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap();
        assert_eq!(secs.as_secs(), 1_774_958_400);
        assert_eq!(secs.subsec_micros(), 123_456);
        assert!(super::parse_eve_time("not a time").is_none());
    }
}
