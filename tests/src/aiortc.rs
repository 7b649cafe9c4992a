//! Interop harness against aiortc's ORTC objects: launches `tests/aiortc/peer.py` in the
//! venv `scripts/install-aiortc` builds, speaks its JSON-lines protocol
//! (`tests/aiortc/PROTOCOL.md`) over TCP, and drives our ORTC chain over a real loopback
//! UDP socket with a plain blocking loop.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};

use sansrtc::crypto::default_provider;
use sansrtc::dtls::DtlsCertificate;
use sansrtc::engine::{Engine, EngineConfig};
use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive};
use sansrtc::ortc::{IceRole, OrtcEvent};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv's python, built on first use by the project's own script (once per
/// process; the script itself also serialises concurrent callers).
pub fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(build_python).clone()
}

fn build_python() -> PathBuf {
    let out = Command::new(repo().join("scripts/install-aiortc"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/install-aiortc");
    assert!(out.status.success(), "scripts/install-aiortc failed");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    PathBuf::from(text.lines().last().expect("a python path").trim())
}

/// A running aiortc peer and its control connection.
pub struct Peer {
    child: Child,
    lines: Receiver<Value>,
    out: TcpStream,
    /// Its `hello`.
    pub hello: Value,
    /// Every line it sent, in order (for failure messages and later checks).
    pub log: Vec<Value>,
    /// Lines `expect_line` already handed out.
    taken: Vec<bool>,
}

impl Peer {
    /// Launch with this ICE role and extra options.
    pub fn launch(role: IceRole, extra: &[&str]) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind control listener");
        let port = listener.local_addr().unwrap().port();
        let role = match role {
            IceRole::Controlling => "controlling",
            _ => "controlled",
        };
        let child = Command::new(python())
            .arg(repo().join("tests/aiortc/peer.py"))
            .args([
                "--connect",
                &format!("127.0.0.1:{port}"),
                "--ice-role",
                role,
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("launch peer.py");
        listener.set_nonblocking(false).unwrap();
        let (stream, _) = listener.accept().expect("peer connects");
        let reader = BufReader::new(stream.try_clone().unwrap());
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in reader.lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    panic!("peer sent a line that is not JSON: {line}");
                };
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let hello = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("hello from the peer");
        assert_eq!(hello["type"], "hello", "{hello}");
        Peer {
            child,
            lines: rx,
            out: stream,
            hello: hello.clone(),
            log: vec![hello],
            taken: vec![true],
        }
    }

    /// Send a command.
    pub fn send(&mut self, v: &Value) {
        let mut line = serde_json::to_string(v).unwrap();
        line.push('\n');
        self.out.write_all(line.as_bytes()).expect("write to peer");
    }

    fn try_next(&mut self, wait: Duration) -> Option<Value> {
        match self.lines.recv_timeout(wait) {
            Ok(v) => {
                assert_ne!(v["type"], "error", "peer reported an error: {v}");
                self.log.push(v.clone());
                self.taken.push(false);
                Some(v)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The first logged line matching `pred`, if any.
    pub fn find(&self, pred: impl Fn(&Value) -> bool) -> Option<&Value> {
        self.log.iter().find(|v| pred(v))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our end: the ORTC chain over one loopback UDP socket.
pub struct Ours {
    /// The chain.
    pub chain: Engine,
    socket: UdpSocket,
    local: SocketAddr,
    /// Every event the chain reported, with when.
    pub events: Vec<(Instant, OrtcEvent)>,
    buf: Vec<u8>,
}

impl Ours {
    /// A chain with a fresh certificate, gathered on a new loopback socket.
    pub fn new(seed: u64, max_message_size: usize) -> Ours {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
        let local = socket.local_addr().unwrap();
        let cert = DtlsCertificate::generate(&*default_provider()).unwrap();
        let mut chain = Engine::new(
            EngineConfig::with_certificate(cert).seeded(seed),
            Instant::now(),
        );
        chain.ice_gatherer_mut().gather(&[local]).unwrap();
        let mut sctp = chain.sctp_transport_mut();
        sctp.config_mut().seed = seed;
        sctp.config_mut().max_receive_message_size = max_message_size;
        Ours {
            chain,
            socket,
            local,
            events: Vec::new(),
            buf: vec![0; 65536],
        }
    }

    /// Our parameters in the shape `start` wants, and our role for the peer.
    pub fn start_command(&self, peer_controlling: bool) -> Value {
        let ice = self.chain.ice_gatherer();
        json!({
            "type": "start",
            "ice": ice.local_parameters(),
            "candidates": ice.local_candidates(),
            "dtls": self.chain.dtls_transport().local_parameters(),
            "sctp": self.chain.sctp_transport().capabilities(),
            "port": self.chain.sctp_transport().port(),
            "iceControlling": peer_controlling,
        })
    }

    /// Start our layers with the peer's `hello`.
    pub fn start(&mut self, hello: &Value, role: IceRole) {
        let mut ice = self.chain.ice_transport_mut();
        ice.start(&serde_json::from_value(hello["ice"].clone()).unwrap(), role)
            .unwrap();
        for c in hello["candidates"].as_array().unwrap() {
            ice.add_remote_candidate(Some(&serde_json::from_value(c.clone()).unwrap()))
                .unwrap();
        }
        ice.add_remote_candidate(None).unwrap();
        self.chain
            .dtls_transport_mut()
            .start(&serde_json::from_value(hello["dtls"].clone()).unwrap())
            .unwrap();
        let port = hello["port"].as_u64().unwrap() as u16;
        self.chain
            .sctp_transport_mut()
            .start(
                &serde_json::from_value(hello["sctp"].clone()).unwrap(),
                port,
            )
            .unwrap();
    }

    /// Drain the chain's outputs: send transmits, log events; returns the deadline.
    fn flush(&mut self) -> Option<Instant> {
        loop {
            match self.chain.poll_output() {
                Output::Transmit(t) => {
                    for d in t.datagrams() {
                        let _ = self.socket.send_to(&d, t.destination);
                    }
                }
                Output::Event(e) => self.events.push((Instant::now(), e)),
                Output::Timeout(at) => return Some(at),
            }
        }
    }

    /// One turn: send what is due, wait up to `max` for one datagram, feed it or the
    /// timeout.
    fn turn(&mut self, max: Duration) {
        let deadline = self.flush();
        let now = Instant::now();
        let wait = deadline
            .map_or(max, |d| d.saturating_duration_since(now))
            .min(max);
        if wait.is_zero() {
            // Due now: a socket timeout would round up to the kernel's tick.
            self.chain.handle_input(Input::Timeout(now));
            return;
        }
        self.socket.set_read_timeout(Some(wait)).unwrap();
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, from)) => {
                let now = Instant::now();
                self.chain.handle_input(Input::Receive(Receive {
                    now,
                    protocol: Protocol::Udp,
                    source: from,
                    destination: self.local,
                    contents: Bytes::copy_from_slice(&self.buf[..n]),
                }));
            }
            Err(_) => self.chain.handle_input(Input::Timeout(Instant::now())),
        }
    }
}

/// Drive both until `done` holds (checked after every step); panics after `timeout`.
pub fn run_until(
    ours: &mut Ours,
    peer: &mut Peer,
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&mut Ours, &mut Peer) -> bool,
) {
    let end = Instant::now() + timeout;
    loop {
        if done(ours, peer) {
            return;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}; peer said {:?}; our events {:?}",
            peer.log.iter().rev().take(8).collect::<Vec<_>>(),
            ours.events
                .iter()
                .rev()
                .take(8)
                .map(|e| &e.1)
                .collect::<Vec<_>>()
        );
        ours.turn(Duration::from_millis(2));
        while let Some(_v) = peer.try_next(Duration::ZERO) {}
    }
}

/// The first line from the peer matching `pred` that no earlier call returned, waiting
/// for it while driving ours.
pub fn expect_line(
    ours: &mut Ours,
    peer: &mut Peer,
    timeout: Duration,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let mut found = None;
    run_until(ours, peer, timeout, what, |_, p| {
        found = (0..p.log.len()).find(|&i| !p.taken[i] && pred(&p.log[i]));
        found.is_some()
    });
    let i = found.expect("checked");
    peer.taken[i] = true;
    peer.log[i].clone()
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Base64 as the protocol writes binary payloads.
pub fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Decode a protocol base64 payload.
pub fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("valid base64")
}
