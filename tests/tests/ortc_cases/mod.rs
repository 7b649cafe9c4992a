//! The async ORTC cases, written once for both runtimes: `ortc_tokio.rs` and
//! `ortc_async_std.rs` include this module beside a `rt` module naming their runtime's
//! ORTC handles, driver, timer and task spawning. Two chains in one process over real
//! loopback UDP, parameters exchanged as aiortc-shaped JSON.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::rt::ortc::*;
use bytes::Bytes;
use futures_lite::StreamExt;
use sansrtc::crypto::default_provider;
use sansrtc::io::{Endpoint, Input, Output, Protocol, Transmit};
use sansrtc::stun::{Class, Message as StunMessage, MessageBuilder, Method};
use serde_json::{Value, json};

/// Every wait in these tests is bounded, so a hang fails instead of stalling the suite.
const LIMIT: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    super::rt::timeout(LIMIT, f)
        .await
        .unwrap_or_else(|| panic!("{what}: timed out"))
}

/// One side's chain.
struct Peer {
    gatherer: IceGatherer,
    ice: IceTransport,
    dtls: DtlsTransport,
    sctp: SctpTransport,
}

impl Peer {
    async fn new(bind: &str) -> Peer {
        Peer::with_limits(bind, ReceiveLimits::default()).await
    }

    async fn with_limits(bind: &str, limits: ReceiveLimits) -> Peer {
        let gatherer = IceGatherer::new(IceGathererOptions::bind([bind.parse().unwrap()]));
        within("gather", gatherer.gather()).await.unwrap();
        assert_eq!(gatherer.state(), IceGatheringState::Complete);
        let ice = IceTransport::new(&gatherer);
        let cert = DtlsCertificate::generate(&*default_provider()).unwrap();
        let dtls = DtlsTransport::new(&ice, vec![cert]).unwrap();
        let sctp = SctpTransport::with_limits(&dtls, 5000, limits).unwrap();
        Peer {
            gatherer,
            ice,
            dtls,
            sctp,
        }
    }

    /// What this side signals, as text.
    fn signal(&self) -> String {
        json!({
            "ice": self.gatherer.local_parameters(),
            "candidates": self.gatherer.local_candidates(),
            "dtls": self.dtls.local_parameters(),
            "sctp": self.sctp.capabilities(),
        })
        .to_string()
    }

    async fn start(&self, remote: &str, role: IceRole) -> Result<(), Error> {
        let remote: Value = serde_json::from_str(remote).unwrap();
        let field = |k: &str| remote[k].clone();
        let candidates: Vec<IceCandidate> = serde_json::from_value(field("candidates")).unwrap();
        for c in &candidates {
            self.ice.add_remote_candidate(Some(c)).await?;
        }
        self.ice.add_remote_candidate(None).await?;
        let ice: IceParameters = serde_json::from_value(field("ice")).unwrap();
        self.ice.start(&ice, role).await?;
        let dtls: DtlsParameters = serde_json::from_value(field("dtls")).unwrap();
        self.dtls.start(&dtls).await?;
        let sctp: SctpCapabilities = serde_json::from_value(field("sctp")).unwrap();
        self.sctp.start(&sctp, 5000).await
    }

    async fn stop(&self) {
        within("sctp stop", self.sctp.stop()).await;
        within("dtls stop", self.dtls.stop()).await;
        within("ice stop", self.ice.stop()).await;
    }
}

/// Two connected chains on `bind` (a loopback address with port 0); `None` where the
/// address family is missing.
async fn connected(bind: &str) -> Option<(Peer, Peer)> {
    connected_with(bind, ReceiveLimits::default()).await
}

/// [`connected`], with `b_limits` on the second chain.
async fn connected_with(bind: &str, b_limits: ReceiveLimits) -> Option<(Peer, Peer)> {
    if UdpSocket::bind(bind).is_err() {
        eprintln!("{bind} not available here; skipped");
        return None;
    }
    let (a, b) = (
        Peer::new(bind).await,
        Peer::with_limits(bind, b_limits).await,
    );
    start_both(&a, &b).await;
    Some((a, b))
}

/// Starts `a` (ICE-controlling) and `b` with each other's signals, at once.
async fn start_both(a: &Peer, b: &Peer) {
    let (to_a, to_b) = (b.signal(), a.signal());
    let (ra, rb) = within(
        "connect",
        futures_lite::future::zip(
            a.start(&to_a, IceRole::Controlling),
            b.start(&to_b, IceRole::Controlled),
        ),
    )
    .await;
    ra.unwrap();
    rb.unwrap();
}

/// The handles' futures can be spawned on a multi-threaded executor (compile-time check).
#[allow(dead_code)]
fn futures_are_send(p: &Peer, c: &DataChannel, ice: &IceParameters, dtls: &DtlsParameters) {
    fn send<T: Send>(_: T) {}
    send(p.gatherer.gather());
    send(p.ice.start(ice, IceRole::Controlled));
    send(p.ice.add_remote_candidate(None));
    send(p.dtls.start(dtls));
    send(p.sctp.start(&p.sctp.capabilities(), 5000));
    send(c.send_text("x"));
    send(c.recv());
    send(c.open());
    send(c.close());
    send(p.ice.stop());
    send(p.sctp.stop());
}

