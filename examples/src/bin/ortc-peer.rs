//! Our ORTC chain as a peer of the interop protocol (`tests/aiortc/PROTOCOL.md`): the
//! same JSON-lines commands `tests/aiortc/peer.py` answers for aiortc, so one controller
//! (`tests/aiortc/selftest.py --peer-a/--peer-b`) can run ours ↔ ours, ours ↔ aiortc and
//! aiortc ↔ aiortc, and measure them with one harness. One thread waits on the UDP
//! socket and the control connection together (mio), and handles control lines that
//! arrived before a datagram ahead of it, as a single event loop does.
//!
//! `ortc-peer --connect HOST:PORT --ice-role controlling|controlled [--name N]
//! [--ice-address IP] [--sctp-port N] [--max-message-size N]`

use std::collections::{HashMap, HashSet};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};

use base64::Engine as _;
use bytes::Bytes;
use sansrtc::crypto::default_provider;
use sansrtc::datachannel::{ChannelId, DataChannelEvent, DataChannelInfo};
use sansrtc::dtls::{DtlsCertificate, DtlsRole};
use sansrtc::engine::{Engine, EngineConfig};
use sansrtc::ice::{IceConnectionState, IceEvent};
use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive};
use sansrtc::ortc::*;
use sansrtc_examples::bulk::{BulkStream, hex};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

struct Expect {
    want: usize,
    got: usize,
    hash: Sha256,
    first: Option<Instant>,
}

struct Bulk {
    total: usize,
    size: usize,
    at: usize,
    stream: BulkStream,
    hash: Sha256,
    started: Instant,
}

struct Peer {
    name: String,
    chain: Engine,
    socket: UdpSocket,
    out: TcpStream,
    out_buf: Vec<u8>,
    in_buf: Vec<u8>,
    role: IceRole,
    t0: Option<Instant>,
    queued_opens: Vec<Value>,
    echo: HashSet<u16>,
    expects: HashMap<u16, Expect>,
    bulks: HashMap<u16, Bulk>,
    labels: HashMap<u16, String>,
    /// The protocol names channels by stream id; the engine by handle.
    handles: HashMap<u16, ChannelId>,
    streams: HashMap<ChannelId, u16>,
    stopping: bool,
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn channel_json(info: &DataChannelInfo, origin: &str) -> Value {
    json!({"type": "channel", "id": info.id, "origin": origin, "label": info.label,
           "protocol": info.protocol, "ordered": info.ordered,
           "maxRetransmits": info.max_retransmits, "maxPacketLifeTime": info.max_packet_life_time,
           "negotiated": info.negotiated})
}

impl Peer {
    fn say(&mut self, mut v: Value) {
        if v.get("ms").is_some_and(Value::is_null)
            && let Some(t0) = self.t0
        {
            v["ms"] = json!((t0.elapsed().as_secs_f64() * 1e6).round() / 1e3);
        }
        self.out_buf.extend_from_slice(v.to_string().as_bytes());
        self.out_buf.push(b'\n');
        self.flush();
    }

    /// Write what the control connection takes now; the rest waits for writability.
    fn flush(&mut self) {
        while !self.out_buf.is_empty() {
            match self.out.write(&self.out_buf) {
                Ok(0) => break,
                Ok(n) => {
                    self.out_buf.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("controller connection: {e}"),
            }
        }
    }

    /// Handle every complete control line that has arrived; false once it closed.
    fn read_commands(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        let open = loop {
            match self.out.read(&mut chunk) {
                Ok(0) => break false,
                Ok(n) => self.in_buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break false,
            }
        };
        while let Some(end) = self.in_buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.in_buf.drain(..=end).collect();
            match serde_json::from_slice(&line) {
                Ok(v) => self.command(v),
                Err(e) => self.error("", format!("not JSON: {e}")),
            }
        }
        open
    }

    fn error(&mut self, command: &str, message: impl ToString) {
        self.say(json!({"type": "error", "command": command, "message": message.to_string()}));
    }

    fn command(&mut self, c: Value) {
        let kind = c["type"].as_str().unwrap_or("").to_string();
        if let Err(e) = self.try_command(&kind, &c) {
            self.error(&kind, e);
        }
    }

