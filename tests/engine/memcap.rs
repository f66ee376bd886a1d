//! The flow memcap holds under a flood: 30,000 SYNs to distinct endpoints replayed with the
//! smallest cap (1 MiB) evict the flows idle longest, and the evictions the cap implies are what
//! the summary, the `stats` events and the `flow` events (`"reason": "forced"`) all report.

use crate::common::*;
use serde_json::Value;

const FLOWS: u32 = 30_000;

#[test]
fn a_syn_flood_over_the_memcap_evicts_and_reports_it_everywhere() {
    let dir = scratch("memcap-flood");
    let pcap = dir.join("flood.pcap");
    let records: Vec<Record> = (0..FLOWS)
        .map(|i| {
            let src = [10, 77, (i >> 8) as u8, i as u8];
            let dst = [203, 0, 113, (i % 200) as u8 + 1];
            let p = ipv4_packet(
                src,
                dst,
                L4::tcp(40_000 + (i % 20_000) as u16, 443, i, 0x02),
                &[],
            );
            // 10,000 SYNs a second: the flood lasts 3 s, well inside the 60 s handshake timeout.
            (
                1_774_958_400 + i / 10_000,
                (i % 10_000) * 100,
                p.clone(),
                p.len() as u32,
            )
        })
        .collect();
    write_pcap(&pcap, 101, &records);

    for threads in ["1", "2"] {
        let r = replay(
            &format!("memcap-{threads}"),
            &[&pcap],
            &[
                "--threads",
                threads,
                "--flow-memcap",
                "1MiB",
                "--stats-interval",
                "1",
            ],
        );
        let flows = r.of_type("flow");
        let forced = flows
            .iter()
            .filter(|f| f["flow"]["reason"] == "forced")
            .count() as u64;
        let shutdown = flows
            .iter()
            .filter(|f| f["flow"]["reason"] == "shutdown")
            .count() as u64;
        // Every flow is logged once: evicted while the flood runs, or at the end.
        assert_eq!(flows.len() as u64, FLOWS as u64, "threads {threads}");
        assert_eq!(forced + shutdown, FLOWS as u64);
        // The cap implies the evictions: only what fits in 1 MiB is still live at the end.
        assert!(
            forced > FLOWS as u64 / 2,
            "threads {threads}: {forced} evicted"
        );
        assert!(
            shutdown > 1000,
            "threads {threads}: {shutdown} flows fit under the cap"
        );
        let stats = r.of_type("stats");
        let last: &Value = stats.last().expect("a final stats event");
        assert_eq!(last["stats"]["flow"]["wrk"]["flows_evicted"], forced);
        assert_eq!(last["stats"]["flow"]["total"], FLOWS as u64);
        assert_eq!(last["stats"]["flow"]["active"], shutdown);
        assert!(last["stats"]["flow"]["memuse"].as_u64().unwrap() <= 1 << 20);
        assert!(
            r.stderr
                .contains(&format!("0 timed out, {forced} evicted by the flow memcap")),
            "{}",
            r.stderr
        );
        eprintln!("threads {threads}: {forced} evicted, {shutdown} live at the end under 1 MiB");
    }
}
