//! Compiles the eBPF collector (`src/host/bpf/collector.bpf.c`) with clang into OUT_DIR; the
//! `host` module embeds the object and aya loads it at run time. clang is the only build tool
//! this needs (the kernel types come from a small committed header, relocated by CO-RE).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "src/host/bpf/collector.bpf.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=src/host/bpf/vmlinux_min.h");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("collector.bpf.o");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    let status = Command::new(&clang)
        .args([
            "-g", "-O2", "-target", "bpf", "-Wall", "-Werror", "-c", src, "-o",
        ])
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{clang} failed ({s}) compiling {src}"),
        Err(e) => panic!(
            "cannot run `{clang}` ({e}): the eBPF process collector is compiled by clang; \
             run `bash scripts/install-deps.sh` (it installs clang), or set CLANG=/path/to/clang"
        ),
    }
}
