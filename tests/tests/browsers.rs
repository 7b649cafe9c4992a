//! Headless Chromium and Firefox (Debian's packages), driven over the DevTools protocol
//! and WebDriver BiDi. Here: each browser against itself, the reference the interop
//! figures are read beside.

use sansrtc_tests::browser::{Browser, Kind, Options};

const PAGE: &str = include_str!("../browser/page.js");

fn page(kind: Kind) -> Browser {
    let mut b = Browser::launch(kind, &Options::default());
    b.load(PAGE);
    b
}

/// Two peer connections in one page connect and move 20 MiB over a data channel.
#[test]
fn each_browser_talks_to_itself() {
    for kind in [Kind::Chromium, Kind::Firefox] {
        let mut b = page(kind);
        let r = b.eval("T.selfLoop(20 << 20, 65536)");
        let connect = r["connectMs"].as_f64().expect("a connect time");
        let mbit = r["mbit"].as_f64().expect("a rate");
        println!(
            "{} to itself: connect {connect:.1} ms, 20 MiB at {mbit:.0} Mbit/s, {} {}",
            b.version, r["tlsVersion"], r["dtlsCipher"]
        );
        assert!(connect > 0.0 && mbit > 0.0);
    }
}

/// Writes each browser's offers and answers (data only; audio, video and data) into
/// `core/tests/fixtures/sdp/<browser>-<version>/`, for the SDP parser's tests. Run by
/// hand when a browser changes: `cargo test -p sansrtc-tests --test browsers --
/// --ignored write_sdp_fixtures`.
#[test]
#[ignore]
fn write_sdp_fixtures() {
    for kind in [Kind::Chromium, Kind::Firefox] {
        let mut b = page(kind);
        let version = b
            .version
            .split_whitespace()
            .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .unwrap_or("unknown")
            .to_owned();
        let name = match kind {
            Kind::Chromium => "chromium",
            Kind::Firefox => "firefox",
        };
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../core/tests/fixtures/sdp")
            .join(format!("{name}-{version}"));
        std::fs::create_dir_all(&dir).unwrap();
        let all = b.eval("T.descriptions()");
        for (file, sdp) in all.as_object().unwrap() {
            std::fs::write(dir.join(format!("{file}.sdp")), sdp.as_str().unwrap()).unwrap();
        }
        println!("wrote {}", dir.display());
    }
}
