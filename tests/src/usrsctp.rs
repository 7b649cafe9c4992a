//! Interop harness against usrsctp, the SCTP stack Firefox used for years: launches
//! `tests/usrsctp/peer.c` (built by `scripts/install-usrsctp-peer` against Debian's
//! libusrsctp), speaks its line protocol (`tests/usrsctp/README.md`) on its stdin and
//! stdout, and drives our data channels over a real loopback UDP socket that carries bare
//! SCTP packets, as DTLS records would. The wire between the two can drop packets.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use bytes::Bytes;

use sansrtc::datachannel::{DataChannelConfig, DataChannelEvent, DataChannels};
use sansrtc::dtls::DtlsRole;
use sansrtc::io::Output;
use sansrtc::sctp::{Association, SctpConfig};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The peer's binary, built on first use by the project's own script (once per process;
/// the script itself also serialises concurrent callers).
pub fn binary() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let out = Command::new(repo().join("scripts/install-usrsctp-peer"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/install-usrsctp-peer");
        assert!(out.status.success(), "scripts/install-usrsctp-peer failed");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        PathBuf::from(text.lines().last().expect("a binary path").trim())
    })
    .clone()
}

/// The bytes of message `index` on `stream`, as the peer's `fill` makes them.
pub fn content(stream: u16, index: u32, len: usize) -> Vec<u8> {
    let mut x =
        (stream as u32).wrapping_mul(2_654_435_761) ^ index.wrapping_mul(40_503) ^ 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// FNV-1a, 64 bits: how the peer reports a message's content.
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Which way a datagram travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From us to usrsctp.
    ToPeer,
    /// From usrsctp to us.
    FromPeer,
}

/// Decides which datagrams the wire loses.
pub type DropRule = Box<dyn FnMut(Direction, &[u8]) -> bool>;

/// Random loss at `rate` each way, from a seeded generator.
pub fn random_loss(rate: f64, seed: u64) -> DropRule {
    let mut x = seed | 1;
    Box::new(move |_, _| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - rate
    })
}

/// The chunk types of an SCTP packet (RFC 9260 §3.2), for drop rules that pick packets.
pub fn chunk_types(packet: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut at = 12;
    while at + 4 <= packet.len() {
        types.push(packet[at]);
        let len = u16::from_be_bytes([packet[at + 2], packet[at + 3]]) as usize;
        if len < 4 {
            break;
        }
        at += (len + 3) & !3;
    }
    types
}

/// With `USRSCTP_TRACE` set, prints each datagram's direction and chunk types.
fn trace(dir: Direction, packet: &[u8]) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("USRSCTP_TRACE").is_some()) {
        eprintln!(
            "{:?} {dir:?} {} bytes, chunks {:?}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_micros()
                % 10_000_000,
            packet.len(),
            chunk_types(packet)
        );
        if std::env::var_os("USRSCTP_TRACE_HEX").is_some() && packet.len() < 400 {
            eprintln!("{packet:02x?}");
        }
    }
}

/// A running usrsctp peer and our data channels, joined by loopback UDP.
pub struct Session {
    peer: Peer,
    /// Every line the peer printed, in order.
    pub log: Vec<String>,
    /// Lines `expect_line` already handed out.
    taken: Vec<bool>,
    udp: UdpSocket,
    peer_addr: SocketAddr,
    /// Our side.
    pub ours: DataChannels,
    /// Our events not yet taken by a test.
    pub events: VecDeque<DataChannelEvent>,
    /// The wire's losses.
    pub drop: Option<DropRule>,
    /// Datagrams the wire lost, each way.
    pub dropped: [usize; 2],
    /// When the session started.
    pub start: Instant,
    buf: Vec<u8>,
}

/// How to set up one session.
pub struct Setup {
    /// usrsctp sends the INIT (we listen); otherwise we do.
    pub peer_connects: bool,
    /// Extra arguments for the peer (`--idata`, `--streams IN OUT`, `--buffer N`).
    pub peer_args: Vec<String>,
    /// Our SCTP configuration.
    pub sctp: SctpConfig,
    /// Our data-channel configuration.
    pub channels: DataChannelConfig,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            peer_connects: false,
            peer_args: Vec::new(),
            sctp: SctpConfig {
                max_receive_message_size: 1 << 20,
                ..SctpConfig::default()
            },
            channels: DataChannelConfig::default(),
        }
    }
}

