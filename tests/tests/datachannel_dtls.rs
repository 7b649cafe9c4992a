//! Data channels over DTLS in memory, through the zero-copy path: SCTP writes each
//! packet into the record DTLS seals in place (`poll_transmit` + `send_with`), and
//! received datagrams are decrypted where they lie (`handle_datagram_owned`).

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sansrtc::crypto::{HashAlgorithm, default_provider};
use sansrtc::datachannel::{DataChannelEvent, DataChannelInit, DataChannelState, DataChannels};
use sansrtc::dtls::{Dtls, DtlsCertificate, DtlsConfig, DtlsRole};
use sansrtc::io::Output;
use sansrtc::sctp::{Association, SctpConfig};

struct Side {
    dtls: Dtls,
    dc: DataChannels,
    got: Vec<(sansrtc::datachannel::ChannelId, Bytes)>,
}

fn side(
    role: DtlsRole,
    cert: DtlsCertificate,
    peer: &DtlsCertificate,
    seed: u64,
    now: Instant,
) -> Side {
    let p = default_provider();
    let fp = peer.fingerprint(&*p, HashAlgorithm::Sha256);
    let mut assoc = Association::new(
        SctpConfig {
            seed,
            ..Default::default()
        },
        now,
    );
    assoc.set_peer_max_message_size(Some(256 * 1024));
    Side {
        dtls: Dtls::new(role, DtlsConfig::new(cert, vec![fp]), now),
        dc: DataChannels::new(assoc, role),
        got: Vec::new(),
    }
}

/// Everything `from` has to send reaches `to`; the `classic` flag takes SCTP packets
/// through `poll_output` and `Dtls::send` instead, so both paths are covered.
fn step(from: &mut Side, to: &mut Side, now: Instant, classic: bool) {
    if from.dtls.is_connected() {
        if !classic {
            while from
                .dtls
                .send_with(|buf| from.dc.poll_transmit(buf))
                .unwrap()
            {}
        }
        loop {
            match from.dc.poll_output() {
                Output::Transmit(p) => from.dtls.send(&p).unwrap(),
                Output::Event(DataChannelEvent::Message { channel, data, .. }) => {
                    from.got.push((channel, data))
                }
                Output::Event(_) => {}
                Output::Timeout(_) => break,
            }
        }
    }
    while let Output::Transmit(d) = from.dtls.poll_output() {
        let owned = d.try_into_mut().unwrap_or_else(|d| BytesMut::from(&d[..]));
        to.dtls.handle_datagram_owned(now, owned);
    }
    loop {
        match to.dtls.poll_output() {
            Output::Event(sansrtc::dtls::DtlsEvent::ApplicationData(p)) => {
                to.dc.handle_packet(now, p)
            }
            Output::Event(_) => {}
            Output::Transmit(d) => from.dtls.handle_datagram(now, &d),
            Output::Timeout(_) => break,
        }
    }
}

#[test]
fn messages_of_every_size_cross_dtls_through_the_zero_copy_path() {
    let p = default_provider();
    let (ca, cb) = (
        DtlsCertificate::generate(&*p).unwrap(),
        DtlsCertificate::generate(&*p).unwrap(),
    );
    let mut now = Instant::now();
    let mut a = side(DtlsRole::Client, ca.clone(), &cb, 1, now);
    let mut b = side(DtlsRole::Server, cb, &ca, 2, now);
    for _ in 0..10 {
        step(&mut a, &mut b, now, false);
        step(&mut b, &mut a, now, false);
    }
    assert!(a.dtls.is_connected() && b.dtls.is_connected());
    a.dc.association_mut().connect(now);
    b.dc.association_mut().connect(now);
    let mut id = None;
    let sizes: Vec<usize> = (0..300).map(|i| 1 + (i * 7919) % (100 * 1024)).collect();
    let mut next = 0;
    for round in 0..10_000 {
        if id.is_none() && a.dc.association().is_established() {
            id = Some(a.dc.create("bulk", DataChannelInit::default()).unwrap());
        }
        if let Some(id) = id
            && a.dc
                .channel(id)
                .is_some_and(|c| c.state == DataChannelState::Open)
        {
            while next < sizes.len() && a.dc.buffered_amount(id) < 1 << 20 {
                let msg: Vec<u8> = (0..sizes[next]).map(|j| (j + next) as u8).collect();
                a.dc.send_binary(id, Bytes::from(msg)).unwrap();
                next += 1;
            }
        }
        let classic = round % 3 == 2;
        step(&mut a, &mut b, now, classic);
        step(&mut b, &mut a, now, classic);
        if b.got.len() == sizes.len() {
            break;
        }
        now += Duration::from_millis(1);
        a.dc.handle_timeout(now);
        b.dc.handle_timeout(now);
    }
    assert_eq!(b.got.len(), sizes.len(), "every message arrives");
    for (i, (_, m)) in b.got.iter().enumerate() {
        assert_eq!(m.len(), sizes[i], "message {i} whole and in order");
        assert!(m.iter().enumerate().all(|(j, &x)| x == (j + i) as u8));
    }
    assert_eq!(b.dtls.stats().records_dropped, 0);
    // Once everything is acknowledged, a poll finds nothing and leaves the buffer alone.
    let later = now + Duration::from_secs(1);
    for _ in 0..3 {
        a.dc.handle_timeout(later);
        b.dc.handle_timeout(later);
        step(&mut a, &mut b, later, false);
        step(&mut b, &mut a, later, false);
    }
    for side in [&mut a, &mut b] {
        let mut buf = b"kept".to_vec();
        assert!(!side.dc.poll_transmit(&mut buf));
        assert_eq!(buf, b"kept");
    }
}
