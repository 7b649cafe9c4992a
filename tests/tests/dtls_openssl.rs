//! Interop with the `openssl` command line over real loopback UDP: our DTLS client against
//! `openssl s_server -dtls1_2`, our server against `openssl s_client -dtls1_2`, with
//! use_srtp and certificates on both sides. The SRTP keying material we export must equal
//! what OpenSSL prints for `-keymatexport EXTRACTOR-dtls_srtp`.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use sansrtc::crypto::{HashAlgorithm, default_provider};
use sansrtc::dtls::{
    CipherSuite, Dtls, DtlsCertificate, DtlsConfig, DtlsEvent, DtlsRole, Fingerprint,
};
use sansrtc::io::Output;
use sansrtc::srtp::SrtpProfile;

fn openssl() -> &'static str {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "the openssl command line is missing: run ./scripts/install-test-deps"
    );
    "openssl"
}

struct Peer {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Peer {
    fn spawn(args: &[String]) -> Peer {
        // Line-buffered, so what OpenSSL prints arrives while it runs.
        let mut child = Command::new("stdbuf")
            .args(["-oL", "-eL", openssl()])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start openssl");
        let (tx, rx) = channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stdin = child.stdin.take().unwrap();
        Peer {
            child,
            stdin,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Wait for a line containing `needle`; returns it.
    fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let end = Instant::now() + timeout;
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "openssl never printed {needle:?}; output:\n{}",
            self.seen.join("\n")
        );
    }

    /// The keying material OpenSSL printed, as bytes.
    fn keying_material(&mut self) -> Vec<u8> {
        let line = self.wait_for("Keying material:", Duration::from_secs(5));
        let hex = line.split(':').nth(1).unwrap().trim();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tmp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sansrtc-dtls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Write a certificate for OpenSSL to use; returns (cert path, key path).
fn write_pem(cert: &DtlsCertificate, dir: &std::path::Path, name: &str) -> (String, String) {
    let (c, k) = cert.to_pem();
    let cp = dir.join(format!("{name}.crt"));
    let kp = dir.join(format!("{name}.key"));
    std::fs::write(&cp, c).unwrap();
    std::fs::write(&kp, k).unwrap();
    (cp.display().to_string(), kp.display().to_string())
}

fn fingerprint_of_pem(path: &str) -> Fingerprint {
    let pem = pem::parse(std::fs::read(path).unwrap()).unwrap();
    Fingerprint::of(&*default_provider(), HashAlgorithm::Sha256, pem.contents())
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Drive `dtls` over `sock` until `done` or the timeout; returns the events seen.
fn drive(
    dtls: &mut Dtls,
    sock: &UdpSocket,
    peer: Option<SocketAddr>,
    timeout: Duration,
    mut done: impl FnMut(&[DtlsEvent]) -> bool,
) -> (Vec<DtlsEvent>, Option<SocketAddr>) {
    let start = Instant::now();
    let mut events = Vec::new();
    let mut peer = peer;
    let mut buf = vec![0u8; 65536];
    dtls.handle_timeout(Instant::now());
    loop {
        let mut wake = Instant::now() + Duration::from_millis(50);
        loop {
            match dtls.poll_output() {
                Output::Transmit(p) => {
                    if let Some(to) = peer {
                        sock.send_to(&p, to).unwrap();
                    }
                }
                Output::Event(e) => events.push(e),
                Output::Timeout(at) => {
                    wake = wake.min(at);
                    break;
                }
            }
        }
        if done(&events) || start.elapsed() > timeout {
            return (events, peer);
        }
        let wait = wake
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait)).unwrap();
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                peer.get_or_insert(from);
                dtls.handle_datagram(Instant::now(), &buf[..n]);
            }
            Err(_) => dtls.handle_timeout(Instant::now()),
        }
    }
}

fn connected(events: &[DtlsEvent]) -> Option<(CipherSuite, Option<SrtpProfile>)> {
    events.iter().find_map(|e| match e {
        DtlsEvent::Connected {
            cipher_suite,
            srtp_profile,
            ..
        } => Some((*cipher_suite, *srtp_profile)),
        _ => None,
    })
}

