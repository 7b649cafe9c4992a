use std::time::{Duration, Instant};

use super::*;
use crate::crypto::RingProvider;

/// One start time for every session of a test, so the links' clocks never run behind a
/// session's.
fn start() -> Instant {
    static START: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);
    *START
}
use crate::srtp::SrtpProfile;

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(RingProvider::new())
}

fn certs() -> (DtlsCertificate, DtlsCertificate) {
    let p = provider();
    (
        DtlsCertificate::generate(&*p).unwrap(),
        DtlsCertificate::generate(&*p).unwrap(),
    )
}

fn pair_with(f: impl Fn(&mut DtlsConfig, DtlsRole)) -> (Dtls, Dtls) {
    let p = provider();
    let (cc, sc) = certs();
    let mut ccfg = DtlsConfig::new(cc.clone(), vec![sc.fingerprint(&*p, HashAlgorithm::Sha256)]);
    ccfg.seed = 1;
    let mut scfg = DtlsConfig::new(sc, vec![cc.fingerprint(&*p, HashAlgorithm::Sha256)]);
    scfg.seed = 2;
    f(&mut ccfg, DtlsRole::Client);
    f(&mut scfg, DtlsRole::Server);
    (
        Dtls::new(DtlsRole::Client, ccfg, start()),
        Dtls::new(DtlsRole::Server, scfg, start()),
    )
}

/// A lossy, reordering in-memory link between a client and a server in virtual time.
struct Link {
    now: Instant,
    start: Instant,
    latency: Duration,
    rng: Rng,
    loss: f64,
    reorder: f64,
    /// (deliver at, to server?, datagram)
    queue: Vec<(Instant, bool, Bytes)>,
    events: Vec<(DtlsRole, DtlsEvent)>,
}

impl Link {
    fn new(seed: u64, loss: f64, reorder: f64) -> Self {
        let now = start();
        Link {
            now,
            start: now,
            latency: Duration::from_millis(20),
            rng: Rng::from_seed(seed),
            loss,
            reorder,
            queue: Vec::new(),
            events: Vec::new(),
        }
    }

    fn drain(&mut self, d: &mut Dtls, to_server: bool) -> Option<Instant> {
        loop {
            match d.poll_output() {
                Output::Transmit(p) => {
                    if self.rng.chance(self.loss) {
                        continue;
                    }
                    let extra = if self.rng.chance(self.reorder) {
                        Duration::from_millis(15)
                    } else {
                        Duration::ZERO
                    };
                    self.queue
                        .push((self.now + self.latency + extra, to_server, p));
                }
                Output::Event(e) => self.events.push((d.role(), e)),
                Output::Timeout(_) => return d.poll_timeout(),
            }
        }
    }

    /// Run until both are connected (or `limit` of virtual time passes).
    fn run(&mut self, c: &mut Dtls, s: &mut Dtls, limit: Duration) -> bool {
        c.handle_timeout(self.now);
        s.handle_timeout(self.now);
        while self.now < self.start + limit {
            let tc = self.drain(c, true);
            let ts = self.drain(s, false);
            if c.is_connected() && s.is_connected() && self.queue.is_empty() {
                return true;
            }
            let next = [tc, ts]
                .into_iter()
                .flatten()
                .chain(self.queue.iter().map(|q| q.0))
                .min();
            let Some(next) = next else { return false };
            self.now = next.max(self.now);
            let (due, later): (Vec<_>, Vec<_>) =
                self.queue.drain(..).partition(|q| q.0 <= self.now);
            self.queue = later;
            for (_, to_server, p) in due {
                if to_server {
                    s.handle_datagram(self.now, &p);
                } else {
                    c.handle_datagram(self.now, &p);
                }
            }
            c.handle_timeout(self.now);
            s.handle_timeout(self.now);
        }
        false
    }
}

fn connect(c: &mut Dtls, s: &mut Dtls) -> Link {
    let mut link = Link::new(0, 0.0, 0.0);
    assert!(link.run(c, s, Duration::from_secs(5)), "{:?}", link.events);
    link
}

