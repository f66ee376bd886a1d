//! PAWS, protection against wrapped sequence numbers (RFC 7323 section 5; Linux
//! `tcp_paws_discard`, `tcp_replace_ts_recent`): once both SYNs carried the timestamp option, the
//! receiver remembers the last timestamp it accepted in order (`ts_recent`) and drops a segment
//! whose timestamp is older by more than one tick, whatever its bytes (a reset excepted).

/// The receiver's timestamp state for the segments sent one way.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Paws {
    /// This side's SYN (or SYN-ACK) carried a timestamp.
    sent_on_syn: bool,
    /// Both SYNs carried one: the receiver checks timestamps.
    on: bool,
    /// The last timestamp accepted (`ts_recent`); 0 disables the check, as in Linux.
    recent: u32,
}

/// How far back a timestamp may be and still pass (`TCP_PAWS_WINDOW`).
const PAWS_WINDOW: i32 = 1;

impl Paws {
    /// This side's SYN carried `ts` (its TSval), if any.
    pub(crate) fn on_syn(&mut self, ts: Option<u32>) {
        if let Some(v) = ts {
            self.sent_on_syn = true;
            self.recent = v;
        }
    }

    /// The handshake is complete: timestamps are in use if both SYNs carried them.
    pub(crate) fn negotiated(&mut self, peer: &Paws) {
        self.on = self.sent_on_syn && peer.sent_on_syn;
    }

    /// Whether the receiver checks timestamps.
    pub(crate) fn is_on(&self) -> bool {
        self.on
    }

    /// Whether the receiver drops a segment with timestamp `ts` (`rst`: a reset, which passes).
    pub(crate) fn rejects(&self, ts: Option<u32>, rst: bool) -> bool {
        let (true, Some(v), false) = (self.on, ts, rst) else {
            return false;
        };
        self.recent != 0 && (self.recent.wrapping_sub(v) as i32) > PAWS_WINDOW
    }

    /// A segment with timestamp `ts` passed; `in_order`: it starts at or before the next
    /// expected byte, so the receiver takes its timestamp as the new `ts_recent` if not older.
    pub(crate) fn accepted(&mut self, ts: Option<u32>, in_order: bool) {
        if let (true, Some(v), true) = (self.on, ts, in_order) {
            if (self.recent.wrapping_sub(v) as i32) <= 0 {
                self.recent = v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_timestamp_is_dropped_once_both_syns_carried_one() {
        let (mut client, mut server) = (Paws::default(), Paws::default());
        client.on_syn(Some(1000));
        server.on_syn(Some(7));
        client.negotiated(&server);
        assert!(!client.rejects(Some(1000), false));
        assert!(!client.rejects(Some(999), false), "one tick back passes");
        assert!(client.rejects(Some(998), false));
        assert!(!client.rejects(Some(998), true), "a reset passes");
        assert!(!client.rejects(None, false));
        client.accepted(Some(1500), true);
        assert!(client.rejects(Some(1200), false));
        client.accepted(Some(2000), false);
        assert!(
            !client.rejects(Some(1600), false),
            "out-of-order: no update"
        );
        // Without the peer's timestamps, no check.
        let mut alone = Paws::default();
        alone.on_syn(Some(1000));
        alone.negotiated(&Paws::default());
        assert!(!alone.rejects(Some(1), false));
    }
}
