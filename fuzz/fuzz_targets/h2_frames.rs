//! Fuzzes the cleartext HTTP/2 walker and HPACK: the first byte picks the direction (even: the
//! client's, preface first; odd: the server's), the rest is that direction's stream, fed in
//! pieces of the sizes the following bytes' low bits give, the way TCP segments arrive. No panic,
//! and what a decoded block yields (host, port, EVE object) never panics either.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto::h2;

fuzz_target!(|data: &[u8]| {
    let Some((&dir, stream)) = data.split_first() else {
        return;
    };
    let _ = h2::probe(stream);
    let mut d = if dir % 2 == 0 {
        h2::Decoder::client()
    } else {
        h2::Decoder::server()
    };
    // The bytes delivered so far grow by a piece at a time; steps consume from the front.
    let piece = usize::from(dir / 2 % 64) + 1;
    let (mut at, mut have) = (0usize, 0usize);
    for _ in 0..4096 {
        if at >= stream.len() {
            return;
        }
        have = (have + piece).min(stream.len()).max(at);
        match d.step(&stream[at..have]) {
            h2::Step::NeedMore if have == stream.len() => return,
            h2::Step::NeedMore => {}
            h2::Step::Skip(n) => at += n,
            h2::Step::Headers(h, n) => {
                let _ = (h.hostname(), h.port(), h.is_request(), h.eve(h.status));
                at += n;
            }
            h2::Step::Invalid(_) => return,
        }
    }
});