#[test]
fn every_suite_and_group_connects_and_exports_equal_keys() {
    for suite in [
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256,
    ] {
        for group in [NamedGroup::X25519, NamedGroup::Secp256r1] {
            let (mut c, mut s) = pair_with(|cfg, role| {
                if role == DtlsRole::Server {
                    cfg.cipher_suites = vec![suite];
                }
                cfg.groups = vec![group];
            });
            let link = connect(&mut c, &mut s);
            assert_eq!(c.cipher_suite(), Some(suite));
            assert_eq!(s.cipher_suite(), Some(suite));
            let (pc, kc) = c.srtp_keying_material().unwrap();
            let (ps, ks) = s.srtp_keying_material().unwrap();
            assert_eq!((pc, &kc), (ps, &ks));
            assert_eq!(pc, SrtpProfile::AeadAes128Gcm);
            assert_eq!(kc.len(), 56);
            assert!(link.events.iter().any(|(r, e)| *r == DtlsRole::Client
                && matches!(e, DtlsEvent::Connected { group: g, .. } if *g == group)));
            // Application data both ways.
            let now = link.now;
            c.send(b"hello server").unwrap();
            let got_s = deliver(&mut c, &mut s, now);
            s.send(b"hello client").unwrap();
            let got_c = deliver(&mut s, &mut c, now);
            assert_eq!(
                got_s,
                [DtlsEvent::ApplicationData(Bytes::from_static(
                    b"hello server"
                ))]
            );
            assert_eq!(
                got_c,
                [DtlsEvent::ApplicationData(Bytes::from_static(
                    b"hello client"
                ))]
            );
        }
    }
}

/// Deliver every packet `from` has queued to `to`; return the events `to` then reports.
fn deliver(from: &mut Dtls, to: &mut Dtls, now: Instant) -> Vec<DtlsEvent> {
    while let Output::Transmit(p) = from.poll_output() {
        to.handle_datagram(now, &p);
    }
    let mut events = Vec::new();
    while let Output::Event(e) = to.poll_output() {
        events.push(e);
    }
    events
}

#[test]
fn srtp_profile_follows_server_preference_within_client_offer() {
    let (mut c, mut s) = pair_with(|cfg, role| {
        cfg.srtp_profiles = match role {
            DtlsRole::Client => vec![SrtpProfile::Aes128CmHmacSha1_80, SrtpProfile::AeadAes256Gcm],
            _ => vec![SrtpProfile::AeadAes256Gcm, SrtpProfile::Aes128CmHmacSha1_80],
        };
    });
    connect(&mut c, &mut s);
    assert_eq!(c.srtp_profile(), Some(SrtpProfile::AeadAes256Gcm));
    assert_eq!(c.srtp_keying_material().unwrap().1.len(), 88);
}

#[test]
fn fingerprint_mismatch_fails_both_sides() {
    let p = provider();
    let (cc, sc) = certs();
    let other = DtlsCertificate::generate(&*p).unwrap();
    let mut c = Dtls::new(
        DtlsRole::Client,
        DtlsConfig::new(
            cc.clone(),
            vec![other.fingerprint(&*p, HashAlgorithm::Sha256)],
        ),
        start(),
    );
    let mut s = Dtls::new(
        DtlsRole::Server,
        DtlsConfig::new(sc, vec![cc.fingerprint(&*p, HashAlgorithm::Sha256)]),
        start(),
    );
    let mut link = Link::new(0, 0.0, 0.0);
    assert!(!link.run(&mut c, &mut s, Duration::from_secs(5)));
    assert!(
        link.events.iter().any(|(r, e)| *r == DtlsRole::Client
            && *e == DtlsEvent::Failed(DtlsError::FingerprintMismatch))
    );
    // The server hears the bad_certificate alert.
    assert!(
        link.events
            .iter()
            .any(|(r, e)| *r == DtlsRole::Server
                && *e == DtlsEvent::Failed(DtlsError::PeerAlert(42)))
    );
}

#[test]
fn sha1_and_sha512_fingerprints_are_accepted() {
    let p = provider();
    let (cc, sc) = certs();
    let mut c = Dtls::new(
        DtlsRole::Client,
        DtlsConfig::new(cc.clone(), vec![sc.fingerprint(&*p, HashAlgorithm::Sha1)]),
        start(),
    );
    let mut s = Dtls::new(
        DtlsRole::Server,
        DtlsConfig::new(sc, vec![cc.fingerprint(&*p, HashAlgorithm::Sha512)]),
        start(),
    );
    connect(&mut c, &mut s);
}

#[test]
fn handshake_survives_loss_and_reordering() {
    let mut worst = Duration::ZERO;
    for seed in 0..60 {
        let (mut c, mut s) = pair_with(|cfg, _| {
            cfg.initial_retransmit = Duration::from_millis(100);
        });
        let mut link = Link::new(seed, 0.2, 0.3);
        assert!(
            link.run(&mut c, &mut s, Duration::from_secs(30)),
            "seed {seed}: {:?}",
            link.events
        );
        worst = worst.max(link.now - link.start);
        assert_eq!(
            c.srtp_keying_material().unwrap(),
            s.srtp_keying_material().unwrap()
        );
    }
    assert!(worst < Duration::from_secs(30));
}

