//! Loads the eBPF object, attaches each tracepoint, and drains the ring buffer every
//! [`DRAIN_EVERY`] on a thread of its own into the process and socket tables; answers lookups.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use aya::maps::{Array, MapData, RingBuf};
use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf};
use nix::time::{clock_gettime, ClockId};

use super::attribution::{AncestorSummary, Attribution};
use super::cgroup::{container_id, Cgroups};
use super::event::{decode, Event, Task, Undecodable};
use super::probe::{describe, load_failure, preflight, Hook, HookStatus, Unavailable};
use super::procs::Procs;
use super::sockets::{Opened, Sockets};
use super::Proto;

/// The object build.rs compiled from `bpf/collector.bpf.c`, 32-byte aligned (the ELF parser
/// refuses misaligned headers; plain `include_bytes!` is aligned to 1 and loads only by luck).
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/collector.bpf.o"));

/// How often the ring buffer is drained.
pub(crate) const DRAIN_EVERY: Duration = Duration::from_millis(10);
/// How often exited processes and closed sockets are aged out.
const EXPIRE_EVERY: Duration = Duration::from_secs(5);

/// The tables the drain thread fills and lookups read, and the ring buffer they are filled
/// from: a lookup that misses drains it at once instead of waiting for the thread.
struct State {
    procs: Procs,
    sockets: Sockets,
    cgroups: Cgroups,
    feed: Feed,
}

/// The ring buffer and what decoding its records needs.
struct Feed {
    ring: RingBuf<MapData>,
    /// Wall clock minus CLOCK_MONOTONIC ([`wall_offset`]).
    offset: i128,
    stats: Arc<CollectorStats>,
    last_expire: SystemTime,
}