impl Session {
    /// Launch the peer and set up our side; the association starts at once.
    pub fn launch(setup: Setup) -> Session {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let ours_addr = udp.local_addr().unwrap();
        let peer = Peer::launch(ours_addr, setup.peer_connects, &setup.peer_args);
        let port = peer.port;
        let start = Instant::now();
        let mut assoc = Association::new(setup.sctp, start);
        // The DTLS role would pick stream parity; the SCTP client plays DTLS client here.
        let role = if setup.peer_connects {
            DtlsRole::Server
        } else {
            assoc.connect(start);
            DtlsRole::Client
        };
        // What an SDP a=max-message-size would say.
        assoc.set_peer_max_message_size(Some(1 << 20));
        let ours = DataChannels::with_config(assoc, Some(role), setup.channels);
        Session {
            peer,
            log: Vec::new(),
            taken: Vec::new(),
            udp,
            peer_addr: SocketAddr::from(([127, 0, 0, 1], port)),
            ours,
            events: VecDeque::new(),
            drop: None,
            dropped: [0; 2],
            start,
            buf: vec![0; 65536],
        }
    }

    /// Send the peer one command line.
    pub fn command(&mut self, line: &str) {
        self.peer.command(line);
    }

    /// One turn: send what we have, wait up to `max_wait` (or our next deadline) for a
    /// datagram, feed it and the clock, collect the peer's lines.
    pub fn turn(&mut self, max_wait: Duration) {
        let events = self.events.len();
        let deadline = self.drain();
        let now = Instant::now();
        let wait = deadline
            .map(|d| d.saturating_duration_since(now))
            .unwrap_or(max_wait)
            .min(max_wait);
        // A new event goes back to the test at once: the socket's receive timeout counts
        // in scheduler ticks (4 ms here), which would show in every figure timed.
        if self.events.len() > events || wait < Duration::from_micros(100) {
            self.udp.set_nonblocking(true).unwrap();
        } else {
            self.udp.set_read_timeout(Some(wait)).unwrap();
        }
        loop {
            match self.udp.recv_from(&mut self.buf) {
                Ok((n, from)) => {
                    if from != self.peer_addr {
                        continue;
                    }
                    let packet = &self.buf[..n];
                    trace(Direction::FromPeer, packet);
                    if let Some(rule) = self.drop.as_mut()
                        && rule(Direction::FromPeer, packet)
                    {
                        self.dropped[1] += 1;
                    } else {
                        let packet = Bytes::copy_from_slice(packet);
                        self.ours.handle_packet(Instant::now(), packet);
                    }
                    // Take what else is queued without waiting.
                    self.udp.set_nonblocking(true).unwrap();
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    break;
                }
                Err(e) => panic!("recv: {e}"),
            }
        }
        self.udp.set_nonblocking(false).unwrap();
        let now = Instant::now();
        if deadline.is_some_and(|d| d <= now) {
            self.ours.handle_timeout(now);
        }
        while let Ok(line) = self.peer.lines.try_recv() {
            self.log.push(line);
        }
    }

    /// Sends every datagram we have; returns our next deadline.
    fn drain(&mut self) -> Option<Instant> {
        loop {
            match self.ours.poll_output() {
                Output::Transmit(p) => {
                    trace(Direction::ToPeer, &p);
                    if let Some(rule) = self.drop.as_mut()
                        && rule(Direction::ToPeer, &p)
                    {
                        self.dropped[0] += 1;
                        continue;
                    }
                    // A full socket buffer is a loss the protocol recovers from.
                    let _ = self.udp.send_to(&p, self.peer_addr);
                }
                Output::Event(e) => self.events.push_back(e),
                Output::Timeout(at) => return Some(at),
            }
        }
    }

    /// Turns until `done` holds, or panics after `limit` naming `what`.
    pub fn run_until(
        &mut self,
        limit: Duration,
        what: &str,
        mut done: impl FnMut(&mut Session) -> bool,
    ) {
        let until = Instant::now() + limit;
        while !done(self) {
            if Instant::now() > until {
                panic!(
                    "timed out waiting for {what}; peer said {:?}; our events {:?}",
                    self.log, self.events
                );
            }
            self.turn(Duration::from_millis(2));
            if let Some(bad) = self.log.iter().find(|l| l.starts_with("error")) {
                panic!("the peer failed: {bad}; log {:?}", self.log);
            }
        }
    }

