//! Fuzzes the whole pipeline: the input is split into frames (2-byte length prefixes) of a link
//! type chosen by the first byte, and each frame goes through decode, defragmentation, flows,
//! reassembly, app layer, detections, the merge stage and EVE serialisation. The first byte's
//! high bit picks two worker threads instead of one, so the threaded route is fuzzed too. The
//! detector holds a package inventory, so HTTP request targets reach the registry path parser
//! (`phantom-dependency`).
#![no_main]
use egress_ids::capture::Frame;
use proto::Timestamp;
use egress_ids::detect::{inventory::Inventory, signatures::Signatures, Detector};
use egress_ids::output::EveWriter;
use egress_ids::pipeline::{run, PipelineConfig};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

const LINKTYPES: [i32; 8] = [0, 1, 101, 108, 113, 228, 229, 276];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let linktype = LINKTYPES[first as usize % LINKTYPES.len()];
    let detector = Detector::new(Signatures::builtin(), Detector::default_home_net())
        .with_inventory(Inventory::from_names(["is-number", "@types/node"]));
    let mut config = PipelineConfig::new(Arc::new(detector));
    config.threads = if first & 0x80 != 0 { 2 } else { 1 };
    config.stats_interval = 1;
    let sink = EveWriter::new(Box::new(std::io::sink()));
    run(&config, sink, |on_frame| {
        let mut rest = rest;
        let mut index = 0u64;
        while rest.len() >= 2 && index < 256 {
            let len = (u16::from_be_bytes([rest[0], rest[1]]) as usize).min(rest.len() - 2);
            let frame = &rest[2..2 + len];
            rest = &rest[2 + len..];
            index += 1;
            on_frame.frame(&Frame {
                index,
                ts: Timestamp(index as i64 * 100_000_000),
                linktype,
                data: frame,
                orig_len: frame.len() as u32,
            });
        }
    });
});