#[test]
fn hello_verify_request_round_trip() {
    let (mut c, mut s) = pair_with(|cfg, _| cfg.hello_verify = true);
    let link = connect(&mut c, &mut s);
    assert!(c.is_connected());
    // Six flights instead of four: one extra round trip.
    assert!(link.now - link.start >= Duration::from_millis(120));
}

#[test]
fn tampered_and_replayed_records_are_dropped_without_harm() {
    let (mut c, mut s) = pair_with(|_, _| {});
    let link = connect(&mut c, &mut s);
    let now = link.now;
    c.send(b"first").unwrap();
    let Output::Transmit(p) = c.poll_output() else {
        panic!("no packet")
    };
    let mut bad = p.to_vec();
    let n = bad.len();
    bad[n - 1] ^= 1;
    s.handle_datagram(now, &bad);
    assert_eq!(s.stats().records_dropped, 1);
    s.handle_datagram(now, &p);
    s.handle_datagram(now, &p);
    assert_eq!(s.stats().replays, 1);
    assert_eq!(
        s.poll_output(),
        Output::Event(DtlsEvent::ApplicationData(Bytes::from_static(b"first")))
    );
    assert!(matches!(s.poll_output(), Output::Timeout(_)));
    assert_eq!(s.poll_timeout(), None);
    assert!(s.is_connected());
    // Garbage of every kind.
    for junk in [
        &[][..],
        &[23, 0xfe],
        &[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff],
    ] {
        s.handle_datagram(now, junk);
    }
    assert!(s.is_connected());
}

#[test]
fn close_notify_reaches_the_peer() {
    let (mut c, mut s) = pair_with(|_, _| {});
    let link = connect(&mut c, &mut s);
    c.close();
    while let Output::Transmit(p) = c.poll_output() {
        s.handle_datagram(link.now, &p);
    }
    assert_eq!(s.poll_output(), Output::Event(DtlsEvent::Closed));
    assert_eq!(c.send(b"x"), Err(DtlsError::NotConnected));
}

#[test]
fn handshake_times_out_without_a_peer() {
    let (mut c, _) = pair_with(|_, _| {});
    let t0 = start();
    let mut now = t0;
    let mut sent = 0;
    loop {
        match c.poll_output() {
            Output::Transmit(_) => sent += 1,
            Output::Timeout(at) => {
                now = at;
                c.handle_timeout(now);
            }
            Output::Event(e) => {
                assert_eq!(e, DtlsEvent::Failed(DtlsError::Timeout));
                break;
            }
        }
    }
    assert_eq!(now - t0, Duration::from_secs(30));
    // 1 s, doubling: sends at 0, 1, 3, 7, 15 s.
    assert_eq!(sent, 5);
}

