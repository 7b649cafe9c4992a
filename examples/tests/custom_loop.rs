//! The custom-loop example is a program users copy: run it as it ships.

use std::process::Command;

#[test]
fn custom_loop_example_connects_echoes_and_closes() {
    let out = Command::new(env!("CARGO_BIN_EXE_custom-loop"))
        .output()
        .expect("run the example");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("channel open after"), "{text}");
    for i in 0..5 {
        assert!(text.contains(&format!("echoed: message {i}")), "{text}");
    }
    assert!(text.contains("closed after"), "{text}");
}
