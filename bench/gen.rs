//! Benchmark capture generator (placeholder until written).
fn main() {}