#[test]
fn pem_roundtrip_and_fingerprint_format() {
    let p = provider();
    let (c, _) = certs();
    let (cert_pem, key_pem) = c.to_pem();
    let back = DtlsCertificate::from_pem(&*p, &cert_pem, &key_pem).unwrap();
    assert_eq!(back.der(), c.der());
    let f = c.fingerprint(&*p, HashAlgorithm::Sha256);
    assert_eq!(Fingerprint::parse(&f.to_string()).unwrap(), f);
    assert_eq!(f.to_string().len(), "sha-256 ".len() + 32 * 3 - 1);
    assert!(DtlsCertificate::from_pem(&*p, &key_pem, &cert_pem).is_err());
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/chromium-156/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Chromium's ClientHello offers DTLS 1.3 with an X25519MLKEM768 key share and spans two
/// datagrams; our server reassembles it and answers with DTLS 1.2.
#[test]
fn chromium_client_hello_is_reassembled_and_answered_with_dtls_1_2() {
    for hvr in [false, true] {
        let (_, mut s) = pair_with(|cfg, _| cfg.hello_verify = hvr);
        let now = Instant::now();
        s.handle_timeout(now);
        s.handle_datagram(
            now,
            &fixture("dtls/client-role/001-from-browser-ClientHello-frag1of2.bin"),
        );
        assert!(
            matches!(s.poll_output(), Output::Timeout(_)) && s.poll_timeout().is_none(),
            "waits for fragment 2"
        );
        s.handle_datagram(
            now,
            &fixture("dtls/client-role/002-from-browser-ClientHello-frag2of2.bin"),
        );
        let Output::Transmit(p) = s.poll_output() else {
            panic!("no answer")
        };
        let rec = record::records(&p).next().unwrap().unwrap();
        let frags = handshake::fragments(rec.payload).unwrap();
        if hvr {
            assert_eq!(frags[0].msg_type, handshake::HELLO_VERIFY_REQUEST);
            continue;
        }
        assert_eq!(frags[0].msg_type, handshake::SERVER_HELLO);
        let sh = ServerHello::parse(frags[0].data).unwrap();
        assert_eq!(sh.version, DTLS_1_2);
        assert_eq!(
            sh.cipher_suite,
            CipherSuite::EcdheEcdsaAes128GcmSha256.code()
        );
        // Chromium offers 80-bit CM, AES-256-GCM and AES-128-GCM; we prefer AES-128-GCM.
        let srtp = handshake::find_extension(&sh.extensions, EXT_USE_SRTP).unwrap();
        assert_eq!(
            handshake::parse_use_srtp(srtp).unwrap().0,
            [SrtpProfile::AeadAes128Gcm.id()]
        );
    }
}

/// Every handshake message of real Chromium ↔ aiortc handshakes parses.
#[test]
fn chromium_handshake_messages_parse() {
    for dir in [
        "client-role",
        "client-role-hvr",
        "server-role",
        "server-role-media",
    ] {
        let path = format!(
            "{}/tests/fixtures/chromium-156/dtls/{dir}",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut names: Vec<_> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".bin"))
            .collect();
        names.sort();
        let mut reasm = [Reassembler::default(), Reassembler::default()];
        let mut seen = 0;
        for n in names {
            let from_browser = n.contains("from-browser");
            let d = fixture(&format!("dtls/{dir}/{n}"));
            for rec in record::records(&d) {
                let rec = rec.unwrap();
                if rec.epoch != 0 || rec.content_type != HANDSHAKE {
                    continue;
                }
                let r = &mut reasm[usize::from(from_browser)];
                for f in handshake::fragments(rec.payload).unwrap() {
                    if f.msg_type == handshake::CLIENT_HELLO && f.message_seq < r.next_seq() {
                        r.reset(f.message_seq);
                    }
                    r.add(&f, rec.epoch).unwrap();
                }
                while let Some((t, _, body, _)) = r.pop() {
                    seen += 1;
                    match t {
                        handshake::CLIENT_HELLO => {
                            ClientHello::parse(&body).unwrap();
                        }
                        handshake::SERVER_HELLO => {
                            ServerHello::parse(&body).unwrap();
                        }
                        handshake::HELLO_VERIFY_REQUEST => {
                            handshake::parse_hello_verify_request(&body).unwrap();
                        }
                        handshake::CERTIFICATE => {
                            let chain = handshake::parse_certificate(&body).unwrap();
                            cert::public_key_of(&chain[0]).unwrap();
                        }
                        handshake::SERVER_KEY_EXCHANGE => {
                            ServerKeyExchange::parse(&body).unwrap();
                        }
                        handshake::CERTIFICATE_REQUEST => {
                            handshake::parse_certificate_request(&body).unwrap();
                        }
                        handshake::CLIENT_KEY_EXCHANGE => {
                            handshake::parse_client_key_exchange(&body).unwrap();
                        }
                        handshake::CERTIFICATE_VERIFY => {
                            handshake::parse_signed(&body).unwrap();
                        }
                        handshake::SERVER_HELLO_DONE => assert!(body.is_empty()),
                        other => panic!("unexpected message {other} in {dir}/{n}"),
                    }
                }
            }
        }
        assert!(seen >= 8, "{dir}: {seen}");
    }
}