fn rebind_all(addrs: &[SocketAddr]) -> std::io::Result<Vec<UdpSocket>> {
    addrs.iter().map(UdpSocket::bind).collect()
}

pub async fn chains_connect_and_carry_text_binary_and_empty_messages_both_ways() {
    let started = Instant::now();
    let Some((a, b)) = connected("127.0.0.1:0").await else {
        return;
    };
    println!("connected in {:?}", started.elapsed());
    // Roles: a is ICE-controlling, so the DTLS server.
    assert_eq!(a.ice.role(), Some(IceRole::Controlling));
    assert_eq!(b.ice.role(), Some(IceRole::Controlled));
    assert_eq!(a.dtls.role(), Some(DtlsRole::Server));
    assert_eq!(b.dtls.role(), Some(DtlsRole::Client));
    for p in [&a, &b] {
        assert!(matches!(
            p.ice.state(),
            IceConnectionState::Connected | IceConnectionState::Completed
        ));
        assert_eq!(p.dtls.state(), DtlsTransportState::Connected);
        assert!(p.dtls.cipher_suite().is_some());
        assert_eq!(p.dtls.version(), Some(DtlsVersion::Dtls12));
        assert!(p.dtls.srtp_profile().is_some());
        assert_eq!(p.dtls.error(), None);
        let (local, remote) = p.ice.selected_candidate_pair().unwrap();
        assert_eq!(local.ip, "127.0.0.1");
        assert_eq!(remote.ip, "127.0.0.1");
        assert_eq!(p.gatherer.local_addresses().len(), 1);
    }

    let mut incoming_a = a.sctp.incoming_channels();
    let mut incoming_b = b.sctp.incoming_channels();
    let sctp_states = a.sctp.state_changes();
    // A channel from each side; a's is made before the association is up.
    let from_a = a
        .sctp
        .create_data_channel(DataChannelParameters::new("from-a"))
        .unwrap();
    let mut params = DataChannelParameters::new("from-b");
    params.protocol = "chat".into();
    params.ordered = false;
    params.max_retransmits = Some(3);
    let from_b = b.sctp.create_data_channel(params).unwrap();
    within("open", from_a.open()).await.unwrap();
    within("open", from_b.open()).await.unwrap();
    assert_eq!(a.sctp.state(), SctpTransportState::Connected);
    // DTLS server (a) takes odd ids, the client (b) even ones.
    assert_eq!(from_a.id().map(|id| id % 2), Some(1));
    assert_eq!(from_b.id().map(|id| id % 2), Some(0));

    let at_b = within("incoming", incoming_b.next()).await.unwrap();
    let at_a = within("incoming", incoming_a.next()).await.unwrap();
    assert_eq!((at_b.label(), at_b.id()), ("from-a", from_a.id()));
    assert!(at_b.ordered() && !at_b.negotiated());
    assert_eq!(
        (at_a.label(), at_a.protocol(), at_a.ordered()),
        ("from-b", "chat", false)
    );
    assert_eq!(at_a.max_retransmits(), Some(3));
    assert_eq!(at_a.ready_state(), DataChannelState::Open);

    let sent = [
        Message::Text("hello".into()),
        Message::Binary(Bytes::from_static(&[0, 1, 2, 255])),
        Message::Text(String::new()),
        Message::Binary(Bytes::new()),
        Message::Text("ünïcödé ✓".into()),
    ];
    for m in &sent {
        match m {
            Message::Text(t) => from_a.send_text(t).await.unwrap(),
            Message::Binary(b) => from_a.send_binary(b.clone()).await.unwrap(),
        }
        from_b.send(m.clone()).await.unwrap();
    }
    let mut messages_at_b = at_b.messages();
    for m in &sent {
        assert_eq!(within("recv", messages_at_b.next()).await.as_ref(), Some(m));
        // Unordered, but one at a time on a loss-free path.
        assert_eq!(within("recv", at_a.recv()).await.as_ref(), Some(m));
    }

    // Closing from one side is seen on the other.
    let mut b_events = at_b.events();
    within("close", from_a.close()).await;
    assert_eq!(from_a.ready_state(), DataChannelState::Closed);
    assert_eq!(
        within("event", b_events.next()).await,
        Some(ChannelEvent::Closing)
    );
    assert_eq!(
        within("event", b_events.next()).await,
        Some(ChannelEvent::Closed)
    );
    assert_eq!(b_events.next().await, None);
    assert_eq!(at_b.ready_state(), DataChannelState::Closed);
    assert_eq!(within("recv", at_b.recv()).await, None);
    assert!(matches!(
        from_a.send_text("late").await,
        Err(Error::ChannelClosed)
    ));
    // The other channel is untouched.
    from_b.send_text("still here").await.unwrap();
    assert_eq!(
        within("recv", at_a.recv()).await,
        Some(Message::Text("still here".into()))
    );

    // stop() releases the sockets: the same ports bind again at once.
    let addrs: Vec<SocketAddr> = [&a, &b]
        .iter()
        .flat_map(|p| p.gatherer.local_addresses())
        .collect();
    assert!(rebind_all(&addrs).is_err(), "sockets should be in use");
    a.stop().await;
    // Subscribed after start: what came before (Connecting, maybe Connected) is not in it.
    let states: Vec<_> = within("sctp states", sctp_states.collect()).await;
    assert_eq!(
        states.last(),
        Some(&SctpTransportState::Closed),
        "{states:?}"
    );
    assert_eq!(a.sctp.state(), SctpTransportState::Closed);
    b.stop().await;
    rebind_all(&addrs).expect("stop() released the sockets");
    assert_eq!(a.ice.state(), IceConnectionState::Closed);
    assert_eq!(at_a.ready_state(), DataChannelState::Closed);
    assert!(matches!(
        from_b.send_text("after stop").await,
        Err(Error::ChannelClosed | Error::Closed)
    ));
    println!("whole test {:?}", started.elapsed());
}

