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
}

impl<W> Attributing<W> {
    pub fn new(inner: W, collector: Arc<Collector>) -> Self {
        Attributing {
            inner,
            collector,
            attributed: 0,
            unattributed: 0,
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
        // connect that opened its socket is in the table. A flow ends long after.
        let mut found = self.process_of(&v);
        for _ in 0..if is_alert { 5 } else { 0 } {
            if found.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
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
