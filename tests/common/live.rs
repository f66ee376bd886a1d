//! Live runs for the tests: two network namespaces joined by a veth pair, tcpreplay sending
//! into one end, `egress-ids live` capturing alone on the other, stopped with SIGTERM.

use super::netns::{run_ok, wait_for_line, Child, Netns};
use super::{parse_and_validate, scratch};
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// tcpreplay's rate: ~0.5 ms between frames.
pub const SEND_PPS: &str = "2000";

/// What a `live` run saw: its EVE events and its stderr.
pub struct Live {
    pub events: Vec<Value>,
    pub stderr: String,
}

/// Starts `egress-ids live ARGS` in a namespace holding only the receiving end of a veth pair
/// (interface `eids-rx`), replays `pcaps` into the sending end from a second namespace, then
/// stops the sensor with SIGTERM.
pub fn live_over(tag: &str, args: &[&str], pcaps: &[&Path]) -> Live {
    let dir = scratch(tag);
    let pair = Pair::new(tag);
    let mut sensor = pair.start(&dir, args);
    for pcap in pcaps {
        pair.send(pcap);
    }
    pair.stop(&dir, &mut sensor)
}

/// Two namespaces joined by a veth pair: tcpreplay sends into `eids-tx`, the sensor captures
/// on `eids-rx`, alone in its namespace.
pub struct Pair {
    pub sender: Netns,
    pub sensor: Netns,
}

impl Pair {
    pub fn new(tag: &str) -> Pair {
        let sender = Netns::new(&format!("{tag}-tx"));
        let sensor = Netns::new(&format!("{tag}-rx"));
        sender.veth_to("eids-tx", &sensor, "eids-rx", 65535);
        Pair { sender, sensor }
    }

    /// `egress-ids live ARGS --eve DIR/live.json`, once it is capturing.
    pub fn start(&self, dir: &Path, args: &[&str]) -> Child {
        let err_path = dir.join("live.stderr");
        let err_file = std::fs::File::create(&err_path).expect("create live.stderr");
        let mut sensor = Child::spawn(
            self.sensor
                .exec(env!("CARGO_BIN_EXE_egress-ids"))
                .arg("live")
                .args(args)
                .arg("--eve")
                .arg(dir.join("live.json"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(err_file),
            "egress-ids live",
        );
        assert!(
            wait_for_line(&err_path, "capturing on", Duration::from_secs(10)).is_some(),
            "egress-ids live did not start capturing ({:?}): {}",
            sensor.try_wait(),
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
        sensor
    }

    /// tcpreplay of `pcap` into `eids-tx` at 2000 packets/s (far from filling any ring);
    /// returns tcpreplay's output.
    pub fn send(&self, pcap: &Path) -> String {
        run_ok(
            self.sender
                .exec("tcpreplay")
                .args(["-i", "eids-tx", "--pps", SEND_PPS])
                .arg(pcap),
            Duration::from_secs(20),
        )
    }

    /// SIGTERM; the run's events (validated) and stderr.
    pub fn stop(&self, dir: &Path, sensor: &mut Child) -> Live {
        std::thread::sleep(Duration::from_millis(100));
        let status = sensor
            .terminate(Duration::from_secs(15))
            .expect("egress-ids live exits within 15 s of SIGTERM");
        let stderr = std::fs::read_to_string(dir.join("live.stderr")).unwrap_or_default();
        assert!(
            status.success(),
            "egress-ids live exited {status}:\n{stderr}"
        );
        let text = std::fs::read_to_string(dir.join("live.json")).unwrap_or_default();
        Live {
            events: parse_and_validate(&text, &dir.display().to_string()),
            stderr,
        }
    }
}

/// Waits until `done` holds, at most `limit`.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + limit;
    while std::time::Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

/// How often `needle` occurs in the file at `path` (0 while it does not exist).
pub fn occurrences(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .matches(needle)
        .count()
}

/// Sends SIGHUP to the sensor started by [`Pair::start`] in `dir`, and waits (10 s at most) until
/// its log holds `want` `times` times.
pub fn hup_until(sensor: &mut Child, dir: &Path, want: &str, times: usize) {
    let log = dir.join("live.stderr");
    sensor.signal(nix::sys::signal::Signal::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(10), || occurrences(&log, want) == times),
        "no {want:?} in the sensor's log: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}
