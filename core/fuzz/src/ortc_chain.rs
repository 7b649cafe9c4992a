//! # `ortc_chain`
//!
//! See [`ortc_chain`] for the input format and what it checks.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansrtc::dtls::DtlsCertificate;
use sansrtc::engine::{Engine, EngineConfig};
use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive, Transmit};
use sansrtc::sctp::SctpConfig;

use super::{DTLS_BUDGET, ICE_BUDGET, base_instant, heap, settle};

/// # `ortc_chain`
///
/// Two whole ORTC chains (ICE → DTLS → SCTP → data channels, fixed seeds and
/// certificates) connect in memory on a virtual clock while the input meddles with the
/// path between them. Records, `tag & 7`:
///
/// | tag | follows | effect |
/// |---|---|---|
/// | 0 | `len: u16` BE, bytes | the bytes arrive at A from B's address |
/// | 1 | `len: u16` BE, bytes | the bytes arrive from a stranger, at A (or at B when `tag & 8`) |
/// | 2 | `at: u8`, `x: u8` | the next datagram B → A has byte `at` xored with `x` |
/// | 3 | — | the next datagram B → A is lost |
/// | 4 | — | the next datagram B → A arrives twice |
/// | 5 | `ms: u8` | time advances |
/// | 6 | `op: u8` | A opens a channel, sends on the first one, or closes it |
/// | 7 | — | both sides exchange everything pending |
///
/// Checks: no panic, every `poll_output` drain ends (a machine that keeps emitting would
/// spin for ever), a stranger's datagram changes no layer's state and makes nobody send,
/// both chains stay within their heap budget, and without meddling (the stranger does
/// not count) the pair connects.
pub fn ortc_chain(data: &[u8]) {
    // Two chains, each held to what its layers promise a peer, plus what the input's API
    // calls queue (at most 200 sends of 10 KB, kept on both sides and on the wire).
    let chain = sansrtc::datachannel::DataChannelConfig::default()
        .memory_budget(&SctpConfig::default())
        + DTLS_BUDGET
        + ICE_BUDGET;
    let budget = 2 * chain + 4 * 200 * 255 * 40 + 64 * data.len();
    heap::within("ortc_chain", budget, || run_ortc_chain(data));
}

/// What a datagram from a stranger must not change: every layer's state, the path, the
/// channels, and how much DTLS and SCTP have done.
fn ortc_snapshot(e: &Engine) -> String {
    let (ice_state, pair, responses) = {
        let ice = e.ice_transport();
        let agent = ice.agent();
        (
            agent.connection_state(),
            agent
                .selected_pair()
                .map(|(l, r)| (l.address(), r.address())),
            agent.stats().responses_received,
        )
    };
    let (dtls, dtls_state) = {
        let d = e.dtls_transport();
        let s = d.session().map(|d| {
            let s = d.stats();
            (d.is_connected(), s.retransmits, s.datagrams_sent)
        });
        (s, d.state())
    };
    let sctp = e.sctp_transport();
    let channels = sctp
        .data_channels()
        .map(|c| format!("{:?}", c.association().stats()));
    format!(
        "{ice_state:?} {pair:?} {dtls_state:?} {:?} {responses:?} {dtls:?} {channels:?}",
        sctp.state(),
    )
}

