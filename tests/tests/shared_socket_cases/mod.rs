//! Many async ORTC chains on one server socket (`SharedSocket`), written once for every
//! runtime: `shared_socket_tokio.rs` and `shared_socket_async_std.rs` include this
//! module beside a `rt` module naming their runtime's handles, timer and task spawning.
//! Each client chain has a loopback socket of its own; every server chain is on one.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use super::rt::ortc::*;
use sansrtc::crypto::default_provider;
use sansrtc::stun::{Class, MessageBuilder, Method, TransactionId};
use serde_json::{Value, json};

/// Waits in these tests are bounded, so a hang fails instead of stalling the suite.
const LIMIT: Duration = Duration::from_secs(20);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    within_for(LIMIT, what, f).await
}

async fn within_for<T>(limit: Duration, what: &str, f: impl Future<Output = T>) -> T {
    super::rt::timeout(limit, f)
        .await
        .unwrap_or_else(|| panic!("{what}: timed out"))
}

/// Polls `f` every few milliseconds until it holds.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    within(what, async {
        while !f() {
            super::rt::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// One side's chain.
struct Side {
    gatherer: IceGatherer,
    ice: IceTransport,
    dtls: DtlsTransport,
    sctp: SctpTransport,
}

impl Side {
    async fn new(gatherer: IceGatherer, cert: &DtlsCertificate) -> Side {
        within("gather", gatherer.gather()).await.unwrap();
        let ice = IceTransport::new(&gatherer);
        let dtls = DtlsTransport::new(&ice, vec![cert.clone()]).unwrap();
        let sctp = SctpTransport::new(&dtls, 5000).unwrap();
        Side {
            gatherer,
            ice,
            dtls,
            sctp,
        }
    }

    /// What this side signals, as aiortc-shaped JSON.
    fn signal(&self) -> Value {
        json!({
            "ice": self.gatherer.local_parameters(),
            "candidates": self.gatherer.local_candidates(),
            "dtls": self.dtls.local_parameters(),
            "sctp": self.sctp.capabilities(),
        })
    }

    async fn start(&self, remote: &Value, role: IceRole) -> Result<(), Error> {
        let field = |k: &str| remote[k].clone();
        let candidates: Vec<IceCandidate> = serde_json::from_value(field("candidates")).unwrap();
        for c in &candidates {
            self.ice.add_remote_candidate(Some(c)).await?;
        }
        self.ice.add_remote_candidate(None).await?;
        self.ice
            .start(&serde_json::from_value(field("ice")).unwrap(), role)
            .await?;
        self.dtls
            .start(&serde_json::from_value(field("dtls")).unwrap())
            .await?;
        self.sctp
            .start(&serde_json::from_value(field("sctp")).unwrap(), 5000)
            .await
    }
}

/// A client on a loopback socket of its own and its chain on the server's shared
/// socket, connected, with the client's channel `peer-{i}` open on both sides.
struct Pair {
    i: usize,
    client: Side,
    server: Side,
    /// The client's end of the channel.
    ours: DataChannel,
    /// The same channel as the server chain got it.
    theirs: DataChannel,
}

struct Certs {
    client: DtlsCertificate,
    server: DtlsCertificate,
}

fn certs() -> Certs {
    let p = default_provider();
    // One certificate per side serves every chain, as one RTCCertificate can.
    Certs {
        client: DtlsCertificate::generate(&*p).unwrap(),
        server: DtlsCertificate::generate(&*p).unwrap(),
    }
}

impl Pair {
    async fn connect(i: usize, socket: &SharedSocket, certs: &Certs, limit: Duration) -> Pair {
        let client = IceGatherer::new(IceGathererOptions::bind(["127.0.0.1:0".parse().unwrap()]));
        let (client, server) = futures_lite::future::zip(
            Side::new(client, &certs.client),
            Side::new(
                IceGatherer::on(socket, IceGathererOptions::default()),
                &certs.server,
            ),
        )
        .await;
        let mut incoming = server.sctp.incoming_channels();
        let ours = client
            .sctp
            .create_data_channel(DataChannelParameters::new(&format!("peer-{i}")))
            .unwrap();
        let (to_client, to_server) = (server.signal(), client.signal());
        let (rc, rs) = within_for(
            limit,
            "connect",
            futures_lite::future::zip(
                client.start(&to_client, IceRole::Controlling),
                server.start(&to_server, IceRole::Controlled),
            ),
        )
        .await;
        rc.unwrap();
        rs.unwrap();
        let theirs = within_for(limit, "incoming channel", incoming.next())
            .await
            .unwrap();
        // The channel client i opened reached the chain made for client i.
        assert_eq!(theirs.label(), format!("peer-{i}"));
        Pair {
            i,
            client,
            server,
            ours,
            theirs,
        }
    }

    /// The client greets its server chain, which answers naming its own index: a
    /// datagram routed to another chain would bring back another name.
    async fn echo(&self, round: usize, limit: Duration) {
        let i = self.i;
        within_for(
            limit,
            "client send",
            self.ours.send_text(&format!("ping {i}.{round}")),
        )
        .await
        .unwrap();
        let got = within_for(limit, "server recv", self.theirs.recv()).await;
        assert_eq!(got, Some(Message::Text(format!("ping {i}.{round}"))));
        within_for(
            limit,
            "server send",
            self.theirs.send_text(&format!("pong {i}.{round}")),
        )
        .await
        .unwrap();
        let got = within_for(limit, "client recv", self.ours.recv()).await;
        assert_eq!(got, Some(Message::Text(format!("pong {i}.{round}"))));
    }
}

fn bind_loopback() -> SharedSocket {
    SharedSocket::bind(&["127.0.0.1:0".parse().unwrap()]).unwrap()
}

/// `n` clients, each on a socket of its own, connect to `n` chains on one server
/// socket at once, open a channel each and exchange a message both ways with their own
/// server chain; then every handle is dropped and every chain leaves the socket.
pub async fn many_chains_on_one_socket_each_talk_to_their_own_peer(n: usize) {
    // Under load (2 cores, every handshake's crypto on one server task) waits are longer.
    let limit = Duration::from_secs(120);
    let socket = bind_loopback();
    let addr = socket.local_addrs()[0];
    let certs = std::sync::Arc::new(certs());
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (socket, certs) = (socket.clone(), certs.clone());
        tasks.push(super::rt::spawn(async move {
            let pair = Pair::connect(i, &socket, &certs, limit).await;
            pair.echo(0, limit).await;
            pair
        }));
    }
    let mut pairs = Vec::with_capacity(n);
    for t in tasks {
        pairs.push(within_for(limit, "pair", t).await);
    }
    assert_eq!(socket.chains(), n);
    for p in &pairs {
        // Every server chain gathered the one socket's address, and ICE selected it.
        assert_eq!(p.server.gatherer.local_addresses(), [addr]);
        let (local, _) = p.server.ice.selected_candidate_pair().unwrap();
        assert_eq!((local.ip.as_str(), local.port), ("127.0.0.1", addr.port()));
        assert_ne!(p.client.gatherer.local_addresses(), [addr]);
    }
    let stats = socket.stats();
    assert!(stats.paths_learned >= n as u64, "{stats:?}");
    assert!(stats.routed_by_ufrag >= n as u64, "{stats:?}");
    // A second round, every pair at once, over the learned paths.
    let rounds: Vec<_> = pairs
        .into_iter()
        .map(|p| {
            super::rt::spawn(async move {
                p.echo(1, limit).await;
                p
            })
        })
        .collect();
    let mut pairs = Vec::with_capacity(n);
    for r in rounds {
        pairs.push(within_for(limit, "second round", r).await);
    }
    drop(pairs);
    // Every handle gone: each chain stops and leaves; the socket stays for new ones.
    within_for(limit, "chains leave", async {
        while socket.chains() > 0 {
            super::rt::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let pair = Pair::connect(n, &socket, &certs, limit).await;
    pair.echo(0, limit).await;
    assert_eq!(socket.local_addrs(), [addr]);
}

/// A STUN Binding request with this USERNAME (and no valid integrity).
fn check(username: &str) -> Vec<u8> {
    MessageBuilder::new(Class::Request, Method::Binding, TransactionId([7; 12]))
        .username(username)
        .finish_with_fingerprint()
}

pub async fn datagrams_from_strangers_are_dropped_and_counted() {
    let socket = bind_loopback();
    let addr = socket.local_addrs()[0];
    let certs = certs();
    let a = Pair::connect(0, &socket, &certs, LIMIT).await;
    let b = Pair::connect(1, &socket, &certs, LIMIT).await;
    let before = socket.stats();
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    stranger.send_to(b"not for anyone", addr).unwrap();
    stranger.send_to(&check("nobody:here"), addr).unwrap();
    // A DTLS-looking record (content type 23, application data) from nowhere.
    stranger
        .send_to(&[23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0], addr)
        .unwrap();
    eventually("strangers counted", || {
        socket.stats().unknown_source >= before.unknown_source + 3
    })
    .await;
    assert_eq!(socket.stats().unknown_source, before.unknown_source + 3);
    // Nobody answered the stranger, and both chains go on.
    stranger
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = [0; 2048];
    assert!(
        stranger.recv_from(&mut buf).is_err(),
        "a stranger got an answer"
    );
    a.echo(1, LIMIT).await;
    b.echo(1, LIMIT).await;
    assert_eq!(socket.chains(), 2);
    // The peers' own traffic is not counted as strangers'.
    assert_eq!(socket.stats().unknown_source, before.unknown_source + 3);
}

pub async fn stopping_one_chain_leaves_the_socket_and_the_others_working() {
    let socket = bind_loopback();
    let addr = socket.local_addrs()[0];
    let certs = certs();
    let mut pairs = Vec::new();
    for i in 0..3 {
        pairs.push(Pair::connect(i, &socket, &certs, LIMIT).await);
    }
    assert_eq!(socket.chains(), 3);
    let mut client_dtls = pairs[1].client.dtls.state_changes();
    within("stop", pairs[1].server.ice.stop()).await;
    // Stopped: off the socket at once, every layer closed.
    assert_eq!(socket.chains(), 2);
    assert_eq!(pairs[1].server.ice.state(), IceConnectionState::Closed);
    assert_eq!(pairs[1].server.dtls.state(), DtlsTransportState::Closed);
    assert_eq!(pairs[1].theirs.ready_state(), DataChannelState::Closed);
    assert!(matches!(
        pairs[1]
            .server
            .sctp
            .create_data_channel(DataChannelParameters::new("late")),
        Err(Error::Closed)
    ));
    // Its peer heard close_notify (sent through the shared socket as it stopped) and
    // its channel closed.
    assert_eq!(
        within("peer hears close", client_dtls.next()).await,
        Some(DtlsTransportState::Closed)
    );
    assert_eq!(within("channel ends", pairs[1].ours.recv()).await, None);
    // The others are untouched.
    pairs[0].echo(1, LIMIT).await;
    pairs[2].echo(1, LIMIT).await;
    // The stopped chain's ufrag and path are forgotten: a check naming its ufrag, and
    // a datagram on the path it had (its client's address, freed once the client
    // stops), come from strangers now.
    let ufrag = pairs[1]
        .server
        .gatherer
        .local_parameters()
        .username_fragment;
    let client_addr = pairs[1].client.gatherer.local_addresses()[0];
    within("client stop", pairs[1].client.ice.stop()).await;
    let before = socket.stats();
    let ghost = UdpSocket::bind(client_addr).unwrap();
    ghost.send_to(b"on a forgotten path", addr).unwrap();
    ghost.send_to(&check(&format!("{ufrag}:x")), addr).unwrap();
    eventually("ghost counted", || {
        socket.stats().unknown_source >= before.unknown_source + 2
    })
    .await;
    assert_eq!(socket.stats().routed_by_ufrag, before.routed_by_ufrag);
    // And the socket still takes new chains, on the same port.
    let late = Pair::connect(3, &socket, &certs, LIMIT).await;
    late.echo(0, LIMIT).await;
    assert_eq!(socket.chains(), 3);
    assert_eq!(late.server.gatherer.local_addresses(), [addr]);
}

pub async fn the_socket_lives_while_a_chain_uses_it_and_closes_after() {
    let socket = bind_loopback();
    let addr: SocketAddr = socket.local_addrs()[0];
    let certs = certs();
    let pair = Pair::connect(0, &socket, &certs, LIMIT).await;
    // A gatherer made on the socket keeps it too, before it ever gathers.
    let idle = IceGatherer::on(&socket, IceGathererOptions::default());
    drop(socket);
    pair.echo(1, LIMIT).await;
    assert!(
        UdpSocket::bind(addr).is_err(),
        "the socket closed under a chain"
    );
    within("server stop", pair.server.ice.stop()).await;
    // Still open for the idle gatherer, which joins now.
    within("late gather", idle.gather()).await.unwrap();
    assert_eq!(idle.local_addresses(), [addr]);
    assert!(
        UdpSocket::bind(addr).is_err(),
        "the socket closed under a gatherer"
    );
    drop(idle);
    drop(pair);
    // Nothing uses it any more: the task ends and the port is free again.
    eventually("socket released", || UdpSocket::bind(addr).is_ok()).await;
}

/// What a handle asks of a chain on the shared socket goes out at once, not at the
/// chain's next timer: the handle's wake-up reaches the socket's task. Round trips on
/// loopback take well under a millisecond of network; a chain that waited for its
/// timers (delayed acknowledgements at best, consent checks every few seconds) would
/// take hundreds of milliseconds each.
pub async fn calls_on_a_shared_chain_go_out_without_waiting_for_its_timers() {
    let socket = bind_loopback();
    let certs = certs();
    let pair = Pair::connect(0, &socket, &certs, LIMIT).await;
    pair.echo(0, LIMIT).await;
    const ROUNDS: usize = 20;
    let start = std::time::Instant::now();
    for round in 1..=ROUNDS {
        pair.echo(round, LIMIT).await;
    }
    let took = start.elapsed();
    eprintln!("{ROUNDS} round trips: {took:?}");
    assert!(
        took < Duration::from_secs(2),
        "{ROUNDS} round trips took {took:?}"
    );
}

/// A STUN server on a thread of its own: answers each Binding request with a mapped
/// address of its own (192.0.2.7, ports 40000, 40001, …), until dropped.
struct StunServer {
    addr: SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StunServer {
    fn start() -> StunServer {
        use sansrtc::stun::Message as StunMessage;
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut port = 40000;
            let mut buf = [0; 2048];
            while !stopped.load(std::sync::atomic::Ordering::Acquire) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(m) = StunMessage::parse(&buf[..n]) else {
                    continue;
                };
                if (m.class(), m.method()) != (Class::Request, Method::Binding) {
                    continue;
                }
                let mapped = SocketAddr::from(([192, 0, 2, 7], port));
                port += 1;
                let reply =
                    MessageBuilder::new(Class::Success, Method::Binding, m.transaction_id())
                        .xor_mapped_address(mapped)
                        .finish_with_fingerprint();
                let _ = sock.send_to(&reply, from);
            }
        });
        StunServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for StunServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Chains on the shared socket gather server-reflexive candidates as any chain does:
/// both ask the same STUN server from the same address, and the mux hands each answer
/// to the chain whose request it answers (by transaction id).
pub async fn chains_on_the_shared_socket_gather_server_reflexive_candidates() {
    let socket = bind_loopback();
    let addr = socket.local_addrs()[0];
    let stun = StunServer::start();
    let options = IceGathererOptions {
        stun_servers: vec![stun.addr],
        ..Default::default()
    };
    let (a, b) = (
        IceGatherer::on(&socket, options.clone()),
        IceGatherer::on(&socket, options),
    );
    let (ra, rb) = within("gather", futures_lite::future::zip(a.gather(), b.gather())).await;
    ra.unwrap();
    rb.unwrap();
    let srflx = |g: &IceGatherer| {
        let candidates = g.local_candidates();
        let types: Vec<&str> = candidates
            .iter()
            .map(|c| c.candidate_type.as_str())
            .collect();
        assert_eq!(types, ["host", "srflx"]);
        let (host, srflx) = (&candidates[0], &candidates[1]);
        assert_eq!((host.ip.as_str(), host.port), ("127.0.0.1", addr.port()));
        assert_eq!(srflx.ip, "192.0.2.7");
        assert_eq!(srflx.related_port, Some(addr.port()));
        srflx.port
    };
    // Each chain got the answer to its own request: two different mapped ports.
    assert_ne!(srflx(&a), srflx(&b));
    // The counters are published once the task has handled the batch the answers came
    // in, which may be a moment after the chains saw them.
    eventually("both answers counted", || {
        socket.stats().routed_by_transaction >= 2
    })
    .await;
    assert_eq!(socket.chains(), 2);
}