impl State {
    /// Applies every record queued in the ring buffer; ages the tables out now and then.
    fn pump(&mut self) {
        let now = SystemTime::now();
        let State {
            procs,
            sockets,
            cgroups: _,
            feed,
        } = self;
        while let Some(item) = feed.ring.next() {
            match decode(&item) {
                Ok(ev) => apply(procs, sockets, ev, feed.offset, now, &feed.stats),
                Err(why) => {
                    let i = match why {
                        Undecodable::Short => 0,
                        Undecodable::Kind => 1,
                        Undecodable::Family => 2,
                    };
                    feed.stats.undecodable[i].fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if now.duration_since(feed.last_expire).unwrap_or_default() >= EXPIRE_EVERY {
            procs.expire(now);
            sockets.expire(now);
            feed.last_expire = now;
        }
    }
}

/// Counters of the collector (for the summary and `stats`).
#[derive(Debug, Default)]
pub struct CollectorStats {
    /// Records decoded, by kind: exec, fork, exit, connect, close, udp.
    pub events: [AtomicU64; 6],
    /// Records not decoded: short, unknown kind, unknown address family.
    pub undecodable: [AtomicU64; 3],
}

/// The running collector; stops (detaches, drops the maps) when dropped.
pub struct Collector {
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    hooks: Vec<HookStatus>,
    stats: Arc<CollectorStats>,
    /// The kernel's count of records lost to a full ring buffer.
    lost: Array<MapData, u64>,
}

/// Wall clock minus CLOCK_MONOTONIC, in nanoseconds: maps the kernel's event times to wall time.
fn wall_offset() -> i128 {
    let wall = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as i128;
    let mono = clock_gettime(ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as i128 * 1_000_000_000 + t.tv_nsec() as i128)
        .unwrap_or(0);
    wall - mono
}

fn wall(offset: i128, ktime: u64) -> SystemTime {
    let ns = (offset + ktime as i128).max(0) as u64;
    SystemTime::UNIX_EPOCH + Duration::from_nanos(ns)
}

impl Collector {
    /// Loads and attaches the collector, or says why it cannot.
    pub fn start() -> Result<Collector, Unavailable> {
        preflight()?;
        let btf = Btf::from_sys_fs().map_err(|e| Unavailable::Load(e.to_string()))?;
        let mut bpf = Ebpf::load(OBJECT).map_err(|e| load_failure(e.to_string()))?;
        let mut hooks = Vec::new();
        for hook in Hook::ALL {
            let outcome = (|| -> Result<(), String> {
                let prog: &mut BtfTracePoint = bpf
                    .program_mut(hook.program())
                    .ok_or("not in the object")?
                    .try_into()
                    .map_err(|e: aya::programs::ProgramError| e.to_string())?;
                prog.load(hook.tracepoint(), &btf)
                    .map_err(|e| format!("load: {e}"))?;
                prog.attach().map_err(|e| format!("attach: {e}"))?;
                Ok(())
            })();
            hooks.push(match outcome {
                Ok(()) => HookStatus::Attached(hook),
                Err(e) => HookStatus::Failed(hook, e),
            });
        }
        if !hooks.iter().any(|h| matches!(h, HookStatus::Attached(_))) {
            return Err(Unavailable::NoHook(
                hooks
                    .into_iter()
                    .filter_map(|h| match h {
                        HookStatus::Failed(h, e) => Some((h, e)),
                        HookStatus::Attached(_) => None,
                    })
                    .collect(),
            ));
        }
        let lost = bpf
            .take_map("LOST")
            .ok_or_else(|| Unavailable::Load("no LOST map".into()))
            .and_then(|m| {
                Array::<MapData, u64>::try_from(m).map_err(|e| Unavailable::Load(e.to_string()))
            })?;
        let map = bpf
            .take_map("EVENTS")
            .ok_or_else(|| Unavailable::Load("no EVENTS map".into()))?;
        let ring = RingBuf::try_from(map).map_err(|e| Unavailable::Load(e.to_string()))?;
        let stats = Arc::new(CollectorStats::default());
        let state = Arc::new(Mutex::new(State {
            procs: Procs::default(),
            sockets: Sockets::default(),
            cgroups: Cgroups::default(),
            feed: Feed {
                ring,
                offset: wall_offset(),
                stats: stats.clone(),
                last_expire: SystemTime::now(),
            },
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::Builder::new()
                .name("host-collector".into())
                .spawn(move || drain(bpf, &state, &stop))
                .map_err(|e| Unavailable::Load(e.to_string()))?
        };
        Ok(Collector {
            state,
            stop,
            thread: Some(thread),
            hooks,
            stats,
            lost,
        })
    }

    /// Each hook's outcome.
    pub fn hooks(&self) -> &[HookStatus] {
        &self.hooks
    }

    /// What this collector cannot see, one line per hook that failed (empty when all attached).
    pub fn blind_spots(&self) -> Vec<String> {
        describe(&self.hooks)
    }

    pub fn stats(&self) -> &CollectorStats {
        &self.stats
    }

    /// Records the kernel could not queue because the ring buffer was full (`None` if the map
    /// could not be read).
    pub fn lost(&self) -> Option<u64> {
        self.lost.get(&0, 0).ok()
    }

    /// Rows evicted because a table was full: (processes, sockets).
    pub fn evicted(&self) -> (u64, u64) {
        let s = self.lock();
        (s.procs.evicted, s.sockets.evicted)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a socket of this host (in any network namespace) has had one of `addrs` as its
    /// own address; records still in the ring buffer count (applied once for all of them).
    pub fn any_local(&self, addrs: &[IpAddr]) -> bool {
        let mut s = self.lock();
        if addrs.iter().any(|&a| s.sockets.is_local(a)) {
            return true;
        }
        s.pump();
        addrs.iter().any(|&a| s.sockets.is_local(a))
    }

    /// The process whose socket had exactly this tuple at `at`. Records still in the ring
    /// buffer are applied first when the tables do not have it yet: the kernel queues a
    /// connect before the first byte after the handshake leaves, a UDP socket's before its
    /// datagram, so a lookup for a packet already captured does not wait for the drain thread.
    /// (An unanswered SYN is queued only at its first retransmission.)
    pub fn lookup(
        &self,
        proto: Proto,
        local: (IpAddr, u16),
        remote: (IpAddr, u16),
        at: SystemTime,
    ) -> Option<Attribution> {
        let mut s = self.lock();
        let s = &mut *s;
        let (local, remote) = (SocketAddr::from(local), SocketAddr::from(remote));
        if s.sockets.find(proto, local, remote, at).is_none() {
            s.pump();
        }
        let opened = s.sockets.find(proto, local, remote, at)?.clone();
        let lineage = s.procs.lineage(opened.tgid);
        let cgroup = s.cgroups.path(opened.cgroup).unwrap_or_default();
        let (me, ancestors) = match lineage.split_first() {
            Some(((_, p), rest)) => (Some(p.clone()), rest),
            None => (None, &lineage[..]),
        };
        let ancestry = ancestors
            .iter()
            .map(|(pid, p)| AncestorSummary {
                pid: *pid,
                exe: p.exe.clone().unwrap_or_else(|| p.comm.clone()),
                cmdline: p.cmdline.clone(),
            })
            .collect();
        let user = nix::unistd::User::from_uid(opened.uid.into())
            .ok()
            .flatten()
            .map(|u| u.name);
        Some(Attribution {
            pid: opened.tgid,
            ns_pid: me.as_ref().map_or(opened.tgid, |p| p.ns_pid),
            exe: me
                .as_ref()
                .and_then(|p| p.exe.clone())
                .unwrap_or_else(|| opened.comm.clone()),
            cmdline: me.map(|p| p.cmdline).unwrap_or_default(),
            comm: opened.comm,
            user,
            uid: opened.uid,
            container: container_id(&cgroup),
            cgroup,
            netns: opened.netns,
            ancestry,
        })
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn opened(t: &Task, start: SystemTime) -> Opened {
    Opened {
        tgid: t.tgid,
        tid: t.tid,
        uid: t.uid,
        cgroup: t.cgroup,
        netns: t.netns,
        comm: t.comm.clone(),
        start,
        end: None,
    }
}

/// The drain loop: owns the object (the links live as long as it does).
fn drain(_bpf: Ebpf, state: &Mutex<State>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        state.lock().unwrap_or_else(|e| e.into_inner()).pump();
        std::thread::sleep(DRAIN_EVERY);
    }
}

fn apply(
    procs: &mut Procs,
    sockets: &mut Sockets,
    ev: Event,
    offset: i128,
    now: SystemTime,
    stats: &CollectorStats,
) {
    let kind = match &ev {
        Event::Exec { .. } => 0,
        Event::Fork(_) => 1,
        Event::Exit(_) => 2,
        Event::Connect { .. } => 3,
        Event::Close { .. } => 4,
        Event::UdpSend { .. } => 5,
    };
    stats.events[kind].fetch_add(1, Ordering::Relaxed);
    match ev {
        Event::Exec { task, path, args } => procs.exec(&task, &path, args),
        Event::Fork(task) => procs.fork(&task),
        Event::Exit(task) => procs.exit(&task, now),
        Event::Connect {
            task,
            tuple,
            failed,
        } => {
            let at = wall(offset, task.ktime);
            // Make sure the opener has a row (read from /proc while it still runs).
            let _ = procs.get(task.tgid);
            sockets.open(tuple, opened(&task, at));
            if failed {
                sockets.close(tuple, now);
            }
        }
        Event::Close { ktime, tuple } => sockets.close(tuple, wall(offset, ktime)),
        Event::UdpSend { task, tuple } => {
            let _ = procs.get(task.tgid);
            sockets.open(tuple, opened(&task, wall(offset, task.ktime)));
        }
    }
}

#[cfg(test)]
mod tests {
    /// The sensor shares one collector between its threads.
    #[test]
    fn the_collector_is_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<super::Collector>();
    }
}