    /// Waits for the first peer line starting with `prefix` that no earlier call took,
    /// and returns it.
    pub fn expect_line(&mut self, prefix: &str, limit: Duration) -> String {
        let mut found = None;
        self.run_until(limit, prefix, |s| {
            s.taken.resize(s.log.len(), false);
            found = (0..s.log.len()).find(|&i| !s.taken[i] && s.log[i].starts_with(prefix));
            found.is_some()
        });
        let i = found.unwrap();
        self.taken[i] = true;
        self.log[i].clone()
    }

    /// Waits for one of our events that `pick` accepts, removing and returning it.
    pub fn expect_event<T>(
        &mut self,
        what: &str,
        limit: Duration,
        mut pick: impl FnMut(&DataChannelEvent) -> Option<T>,
    ) -> T {
        let mut out = None;
        self.run_until(limit, what, |s| {
            if let Some(i) = s.events.iter().position(|e| pick(e).is_some()) {
                let e = s.events.remove(i).unwrap();
                out = pick(&e);
                true
            } else {
                false
            }
        });
        out.unwrap()
    }

    /// The peer's lines starting with `prefix`, anywhere in its log so far.
    pub fn lines_with(&self, prefix: &str) -> Vec<&str> {
        self.log
            .iter()
            .filter(|l| l.starts_with(prefix))
            .map(String::as_str)
            .collect()
    }
}

/// One peer process: its stdin for commands, its stdout's lines as they come.
pub struct Peer {
    child: Child,
    stdin: ChildStdin,
    /// Lines it printed and nobody read yet.
    pub lines: Receiver<String>,
    /// Its UDP port.
    pub port: u16,
}

impl Peer {
    /// Launch one that sends to `remote` (connecting first when `connects`), and wait
    /// for its `ready` line.
    pub fn launch(remote: SocketAddr, connects: bool, args: &[String]) -> Peer {
        let mut child = Command::new(binary())
            .arg("--remote")
            .arg(remote.to_string())
            .args(connects.then_some("--client"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("launch usrsctp peer");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the peer's ready line");
        let port: u16 = ready
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("expected `ready PORT`, got {ready:?}"));
        Peer {
            child,
            stdin,
            lines,
            port,
        }
    }

    /// Send it one command line.
    pub fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to the peer");
        self.stdin.flush().unwrap();
    }

    /// Blocks for its next line starting with `prefix`, skipping others.
    pub fn wait_line(&mut self, prefix: &str, limit: Duration) -> String {
        let until = Instant::now() + limit;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("timed out waiting for {prefix:?}"));
            assert!(!line.starts_with("error"), "the peer failed: {line}");
            if line.starts_with(prefix) {
                return line;
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two usrsctp peers joined through a UDP relay in this process (each sends to its own
/// relay socket, which forwards to the other peer): usrsctp against itself, the
/// reference beside which our figures are read. The relay adds one hop each way.
pub fn usrsctp_pair(args: &[String]) -> (Peer, Peer) {
    let ra = UdpSocket::bind("127.0.0.1:0").expect("bind relay");
    let rb = UdpSocket::bind("127.0.0.1:0").expect("bind relay");
    // The listener first, so the INIT finds it listening.
    let b = Peer::launch(rb.local_addr().unwrap(), false, args);
    let a = Peer::launch(ra.local_addr().unwrap(), true, args);
    let to_b = SocketAddr::from(([127, 0, 0, 1], b.port));
    let to_a = SocketAddr::from(([127, 0, 0, 1], a.port));
    for (from, out, to) in [
        (ra.try_clone().unwrap(), rb.try_clone().unwrap(), to_b),
        (rb, ra, to_a),
    ] {
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            // Ends when the process does; a failed recv (socket gone) ends it sooner.
            while let Ok(n) = from.recv(&mut buf) {
                let _ = out.send_to(&buf[..n], to);
            }
        });
    }
    (a, b)
}