    fn try_command(&mut self, kind: &str, c: &Value) -> Result<(), String> {
        let id = || c["id"].as_u64().map(|i| i as u16).ok_or("no id");
        match kind {
            "start" => self.start(c),
            "open" if self.t0.is_none() => {
                self.queued_opens.push(c.clone());
                Ok(())
            }
            "open" => self.open(c),
            "send" => {
                let ch = self.h(id()?)?;
                let r = match (c["text"].as_str(), c["binary"].as_str()) {
                    (Some(t), _) => self.chain.sctp_transport_mut().send_text(ch, t),
                    (_, Some(b)) => {
                        let data = base64::engine::general_purpose::STANDARD
                            .decode(b)
                            .map_err(|e| e.to_string())?;
                        self.chain
                            .sctp_transport_mut()
                            .send_binary(ch, Bytes::from(data))
                    }
                    _ => return Err("send needs text or binary".into()),
                };
                r.map_err(|e| e.to_string())
            }
            "echo" => {
                let id = id()?;
                if c["on"].as_bool() == Some(false) {
                    self.echo.remove(&id);
                } else {
                    self.echo.insert(id);
                }
                Ok(())
            }
            "expect" => {
                let want = c["bytes"].as_u64().ok_or("no bytes")? as usize;
                let e = Expect {
                    want,
                    got: 0,
                    hash: Sha256::new(),
                    first: None,
                };
                self.expects.insert(id()?, e);
                Ok(())
            }
            "bulk" => {
                let seed = c["seed"].as_u64().unwrap_or(0);
                let b = Bulk {
                    total: c["bytes"].as_u64().ok_or("no bytes")? as usize,
                    size: c["messageSize"].as_u64().unwrap_or(65536) as usize,
                    at: 0,
                    stream: BulkStream::new(seed),
                    hash: Sha256::new(),
                    started: Instant::now(),
                };
                let id = id()?;
                let ch = self.h(id)?;
                self.chain
                    .sctp_transport_mut()
                    .set_buffered_amount_low_threshold(ch, 2 << 20);
                self.bulks.insert(id, b);
                Ok(())
            }
            "close" => {
                let id = id()?;
                let ch = self.h(id)?;
                self.chain
                    .sctp_transport_mut()
                    .close_channel(ch)
                    .map_err(|e| e.to_string())?;
                let label = self.labels.get(&id).cloned().unwrap_or_default();
                self.say(json!({"type": "channelState", "id": id, "label": label, "state": "closing", "ms": null}));
                Ok(())
            }
            "stop" => {
                self.chain.stop();
                self.chain.ice_transport_mut().stop();
                self.stopping = true;
                Ok(())
            }
            other => Err(format!("unknown command {other:?}")),
        }
    }

    fn start(&mut self, c: &Value) -> Result<(), String> {
        let want = c["iceControlling"].as_bool().ok_or("no iceControlling")?;
        if want != (self.role == IceRole::Controlling) {
            return Err("start: iceControlling contradicts --ice-role".into());
        }
        let p = |k: &str| c[k].clone();
        let e = |e: serde_json::Error| e.to_string();
        let s = |e: OrtcError| e.to_string();
        self.t0 = Some(Instant::now());
        let mut ice = self.chain.ice_transport_mut();
        ice.start(&serde_json::from_value(p("ice")).map_err(e)?, self.role)
            .map_err(s)?;
        let cands: Vec<IceCandidate> = serde_json::from_value(p("candidates")).map_err(e)?;
        for cand in &cands {
            ice.add_remote_candidate(Some(cand)).map_err(s)?;
        }
        ice.add_remote_candidate(None).map_err(s)?;
        let dtls = serde_json::from_value(p("dtls")).map_err(e)?;
        self.chain.dtls_transport_mut().start(&dtls).map_err(s)?;
        let port = c["port"].as_u64().unwrap_or(5000) as u16;
        let caps = serde_json::from_value(p("sctp")).map_err(e)?;
        self.chain
            .sctp_transport_mut()
            .start(&caps, port)
            .map_err(s)?;
        for o in std::mem::take(&mut self.queued_opens) {
            self.command(o);
        }
        Ok(())
    }

