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
