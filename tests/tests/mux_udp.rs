//! Many peers on one real socket: a tokio `UdpDriver` drives a `Mux` of ORTC chains bound
//! to one loopback port, and each peer, on a socket of its own, opens a channel and
//! greets its own server-side chain.

use std::time::{Duration, Instant};

use sansrtc::crypto::default_provider;
use sansrtc::datachannel::DataChannelEvent;
use sansrtc::dtls::DtlsCertificate;
use sansrtc::engine::Engine;
use sansrtc::mux::{ConnectionId, Mux};
use sansrtc::ortc::{DataChannelParameters, IceRole, OrtcEvent};
use sansrtc_tests::ortc::{chain, start};
use sansrtc_tokio::UdpDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_share_one_server_socket_over_loopback() {
    // Each peer needs a socket of its own here; 500 stays well under the 1,024 open files
    // a default soft limit allows. The simulator test takes 1,000 through one address.
    const N: usize = 500;
    let p = default_provider();
    let (client_cert, server_cert) = (
        DtlsCertificate::generate(&*p).unwrap(),
        DtlsCertificate::generate(&*p).unwrap(),
    );
    let mut server = UdpDriver::bind(
        Mux::<Engine>::new(Instant::now()),
        &["127.0.0.1:0".parse().unwrap()],
    )
    .unwrap();
    let server_addr = server.local_addrs()[0];
    let mut conns: Vec<ConnectionId> = Vec::with_capacity(N);
    let mut clients = Vec::with_capacity(N);
    for i in 0..N {
        // The client's port, known before its chain gathers on it.
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let mut c = chain(2 * i as u64 + 1, addr, &client_cert, Instant::now());
        let mut s = chain(2 * i as u64 + 2, server_addr, &server_cert, Instant::now());
        start(&mut c, &s, IceRole::Controlling);
        start(&mut s, &c, IceRole::Controlled);
        let id = c
            .sctp_transport_mut()
            .create_data_channel(&DataChannelParameters::new(&format!("peer-{i}")))
            .unwrap();
        conns.push(server.endpoint_mut().insert(s));
        clients.push((UdpDriver::bind(c, &[addr]).unwrap(), id, i));
    }
    // Each client greets once its channel opens, then keeps its chain running.
    let mut tasks = Vec::new();
    for (mut driver, id, i) in clients {
        tasks.push(tokio::spawn(async move {
            loop {
                if let OrtcEvent::DataChannel(DataChannelEvent::Open(ch)) =
                    driver.next_event().await.unwrap()
                    && ch == id
                {
                    driver
                        .endpoint_mut()
                        .sctp_transport_mut()
                        .send_text(id, &format!("hello from {i}"))
                        .unwrap();
                }
            }
        }));
    }
    let mut heard = vec![None::<String>; N];
    let mut delivered = 0;
    let done = tokio::time::timeout(Duration::from_secs(60), async {
        while delivered < N {
            let (conn, e) = server.next_event().await.unwrap();
            if let OrtcEvent::DataChannel(DataChannelEvent::Message { data, .. }) = e {
                let i = conns.iter().position(|&c| c == conn).unwrap();
                heard[i] = Some(String::from_utf8(data.to_vec()).unwrap());
                delivered += 1;
            }
        }
    })
    .await;
    for t in &tasks {
        t.abort();
    }
    let stats = server.endpoint().stats();
    assert!(
        done.is_ok(),
        "{delivered} of {N} greetings arrived; {stats:?}"
    );
    for (i, h) in heard.iter().enumerate() {
        assert_eq!(h.as_deref(), Some(format!("hello from {i}").as_str()));
    }
    assert!(stats.paths_learned >= N as u64, "{stats:?}");
    assert_eq!(server.local_addrs(), [server_addr], "one socket for all");
}