    fn open(&mut self, c: &Value) -> Result<(), String> {
        let params: DataChannelParameters =
            serde_json::from_value(c.clone()).map_err(|e| e.to_string())?;
        let ch = self
            .chain
            .sctp_transport_mut()
            .create_data_channel(&params)
            .map_err(|e| e.to_string())?;
        let info = self
            .chain
            .sctp_transport()
            .channel(ch)
            .ok_or("channel vanished")?
            .clone();
        // Opens wait for `start`, so the DTLS role, and with it the id, is known.
        let id = info.id.ok_or("no id")?;
        self.known(id, ch);
        self.labels.insert(id, params.label.clone());
        self.say(channel_json(&info, "local"));
        Ok(())
    }

    fn event(&mut self, e: OrtcEvent) {
        let state =
            |t: &str, s: &str| json!({"type": "state", "transport": t, "state": s, "ms": null});
        match e {
            OrtcEvent::Ice(IceEvent::ConnectionStateChange(s)) => {
                let s = match s {
                    IceConnectionState::Checking => "checking",
                    IceConnectionState::Connected => "connected",
                    IceConnectionState::Completed => "completed",
                    IceConnectionState::Failed => "failed",
                    IceConnectionState::Closed => "closed",
                    _ => return,
                };
                self.say(state("ice", s));
            }
            OrtcEvent::DtlsStateChange(s) => {
                let name = format!("{s:?}").to_lowercase();
                self.say(state("dtls", &name));
                if s == DtlsTransportState::Connected {
                    let t = self.chain.dtls_transport();
                    let suite = t.cipher_suite().map(|c| c.name());
                    let srtp = t.session().and_then(|d| d.srtp_profile()).map(|p| p.name());
                    let dtls_role = match t.role() {
                        Some(DtlsRole::Client) => "client",
                        _ => "server",
                    };
                    let ice_role = match self.chain.ice_transport().role() {
                        IceRole::Controlling => "controlling",
                        _ => "controlled",
                    };
                    self.say(json!({"type": "connected", "dtlsVersion": "DTLSv1.2",
                        "cipherSuite": suite.map(openssl_name), "cipherSuiteIana": suite,
                        "srtpProfile": srtp,
                        "iceRole": ice_role, "dtlsRole": dtls_role, "ms": null}));
                }
            }
            OrtcEvent::SctpStateChange(s) => {
                let name = format!("{s:?}").to_lowercase();
                self.say(state("sctp", &name));
            }
            OrtcEvent::DataChannel(e) => self.channel_event(e),
            _ => {}
        }
    }

    /// A channel's handle, by the stream id the protocol names it with.
    fn h(&self, id: u16) -> Result<ChannelId, String> {
        self.handles
            .get(&id)
            .copied()
            .ok_or_else(|| format!("no channel {id}"))
    }

    fn known(&mut self, id: u16, ch: ChannelId) {
        self.handles.insert(id, ch);
        self.streams.insert(ch, id);
    }

    fn channel_event(&mut self, e: DataChannelEvent) {
        if let DataChannelEvent::Incoming(info) = &e
            && let Some(id) = info.id
        {
            self.known(id, info.channel);
        }
        let sid = |ch: &ChannelId| self.streams.get(ch).copied().unwrap_or(u16::MAX);
        match e {
            DataChannelEvent::Incoming(info) => {
                let id = sid(&info.channel);
                self.labels.insert(id, info.label.clone());
                self.say(channel_json(&info, "remote"));
                self.say(json!({"type": "channelState", "id": id, "label": info.label, "state": "open", "ms": null}));
            }
            DataChannelEvent::Open(ch) => {
                let id = sid(&ch);
                let label = self.labels.get(&id).cloned().unwrap_or_default();
                self.say(json!({"type": "channelState", "id": id, "label": label, "state": "open", "ms": null}));
            }
            DataChannelEvent::Closed(ch) => {
                let id = sid(&ch);
                self.streams.remove(&ch);
                if self.handles.get(&id) == Some(&ch) {
                    self.handles.remove(&id);
                }
                let label = self.labels.remove(&id).unwrap_or_default();
                self.say(json!({"type": "channelState", "id": id, "label": label, "state": "closed", "ms": null}));
            }
            DataChannelEvent::Message {
                channel,
                data,
                text,
                ..
            } => self.message(sid(&channel), channel, data, text),
            _ => {}
        }
    }