/// Offline replay of a real Chromium ↔ aiortc handshake with the NSS key log: our
/// transcript, PRF and record layer reproduce both Finished messages and decrypt the
/// application data into the SCTP packets the capture says they carry.
#[test]
fn chromium_session_replays_with_key_log() {
    let p = provider();
    for dir in ["client-role", "server-role"] {
        let base = format!(
            "{}/tests/fixtures/chromium-156/dtls/{dir}",
            env!("CARGO_MANIFEST_DIR")
        );
        let keylog = std::fs::read_to_string(format!("{base}/keylog.txt")).unwrap();
        let master: Vec<u8> = {
            let hex = keylog.split_whitespace().nth(2).unwrap();
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect()
        };
        let mut names: Vec<_> = std::fs::read_dir(&base)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".bin"))
            .collect();
        names.sort();
        // Rebuild the transcript in the order messages were sent.
        let mut transcript = Vec::new();
        let mut client_random = [0u8; 32];
        let mut server_random = [0u8; 32];
        let mut suite = None;
        let mut reasm = [Reassembler::default(), Reassembler::default()];
        let mut protected: Vec<(bool, Vec<u8>)> = Vec::new();
        for n in &names {
            let to_browser = n.contains("to-browser");
            let d = fixture(&format!("dtls/{dir}/{n}"));
            for rec in record::records(&d) {
                let rec = rec.unwrap();
                if rec.epoch == 1 {
                    let mut raw = Vec::new();
                    record::write_record(
                        &mut raw,
                        rec.content_type,
                        rec.version,
                        1,
                        rec.seq,
                        rec.payload,
                    );
                    protected.push((to_browser, raw));
                    continue;
                }
                if rec.content_type != HANDSHAKE {
                    continue;
                }
                let r = &mut reasm[usize::from(to_browser)];
                for f in handshake::fragments(rec.payload).unwrap() {
                    r.add(&f, rec.epoch).unwrap();
                }
                while let Some((t, seq, body, _)) = r.pop() {
                    match t {
                        handshake::CLIENT_HELLO => {
                            client_random = ClientHello::parse(&body).unwrap().random
                        }
                        handshake::SERVER_HELLO => {
                            let sh = ServerHello::parse(&body).unwrap();
                            server_random = sh.random;
                            suite = CipherSuite::from_code(sh.cipher_suite);
                        }
                        _ => {}
                    }
                    transcript.extend_from_slice(&handshake::encode_message(t, seq, &body));
                }
            }
        }
        let suite = suite.unwrap();
        let browser_is_client = dir == "client-role";
        // Key block as in `install_keys`.
        let mut seed = server_random.to_vec();
        seed.extend_from_slice(&client_random);
        let block = prf(
            &*p,
            suite.prf_hash(),
            &master,
            b"key expansion",
            &seed,
            2 * (16 + 4),
        );
        let client = RecordCipher::new(
            p.aead(suite.aead(), &block[..16]).unwrap(),
            &block[32..36],
            suite.nonce_kind(),
        );
        let server = RecordCipher::new(
            p.aead(suite.aead(), &block[16..32]).unwrap(),
            &block[36..40],
            suite.nonce_kind(),
        );
        let mut finished = 0;
        let mut app = 0;
        let plaintexts = std::fs::read_to_string(format!("{base}/../plaintexts.tsv")).unwrap();
        let mut buf = Vec::new();
        let mut running = transcript.clone();
        for (to_browser, raw) in &protected {
            let rec = record::records(raw).next().unwrap().unwrap();
            let sender_is_client = *to_browser != browser_is_client;
            let cipher = if sender_is_client { &client } else { &server };
            let plain = cipher.open(&rec, &mut buf).unwrap().to_vec();
            match rec.content_type {
                HANDSHAKE => {
                    let f = &handshake::fragments(&plain).unwrap()[0];
                    assert_eq!(f.msg_type, handshake::FINISHED);
                    let label: &[u8] = if sender_is_client {
                        b"client finished"
                    } else {
                        b"server finished"
                    };
                    let h = p.hash(suite.prf_hash(), &[&running]);
                    assert_eq!(
                        f.data,
                        &prf(&*p, suite.prf_hash(), &master, label, &h, 12)[..],
                        "{dir}"
                    );
                    running.extend_from_slice(&plain);
                    finished += 1;
                }
                APPLICATION_DATA => {
                    app += 1;
                    // When the capture names the SCTP packet, the plaintext must equal it.
                    for line in plaintexts.lines().filter(|l| l.starts_with(dir)) {
                        let (dg, sctp) = line.split_once('\t').unwrap();
                        if fixture(&format!("dtls/{dg}")) == *raw {
                            assert_eq!(plain, fixture(sctp));
                        }
                    }
                }
                ALERT => assert_eq!(plain, [1, 0], "close_notify"),
                _ => panic!("unexpected record"),
            }
        }
        assert_eq!(finished, 2, "{dir}");
        assert!(app >= 4, "{dir}");
    }
}

/// DTLS-SRTP end to end: keys exported by each side key SRTP contexts that interoperate,
/// for every profile.
#[test]
fn exported_keys_drive_srtp_both_ways() {
    use crate::srtp::{DtlsSrtpContexts, SrtpConfig};
    for profile in SrtpProfile::ALL {
        let (mut c, mut s) = pair_with(|cfg, _| cfg.srtp_profiles = vec![profile]);
        connect(&mut c, &mut s);
        let (pc, kc) = c.srtp_keying_material().unwrap();
        let (ps, ks) = s.srtp_keying_material().unwrap();
        assert_eq!((pc, ps), (profile, profile));
        let mut cs =
            DtlsSrtpContexts::new(pc, &kc, DtlsRole::Client, SrtpConfig::default()).unwrap();
        let mut ss =
            DtlsSrtpContexts::new(ps, &ks, DtlsRole::Server, SrtpConfig::default()).unwrap();
        let rtp = [
            0x80u8, 111, 0, 1, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78, 1, 2, 3, 4, 5,
        ];
        let mut pkt = bytes::BytesMut::from(&rtp[..]);
        cs.local.protect_rtp(&mut pkt).unwrap();
        assert_ne!(&pkt[12..], &rtp[12..]);
        ss.remote.unprotect_rtp(&mut pkt).unwrap();
        assert_eq!(&pkt[..], &rtp[..]);
        let mut back = bytes::BytesMut::from(&rtp[..]);
        ss.local.protect_rtp(&mut back).unwrap();
        cs.remote.unprotect_rtp(&mut back).unwrap();
        assert_eq!(&back[..], &rtp[..]);
    }
}