pub async fn bulk_send_waits_at_the_high_water_mark_and_delivers_every_byte_in_order() {
    const TOTAL: usize = 32 << 20;
    const CHUNK: usize = 64 << 10;
    let Some((a, b)) = connected("127.0.0.1:0").await else {
        return;
    };
    let mut incoming = b.sctp.incoming_channels();
    let tx = a
        .sctp
        .create_data_channel(DataChannelParameters::new("bulk"))
        .unwrap();
    let high = 512 << 10;
    tx.set_high_water_mark(high);
    assert_eq!(tx.high_water_mark(), high);
    within("open", tx.open()).await.unwrap();
    let rx = within("incoming", incoming.next()).await.unwrap();

    let reader = super::rt::spawn(async move {
        let mut received = 0usize;
        while received < TOTAL {
            let Some(Message::Binary(m)) = rx.recv().await else {
                panic!("channel ended after {received} bytes");
            };
            for (i, byte) in m.iter().enumerate() {
                let at = received + i;
                assert_eq!(*byte, (at % 251) as u8, "byte {at} out of order");
            }
            received += m.len();
        }
        received
    });

    let started = Instant::now();
    let mut max_buffered = 0;
    // Sends made while bufferedAmount was above the mark: each had to wait for it to drop.
    let mut held = 0;
    for start in (0..TOTAL).step_by(CHUNK) {
        let chunk: Bytes = (start..start + CHUNK).map(|i| (i % 251) as u8).collect();
        if tx.buffered_amount() > high {
            held += 1;
        }
        within("send", tx.send_binary(chunk)).await.unwrap();
        max_buffered = max_buffered.max(tx.buffered_amount());
    }
    assert!(
        max_buffered <= high + CHUNK,
        "bufferedAmount reached {max_buffered}, above {high} + one message"
    );
    // The sender really was held back, not just fast.
    assert!(
        max_buffered > high / 2,
        "never near the mark: {max_buffered}"
    );
    assert!(held > 0, "no send ever found the buffer above the mark");
    let received = within("reader", reader).await;
    let elapsed = started.elapsed();
    assert_eq!(received, TOTAL);
    println!(
        "{} MiB in {elapsed:?} ({:.0} Mbit/s), bufferedAmount at most {max_buffered}, {held} sends held back",
        TOTAL >> 20,
        TOTAL as f64 * 8.0 / elapsed.as_secs_f64() / 1e6
    );
    a.ice.stop().await;
    b.ice.stop().await;
}

pub async fn a_send_dropped_while_it_waits_withdraws_its_message_and_the_next_goes() {
    let Some((a, b)) = connected("127.0.0.1:0").await else {
        return;
    };
    let mut incoming = b.sctp.incoming_channels();
    let tx = a
        .sctp
        .create_data_channel(DataChannelParameters::new("turns"))
        .unwrap();
    // At a mark of 0 a send waits until everything before it is acknowledged.
    tx.set_high_water_mark(0);
    within("open", tx.open()).await.unwrap();
    let big = Bytes::from(vec![1u8; 256 << 10]);
    within("first", tx.send_binary(big)).await.unwrap();
    // A quarter MiB takes round trips of slow start to be acknowledged, so this send
    // waits; dropping it withdraws its message.
    assert!(
        futures_lite::future::poll_once(tx.send_text("withdrawn"))
            .await
            .is_none()
    );
    // The withdrawn send holds nobody back, and waiting sends go in the order made.
    let (second, third) = within(
        "waiting sends",
        futures_lite::future::zip(tx.send_text("second"), tx.send_text("third")),
    )
    .await;
    second.unwrap();
    third.unwrap();
    let rx = within("incoming", incoming.next()).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(within("recv", rx.recv()).await.unwrap());
    }
    assert_eq!(got[0].len(), 256 << 10);
    assert_eq!(got[1], Message::Text("second".into()));
    assert_eq!(got[2], Message::Text("third".into()));
    a.ice.stop().await;
    b.ice.stop().await;
}