    fn message(&mut self, id: u16, ch: ChannelId, data: Bytes, text: bool) {
        if self.echo.contains(&id) {
            let r = match text {
                true => self
                    .chain
                    .sctp_transport_mut()
                    .send_text(ch, &String::from_utf8_lossy(&data)),
                false => self.chain.sctp_transport_mut().send_binary(ch, data),
            };
            if let Err(e) = r {
                self.error("", e);
            }
            return;
        }
        if let Some(x) = self.expects.get_mut(&id) {
            let now = Instant::now();
            let first = *x.first.get_or_insert(now);
            x.got += data.len();
            x.hash.update(&data);
            if x.got >= x.want {
                let x = self.expects.remove(&id).expect("present");
                let ms = now.duration_since(first).as_secs_f64() * 1e3;
                let mbps = (ms > 0.0).then(|| x.got as f64 * 8.0 / (ms * 1e3));
                let sha = hex(&x.hash.finalize());
                self.say(json!({"type": "received", "id": id, "bytes": x.got, "sha256": sha, "ms": ms, "mbps": mbps}));
            }
            return;
        }
        let v = match text {
            true => json!({"type": "message", "id": id, "text": String::from_utf8_lossy(&data)}),
            false => json!({"type": "message", "id": id, "binary": b64(&data)}),
        };
        self.say(v);
    }