#[test]
fn records_sharing_a_datagram_are_decrypted_in_place_each_whole() {
    let (mut c, mut s) = pair_with(|_, _| {});
    let link = connect(&mut c, &mut s);
    let now = link.now;
    let mut datagram = BytesMut::new();
    for msg in [&b"one"[..], b"two", b"three"] {
        c.send(msg).unwrap();
        let Output::Transmit(p) = c.poll_output() else {
            panic!("no packet")
        };
        datagram.extend_from_slice(&p);
    }
    // A truncated fourth record: the three before it still count.
    datagram.extend_from_slice(&[23, 0xfe, 0xfd, 0, 1]);
    s.handle_datagram_owned(now, datagram);
    let mut got = Vec::new();
    while let Output::Event(DtlsEvent::ApplicationData(d)) = s.poll_output() {
        got.push(d);
    }
    assert_eq!(got, [&b"one"[..], b"two", b"three"]);
    assert_eq!(s.stats().records_dropped, 1);
    assert!(s.is_connected());
}

/// Everything `d` has queued to send (the output after them, an event or timer, is
/// consumed too).
fn flight(d: &mut Dtls) -> Vec<Bytes> {
    let mut out = Vec::new();
    while let Output::Transmit(p) = d.poll_output() {
        out.push(p);
    }
    out
}

fn plaintext(content_type: u8, seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::new();
    record::write_record(&mut d, content_type, DTLS_1_2, 0, seq, payload);
    d
}

/// The attack: one 15-byte plaintext alert, from anyone, closed an established session
/// (and the data channels above it kept reporting `open`). RFC 6347 §4.1.2.7.
#[test]
fn plaintext_alerts_after_the_handshake_are_dropped_and_counted() {
    let (mut c, mut s) = pair_with(|_, _| {});
    let link = connect(&mut c, &mut s);
    let now = link.now;
    for (seq, alert) in [(5, [1, 0]), (6, [2, 40]), (1 << 40, [2, 20])] {
        let d = plaintext(ALERT, seq, &alert);
        assert_eq!(d.len(), 15);
        for side in [&mut c, &mut s] {
            side.handle_datagram(now, &d);
            assert!(side.is_connected());
            assert!(matches!(side.poll_output(), Output::Timeout(_)));
            assert_eq!(side.poll_timeout(), None);
        }
    }
    for side in [&c, &s] {
        assert_eq!(side.stats().plaintext_dropped, 3);
        assert_eq!(side.stats().records_dropped, 3);
    }
    c.send(b"still here").unwrap();
    assert_eq!(
        deliver(&mut c, &mut s, now),
        [DtlsEvent::ApplicationData(Bytes::from_static(
            b"still here"
        ))]
    );
    // The peer's own close_notify, protected, still closes.
    c.close();
    assert_eq!(deliver(&mut c, &mut s, now), [DtlsEvent::Closed]);
}

/// The attack: before the handshake, one plaintext record numbered 2^48−1 moved the
/// epoch-0 replay window to its end, so every genuine record after it was a "replay".
#[test]
fn an_unauthenticated_record_moves_no_replay_window() {
    let (mut c, mut s) = pair_with(|_, _| {});
    let now = Instant::now();
    c.handle_timeout(now);
    s.handle_timeout(now);
    for forged in [
        plaintext(HANDSHAKE, (1 << 48) - 1, &[0xab]),
        plaintext(CHANGE_CIPHER_SPEC, (1 << 48) - 2, &[1]),
    ] {
        c.handle_datagram(now, &forged);
        s.handle_datagram(now, &forged);
    }
    let mut link = Link::new(0, 0.0, 0.0);
    assert!(
        link.run(&mut c, &mut s, Duration::from_secs(5)),
        "{:?}",
        link.events
    );
    assert_eq!(c.stats().replays + s.stats().replays, 0);
}

