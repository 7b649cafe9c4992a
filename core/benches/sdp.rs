//! SDP throughput, in descriptions per second, on Chromium 156's media offer (7 KiB,
//! audio and video, 177 lines): parse, write, and the two together (what a signalling
//! round costs a peer).
//!
//! `cargo bench -p sansrtc --bench sdp`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sansrtc::sdp::SessionDescription;

fn media_offer() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sdp/chromium-156/media-offer.sdp");
    std::fs::read_to_string(path).expect("fixture")
}

fn sdp(c: &mut Criterion) {
    let text = media_offer();
    let parsed = SessionDescription::parse(&text).expect("fixture parses");
    let mut g = c.benchmark_group("sdp");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse chromium media offer", |b| {
        // Dropped inside the loop, as in parse+write, so the two compare.
        b.iter(|| {
            black_box(SessionDescription::parse(black_box(&text)).unwrap())
                .lines()
                .count()
        })
    });
    let mut out = String::with_capacity(text.len());
    g.bench_function("write chromium media offer", |b| {
        b.iter(|| {
            out.clear();
            black_box(&parsed).write_to(&mut out);
            black_box(out.len())
        })
    });
    g.bench_function("parse+write chromium media offer", |b| {
        b.iter(|| {
            out.clear();
            SessionDescription::parse(black_box(&text))
                .unwrap()
                .write_to(&mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, sdp);
criterion_main!(benches);
