//! Fuzzes the capture reader (`capture::block` over `capture::chunk`): any bytes as a pcap or
//! pcapng stream. The first byte sets how many bytes each `read()` returns (1 to 256, so records
//! are cut at every place a pipe could cut them); the rest is the stream. Differential: the
//! frames (link type, timestamp, bytes, wire length) and the report must be the same as when the
//! whole input comes in one read, and never more bytes than the input. Never a panic.
#![no_main]
use egress_ids::capture::{read_capture_stream, Frame};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

/// A reader that returns at most `step` bytes per call, as a pipe may.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

type Seen = (i32, i64, Vec<u8>, u32, u64);

fn read(data: &[u8], step: usize) -> (Vec<Seen>, Option<(u64, u64, bool)>) {
    let mut frames = Vec::new();
    let report = read_capture_stream(Trickle { data, step }, &mut |f: &Frame<'_>| {
        frames.push((f.linktype, f.ts.0, f.data.to_vec(), f.orig_len, f.index));
    });
    let report = report
        .ok()
        .map(|r| (r.frames(), r.bytes(), r.damage().is_some()));
    (frames, report)
}

fuzz_target!(|data: &[u8]| {
    let [step, rest @ ..] = data else {
        return;
    };
    let (whole, whole_report) = read(rest, usize::MAX);
    let (cut, cut_report) = read(rest, usize::from(*step) + 1);
    assert_eq!(whole, cut, "frames differ with reads of {} bytes", *step as usize + 1);
    assert_eq!(whole_report, cut_report);
    if let Some((frames, bytes, _)) = whole_report {
        assert_eq!(frames as usize, whole.len());
        assert!(bytes as usize <= rest.len());
        let payload: usize = whole.iter().map(|f| f.2.len()).sum();
        assert!(payload <= rest.len());
    }
});
