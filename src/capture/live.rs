//! Live capture with libpcap: opens interfaces (with a BPF filter, promiscuous or not, `any` as
//! Linux cooked capture v2), reads their frames without blocking the caller for more than
//! [`POLL_INTERVAL`], and turns libpcap's cumulative 32-bit counters into 64-bit totals.

use super::{CaptureCounters, Frame, LiveSink};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use proto::decode::link::LINKTYPE_LINUX_SLL2;
use proto::Timestamp;
use std::ops::ControlFlow;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Longest wait for packets before the caller gets control back (signals, time, idle flush).
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Default bytes kept of each packet: whole packets.
pub const DEFAULT_SNAPLEN: u32 = 65_535;
/// Default kernel ring buffer per interface.
pub const DEFAULT_BUFFER_SIZE: usize = 64 << 20;
/// Longest a packet waits in a partly filled block of the kernel ring (TPACKET_V3) before the
/// block is handed over: the capture's share of alert latency. Immediate mode would hand over
/// every packet at once but makes libpcap use TPACKET_V2, whose fixed-size slots fit only about
/// a thousand frames in 64 MiB on interfaces with offloads (each slot holds a 64 KiB packet):
/// it dropped 2.6 to 46 % of a `tcpreplay --topspeed` load that tcpdump took without a drop.
/// Suricata's AF_PACKET default block timeout is the same 10 ms.
pub(crate) const BLOCK_TIMEOUT: Duration = Duration::from_millis(10);
/// Frames read from one interface before the others get their turn.
const BURST: usize = 1024;
/// How often the kernel's counters are read.
const COUNTERS_INTERVAL: Duration = Duration::from_secs(1);

/// How to open one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveConfig {
    pub interface: String,
    /// A BPF filter in tcpdump syntax.
    pub bpf: Option<String>,
    pub promisc: bool,
    /// Bytes kept of each packet.
    pub snaplen: u32,
    /// The kernel ring buffer, bytes.
    pub buffer_size: usize,
}

impl LiveConfig {
    /// Defaults for `interface`: no filter, not promiscuous, whole packets, a 64 MiB ring.
    pub fn new(interface: impl Into<String>) -> Self {
        LiveConfig {
            interface: interface.into(),
            bpf: None,
            promisc: false,
            snaplen: DEFAULT_SNAPLEN,
            buffer_size: DEFAULT_BUFFER_SIZE,
        }
    }
}

/// Why a live capture could not start or went on.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("cannot capture on interface {interface:?}: {source}; {hint}")]
    Open {
        interface: String,
        source: pcap::Error,
        hint: &'static str,
    },
    #[error("interface {interface:?}: bad BPF filter {filter:?}: {source}; use tcpdump's filter syntax (try it with `tcpdump -d '{filter}'`)")]
    Filter {
        interface: String,
        filter: String,
        source: pcap::Error,
    },
    #[error("interface {interface:?}: reading packets failed: {source}; the interface may have gone down or been removed")]
    Read {
        interface: String,
        source: pcap::Error,
    },
    #[error("waiting for packets failed: {0}")]
    Poll(nix::Error),
    #[error("interface {interface:?}: the kernel refused to join its capture rings into one AF_PACKET fanout group: {source}; use --capture-threads 1")]
    Fanout {
        interface: String,
        source: std::io::Error,
    },
}

/// An open interface.
pub struct LiveCapture {
    interface: String,
    cap: pcap::Capture<pcap::Active>,
    linktype: i32,
    /// libpcap's last cumulative (32-bit, wrapping) counters: received, dropped, if-dropped.
    last: [u32; 3],
    totals: CaptureCounters,
    /// Frames captured before this time are dropped: a fanout ring's socket got every packet
    /// until the group was complete ([`super::fanout`]).
    start: Option<Timestamp>,
    /// Frames dropped for being older than `start`.
    before_start: u64,
}

impl AsRawFd for LiveCapture {
    fn as_raw_fd(&self) -> RawFd {
        self.cap.as_raw_fd()
    }
}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("interface", &self.interface)
            .field("linktype", &self.linktype)
            .field("totals", &self.totals)
            .finish()
    }
}

