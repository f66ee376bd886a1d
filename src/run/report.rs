//! What `run` prints at the end, for a person reading a CI log: the command and how it ended,
//! then each alert on one line (detection, what matched, destination, time) with the process
//! that made the call and its ancestry when the host collector named it, and a last line that
//! says whether the step called home and what status `run` exits with.

use super::{RunOutcome, EXIT_CALLED_HOME};
use serde_json::Value;
use std::fmt::Write as _;

/// The report of `outcome` for `command`.
pub fn render(
    command: &str,
    outcome: &RunOutcome,
    audit: bool,
    learn: Option<&std::path::Path>,
) -> String {
    let mut s = String::new();
    let ended = match &outcome.status {
        Ok(st) => match (st.code(), std::os::unix::process::ExitStatusExt::signal(st)) {
            (Some(c), _) => format!("exited {c}"),
            (None, Some(sig)) => format!("was killed by signal {sig}"),
            _ => "ended".to_string(),
        },
        Err(e) => format!("could not be waited for ({e})"),
    };
    let c = &outcome.counters;
    let _ = writeln!(
        s,
        "egress-ids run: `{command}` {ended} after {:.1} s; {} packets, {} flows, {} alerts",
        outcome.elapsed.as_secs_f64(),
        c.packets,
        c.flows,
        outcome.alerts_total
    );
    for alert in &outcome.alerts {
        let _ = writeln!(s, "  ALERT {}", alert_line(alert));
        match alert.get("process") {
            Some(p) => {
                let _ = writeln!(s, "        by {}", process_chain(p, outcome.step_pid));
            }
            None => match &outcome.no_attribution {
                Some(_) => {}
                None if alert["alert"]["metadata"]["lockfile"].is_array() => {}
                None => {
                    let _ = writeln!(s, "        by a process the host collector did not see");
                }
            },
        }
    }
    if outcome.alerts_total as usize > outcome.alerts.len() {
        let _ = writeln!(
            s,
            "  ... and {} more alerts (all of them in the --eve file)",
            outcome.alerts_total as usize - outcome.alerts.len()
        );
    }
    if let Some(why) = &outcome.no_attribution {
        let _ = writeln!(s, "  note: processes are not named: {why}");
    }
    if let Some(why) = &outcome.no_cgroup {
        let _ = writeln!(s, "  note: the step ran without a cgroup of its own: {why}");
    }
    if !outcome.left_running.is_empty() {
        let pids: Vec<String> = outcome.left_running.iter().map(u32::to_string).collect();
        let _ = writeln!(
            s,
            "  note: the step left processes running: pid {}",
            pids.join(", ")
        );
    }
    if let (Some(path), Some(learned)) = (learn, &outcome.learned) {
        let _ = writeln!(
            s,
            "  learned: {} names in {} (this run's merged with what it held)",
            learned.names().count(),
            path.display()
        );
    } else if let (Some(path), true) = (learn, outcome.alerts_total > 0) {
        let _ = writeln!(
            s,
            "  not learned: a step that raised alerts is not a clean build ({} unchanged)",
            path.display()
        );
    }
    if let Some(e) = &outcome.capture_error {
        let _ = writeln!(s, "  warning: capture ended on an error: {e}");
    }
    let code = outcome.exit_code(audit);
    // `--inventory --audit`: alerts from the lockfile alone are not a call home.
    let from_lockfile = outcome
        .alerts
        .iter()
        .filter(|a| a["alert"]["metadata"]["lockfile"].is_array())
        .count() as u64;
    let what = if from_lockfile == outcome.alerts_total {
        "its lockfile names packages absent from the inventory"
    } else {
        "the step called home"
    };
    let verdict = match (outcome.alerts_total > 0, audit) {
        (false, _) => format!("no alert; exit status {code}, the command's"),
        (true, false) => format!(
            "{what} ({} alerts); exit status {EXIT_CALLED_HOME}",
            outcome.alerts_total
        ),
        (true, true) => format!(
            "{what} ({} alerts); --audit: exit status {code}, the command's",
            outcome.alerts_total
        ),
    };
    let _ = writeln!(s, "egress-ids run: {verdict}");
    s
}

/// `ioc-domain npm-health-check.io: 10.0.0.5:40000 -> 203.0.113.21:443 (TCP) at 12:00:01.123`,
/// or a rule's `[sid 2002078] ET USER_AGENTS ...`.
fn alert_line(e: &Value) -> String {
    let a = &e["alert"];
    let what = match a["metadata"]["detection"][0].as_str() {
        Some(d) => format!(
            "{d} {}",
            a["metadata"]["indicator"][0].as_str().unwrap_or("?")
        ),
        None => format!(
            "[sid {}] {}",
            a["signature_id"],
            a["signature"].as_str().unwrap_or("")
        ),
    };
    let time = e["timestamp"]
        .as_str()
        .and_then(|t| t.get(11..23))
        .unwrap_or("?");
    // `--inventory --audit`: a lockfile's alert has no flow.
    if let Some(lockfile) = a["metadata"]["lockfile"][0].as_str() {
        return format!("{what}: in {lockfile}, before the command");
    }
    format!(
        "{what}: {}:{} -> {}:{} ({}) at {time}",
        e["src_ip"].as_str().unwrap_or("?"),
        e["src_port"],
        e["dest_ip"].as_str().unwrap_or("?"),
        e["dest_port"],
        e["proto"].as_str().unwrap_or("?"),
    )
}

/// `curl (pid 812) ← sh (pid 811) ← node (pid 700: npm install)` from a `process` object: each
/// program's name, with its command line when that says more; up to the step's own command
/// (`step_pid`: what started it is not the step's).
fn process_chain(p: &Value, step_pid: u32) -> String {
    let part = |v: &Value| -> String {
        let exe = v["exe"].as_str().unwrap_or("?");
        let name = exe.rsplit('/').next().unwrap_or(exe);
        let cmdline = v["cmdline"].as_str().unwrap_or("");
        if cmdline.is_empty() || cmdline == name || cmdline == exe {
            return format!("{name} (pid {})", v["pid"]);
        }
        let mut shown: String = cmdline.chars().take(60).collect();
        if shown.len() < cmdline.len() {
            shown.push('…');
        }
        format!("{name} (pid {}: {shown})", v["pid"])
    };
    let mut parts = vec![part(p)];
    if p["pid"] != step_pid {
        if let Some(ancestry) = p["ancestry"].as_array() {
            for a in ancestry.iter().take(16) {
                parts.push(part(a));
                if a["pid"] == step_pid {
                    break;
                }
            }
        }
    }
    let mut chain = parts.join(" ← ");
    if let Some(id) = p["container"].as_str() {
        let _ = write!(chain, " in container {}", id.get(..12).unwrap_or(id));
    }
    chain
}