/// Whether the chains connected (the replay test checks it for clean seeds).
pub fn run_ortc_chain(data: &[u8]) -> bool {
    use sansrtc::ortc::{DataChannelParameters, IceRole};
    static CERTS: OnceLock<(DtlsCertificate, DtlsCertificate)> = OnceLock::new();
    let (ca, cb) = CERTS.get_or_init(|| {
        let p = sansrtc::crypto::default_provider();
        (
            DtlsCertificate::generate(&*p).expect("certificate"),
            DtlsCertificate::generate(&*p).expect("certificate"),
        )
    });
    let a_addr: SocketAddr = "192.0.2.1:5000".parse().expect("literal");
    let b_addr: SocketAddr = "192.0.2.2:5000".parse().expect("literal");
    let stranger: SocketAddr = "203.0.113.9:4000".parse().expect("literal");
    let mut now = base_instant();
    let chain = |seed: u64, addr: SocketAddr, cert: &DtlsCertificate| {
        let mut e = Engine::new(
            EngineConfig::with_certificate(cert.clone()).seeded(seed),
            now,
        );
        e.ice_gatherer_mut()
            .gather(&[addr])
            .expect("host candidate");
        e
    };
    let mut a = chain(1, a_addr, ca);
    let mut b = chain(2, b_addr, cb);
    let (sa, sb) = (a.local_signal(), b.local_signal());
    a.start_with(&sb, IceRole::Controlling).expect("start");
    b.start_with(&sa, IceRole::Controlled).expect("start");
    let recv = |source: SocketAddr, destination: SocketAddr, contents: Bytes, now: Instant| {
        Input::Receive(Receive {
            now,
            protocol: Protocol::Udp,
            source,
            destination,
            contents,
        })
    };
    // Drain one side: its datagrams, with how the path treats the first one to A.
    fn drain(t: &mut Engine, now: Instant) -> Vec<Transmit> {
        let (taken, _) = settle("ORTC chain", now, 100_000, || t.poll_output());
        taken
            .into_iter()
            .filter_map(|o| match o {
                Output::Transmit(x) => Some(x),
                _ => None,
            })
            .collect()
    }
    let mut meddled = false;
    let mut mangle: Option<(u8, u8)> = None;
    let mut lose = false;
    let mut twice = false;
    let exchange = |a: &mut Engine,
                    b: &mut Engine,
                    now: Instant,
                    mangle: &mut Option<(u8, u8)>,
                    lose: &mut bool,
                    twice: &mut bool| {
        for _ in 0..64 {
            let to_b = drain(a, now);
            let to_a = drain(b, now);
            if to_b.is_empty() && to_a.is_empty() {
                return;
            }
            for t in to_b {
                for d in t.datagrams() {
                    b.handle_input(recv(a_addr, b_addr, d, now));
                }
            }
            for t in to_a {
                for d in t.datagrams() {
                    if std::mem::take(lose) {
                        continue;
                    }
                    let mut d = d.to_vec();
                    if let Some((at, x)) = mangle.take()
                        && !d.is_empty()
                    {
                        let i = usize::from(at) % d.len();
                        d[i] ^= x;
                    }
                    let d = Bytes::from(d);
                    if std::mem::take(twice) {
                        a.handle_input(recv(b_addr, a_addr, d.clone(), now));
                    }
                    a.handle_input(recv(b_addr, a_addr, d, now));
                }
            }
        }
    };
    a.handle_input(Input::Timeout(now));
    b.handle_input(Input::Timeout(now));
    let mut channels: Vec<sansrtc::datachannel::ChannelId> = Vec::new();
    let mut rest = data;
    let mut steps = 0;
    while let Some((&tag, tail)) = rest.split_first() {
        rest = tail;
        steps += 1;
        if steps > 200 {
            break;
        }
        match tag & 7 {
            k @ (0 | 1) => {
                let Some(len) = rest
                    .get(..2)
                    .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
                else {
                    break;
                };
                let take = len.min(rest.len() - 2).min(2048);
                let bytes = Bytes::copy_from_slice(&rest[2..2 + take]);
                rest = &rest[2 + take..];
                if k == 0 {
                    meddled = true;
                    a.handle_input(recv(b_addr, a_addr, bytes, now));
                    continue;
                }
                // A stranger (an address that never passed an ICE check) changes nothing
                // and makes either side send nothing, so it does not count as meddling:
                // a clean path must still connect. Bit 3 of the tag picks B.
                let (x, y, x_addr, y_addr) = if tag & 8 == 0 {
                    (&mut a, &mut b, a_addr, b_addr)
                } else {
                    (&mut b, &mut a, b_addr, a_addr)
                };
                for t in drain(x, now) {
                    for d in t.datagrams() {
                        y.handle_input(recv(x_addr, y_addr, d, now));
                    }
                }
                let before = ortc_snapshot(x);
                x.handle_input(recv(stranger, x_addr, bytes, now));
                assert!(
                    drain(x, now).is_empty(),
                    "a stranger's datagram made us send"
                );
                assert_eq!(
                    ortc_snapshot(x),
                    before,
                    "a stranger's datagram changed our state"
                );
            }
            2 => {
                let Some(&[at, x]) = rest.get(..2).map(|r| <&[u8; 2]>::try_from(r).expect("two"))
                else {
                    break;
                };
                rest = &rest[2..];
                meddled |= x != 0;
                mangle = Some((at, x));
            }
            3 => {
                meddled = true;
                lose = true;
            }
            4 => twice = true,
            5 => {
                let Some((&ms, tail)) = rest.split_first() else {
                    break;
                };
                rest = tail;
                now += Duration::from_millis(u64::from(ms) * 4);
                a.handle_input(Input::Timeout(now));
                b.handle_input(Input::Timeout(now));
            }
            6 => {
                let Some((&op, tail)) = rest.split_first() else {
                    break;
                };
                rest = tail;
                match op % 3 {
                    0 => {
                        if let Ok(id) = a
                            .sctp_transport_mut()
                            .create_data_channel(&DataChannelParameters::new("f"))
                        {
                            channels.push(id);
                        }
                    }
                    1 => {
                        if let Some(&id) = channels.first() {
                            let _ = a
                                .sctp_transport_mut()
                                .send_binary(id, Bytes::from(vec![op; usize::from(op) * 40]));
                        }
                    }
                    _ => {
                        if let Some(id) = channels.pop() {
                            let _ = a.sctp_transport_mut().close_channel(id);
                        }
                    }
                }
            }
            _ => exchange(&mut a, &mut b, now, &mut mangle, &mut lose, &mut twice),
        }
    }
    // Then the path behaves, for a few simulated seconds.
    for _ in 0..100 {
        exchange(&mut a, &mut b, now, &mut mangle, &mut lose, &mut twice);
        now += Duration::from_millis(50);
        a.handle_input(Input::Timeout(now));
        b.handle_input(Input::Timeout(now));
    }
    let connected = a.sctp_transport().state() == sansrtc::ortc::SctpTransportState::Connected
        && b.sctp_transport().state() == sansrtc::ortc::SctpTransportState::Connected;
    if !meddled {
        assert!(connected, "a clean path did not connect");
    }
    connected
}