struct Case {
    openssl_cipher: &'static str,
    suite: CipherSuite,
    groups: &'static str,
    srtp: (&'static str, SrtpProfile, usize),
}

const CASES: &[Case] = &[
    Case {
        openssl_cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
        suite: CipherSuite::EcdheEcdsaAes128GcmSha256,
        groups: "X25519:P-256",
        srtp: (
            "SRTP_AES128_CM_SHA1_80",
            SrtpProfile::Aes128CmHmacSha1_80,
            60,
        ),
    },
    Case {
        openssl_cipher: "ECDHE-ECDSA-AES256-GCM-SHA384",
        suite: CipherSuite::EcdheEcdsaAes256GcmSha384,
        groups: "P-256",
        srtp: ("SRTP_AEAD_AES_256_GCM", SrtpProfile::AeadAes256Gcm, 88),
    },
    Case {
        openssl_cipher: "ECDHE-ECDSA-CHACHA20-POLY1305",
        suite: CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256,
        groups: "X25519:P-256",
        srtp: ("SRTP_AEAD_AES_128_GCM", SrtpProfile::AeadAes128Gcm, 56),
    },
];

#[test]
fn our_client_against_openssl_s_server() {
    let provider = default_provider();
    let dir = tmp_dir("client");
    let ours = DtlsCertificate::generate(&*provider).unwrap();
    let theirs = DtlsCertificate::generate(&*provider).unwrap();
    let (cert, key) = write_pem(&theirs, &dir, "server");
    for case in CASES {
        let port = free_port();
        let mut server = Peer::spawn(&[
            "s_server".into(),
            "-dtls1_2".into(),
            "-accept".into(),
            format!("127.0.0.1:{port}"),
            "-cert".into(),
            cert.clone(),
            "-key".into(),
            key.clone(),
            "-Verify".into(),
            "1".into(),
            "-cipher".into(),
            case.openssl_cipher.into(),
            "-groups".into(),
            case.groups.into(),
            "-use_srtp".into(),
            case.srtp.0.into(),
            "-keymatexport".into(),
            "EXTRACTOR-dtls_srtp".into(),
            "-keymatexportlen".into(),
            case.srtp.2.to_string(),
            "-naccept".into(),
            "1".into(),
        ]);
        server.wait_for("ACCEPT", Duration::from_secs(10));
        let mut cfg = DtlsConfig::new(
            ours.clone(),
            vec![theirs.fingerprint(&*provider, HashAlgorithm::Sha256)],
        );
        cfg.initial_retransmit = Duration::from_millis(200);
        let mut dtls = Dtls::new(DtlsRole::Client, cfg, Instant::now());
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let t0 = Instant::now();
        let (events, _) = drive(&mut dtls, &sock, Some(to), Duration::from_secs(10), |e| {
            connected(e).is_some() || e.iter().any(|e| matches!(e, DtlsEvent::Failed(_)))
        });
        let took = t0.elapsed();
        let (suite, profile) = connected(&events)
            .unwrap_or_else(|| panic!("{events:?}\nopenssl:\n{}", server.seen.join("\n")));
        assert_eq!(suite, case.suite);
        assert_eq!(profile, Some(case.srtp.1));
        let (_, km) = dtls.srtp_keying_material().unwrap();
        assert_eq!(km, server.keying_material(), "{}", case.openssl_cipher);
        // Data both ways: s_server prints what it receives and sends its stdin.
        dtls.send(b"hello from sansrtc\n").unwrap();
        drive(
            &mut dtls,
            &sock,
            Some(to),
            Duration::from_millis(100),
            |_| false,
        );
        server.wait_for("hello from sansrtc", Duration::from_secs(5));
        server.stdin.write_all(b"hello from openssl\n").unwrap();
        server.stdin.flush().unwrap();
        let (events, _) = drive(&mut dtls, &sock, Some(to), Duration::from_secs(5), |e| {
            e.iter().any(|e| matches!(e, DtlsEvent::ApplicationData(d) if d.starts_with(b"hello from openssl")))
        });
        assert!(
            events
                .iter()
                .any(|e| matches!(e, DtlsEvent::ApplicationData(_))),
            "{events:?}"
        );
        println!(
            "client vs openssl s_server: DTLS 1.2 {} {}, handshake {:?}",
            suite.name(),
            case.srtp.1,
            took
        );
    }
}

#[test]
fn our_server_against_openssl_s_client() {
    let provider = default_provider();
    let dir = tmp_dir("server");
    let ours = DtlsCertificate::generate(&*provider).unwrap();
    let theirs = DtlsCertificate::generate(&*provider).unwrap();
    let (cert, key) = write_pem(&theirs, &dir, "client");
    for case in CASES {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let mut cfg = DtlsConfig::new(ours.clone(), vec![fingerprint_of_pem(&cert)]);
        cfg.cipher_suites = vec![case.suite];
        let mut dtls = Dtls::new(DtlsRole::Server, cfg, Instant::now());
        let mut client = Peer::spawn(&[
            "s_client".into(),
            "-dtls1_2".into(),
            "-connect".into(),
            format!("127.0.0.1:{port}"),
            "-cert".into(),
            cert.clone(),
            "-key".into(),
            key.clone(),
            "-cipher".into(),
            case.openssl_cipher.into(),
            "-groups".into(),
            case.groups.into(),
            "-use_srtp".into(),
            case.srtp.0.into(),
            "-keymatexport".into(),
            "EXTRACTOR-dtls_srtp".into(),
            "-keymatexportlen".into(),
            case.srtp.2.to_string(),
        ]);
        let t0 = Instant::now();
        let (events, peer) = drive(&mut dtls, &sock, None, Duration::from_secs(10), |e| {
            connected(e).is_some() || e.iter().any(|e| matches!(e, DtlsEvent::Failed(_)))
        });
        let took = t0.elapsed();
        let (suite, profile) = connected(&events)
            .unwrap_or_else(|| panic!("{events:?}\nopenssl:\n{}", client.seen.join("\n")));
        assert_eq!(suite, case.suite);
        assert_eq!(profile, Some(case.srtp.1));
        let (_, km) = dtls.srtp_keying_material().unwrap();
        assert_eq!(km, client.keying_material(), "{}", case.openssl_cipher);
        client.stdin.write_all(b"hello from openssl\n").unwrap();
        client.stdin.flush().unwrap();
        let (events, _) = drive(&mut dtls, &sock, peer, Duration::from_secs(5), |e| {
            e.iter().any(|e| matches!(e, DtlsEvent::ApplicationData(_)))
        });
        assert!(
            events.iter().any(|e| matches!(e, DtlsEvent::ApplicationData(d) if d.starts_with(b"hello from openssl"))),
            "{events:?}"
        );
        dtls.send(b"hello from sansrtc\n").unwrap();
        drive(&mut dtls, &sock, peer, Duration::from_millis(100), |_| {
            false
        });
        client.wait_for("hello from sansrtc", Duration::from_secs(5));
        println!(
            "server vs openssl s_client: DTLS 1.2 {} {}, handshake {:?}",
            suite.name(),
            case.srtp.1,
            took
        );
    }
}

/// An RSA-certificate peer: OpenSSL serves ECDHE-RSA suites and our client verifies its
/// RSA signature.
#[test]
fn our_client_against_openssl_with_an_rsa_certificate() {
    let provider = default_provider();
    let dir = tmp_dir("rsa");
    let (cert, key) = (
        dir.join("rsa.crt").display().to_string(),
        dir.join("rsa.key").display().to_string(),
    );
    let ok = Command::new(openssl())
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=rsa", "-days", "2",
            "-keyout", &key, "-out", &cert,
        ])
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "openssl req failed");
    let ours = DtlsCertificate::generate(&*provider).unwrap();
    for (cipher, suite) in [
        (
            "ECDHE-RSA-AES128-GCM-SHA256",
            CipherSuite::EcdheRsaAes128GcmSha256,
        ),
        (
            "ECDHE-RSA-CHACHA20-POLY1305",
            CipherSuite::EcdheRsaChaCha20Poly1305Sha256,
        ),
    ] {
        let port = free_port();
        let mut server = Peer::spawn(&[
            "s_server".into(),
            "-dtls1_2".into(),
            "-accept".into(),
            format!("127.0.0.1:{port}"),
            "-cert".into(),
            cert.clone(),
            "-key".into(),
            key.clone(),
            "-Verify".into(),
            "1".into(),
            "-cipher".into(),
            cipher.into(),
            "-use_srtp".into(),
            "SRTP_AES128_CM_SHA1_80".into(),
            "-keymatexport".into(),
            "EXTRACTOR-dtls_srtp".into(),
            "-keymatexportlen".into(),
            "60".into(),
            "-naccept".into(),
            "1".into(),
        ]);
        server.wait_for("ACCEPT", Duration::from_secs(10));
        let mut cfg = DtlsConfig::new(ours.clone(), vec![fingerprint_of_pem(&cert)]);
        cfg.initial_retransmit = Duration::from_millis(200);
        let mut dtls = Dtls::new(DtlsRole::Client, cfg, Instant::now());
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let (events, _) = drive(&mut dtls, &sock, Some(to), Duration::from_secs(10), |e| {
            connected(e).is_some() || e.iter().any(|e| matches!(e, DtlsEvent::Failed(_)))
        });
        let (got, _) = connected(&events)
            .unwrap_or_else(|| panic!("{events:?}\nopenssl:\n{}", server.seen.join("\n")));
        assert_eq!(got, suite);
        assert_eq!(
            dtls.srtp_keying_material().unwrap().1,
            server.keying_material()
        );
    }
}