pub async fn ipv6_loopback_connects_and_low_threshold_event_fires() {
    let Some((a, b)) = connected("[::1]:0").await else {
        return;
    };
    let mut incoming = b.sctp.incoming_channels();
    let tx = a
        .sctp
        .create_data_channel(DataChannelParameters::new("v6"))
        .unwrap();
    tx.set_buffered_amount_low_threshold(1000);
    assert_eq!(tx.buffered_amount_low_threshold(), 1000);
    let mut events = tx.events();
    assert_eq!(
        within("event", events.next()).await,
        Some(ChannelEvent::Open)
    );
    tx.send_binary(Bytes::from(vec![7u8; 100_000]))
        .await
        .unwrap();
    assert_eq!(
        within("event", events.next()).await,
        Some(ChannelEvent::BufferedAmountLow)
    );
    assert!(tx.buffered_amount() <= 1000);
    let rx = within("incoming", incoming.next()).await.unwrap();
    assert_eq!(
        within("recv", rx.recv()).await.map(|m| m.len()),
        Some(100_000)
    );
    a.ice.stop().await;
    b.ice.stop().await;
}

pub async fn wrong_fingerprint_fails_dtls_start_with_an_error() {
    let (a, b) = (
        Peer::new("127.0.0.1:0").await,
        Peer::new("127.0.0.1:0").await,
    );
    let mut to_a: Value = serde_json::from_str(&b.signal()).unwrap();
    // Not the fingerprint of b's certificate.
    to_a["dtls"]["fingerprints"][0]["value"] = json!(
        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"
    );
    let (ra, rb) = within(
        "connect",
        futures_lite::future::zip(
            a.start(&to_a.to_string(), IceRole::Controlling),
            b.start(&a.signal(), IceRole::Controlled),
        ),
    )
    .await;
    // The cause reaches the application typed, not as a string.
    assert!(
        matches!(ra, Err(Error::DtlsFailed(DtlsError::FingerprintMismatch))),
        "{ra:?}"
    );
    assert!(rb.is_err(), "{rb:?}");
    assert_eq!(a.dtls.state(), DtlsTransportState::Failed);
    assert_eq!(a.dtls.error(), Some(DtlsError::FingerprintMismatch));
    a.ice.stop().await;
    b.ice.stop().await;
}

/// The application picks the DTLS role: the ICE-controlling side, which `auto` makes the
/// DTLS server, announces and takes `client` instead.
pub async fn a_chosen_dtls_role_overrides_the_one_ice_implies() {
    let (a, b) = (
        Peer::new("127.0.0.1:0").await,
        Peer::new("127.0.0.1:0").await,
    );
    a.dtls.set_local_role(DtlsRoleParam::Client).await.unwrap();
    assert_eq!(a.dtls.local_parameters().role, DtlsRoleParam::Client);
    start_both(&a, &b).await;
    assert_eq!(a.dtls.role(), Some(DtlsRole::Client));
    assert_eq!(b.dtls.role(), Some(DtlsRole::Server));
    // Too late once started.
    assert!(a.dtls.set_local_role(DtlsRoleParam::Server).await.is_err());
    a.ice.stop().await;
    b.ice.stop().await;
}

