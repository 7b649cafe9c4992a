//! `ortc-peer` speaks the interop protocol (`tests/aiortc/PROTOCOL.md`), so the Python
//! controller's functional cases run ours ↔ aiortc in both ICE roles and ours ↔ ours.

use std::path::PathBuf;
use std::process::Command;

fn python() -> String {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON.get_or_init(build_python).clone()
}

fn build_python() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(root.join("scripts/install-aiortc"))
        .output()
        .expect("run scripts/install-aiortc");
    assert!(out.status.success(), "scripts/install-aiortc failed");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.lines()
        .last()
        .expect("a python path")
        .trim()
        .to_string()
}

fn selftest(args: &[&str]) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(python())
        .arg(root.join("tests/aiortc/selftest.py"))
        .args(args)
        .output()
        .expect("run selftest.py");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("selftest passed"),
        "selftest {args:?} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const PEER: &str = env!("CARGO_BIN_EXE_ortc-peer");

#[test]
fn ours_controlling_against_aiortc() {
    selftest(&["--peer-a", PEER]);
}

#[test]
fn aiortc_controlling_against_ours() {
    selftest(&["--peer-b", PEER]);
}

#[test]
fn ours_against_ours_through_the_same_harness() {
    selftest(&["--peer-a", PEER, "--peer-b", PEER]);
}