    /// Keep bulk transfers fed, a few MiB ahead of what is acknowledged.
    fn feed(&mut self) {
        let ids: Vec<u16> = self.bulks.keys().copied().collect();
        for id in ids {
            let Ok(ch) = self.h(id) else {
                self.bulks.remove(&id);
                continue;
            };
            loop {
                let buffered = self.chain.sctp_transport().buffered_amount(ch);
                let b = self.bulks.get_mut(&id).expect("listed");
                if b.at == b.total {
                    if buffered == 0 {
                        let b = self.bulks.remove(&id).expect("listed");
                        let ms = b.started.elapsed().as_secs_f64() * 1e3;
                        let sha = hex(&b.hash.finalize());
                        self.say(json!({"type": "bulkSent", "id": id, "bytes": b.total, "sha256": sha, "ms": ms}));
                    }
                    break;
                }
                if buffered >= 4 << 20 {
                    break;
                }
                let n = b.size.min(b.total - b.at);
                let chunk = Bytes::copy_from_slice(b.stream.read(b.at, n));
                b.hash.update(&chunk);
                b.at += n;
                if let Err(e) = self.chain.sctp_transport_mut().send_binary(ch, chunk) {
                    self.bulks.remove(&id);
                    self.error("bulk", e);
                    break;
                }
            }
        }
    }
}

/// OpenSSL's name for a suite, which PROTOCOL.md's `cipherSuite` carries.
fn openssl_name(iana: &str) -> String {
    iana.trim_start_matches("TLS_")
        .replace("_WITH_", "_")
        .replace("AES_128", "AES128")
        .replace("AES_256", "AES256")
        .replace("CHACHA20_POLY1305_SHA256", "CHACHA20_POLY1305")
        .replace('_', "-")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let connect = arg(&args, "--connect").expect("--connect HOST:PORT");
    let role = match arg(&args, "--ice-role").as_deref() {
        Some("controlling") => IceRole::Controlling,
        _ => IceRole::Controlled,
    };
    let ip: IpAddr = arg(&args, "--ice-address")
        .unwrap_or("127.0.0.1".into())
        .parse()
        .expect("IP");
    let mut socket = UdpSocket::bind(SocketAddr::new(ip, 0)).expect("bind UDP");
    let local = socket.local_addr().expect("bound");
    let cert = DtlsCertificate::generate(&*default_provider()).expect("certificate");
    let port = arg(&args, "--sctp-port").map_or(5000, |p| p.parse().expect("port"));
    let mut chain = Engine::new(
        EngineConfig {
            sctp_port: Some(port),
            ..EngineConfig::with_certificate(cert)
        },
        Instant::now(),
    );
    chain
        .ice_gatherer_mut()
        .gather(&[local])
        .expect("host candidate");
    if let Some(m) = arg(&args, "--max-message-size") {
        chain
            .sctp_transport_mut()
            .config_mut()
            .max_receive_message_size = m.parse().expect("size");
    }
    let control = std::net::TcpStream::connect(&connect).expect("controller");
    control.set_nodelay(true).ok();
    control.set_nonblocking(true).expect("nonblocking");
    let mut out = TcpStream::from_std(control);
    let poll = Poll::new().expect("poll");
    const UDP: Token = Token(0);
    const CONTROL: Token = Token(1);
    poll.registry()
        .register(&mut socket, UDP, Interest::READABLE)
        .expect("register UDP");
    poll.registry()
        .register(&mut out, CONTROL, Interest::READABLE | Interest::WRITABLE)
        .expect("register control");
    let mut peer = Peer {
        name: arg(&args, "--name").unwrap_or("sansrtc".into()),
        chain,
        socket,
        out,
        out_buf: Vec::new(),
        in_buf: Vec::new(),
        role,
        t0: None,
        queued_opens: Vec::new(),
        echo: HashSet::new(),
        expects: HashMap::new(),
        bulks: HashMap::new(),
        labels: HashMap::new(),
        handles: HashMap::new(),
        streams: HashMap::new(),
        stopping: false,
    };
    let ice = peer.chain.ice_gatherer();
    let hello = json!({"type": "hello", "name": peer.name,
        "versions": {"sansrtc": env!("CARGO_PKG_VERSION")},
        "ice": ice.local_parameters(), "candidates": ice.local_candidates(),
        "dtls": peer.chain.dtls_transport().local_parameters(), "sctp": peer.chain.sctp_transport().capabilities(),
        "port": port});
    peer.say(hello);
    let mut poll = poll;
    let mut events = Events::with_capacity(16);
    let mut buf = vec![0u8; 65536];
    peer.chain.handle_input(Input::Timeout(Instant::now()));
    loop {
        if !peer.read_commands() {
            return;
        }
        peer.feed();
        let deadline = loop {
            match peer.chain.poll_output() {
                Output::Transmit(t) => {
                    for d in t.datagrams() {
                        // A full socket buffer on loopback clears in microseconds.
                        while let Err(e) = peer.socket.send_to(&d, t.destination) {
                            if e.kind() != ErrorKind::WouldBlock {
                                break;
                            }
                            std::thread::yield_now();
                        }
                    }
                }
                Output::Event(e) => peer.event(e),
                Output::Timeout(at) => break Some(at),
            }
        };
        if peer.stopping {
            peer.say(json!({"type": "stopped"}));
            while !peer.out_buf.is_empty() {
                peer.flush();
                std::thread::yield_now();
            }
            return;
        }
        let wait = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if wait == Some(Duration::ZERO) {
            peer.chain.handle_input(Input::Timeout(Instant::now()));
            continue;
        }
        poll.poll(&mut events, Some(wait.unwrap_or(Duration::from_secs(1))))
            .expect("poll");
        peer.flush();
        let mut got = false;
        loop {
            match peer.socket.recv_from(&mut buf) {
                Ok((n, source)) => {
                    got = true;
                    // Control lines that arrived before this datagram apply to it (an
                    // `echo` or `expect`, say).
                    if !peer.read_commands() {
                        return;
                    }
                    peer.chain.handle_input(Input::Receive(Receive {
                        now: Instant::now(),
                        protocol: Protocol::Udp,
                        source,
                        destination: local,
                        contents: Bytes::copy_from_slice(&buf[..n]),
                    }));
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if !got {
            peer.chain.handle_input(Input::Timeout(Instant::now()));
        }
    }
}
