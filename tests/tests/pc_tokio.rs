//! `RtcPeerConnection` through the tokio runtime: two of ours over loopback UDP,
//! descriptions swapped as text, as a signaling channel would carry them.

use std::time::{Duration, Instant};

use sansrtc::datachannel::DataChannelInit;
use sansrtc_tokio::ortc::{
    IceGathererOptions, PeerConnectionState, RtcConfiguration, RtcPeerConnection,
    RtcSessionDescription, SdpType, SignalingState,
};

const LIMIT: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: timed out"))
}

fn loopback() -> RtcConfiguration {
    RtcConfiguration {
        gather: IceGathererOptions::bind(["127.0.0.1:0".parse().unwrap()]),
        ..Default::default()
    }
}

/// Through JSON, as a signaling server carries it.
fn carried(d: &RtcSessionDescription) -> RtcSessionDescription {
    serde_json::from_str(&serde_json::to_string(d).unwrap()).unwrap()
}

/// Offer with every candidate (non-trickle, as aiortc does), answer, a channel, a
/// message each way; the time from `create_offer` to the first message is printed.
#[tokio::test]
async fn two_peer_connections_connect_and_exchange_messages() {
    let a = RtcPeerConnection::new(loopback()).unwrap();
    let b = RtcPeerConnection::new(loopback()).unwrap();
    let mut incoming = b.data_channels();
    let mut a_states = a.connection_state_changes();
    let started = Instant::now();
    let chat = a
        .create_data_channel("chat", DataChannelInit::default())
        .unwrap();
    let offer = within("offer", a.create_offer()).await.unwrap();
    assert_eq!(offer.sdp_type, SdpType::Offer);
    within("local offer", a.set_local_description(&offer))
        .await
        .unwrap();
    assert_eq!(a.signaling_state(), SignalingState::HaveLocalOffer);
    let offer = carried(&a.local_description().unwrap());
    assert!(offer.sdp.contains("a=candidate:"), "{}", offer.sdp);
    within("remote offer", b.set_remote_description(&offer))
        .await
        .unwrap();
    let answer = within("answer", b.create_answer()).await.unwrap();
    within("local answer", b.set_local_description(&answer))
        .await
        .unwrap();
    let answer = carried(&b.local_description().unwrap());
    within("remote answer", a.set_remote_description(&answer))
        .await
        .unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
    assert_eq!(b.signaling_state(), SignalingState::Stable);

    chat.send_text("ping").await.unwrap();
    let at_b = within("incoming", futures_lite::StreamExt::next(&mut incoming))
        .await
        .unwrap();
    assert_eq!(at_b.label(), "chat");
    let m = within("message", at_b.recv()).await.unwrap();
    let first = started.elapsed();
    assert_eq!(m.as_bytes(), b"ping");
    at_b.send_text("pong").await.unwrap();
    let m = within("reply", chat.recv()).await.unwrap();
    assert_eq!(m.as_bytes(), b"pong");
    println!("offer to first message: {first:?}");
    assert_eq!(a.connection_state(), PeerConnectionState::Connected);
    let mut seen = Vec::new();
    while let Ok(Some(s)) = tokio::time::timeout(
        Duration::from_millis(50),
        futures_lite::StreamExt::next(&mut a_states),
    )
    .await
    {
        seen.push(s);
    }
    assert_eq!(
        seen.last(),
        Some(&PeerConnectionState::Connected),
        "{seen:?}"
    );
    within("close", a.close()).await;
    assert_eq!(a.signaling_state(), SignalingState::Closed);
    let closed = within("b sees the channel close", at_b.recv()).await;
    assert!(closed.is_none());
}
