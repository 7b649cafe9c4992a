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

mod with_ours {
    //! A browser's `RTCPeerConnection` against ours (`RtcPeerConnection` on tokio),
    //! descriptions carried through the page: the browser offers, or answers.

    use std::time::{Duration, Instant};

    use sansrtc::datachannel::DataChannelInit;
    use sansrtc_tests::browser::{Browser, Kind, Options};
    use sansrtc_tokio::ortc::{
        IceGathererOptions, PeerConnectionState, RtcConfiguration, RtcPeerConnection,
        RtcSessionDescription,
    };
    use serde_json::json;

    const LIMIT: Duration = Duration::from_secs(20);

    fn ours() -> RtcPeerConnection {
        RtcPeerConnection::new(RtcConfiguration {
            gather: IceGathererOptions::bind(["127.0.0.1:0".parse().unwrap()]),
            ..Default::default()
        })
        .unwrap()
    }

    /// A blocking browser call from inside the runtime.
    fn eval(b: &mut Browser, js: &str) -> serde_json::Value {
        tokio::task::block_in_place(|| b.eval(js))
    }

    async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
        tokio::time::timeout(LIMIT, f)
            .await
            .unwrap_or_else(|_| panic!("{what}: timed out"))
    }

    async fn case(kind: Kind, browser_offers: bool) {
        let mut b = Browser::launch(kind, &Options::default());
        b.load(super::PAGE);
        let pc = ours();
        let mut incoming = pc.data_channels();
        let started = Instant::now();
        let chat = if browser_offers {
            let offer = eval(&mut b, "T.offer()");
            let offer: RtcSessionDescription = serde_json::from_value(offer).unwrap();
            within("remote offer", pc.set_remote_description(&offer))
                .await
                .unwrap_or_else(|e| panic!("{e}\n{}", offer.sdp));
            let answer = within("answer", pc.create_answer()).await.unwrap();
            within("local answer", pc.set_local_description(&answer))
                .await
                .unwrap();
            let answer = pc.local_description().unwrap();
            eval(&mut b, &format!("T.acceptAnswer({})", json!(answer)));
            within(
                "the browser's channel",
                futures_lite::StreamExt::next(&mut incoming),
            )
            .await
            .unwrap()
        } else {
            let chat = pc
                .create_data_channel("chat", DataChannelInit::default())
                .unwrap();
            let offer = within("offer", pc.create_offer()).await.unwrap();
            within("local offer", pc.set_local_description(&offer))
                .await
                .unwrap();
            let offer = pc.local_description().unwrap();
            let answer = eval(&mut b, &format!("T.answer({})", json!(offer)));
            let answer: RtcSessionDescription = serde_json::from_value(answer).unwrap();
            within("remote answer", pc.set_remote_description(&answer))
                .await
                .unwrap_or_else(|e| panic!("{e}\n{}", answer.sdp));
            chat
        };
        chat.send_text("ping from sansrtc").await.unwrap();
        let got = eval(&mut b, "T.waitMessages(1)");
        assert_eq!(got["messages"][0], "ping from sansrtc");
        let connect_ms = started.elapsed().as_secs_f64() * 1e3;
        eval(&mut b, "T.sendText('pong from the browser')");
        let m = within("the browser's message", chat.recv()).await.unwrap();
        assert_eq!(m.as_bytes(), b"pong from the browser");
        assert_eq!(pc.connection_state(), PeerConnectionState::Connected);
        // Binary, an empty string and an empty binary message (RFC 8831 §6.6: PPIDs 56
        // and 57 carry one ignored byte) from the browser.
        eval(&mut b, "T.sendVarious(3000)");
        let m = within("binary", chat.recv()).await.unwrap();
        let want: Vec<u8> = (0..3000).map(|i| (i & 255) as u8).collect();
        assert!(!m.is_text() && m.as_bytes() == &want[..]);
        let m = within("empty string", chat.recv()).await.unwrap();
        assert!(m.is_text() && m.is_empty());
        let m = within("empty binary", chat.recv()).await.unwrap();
        assert!(!m.is_text() && m.is_empty());
        // A large binary message to the browser (fragmented over many packets).
        chat.send_binary(bytes::Bytes::from(vec![7u8; 100_000]))
            .await
            .unwrap();
        let got = eval(&mut b, "T.waitMessages(2)");
        assert_eq!(got["messages"][1]["bytes"], 100_000);
        // Our close resets the stream both ways; the browser's channel closes.
        within("close the channel", chat.close()).await;
        eval(&mut b, "T.waitClosed()");
        let stats = eval(&mut b, "T.pcStats()");
        println!(
            "{} {} ours: connect {connect_ms:.1} ms, {} {}",
            b.version,
            if browser_offers {
                "offers to"
            } else {
                "answers"
            },
            stats["tlsVersion"],
            stats["dtlsCipher"]
        );
        within("close", pc.close()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chromium_offers_to_ours() {
        case(Kind::Chromium, true).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chromium_answers_ours() {
        case(Kind::Chromium, false).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn firefox_offers_to_ours() {
        case(Kind::Firefox, true).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn firefox_answers_ours() {
        case(Kind::Firefox, false).await
    }
}
