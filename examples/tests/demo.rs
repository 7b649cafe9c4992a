//! The README's first command: the demo must run as it ships.

use std::process::Command;

#[test]
fn demo_connects_and_transfers_256_mib() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .output()
        .expect("run the demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "channel 1 open after",
        "received: hello from a",
        "received: hello from b",
        "256 MiB in 64 KiB messages",
        "connect time (ICE start → channel open)",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}
