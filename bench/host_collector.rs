//! Runs the eBPF process collector (`egress_ids::host::Collector`) until stdin closes, for
//! bench/host.sh: prints `ready` once every hook is attached, then the collector's counters at
//! the end. `cargo run --example host-collector` (root).

use std::io::Read;

fn main() {
    let c = match egress_ids::host::Collector::start() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("host-collector: {e}");
            std::process::exit(2);
        }
    };
    for line in c.blind_spots() {
        eprintln!("host-collector: cannot see {line}");
    }
    println!("ready");
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    eprintln!(
        "host-collector: {:?}, lost {:?}, evicted {:?}",
        c.stats(),
        c.lost(),
        c.evicted()
    );
}
