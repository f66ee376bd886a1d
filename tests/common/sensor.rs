//! The daemon side of the fresh-capture session (pcaps/make-captures.sh in sensor mode): its
//! configuration, a follower that notes when each EVE line became visible, and EVE timestamps
//! as wall-clock times.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Writes the daemon's configuration into `dir`: capture on the runner's veth, signatures in
/// `dir/signatures` (extended by the reload step), EVE to `dir/eve.json`, no warm-up (the
/// session starts after the daemon, so every resolution is seen), run as `nobody`.
pub fn write_config(dir: &Path) -> PathBuf {
    let sigs = dir.join("signatures");
    std::fs::create_dir_all(&sigs).expect("create signatures dir");
    std::fs::write(
        sigs.join("ioc-domains.txt"),
        "# extended by the reload step of make-captures.sh\n",
    )
    .expect("write ioc-domains.txt");
    // The phantom-registry scenario's inventory (pcaps/phantom-registry.args names it), copied
    // where `nobody` reads it again on SIGHUP.
    let inventory = self::inventory(dir);
    std::fs::copy(
        super::root().join("pcaps/fixtures/known-packages.txt"),
        &inventory,
    )
    .expect("copy the scenarios' inventory");
    let eve = dir.join("eve.json");
    let config = format!(
        r#"[capture]
interfaces = ["runner0"]

[detect]
signatures = ["{sigs}"]
inventory = "{inventory}"
warmup = 0

[engine]
threads = 2
stats_interval = 1

[[output]]
type = "file"
path = "{eve}"

[privileges]
user = "nobody"
"#,
        sigs = sigs.display(),
        inventory = inventory.display(),
        eve = eve.display()
    );
    let path = dir.join("egress-ids.toml");
    std::fs::write(&path, config).expect("write egress-ids.toml");
    // `nobody` must be able to read the signatures again on SIGHUP.
    for p in [dir, &sigs] {
        let _ = std::process::Command::new("chmod")
            .arg("755")
            .arg(p)
            .status();
    }
    eve
}

/// The daemon's package inventory in `dir` (a copy of pcaps/fixtures/known-packages.txt).
pub fn inventory(dir: &Path) -> PathBuf {
    dir.join("known-packages.txt")
}

/// Notes the wall-clock time at which each line of a growing file became readable.
pub struct Follower {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<(SystemTime, String)>>>,
}

/// How often the follower looks at the file.
pub const FOLLOW_POLL: Duration = Duration::from_millis(5);

impl Follower {
    pub fn start(path: PathBuf) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut offset = 0u64;
            let mut partial = String::new();
            // Bounded by the stop flag, which the test sets once the session ended (or on
            // drop); and by a 30-minute ceiling.
            for _ in 0..(30 * 60 * 1000 / FOLLOW_POLL.as_millis() as u64) {
                let last_round = flag.load(Ordering::Relaxed);
                if let Ok(mut f) = std::fs::File::open(&path) {
                    if f.seek(SeekFrom::Start(offset)).is_ok() {
                        let mut reader = BufReader::new(f);
                        let mut line = String::new();
                        while let Ok(n) = reader.read_line(&mut line) {
                            if n == 0 {
                                break;
                            }
                            offset += n as u64;
                            if line.ends_with('\n') {
                                partial.push_str(line.trim_end());
                                seen.push((SystemTime::now(), std::mem::take(&mut partial)));
                            } else {
                                partial.push_str(&line);
                            }
                            line.clear();
                        }
                    }
                }
                if last_round {
                    break;
                }
                std::thread::sleep(FOLLOW_POLL);
            }
            seen
        });
        Follower {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops following; returns every line with the time it was first seen.
    pub fn finish(mut self) -> Vec<(SystemTime, String)> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .map(|h| h.join().expect("follower thread"))
            .unwrap_or_default()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// An EVE timestamp (`2026-03-31T12:00:00.123456+0000`) as a wall-clock time.
pub fn eve_time(ts: &str) -> SystemTime {
    let num = |r: std::ops::Range<usize>| -> i64 {
        ts.get(r)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad EVE timestamp {ts:?}"))
    };
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let (hh, mm, ss, us) = (num(11..13), num(14..16), num(17..19), num(20..26));
    // Days from the civil date (Howard Hinnant's algorithm), UTC.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + hh * 3600 + mm * 60 + ss;
    UNIX_EPOCH + Duration::from_secs(secs as u64) + Duration::from_micros(us as u64)
}

/// The value at `pct` percent of `sorted` (nearest rank).
pub fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}
