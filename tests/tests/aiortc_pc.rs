//! Our `RtcPeerConnection` against aiortc's (the pinned venv), SDP carried in
//! `aiortc.contrib.signaling`'s wire format, trickle off as aiortc does; both roles.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use sansrtc::datachannel::DataChannelInit;
use sansrtc_tests::aiortc::python;
use sansrtc_tokio::ortc::{
    IceGathererOptions, PeerConnectionState, RtcConfiguration, RtcPeerConnection,
    RtcSessionDescription, SdpType,
};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(20);

fn line(rx: &Receiver<String>, what: &str) -> String {
    rx.recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("aiortc: no {what}"))
}

fn event(rx: &Receiver<String>, kind: &str) -> Value {
    let until = Instant::now() + LIMIT;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let l = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("aiortc: no {kind} event"));
        let v: Value = serde_json::from_str(&l).expect("JSON from aiortc");
        if v["event"] == kind {
            return v;
        }
    }
}

async fn case(aiortc_offers: bool) {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(python())
        .arg(repo.join("aiortc/pc_peer.py"))
        .arg(if aiortc_offers { "offer" } else { "answer" })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("launch pc_peer.py");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let pc = RtcPeerConnection::new(RtcConfiguration {
        gather: IceGathererOptions::bind(["127.0.0.1:0".parse().unwrap()]),
        ..Default::default()
    })
    .unwrap();
    let mut incoming = pc.data_channels();
    let chat = if aiortc_offers {
        let offer: RtcSessionDescription =
            serde_json::from_str(&line(&rx, "offer")).expect("an offer");
        assert_eq!(offer.sdp_type, SdpType::Offer);
        pc.set_remote_description(&offer)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", offer.sdp));
        let answer = pc.create_answer().await.unwrap();
        pc.set_local_description(&answer).await.unwrap();
        let answer = serde_json::to_string(&pc.local_description().unwrap()).unwrap();
        writeln!(stdin, "{answer}").unwrap();
        tokio::time::timeout(LIMIT, futures_lite::StreamExt::next(&mut incoming))
            .await
            .expect("aiortc's channel")
            .unwrap()
    } else {
        let chat = pc
            .create_data_channel("chat", DataChannelInit::default())
            .unwrap();
        let offer = pc.create_offer().await.unwrap();
        pc.set_local_description(&offer).await.unwrap();
        let offer = serde_json::to_string(&pc.local_description().unwrap()).unwrap();
        writeln!(stdin, "{offer}").unwrap();
        let answer: RtcSessionDescription =
            serde_json::from_str(&line(&rx, "answer")).expect("an answer");
        pc.set_remote_description(&answer)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", answer.sdp));
        chat
    };
    assert_eq!(chat.label(), "chat");
    chat.send_text("ping").await.unwrap();
    let m = tokio::time::timeout(LIMIT, chat.recv())
        .await
        .expect("aiortc's echo")
        .unwrap();
    assert_eq!(m.as_bytes(), b"echo: ping");
    let got = event(&rx, "message");
    assert_eq!(got["data"], "ping");
    assert_eq!(pc.connection_state(), PeerConnectionState::Connected);
    pc.close().await;
    drop(stdin);
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiortc_offers_to_ours() {
    case(true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_offers_to_aiortc() {
    case(false).await
}