fn open_hint(e: &pcap::Error) -> &'static str {
    let text = e.to_string();
    if text.contains("ermission") || text.contains("not permitted") {
        "capturing needs root or CAP_NET_RAW"
    } else if text.contains("No such device") || text.contains("doesn't exist") {
        "check the name with `ip link`"
    } else {
        "check the interface name and that it is up"
    }
}

impl LiveCapture {
    /// Opens `config.interface` for non-blocking reads from a TPACKET_V3 ring whose blocks are
    /// handed over when full or after [`BLOCK_TIMEOUT`], with the filter applied.
    pub(crate) fn open(config: &LiveConfig) -> Result<LiveCapture, LiveError> {
        let interface = config.interface.clone();
        let open_err = |source: pcap::Error| LiveError::Open {
            interface: interface.clone(),
            hint: open_hint(&source),
            source,
        };
        let mut cap = pcap::Capture::from_device(config.interface.as_str())
            .map_err(open_err)?
            .promisc(config.promisc)
            .snaplen(config.snaplen.min(i32::MAX as u32) as i32)
            .buffer_size(config.buffer_size.min(i32::MAX as usize) as i32)
            .timeout(BLOCK_TIMEOUT.as_millis() as i32)
            .open()
            .map_err(open_err)?;
        if config.interface == "any" {
            // SLL2 names the interface a packet was seen on; libpcap's default for `any` is
            // SLL (v1). Both decode; keep the default when SLL2 is not offered.
            let sll2 = pcap::Linktype(LINKTYPE_LINUX_SLL2);
            if cap.list_datalinks().is_ok_and(|l| l.contains(&sll2)) {
                cap.set_datalink(sll2).map_err(open_err)?;
            }
        }
        if let Some(filter) = config.bpf.as_deref().filter(|f| !f.trim().is_empty()) {
            cap.filter(filter, true)
                .map_err(|source| LiveError::Filter {
                    interface: interface.clone(),
                    filter: filter.to_owned(),
                    source,
                })?;
        }
        let cap = cap.setnonblock().map_err(open_err)?;
        let linktype = cap.get_datalink().0;
        Ok(LiveCapture {
            interface,
            cap,
            linktype,
            last: [0; 3],
            totals: CaptureCounters::default(),
            start: None,
            before_start: 0,
        })
    }

    /// Drops the frames captured before `start` from now on.
    pub(crate) fn set_start(&mut self, start: Timestamp) {
        self.start = Some(start);
    }

    /// Frames dropped because they were captured before the start ([`Self::set_start`]).
    pub(crate) fn before_start(&self) -> u64 {
        self.before_start
    }

    /// The interface name.
    pub(crate) fn interface(&self) -> &str {
        &self.interface
    }

    /// The link type frames arrive with.
    pub(crate) fn linktype(&self) -> i32 {
        self.linktype
    }

    /// Reads the kernel's counters; libpcap's 32-bit counters wrap, the totals do not.
    pub(crate) fn counters(&mut self) -> CaptureCounters {
        if let Ok(s) = self.cap.stats() {
            let now = [s.received, s.dropped, s.if_dropped];
            let delta = |i: usize| u64::from(now[i].wrapping_sub(self.last[i]));
            self.totals.kernel_packets += delta(0);
            self.totals.kernel_drops += delta(1);
            self.totals.kernel_ifdrops += delta(2);
            self.last = now;
        }
        self.totals
    }

    /// Hands the frames waiting in the ring (at most [`BURST`]) to `input`; returns how many.
    fn drain<I: LiveSink + ?Sized>(
        &mut self,
        index: &mut u64,
        input: &mut I,
    ) -> Result<usize, LiveError> {
        for n in 0..BURST {
            match self.cap.next_packet() {
                Ok(packet) => {
                    let ts = Timestamp::from_parts(
                        packet.header.ts.tv_sec,
                        packet.header.ts.tv_usec.max(0) as u64,
                        1_000_000,
                    );
                    if self.start.is_some_and(|start| ts < start) {
                        self.before_start += 1;
                        continue;
                    }
                    *index += 1;
                    input.frame(&Frame {
                        index: *index,
                        ts,
                        linktype: self.linktype,
                        data: packet.data,
                        orig_len: packet.header.len,
                    });
                }
                Err(pcap::Error::TimeoutExpired) => return Ok(n),
                Err(source) => {
                    return Err(LiveError::Read {
                        interface: self.interface.clone(),
                        source,
                    })
                }
            }
        }
        Ok(BURST)
    }
}