pub async fn dropping_every_handle_ends_the_task_and_closes_the_sockets() {
    let Some((a, b)) = connected("127.0.0.1:0").await else {
        return;
    };
    let addrs = a.gatherer.local_addresses();
    let mut b_states = b.dtls.state_changes();
    let channel = a
        .sctp
        .create_data_channel(DataChannelParameters::new("x"))
        .unwrap();
    within("open", channel.open()).await.unwrap();
    drop((a, channel));
    // The task sends close_notify on its way out, and then lets go of the socket.
    assert_eq!(
        within("peer sees close", b_states.next()).await,
        Some(DtlsTransportState::Closed)
    );
    within("socket released", async {
        while rebind_all(&addrs).is_err() {
            super::rt::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    b.ice.stop().await;

    // A chain that never gathered binds nothing and stops at once.
    let g = IceGatherer::new(IceGathererOptions::bind(["127.0.0.1:0".parse().unwrap()]));
    let ice = IceTransport::new(&g);
    within("stop", ice.stop()).await;
    assert!(g.local_addresses().is_empty());
    assert!(matches!(g.gather().await, Err(Error::Closed)));
}

/// A STUN server behind a pretend NAT: answers every Binding request with `mapped`.
struct NatStun {
    mapped: SocketAddr,
    now: std::time::Instant,
    out: std::collections::VecDeque<Transmit>,
}

impl Endpoint for NatStun {
    type Event = ();

    fn handle_input(&mut self, input: Input) {
        self.now = self.now.max(input.now());
        let Input::Receive(r) = input else { return };
        let Ok(m) = StunMessage::parse(&r.contents) else {
            return;
        };
        if (m.class(), m.method()) == (Class::Request, Method::Binding) {
            let reply = MessageBuilder::new(Class::Success, Method::Binding, m.transaction_id())
                .xor_mapped_address(self.mapped)
                .finish_with_fingerprint();
            let reply = Transmit::single(Protocol::Udp, r.destination, r.source, reply.into());
            self.out.push_back(reply);
        }
    }

    fn poll_output(&mut self) -> Output<()> {
        match self.out.pop_front() {
            Some(t) => Output::Transmit(t),
            None => Output::Timeout(self.now + sansrtc::io::IDLE_TIMEOUT),
        }
    }
}

pub async fn gather_waits_for_server_reflexive_candidates_from_stun_servers() {
    let mapped: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let nat = NatStun {
        mapped,
        now: std::time::Instant::now(),
        out: Default::default(),
    };
    let mut driver = super::rt::UdpDriver::bind(nat, &["127.0.0.1:0".parse().unwrap()]).unwrap();
    let stun = driver.local_addrs()[0];
    let server = super::rt::background(async move {
        loop {
            driver.next_event().await.unwrap();
        }
    });
    let mut options = IceGathererOptions::bind(["127.0.0.1:0".parse().unwrap()]);
    options.stun_servers = vec![stun];
    let gatherer = IceGatherer::new(options);
    let states = gatherer.state_changes();
    within("gather", gatherer.gather()).await.unwrap();
    let candidates = gatherer.local_candidates();
    let types: Vec<&str> = candidates
        .iter()
        .map(|c| c.candidate_type.as_str())
        .collect();
    assert_eq!(types, ["host", "srflx"]);
    let srflx = &candidates[1];
    assert_eq!((srflx.ip.as_str(), srflx.port), ("192.0.2.7", 40000));
    assert_eq!(srflx.related_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        srflx.related_port,
        Some(gatherer.local_addresses()[0].port())
    );
    gatherer.stop().await;
    let states: Vec<_> = states.collect().await;
    assert_eq!(states.last(), Some(&IceGatheringState::Complete));
    server.stop().await;
}

/// A reader that stops for a while: the receiver holds at most the SCTP receive window
/// of unread data, the sender waits at its high-water mark, and every byte arrives in
/// order once the reader resumes.
pub async fn a_reader_that_stops_holds_the_sender_back_and_then_gets_every_byte() {
    // The figures (512 MiB while the reader stops for 10 s) in release builds;
    // 64 MiB in debug builds, where 512 MiB would take the test past ~20 s.
    let total: usize = if cfg!(debug_assertions) {
        64 << 20
    } else {
        512 << 20
    };
    let pause = Duration::from_secs(10);
    const CHUNK: usize = 64 << 10;
    let Some((a, b)) = connected("127.0.0.1:0").await else {
        return;
    };
    let mut incoming = b.sctp.incoming_channels();
    let tx = a
        .sctp
        .create_data_channel(DataChannelParameters::new("stalled"))
        .unwrap();
    let high = tx.high_water_mark();
    within("open", tx.open()).await.unwrap();
    let rx = within("incoming", incoming.next()).await.unwrap();
    let window = DEFAULT_RECEIVE_WINDOW as usize;

    // Bytes SCTP has taken from the sender so far.
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sent_seen = sent.clone();
    let started = Instant::now();
    let reader = super::rt::spawn(async move {
        let load = || sent_seen.load(std::sync::atomic::Ordering::SeqCst);
        // Not reading: watch what piles up.
        let mut peak = 0;
        let mut sent_halfway = None;
        while started.elapsed() < pause {
            peak = peak.max(rx.unread_bytes());
            if sent_halfway.is_none() && started.elapsed() >= pause / 2 {
                sent_halfway = Some(load());
            }
            super::rt::sleep(Duration::from_millis(10)).await;
        }
        let (sent_halfway, sent_paused) = (sent_halfway.unwrap_or(0), load());
        peak = peak.max(rx.unread_bytes());
        let mut received = 0usize;
        while received < total {
            let Some(Message::Binary(m)) = rx.recv().await else {
                panic!("channel ended after {received} bytes");
            };
            for (i, byte) in m.iter().enumerate() {
                let at = received + i;
                assert_eq!(*byte, (at % 251) as u8, "byte {at} out of order");
            }
            received += m.len();
        }
        (peak, sent_halfway, sent_paused, received, rx.unread_bytes())
    });

    let mut max_buffered = 0;
    for start in (0..total).step_by(CHUNK) {
        let chunk: Bytes = (start..start + CHUNK).map(|i| (i % 251) as u8).collect();
        super::rt::timeout(pause + LIMIT, tx.send_binary(chunk))
            .await
            .expect("send: timed out")
            .unwrap();
        sent.fetch_add(CHUNK, std::sync::atomic::Ordering::SeqCst);
        max_buffered = max_buffered.max(tx.buffered_amount());
    }
    let (peak, sent_halfway, sent_paused, received, unread_after) =
        super::rt::timeout(pause + 4 * LIMIT, reader)
            .await
            .expect("reader: timed out");
    let elapsed = started.elapsed();
    println!(
        "{} MiB with the reader stopped for {pause:?}: unread at most {peak} bytes, \
         {sent_paused} bytes sent while stopped ({sent_halfway} halfway), bufferedAmount \
         at most {max_buffered}; all read in {elapsed:?}",
        total >> 20
    );
    assert!(
        peak <= window,
        "{peak} bytes unread, above the {window}-byte receive window"
    );
    assert!(
        peak > window / 2,
        "the window never filled ({peak} bytes unread): the test shows nothing"
    );
    // Whatever SCTP took is unread at the receiver or buffered at the sender.
    assert!(
        sent_paused <= window + high + CHUNK,
        "{sent_paused} bytes sent while the reader was stopped"
    );
    assert_eq!(
        sent_halfway, sent_paused,
        "the sender kept going while the reader was stopped"
    );
    assert!(
        max_buffered <= high + CHUNK,
        "bufferedAmount reached {max_buffered}, above {high} + one message"
    );
    assert_eq!(received, total);
    assert_eq!(unread_after, 0);
    a.ice.stop().await;
    b.ice.stop().await;
}

/// Two channels from a to b; b's handles of them, in the same order.
async fn two_channels(a: &Peer, b: &Peer) -> [(DataChannel, DataChannel); 2] {
    let mut incoming = b.sctp.incoming_channels();
    let mut pairs = Vec::new();
    for label in ["first", "second"] {
        let tx = a
            .sctp
            .create_data_channel(DataChannelParameters::new(label))
            .unwrap();
        within("open", tx.open()).await.unwrap();
        let rx = within("incoming", incoming.next()).await.unwrap();
        assert_eq!(rx.label(), label);
        pairs.push((tx, rx));
    }
    pairs.try_into().ok().unwrap()
}

/// A channel whose every handle is dropped at the receiver does not hold the shared
/// receive window: what is sent on it is dropped, and the other channel keeps going.
pub async fn a_channel_nobody_can_read_does_not_stall_the_others() {
    let Some((a, b)) = connected("127.0.0.1:0").await else {
        return;
    };
    let [(orphan_tx, orphan_rx), (tx, rx)] = two_channels(&a, &b).await;
    let stream = orphan_rx.messages();
    orphan_tx
        .send_text("read before the readers went")
        .await
        .unwrap();
    assert_eq!(
        within("recv", orphan_rx.recv()).await,
        Some(Message::Text("read before the readers went".into()))
    );
    // Queued, then dropped with the last reader: it must not keep its window room.
    orphan_tx
        .send_binary(Bytes::from(vec![1u8; 60_000]))
        .await
        .unwrap();
    within("queued", async {
        while orphan_rx.unread_bytes() < 60_000 {
            super::rt::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    // The handle and then the stream: the last reader goes.
    drop(orphan_rx);
    drop(stream);
    // Twice the receive window on the channel nobody reads: with its room held, the
    // sends would stop once the window filled.
    let window = DEFAULT_RECEIVE_WINDOW as usize;
    let chunk = Bytes::from(vec![7u8; 64 << 10]);
    within("sends on the orphan", async {
        for _ in 0..2 * window / chunk.len() {
            orphan_tx.send_binary(chunk.clone()).await.unwrap();
        }
        while orphan_tx.buffered_amount() > 0 {
            super::rt::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    tx.send_text("still flowing").await.unwrap();
    assert_eq!(
        within("recv", rx.recv()).await,
        Some(Message::Text("still flowing".into()))
    );
    assert_eq!(rx.unread_bytes(), 0);
    a.ice.stop().await;
    b.ice.stop().await;
}

/// Empty messages hold nothing of the SCTP window; the per-channel bound stops a flood
/// of them, says so, keeps what was queued readable, and closes the channel. A closed
/// channel's queued messages stay readable too.
pub async fn a_flood_of_empty_messages_overflows_the_channel_bound_with_an_event() {
    let mut limits = ReceiveLimits::default();
    // Room for 100 empty messages (64 bytes each) on a channel.
    limits.max_channel_unread = 100 * 64;
    let Some((a, b)) = connected_with("127.0.0.1:0", limits).await else {
        return;
    };
    let [(flood_tx, flood_rx), (tx, rx)] = two_channels(&a, &b).await;
    let mut events = flood_rx.events();
    let mut sent = 0;
    within("flood", async {
        // Sends fail once the receiver has closed the channel.
        while sent < 1000 && flood_tx.send_binary(Bytes::new()).await.is_ok() {
            sent += 1;
        }
    })
    .await;
    assert_eq!(
        within("event", events.next()).await,
        Some(ChannelEvent::ReceiveOverflow)
    );
    within("closed", async {
        while flood_rx.ready_state() != DataChannelState::Closed {
            super::rt::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let mut read = 0;
    while let Some(m) = within("recv", flood_rx.recv()).await {
        assert_eq!(m, Message::Binary(Bytes::new()));
        read += 1;
    }
    assert_eq!(read, 100, "{sent} sent");
    // The other channel is unaffected, and a message left on it when it closes can
    // still be read.
    tx.send_text("before close").await.unwrap();
    within("arrived", async {
        while rx.unread_bytes() == 0 {
            super::rt::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    within("close", tx.close()).await;
    within("closed here", async {
        while rx.ready_state() != DataChannelState::Closed {
            super::rt::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(
        within("recv", rx.recv()).await,
        Some(Message::Text("before close".into()))
    );
    assert_eq!(within("recv", rx.recv()).await, None);
    a.ice.stop().await;
    b.ice.stop().await;
}

/// What `p` holds of channels once the closes have gone through: (entries, incoming keys
/// waiting to be taken). Waits a moment for the count to fall to `at_most`, and returns
/// whatever it is then, so a count that stays high is reported rather than timed out.
async fn held_settled(p: &Peer, at_most: usize) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let held = p.sctp.held_channels();
        if held.0 <= at_most || Instant::now() >= deadline {
            return held;
        }
        super::rt::sleep(Duration::from_millis(5)).await;
    }
}

/// A peer that keeps opening and closing channels cannot grow what the chain holds: a
/// closed channel nobody can read any more is forgotten, whether the application took
/// it and dropped it or never took it at all; a closed channel with a message nobody
/// took is kept until it is read; and the association keeps working.
pub async fn channels_opened_and_closed_again_and_again_are_forgotten() {
    const ROUNDS: usize = 150;
    let Some((a, b)) = connected("127.0.0.1:0").await else {
        return;
    };
    let started = Instant::now();
    // a → b, b taking each channel and dropping it; some carry a message b reads, and
    // either side closes.
    let mut incoming = b.sctp.incoming_channels();
    for i in 0..ROUNDS {
        let tx = a
            .sctp
            .create_data_channel(DataChannelParameters::new(&format!("taken-{i}")))
            .unwrap();
        within("open", tx.open()).await.unwrap();
        let rx = within("incoming", incoming.next()).await.unwrap();
        assert_eq!(rx.label(), format!("taken-{i}"));
        if i % 3 == 0 {
            tx.send_text("read").await.unwrap();
            assert_eq!(
                within("recv", rx.recv()).await,
                Some(Message::Text("read".into()))
            );
        }
        if i % 2 == 0 {
            within("close", tx.close()).await;
            drop(rx);
        } else {
            within("close", rx.close()).await;
            drop(rx);
            within("closed at a", async {
                while tx.ready_state() != DataChannelState::Closed {
                    super::rt::sleep(Duration::from_millis(1)).await;
                }
            })
            .await;
        }
    }
    drop(incoming);
    // b → a, and a never asks for incoming channels.
    for i in 0..ROUNDS {
        let tx = b
            .sctp
            .create_data_channel(DataChannelParameters::new(&format!("untaken-{i}")))
            .unwrap();
        within("open", tx.open()).await.unwrap();
        within("close", tx.close()).await;
    }
    let (held_a, held_b) = (held_settled(&a, 0).await, held_settled(&b, 0).await);
    println!(
        "{} channels opened and closed in {:?}: a holds {held_a:?}, b holds {held_b:?} \
         (entries, incoming keys)",
        2 * ROUNDS,
        started.elapsed()
    );
    for (side, (entries, pending)) in [("a", held_a), ("b", held_b)] {
        assert!(
            entries <= 2 && pending <= entries,
            "{side} holds {entries} channel entries and {pending} incoming keys after \
             {} channels were opened and closed",
            2 * ROUNDS
        );
    }

    // A channel the peer closed with a message nobody has taken yet is kept, message
    // and all, and the forgotten ones are skipped.
    let kept = b
        .sctp
        .create_data_channel(DataChannelParameters::new("kept"))
        .unwrap();
    within("open", kept.open()).await.unwrap();
    kept.send_text("left for later").await.unwrap();
    within("close", kept.close()).await;
    drop(kept);
    let mut incoming_a = a.sctp.incoming_channels();
    let late = within("incoming", incoming_a.next()).await.unwrap();
    assert_eq!(late.label(), "kept");
    // b's close resolves once b is closed; a may still be finishing.
    within("closed at a", async {
        while late.ready_state() != DataChannelState::Closed {
            super::rt::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    assert_eq!(
        within("recv", late.recv()).await,
        Some(Message::Text("left for later".into()))
    );
    assert_eq!(within("recv", late.recv()).await, None);
    drop(late);

    // The association still works: a new channel opens and carries a message.
    let tx = b
        .sctp
        .create_data_channel(DataChannelParameters::new("after"))
        .unwrap();
    within("open", tx.open()).await.unwrap();
    tx.send_text("still working").await.unwrap();
    let rx = within("incoming", incoming_a.next()).await.unwrap();
    assert_eq!(rx.label(), "after");
    assert_eq!(
        within("recv", rx.recv()).await,
        Some(Message::Text("still working".into()))
    );
    assert_eq!(a.sctp.held_channels(), (1, 0));
    assert_eq!(b.sctp.held_channels(), (1, 0));
    println!("whole test {:?}", started.elapsed());
    a.ice.stop().await;
    b.ice.stop().await;
}

/// A channel made before anything has started has no id yet (the DTLS role picks its
/// parity), is sent on at once (the send waits for it to open), and once the chains
/// connect it gets an id of the DTLS server's parity, opens, and delivers what was sent
/// first; one closed before it had an id closes at once and never reaches the peer.
pub async fn a_channel_made_before_anything_starts_gets_its_id_and_delivers() {
    let bind = "127.0.0.1:0";
    let (a, b) = (Peer::new(bind).await, Peer::new(bind).await);
    let early = a
        .sctp
        .create_data_channel(DataChannelParameters::new("early"))
        .unwrap();
    assert_eq!(early.id(), None);
    assert_eq!(early.ready_state(), DataChannelState::Connecting);
    let dropped = a
        .sctp
        .create_data_channel(DataChannelParameters::new("dropped"))
        .unwrap();
    within("close before any id", dropped.close()).await;
    assert_eq!(dropped.ready_state(), DataChannelState::Closed);
    assert!(dropped.send_text("too late").await.is_err());
    let mut incoming_b = b.sctp.incoming_channels();
    let sender = early.clone();
    let first = super::rt::spawn(async move { sender.send_text("sent before any id").await });
    start_both(&a, &b).await;
    within("open", early.open()).await.unwrap();
    within("first send", first).await.unwrap();
    // a is ICE-controlling, so the DTLS server: odd ids, and the first one free.
    assert_eq!(early.id(), Some(1));
    let at_b = within("incoming", incoming_b.next()).await.unwrap();
    assert_eq!((at_b.label(), at_b.id()), ("early", Some(1)));
    let got = within("message", at_b.recv()).await.unwrap();
    assert_eq!(got, Message::Text("sent before any id".into()));
    a.stop().await;
    b.stop().await;
}

/// A message sent after a second of silence is stamped with the time it goes, not the
/// time the chain last heard anything: the engine's clock is brought to now before a
/// handle's call is drained, so it is sent once and its RTT sample is the round trip.
pub async fn a_send_after_idle_time_measures_the_round_trip_not_the_silence() {
    let Some((a, b)) = connected("127.0.0.1:0").await else {
        return;
    };
    let mut incoming = b.sctp.incoming_channels();
    let ch = a
        .sctp
        .create_data_channel(DataChannelParameters::new("idle"))
        .unwrap();
    within("open", ch.open()).await.unwrap();
    let at_b = within("incoming", incoming.next()).await.unwrap();
    within("send", ch.send_text("warm up")).await.unwrap();
    within("recv", at_b.recv()).await.unwrap();
    let srtt = |p: &Peer| p.sctp.stats().unwrap().smoothed_round_trip_time;
    // The SACK is delayed up to 200 ms: wait until it is in.
    let before = within("a first RTT", async {
        loop {
            if a.sctp.stats().unwrap().unack_data == 0
                && let Some(rtt) = srtt(&a)
            {
                return rtt;
            }
            super::rt::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    super::rt::sleep(Duration::from_secs(1)).await;
    within("send", ch.send_text("after the silence"))
        .await
        .unwrap();
    within("recv", at_b.recv()).await.unwrap();
    let after = within("the next RTT", async {
        loop {
            let s = a.sctp.stats().unwrap();
            if s.unack_data == 0 {
                return s.smoothed_round_trip_time.unwrap();
            }
            super::rt::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    println!("smoothed RTT before the silence {before:?}, after {after:?}");
    // Stamped with the stale time, the message looked a second overdue: the tail-loss
    // probe sent it again at once, and a retransmitted chunk gives no RTT sample.
    assert_ne!(after, before, "no RTT sample: the message went twice");
    // A sample of the idle second would lift the smoothed RTT by an eighth of it; the
    // round trip with the peer's delayed SACK (up to 200 ms) by at most a quarter of that.
    assert!(
        after < before + Duration::from_millis(100),
        "smoothed RTT {before:?} before the silence, {after:?} after"
    );
    let stats = a.sctp.stats().unwrap();
    assert!(stats.congestion_window > 0 && stats.receiver_window > 0 && stats.mtu > 0);
}
