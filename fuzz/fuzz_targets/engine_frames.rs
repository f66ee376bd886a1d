//! Fuzzes the whole engine: the input is split into frames (2-byte length prefixes) of a link type
//! chosen by the first byte, and each frame goes through decode, flows, reassembly, app layer,
//! detections and EVE serialisation.
#![no_main]
use egress_ids::capture::{Frame, Timestamp};
use egress_ids::detect::{signatures::Signatures, Detector};
use egress_ids::engine::{Engine, EngineConfig};
use egress_ids::output::EveWriter;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

const LINKTYPES: [i32; 8] = [0, 1, 101, 108, 113, 228, 229, 276];

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let linktype = LINKTYPES[first as usize % LINKTYPES.len()];
    let detector = Detector::new(Signatures::builtin(), Detector::default_home_net());
    let mut engine = Engine::new(EngineConfig {
        detector: Arc::new(detector),
        timeouts: Default::default(),
        dns_grace_secs: 300,
    });
    let mut sink = EveWriter::new(Box::new(std::io::sink()));
    let mut index = 0u64;
    while rest.len() >= 2 && index < 256 {
        let len = (u16::from_be_bytes([rest[0], rest[1]]) as usize).min(rest.len() - 2);
        let frame = &rest[2..2 + len];
        rest = &rest[2 + len..];
        index += 1;
        engine.process_frame(
            &Frame {
                index,
                ts: Timestamp(index as i64 * 1_000_000),
                linktype,
                data: frame,
                orig_len: frame.len() as u32,
            },
            &mut sink,
        );
    }
    engine.finish(&mut sink);
});