/// The wall clock as packet time.
pub(crate) fn wall_clock() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(since.as_nanos().min(i64::MAX as u128) as i64)
}

/// The wall clock less `lag`, as packet time.
pub(crate) fn wall_clock_less(lag: Duration) -> Timestamp {
    let now = wall_clock();
    Timestamp(
        now.0
            .saturating_sub(lag.as_nanos().min(i64::MAX as u128) as i64),
    )
}

/// Reads every capture into `input` until `between` breaks. `between` runs after every burst
/// and at least every [`POLL_INTERVAL`]: it is where signals are looked at. When no frame is
/// waiting, packet time moves to the wall clock and the pipeline is told it is idle; the
/// kernel's counters are handed on every second and once more at the end.
pub(crate) fn run_live<I: LiveSink + ?Sized>(
    captures: &mut [LiveCapture],
    input: &mut I,
    between: impl FnMut(&mut I) -> ControlFlow<()>,
) -> Result<(), LiveError> {
    run_live_every(captures, input, POLL_INTERVAL, Duration::ZERO, between)
}

/// [`run_live`], waiting at most `poll_interval` for packets instead of [`POLL_INTERVAL`] (a
/// fanout capture thread tells the merge stage how far it is every time it waits), and moving
/// packet time on an idle link to the wall clock less `lag` (what its rings may still deliver).
pub(crate) fn run_live_every<I: LiveSink + ?Sized>(
    captures: &mut [LiveCapture],
    input: &mut I,
    poll_interval: Duration,
    lag: Duration,
    mut between: impl FnMut(&mut I) -> ControlFlow<()>,
) -> Result<(), LiveError> {
    let mut index = 0u64;
    // The first counters go out at once, so every `stats` event carries them.
    hand_on_counters(captures, input);
    let mut counters_due = Instant::now();
    let result = loop {
        let mut got = 0;
        for cap in captures.iter_mut() {
            match cap.drain(&mut index, input) {
                Ok(n) => got += n,
                Err(e) => return finish(captures, input, Err(e)),
            }
        }
        if counters_due.elapsed() >= COUNTERS_INTERVAL {
            counters_due = Instant::now();
            hand_on_counters(captures, input);
        }
        if between(input).is_break() {
            // Stopping: what the kernel already captured is still analysed.
            break drain_rest(captures, &mut index, input);
        }
        if got > 0 {
            continue;
        }
        input.clock(wall_clock_less(lag));
        let mut fds: Vec<PollFd<'_>> = captures
            .iter()
            .map(|c| PollFd::new(c.cap.as_fd(), PollFlags::POLLIN))
            .collect();
        let timeout = PollTimeout::try_from(poll_interval).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(e) => break Err(LiveError::Poll(e)),
        }
    };
    finish(captures, input, result)
}

/// Frames read at most when stopping: the ring's content at the stop, not a stream that never
/// ends on a busy link.
const DRAIN_LIMIT: usize = 1 << 20;

fn drain_rest<I: LiveSink + ?Sized>(
    captures: &mut [LiveCapture],
    index: &mut u64,
    input: &mut I,
) -> Result<(), LiveError> {
    let mut total = 0;
    while total < DRAIN_LIMIT {
        let mut got = 0;
        for cap in captures.iter_mut() {
            got += cap.drain(index, input)?;
        }
        if got == 0 {
            break;
        }
        total += got;
    }
    Ok(())
}

fn hand_on_counters<I: LiveSink + ?Sized>(captures: &mut [LiveCapture], input: &mut I) {
    for cap in captures.iter_mut() {
        let counters = cap.counters();
        input.capture_counters(&cap.interface, counters);
    }
}

fn finish<I: LiveSink + ?Sized>(
    captures: &mut [LiveCapture],
    input: &mut I,
    result: Result<(), LiveError>,
) -> Result<(), LiveError> {
    hand_on_counters(captures, input);
    result
}