/// The attack: garbage handshake records with an old message_seq made us resend our
/// last flight to the peer, one per record. Only the peer's own retransmission is
/// answered (RFC 6347 §4.2.4): plaintext fragments must repeat what it sent, and once
/// connected only its protected Finished counts.
#[test]
fn only_the_peers_own_retransmission_is_answered() {
    let (mut c, mut s) = pair_with(|cfg, _| cfg.initial_retransmit = Duration::from_millis(100));
    let t0 = Instant::now();
    c.handle_timeout(t0);
    s.handle_timeout(t0);
    for p in flight(&mut c) {
        s.handle_datagram(t0, &p);
    }
    for p in flight(&mut s) {
        c.handle_datagram(t0, &p);
    }
    // The client's Certificate … Finished: lost.
    assert!(!flight(&mut c).is_empty());
    // Forged "retransmissions" of the server's messages 0..4: the client stays quiet.
    for seq in 0..5u16 {
        let f = handshake::encode_message(handshake::SERVER_HELLO, seq, b"forged");
        c.handle_datagram(t0, &plaintext(HANDSHAKE, 50 + u64::from(seq), &f));
    }
    assert!(flight(&mut c).is_empty());
    assert_eq!(c.stats().unmatched_retransmissions, 5);
    // The server's own retransmission is answered at once.
    let t1 = t0 + Duration::from_millis(150);
    s.handle_timeout(t1);
    let again = flight(&mut s);
    assert!(!again.is_empty());
    for p in &again {
        c.handle_datagram(t1, p);
    }
    let answer = flight(&mut c);
    assert!(!answer.is_empty());
    for p in &answer {
        s.handle_datagram(t1, p);
    }
    assert!(s.is_connected());
    // The server's CCS + Finished: lost. Stray plaintext records leave it silent …
    assert!(!flight(&mut s).is_empty());
    while !matches!(s.poll_output(), Output::Timeout(_)) {}
    let sent = s.stats().datagrams_sent;
    for seq in 0..6u16 {
        let f = handshake::encode_message(handshake::CERTIFICATE, seq, b"forged");
        s.handle_datagram(t1, &plaintext(HANDSHAKE, 90 + u64::from(seq), &f));
        s.handle_datagram(t1, &plaintext(CHANGE_CIPHER_SPEC, 99, &[1]));
    }
    assert!(flight(&mut s).is_empty());
    assert_eq!(s.stats().datagrams_sent, sent);
    // … while the client's retransmitted flight (its Finished protected) is answered.
    let t2 = t1 + Duration::from_millis(400);
    c.handle_timeout(t2);
    let retx = flight(&mut c);
    assert!(!retx.is_empty());
    for p in &retx {
        s.handle_datagram(t2, p);
    }
    let last = flight(&mut s);
    assert!(!last.is_empty());
    for p in &last {
        c.handle_datagram(t2, p);
    }
    assert!(c.is_connected());
}

/// A peer (or anyone who copied its plaintext certificate) repeating the Certificate
/// message with fresh message_seq values used to grow the transcript without end.
#[test]
fn a_repeated_certificate_ends_the_handshake_instead_of_growing_it() {
    let (mut c, mut s) = pair_with(|_, _| {});
    let now = Instant::now();
    c.handle_timeout(now);
    s.handle_timeout(now);
    for p in flight(&mut c) {
        s.handle_datagram(now, &p);
    }
    let mut messages = Vec::new();
    for p in flight(&mut s) {
        for rec in record::records(&p) {
            for f in handshake::fragments(rec.unwrap().payload).unwrap() {
                messages.push((f.msg_type, f.data.to_vec()));
            }
        }
    }
    let (_, hello) = messages[0].clone();
    let (t, cert) = messages[1].clone();
    assert_eq!(t, handshake::CERTIFICATE);
    let messages = [(handshake::SERVER_HELLO, hello)]
        .into_iter()
        .chain(std::iter::repeat_n((handshake::CERTIFICATE, cert), 2000));
    for (seq, (t, body)) in (0u16..).zip(messages) {
        let m = handshake::encode_message(t, seq, &body);
        c.handle_datagram(now, &plaintext(HANDSHAKE, 1000 + u64::from(seq), &m));
        assert!(c.transcript.len() <= handshake::MAX_TRANSCRIPT);
    }
    assert!(c.transcript.len() < 8 * 1024, "{}", c.transcript.len());
    assert_eq!(c.state, State::Failed);
    assert_eq!(c.stats().datagrams_sent, 2, "the ClientHello and one alert");
}

#[test]
fn typed_causes_keep_their_alerts_and_read_well() {
    // The alert a cause sends is fixed by its family (RFC 5246 §7.2), whatever the cause.
    let cases = [
        (
            DtlsError::Decode(DecodeError::OddList(ListKind::CipherSuites)),
            50,
            "DTLS decode error: odd cipher suite list",
        ),
        (
            DtlsError::HandshakeFailure(HandshakeFailure::NoCommonCipherSuite),
            40,
            "handshake failure: no common cipher suite",
        ),
        (
            DtlsError::UnexpectedMessage(UnexpectedMessage::NotAllowed { got: 20 }),
            10,
            "unexpected handshake message: handshake message type 20 not allowed in this state",
        ),
    ];
    for (e, alert, text) in cases {
        assert_eq!(e.alert(), alert, "{e}");
        assert_eq!(e.to_string(), text);
    }
    // A malformed datagram says which part is wrong, as a value a caller can match.
    assert_eq!(
        record::first_record_len(&[22, 0xfe, 0xfd]),
        Err(DtlsError::Decode(DecodeError::RecordHeaderTruncated))
    );
    let mut header = [0u8; 13];
    header[12] = 1;
    assert_eq!(
        record::first_record_len(&header),
        Err(DtlsError::Decode(DecodeError::RecordLengthExceedsDatagram))
    );
}

/// Hand `datagrams` to `to`; return what it then sends and reports, in order.
fn step(to: &mut Dtls, datagrams: &[Bytes], now: Instant) -> (Vec<Bytes>, Vec<DtlsEvent>) {
    for d in datagrams {
        to.handle_datagram(now, d);
    }
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    loop {
        match to.poll_output() {
            Output::Transmit(p) => sent.push(p),
            Output::Event(e) => events.push(e),
            Output::Timeout(_) => return (sent, events),
        }
    }
}

/// RFC 7918 (TLS False Start): with its second flight out, a client may send application
/// data before the server's Finished; the server, taking the flight and the data in
/// order, delivers the data as soon as it is connected. Without False Start the client
/// must wait for the Finished.
#[test]
fn a_false_starting_client_sends_data_with_its_last_flight() {
    for false_start in [true, false] {
        let (mut c, mut s) = pair_with(|cfg, _| cfg.false_start = false_start);
        let now = start();
        // ClientHello → server flight → client's second flight (and Writable).
        let (server_flight, _) = step(&mut s, &flight(&mut c), now);
        let (mut second, events) = step(&mut c, &server_flight, now);
        assert_eq!(events == [DtlsEvent::Writable], false_start, "{events:?}");
        assert!(!c.is_connected());
        assert_eq!(c.can_send(), false_start);
        let early = c.send(b"with the flight");
        if !false_start {
            assert!(matches!(early, Err(DtlsError::NotConnected)));
            continue;
        }
        early.unwrap();
        second.extend(flight(&mut c));
        let (finished, at_server) = step(&mut s, &second, now);
        assert!(
            matches!(at_server[0], DtlsEvent::Connected { .. }),
            "{at_server:?}"
        );
        assert_eq!(
            at_server[1..],
            [DtlsEvent::ApplicationData(Bytes::from_static(
                b"with the flight"
            ))]
        );
        let (_, at_client) = step(&mut c, &finished, now);
        assert!(
            matches!(at_client[..], [DtlsEvent::Connected { .. }]),
            "{at_client:?}"
        );
    }
}

/// A false-started record that overtakes the flight it follows finds the server without
/// keys: it is dropped and counted (the layer above retransmits), and the handshake
/// completes all the same.
#[test]
fn false_start_data_overtaking_the_flight_is_dropped_and_counted() {
    let (mut c, mut s) = pair_with(|_, _| {});
    let now = start();
    let (server_flight, _) = step(&mut s, &flight(&mut c), now);
    let (mut second, _) = step(&mut c, &server_flight, now);
    c.send(b"too early").unwrap();
    second.insert(0, flight(&mut c).pop().unwrap());
    let dropped = s.stats().records_dropped;
    let (_, events) = step(&mut s, &second, now);
    assert_eq!(s.stats().records_dropped, dropped + 1);
    assert!(s.is_connected());
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, DtlsEvent::ApplicationData(_))),
        "{events:?}"
    );
}

/// A key made ahead of the handshake is the one the ServerKeyExchange carries; one for a
/// group the handshake does not settle on is left unused.
#[test]
fn a_provided_key_exchange_is_used_when_its_group_is_chosen() {
    for (offered, used) in [(NamedGroup::X25519, true), (NamedGroup::Secp256r1, false)] {
        let (mut c, mut s) = pair_with(|cfg, _| cfg.groups = vec![NamedGroup::X25519]);
        let kx = provider().key_exchange(offered).unwrap();
        let public = kx.public_key().to_vec();
        s.provide_key_exchange(offered, kx);
        let now = start();
        let (server_flight, _) = step(&mut s, &flight(&mut c), now);
        let server_flight: Vec<u8> = server_flight.concat();
        let carried = server_flight.windows(public.len()).any(|w| w == public);
        assert_eq!(carried, used, "{offered:?}");
    }
}
