//! # `ice_agent`
//!
//! [`ice_agent`] drives one [`IceAgent`] with a host candidate, the peer's credentials and
//! one remote host candidate. The input is a config byte, then records:
//!
//! | first byte (`tag`) | follows | effect |
//! |---|---|---|
//! | `tag & 3 == 0` | `len: u16` BE, `len` bytes | the bytes arrive as one datagram |
//! | `tag & 3 == 1` | `flags: u8`, `len: u16` BE, `len` bytes of TLVs | a signed message built around the TLVs arrives |
//! | `tag & 3 == 2` | `b: u8` | time advances `b²` ms, firing every deadline on the way |
//! | `tag & 3 == 3` | `op: u8` | an API call (see [`op`]) |
//!
//! For both datagram kinds, `(tag >> 2) & 3` picks the source ([`SOURCES`]) and
//! `(tag >> 4) & 3` the local destination ([`DESTINATIONS`]). A signed message's class is
//! `tag >> 6` (request, indication, success, error); its TLVs are `type: u16, len: u8,
//! value` each, appended with `MessageBuilder::raw`; then MESSAGE-INTEGRITY with the key
//! the agent will check (its own pwd for requests and indications, the peer's for
//! responses) and FINGERPRINT are appended, so the fuzzer gets past authentication. The
//! `flags` bits are the [`flags`] constants.
//!
//! After every record the harness drains `poll_output`, checking that the agent settles,
//! that everything it sends parses as STUN and carries valid integrity, and that its
//! deadlines never lie in the past; a time advance must make progress.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sansrtc::crypto::RingProvider;
use sansrtc::ice::{
    Candidate, IceAgent, IceConfig, IceConnectionState, IceCredentials, IceEvent, IceStats,
};
use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive, Transmit};
use sansrtc::stun::{Class, Message, MessageBuilder, Method, TransactionId};

use super::{ICE_BUDGET, MAX_RECORDS, MAX_SAME_INSTANT, Reader, base_instant, heap, sa, settle};

/// Our (the agent's) credentials: the answering side of the Chromium captures in
/// `core/tests/fixtures/chromium-156/stun/data/`, so the browser's requests there
/// authenticate when fed raw.
pub const LOCAL_UFRAG: &str = "UN6E";
/// See [`LOCAL_UFRAG`].
pub const LOCAL_PWD: &str = "RRmwVjkxJDkxSxFEqyodfY";
/// The peer's (the browser's) credentials in the same capture.
pub const REMOTE_UFRAG: &str = "ESwN";
/// See [`REMOTE_UFRAG`].
pub const REMOTE_PWD: &str = "q8Zg8C+d//82ky8w/U19HZ5R";
/// The password the peer switches to when [`op::SET_REMOTE_CREDENTIALS`] asks for new ones.
pub const REMOTE_PWD_RESTARTED: &str = "q8Zg8C+d//82ky8w/U19HZ5S";

/// The agent's IPv4 host candidate.
pub fn local_v4() -> SocketAddr {
    sa("192.0.2.1:5000")
}
/// The agent's IPv6 host candidate (added when the config byte or [`op::ADD_LOCAL_V6`] says so).
pub fn local_v6() -> SocketAddr {
    sa("[2001:db8::1]:5000")
}
/// The STUN server configured when the config byte asks for one.
pub fn stun_server() -> SocketAddr {
    sa("198.51.100.1:3478")
}

/// Sources a datagram can come from: the signaled remote host candidate, an unknown
/// address (peer-reflexive), an IPv6 remote, and the STUN server.
pub const SOURCES: [&str; 4] = [
    "192.0.2.2:6000",
    "192.0.2.3:7000",
    "[2001:db8::2]:6000",
    "198.51.100.1:3478",
];

/// Local addresses a datagram can arrive at: the IPv4 host candidate, the IPv6 one, an
/// address the agent has no candidate for, and the IPv4 one over TCP.
pub const DESTINATIONS: [(&str, Protocol); 4] = [
    ("192.0.2.1:5000", Protocol::Udp),
    ("[2001:db8::1]:5000", Protocol::Udp),
    ("192.0.2.9:9", Protocol::Udp),
    ("192.0.2.1:5000", Protocol::Tcp),
];

/// Bits of the config byte that starts an `ice_agent` input.
pub mod config {
    /// Start as the controlling agent.
    pub const CONTROLLING: u8 = 0x01;
    /// Run as an ICE-lite agent.
    pub const LITE: u8 = 0x02;
    /// Configure a STUN server, so the agent gathers a server-reflexive candidate.
    pub const STUN_SERVER: u8 = 0x04;
    /// The peer is ICE-lite.
    pub const REMOTE_LITE: u8 = 0x08;
    /// Also add the IPv6 host candidate at the start.
    pub const LOCAL_V6: u8 = 0x10;
    /// Do not signal the peer's credentials at the start.
    pub const NO_REMOTE_CREDENTIALS: u8 = 0x20;
}

/// Bits of a signed message's `flags` byte.
pub mod flags {
    /// Put the right USERNAME (`ours:theirs`) first.
    pub const USERNAME: u8 = 0x01;
    /// Reuse the transaction id of one of the last requests the agent sent (the
    /// `(flags >> 4) & 3`-th newest), so a response matches a transaction.
    pub const REUSE_TID: u8 = 0x02;
    /// Method Allocate instead of Binding.
    pub const ALLOCATE: u8 = 0x04;
    /// Sign with the other side's password (a wrong key).
    pub const SWAP_KEY: u8 = 0x08;
    /// Shift for the index of [`REUSE_TID`].
    pub const TID_INDEX_SHIFT: u8 = 4;
    /// Also append MESSAGE-INTEGRITY-SHA256 after MESSAGE-INTEGRITY.
    pub const SHA256: u8 = 0x40;
    /// Leave FINGERPRINT out.
    pub const NO_FINGERPRINT: u8 = 0x80;
}

/// API calls a control record can make: `op & 7` picks one, higher bits are arguments.
pub mod op {
    /// `end_of_remote_candidates`.
    pub const END_OF_REMOTE_CANDIDATES: u8 = 0;
    /// `end_of_local_candidates`.
    pub const END_OF_LOCAL_CANDIDATES: u8 = 1;
    /// `add_remote_candidate` of a host candidate at `SOURCES[(op >> 3) & 3]`, over TCP
    /// when `op & 0x20`.
    pub const ADD_REMOTE_HOST: u8 = 2;
    /// `restart`.
    pub const RESTART: u8 = 3;
    /// `set_remote_credentials`: lite when `op & 0x08`, the restarted password when
    /// `op & 0x10`.
    pub const SET_REMOTE_CREDENTIALS: u8 = 4;
    /// `add_local_candidate` of the IPv6 host.
    pub const ADD_LOCAL_V6: u8 = 5;
    /// `close`.
    pub const CLOSE: u8 = 6;
    /// `add_remote_candidate` of a server-reflexive candidate at `SOURCES[(op >> 3) & 3]`.
    pub const ADD_REMOTE_SRFLX: u8 = 7;
}

/// Outputs drained after one input before the agent counts as never settling.
const MAX_OUTPUTS: usize = 100_000;
/// Largest TLV soup used for a signed message.
const MAX_SOUP: usize = 4096;

struct Driver {
    agent: IceAgent,
    now: Instant,
    deadline: Option<Instant>,
    remote_creds: Option<IceCredentials>,
    /// Transaction ids of the latest requests the agent sent, newest last.
    tids: Vec<TransactionId>,
    next_tid: u64,
}

impl Driver {
    fn new(cfg_byte: u8) -> Self {
        let has = |bit: u8| cfg_byte & bit != 0;
        let mut agent = IceAgent::new(
            IceConfig {
                seed: u64::from(cfg_byte),
                controlling: has(config::CONTROLLING),
                lite: has(config::LITE),
                credentials: Some(IceCredentials {
                    ufrag: LOCAL_UFRAG.into(),
                    pwd: LOCAL_PWD.into(),
                    lite: false,
                }),
                stun_servers: if has(config::STUN_SERVER) {
                    vec![stun_server()]
                } else {
                    Vec::new()
                },
                ..IceConfig::default()
            },
            base_instant(),
        );
        agent
            .add_local_candidate(Candidate::host(local_v4(), Protocol::Udp))
            .expect("first local candidate");
        if has(config::LOCAL_V6) {
            agent
                .add_local_candidate(Candidate::host(local_v6(), Protocol::Udp))
                .expect("second local candidate");
        }
        let mut d = Driver {
            agent,
            now: base_instant(),
            deadline: None,
            remote_creds: None,
            tids: Vec::new(),
            next_tid: 0,
        };
        if !has(config::NO_REMOTE_CREDENTIALS) {
            d.set_remote_credentials(has(config::REMOTE_LITE), REMOTE_PWD);
        }
        d.agent
            .add_remote_candidate(Candidate::host(sa(SOURCES[0]), Protocol::Udp))
            .expect("first remote candidate");
        d.feed(Input::Timeout(d.now));
        d
    }

    fn set_remote_credentials(&mut self, lite: bool, pwd: &str) {
        let creds = IceCredentials {
            ufrag: REMOTE_UFRAG.into(),
            pwd: pwd.into(),
            lite,
        };
        let _ = self.agent.check_remote_credentials(&creds);
        self.agent.set_remote_credentials(creds.clone());
        self.remote_creds = Some(creds);
    }

    fn feed(&mut self, input: Input) {
        self.agent.handle_input(input);
        self.drain();
    }

    /// Take every output the agent has, checking what it sends.
    fn drain(&mut self) {
        let agent = &mut self.agent;
        let (taken, at) = settle("ICE agent", self.now, MAX_OUTPUTS, || agent.poll_output());
        for o in taken {
            match o {
                Output::Transmit(t) => self.check_transmit(&t),
                Output::Event(e) => check_event(&e),
                Output::Timeout(_) => unreachable!("settle keeps the deadline"),
            }
        }
        self.deadline = Some(at);
        self.touch_getters();
    }

    fn check_transmit(&mut self, t: &Transmit) {
        for datagram in t.datagrams() {
            let msg = Message::parse(&datagram)
                .unwrap_or_else(|e| panic!("agent sent unparseable STUN ({e}): {t:02x?}"));
            match msg.class() {
                Class::Request => {
                    if msg.has_integrity() {
                        let creds = self.agent.remote_credentials().expect("checks need creds");
                        msg.check_integrity(&RingProvider::new(), creds.pwd.as_bytes())
                            .expect("check signed with the peer's pwd");
                    }
                    if self.tids.len() == 16 {
                        self.tids.remove(0);
                    }
                    self.tids.push(msg.transaction_id());
                }
                Class::Success | Class::Error => {
                    let pwd = &self.agent.local_credentials().pwd;
                    msg.check_integrity(&RingProvider::new(), pwd.as_bytes())
                        .expect("response signed with our pwd");
                }
                _ => {}
            }
        }
    }

    fn touch_getters(&self) {
        let a = &self.agent;
        let _ = (a.connection_state(), a.gathering_state(), a.controlling());
        let _ = a.stats();
        let _ = a.selected_pair();
        let _ = a.selected_rtt();
        let _ = a.local_candidates().count();
        let _ = a.remote_candidates().len();
        let _ = a.transmit_on_selected(vec![0u8; 4].into());
    }

    fn receive(&mut self, tag: u8, contents: Vec<u8>) {
        let source = sa(SOURCES[usize::from((tag >> 2) & 3)]);
        let (destination, protocol) = DESTINATIONS[usize::from((tag >> 4) & 3)];
        self.feed(Input::Receive(Receive {
            now: self.now,
            protocol,
            source,
            destination: sa(destination),
            contents: contents.into(),
        }));
    }

    /// A message around the fuzzer's attributes that passes the agent's integrity check.
    fn signed(&mut self, tag: u8, fl: u8, soup: &[u8]) -> Vec<u8> {
        let class = match tag >> 6 {
            0 => Class::Request,
            1 => Class::Indication,
            2 => Class::Success,
            _ => Class::Error,
        };
        let method = if fl & flags::ALLOCATE != 0 {
            Method::Allocate
        } else {
            Method::Binding
        };
        let tid = if fl & flags::REUSE_TID != 0 && !self.tids.is_empty() {
            let back = usize::from((fl >> flags::TID_INDEX_SHIFT) & 3) % self.tids.len();
            self.tids[self.tids.len() - 1 - back]
        } else {
            self.next_tid += 1;
            let mut id = [0xF0; 12];
            id[4..].copy_from_slice(&self.next_tid.to_be_bytes());
            TransactionId(id)
        };
        let ours = self.agent.local_credentials().clone();
        let theirs = self
            .remote_creds
            .clone()
            .map_or((REMOTE_UFRAG.to_string(), REMOTE_PWD.to_string()), |c| {
                (c.ufrag, c.pwd)
            });
        let mut b = MessageBuilder::new(class, method, tid);
        if fl & flags::USERNAME != 0 {
            b.username(&format!("{}:{}", ours.ufrag, theirs.0));
        }
        let mut r = Reader { data: soup };
        while let (Some(typ), Some(len)) = (r.u16(), r.u8()) {
            b.raw(typ, r.take(usize::from(len)));
        }
        let to_us = matches!(class, Class::Request | Class::Indication);
        let key = if to_us != (fl & flags::SWAP_KEY != 0) {
            ours.pwd
        } else {
            theirs.1
        };
        b.integrity(&RingProvider::new(), key.as_bytes());
        if fl & flags::SHA256 != 0 {
            b.integrity_sha256(&RingProvider::new(), key.as_bytes());
        }
        if fl & flags::NO_FINGERPRINT == 0 {
            b.fingerprint();
        }
        b.finish()
    }

    /// Move time on by `by`, firing every deadline on the way.
    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        let mut same = 0;
        let mut fired = 0;
        while let Some(at) = self.deadline.filter(|&at| at <= target) {
            if at <= self.now {
                same += 1;
                assert!(
                    same < MAX_SAME_INSTANT,
                    "timer livelock: deadline stays at {:?} after firing it {same} times",
                    at - base_instant()
                );
            } else {
                same = 0;
            }
            self.now = self.now.max(at);
            self.feed(Input::Timeout(self.now));
            fired += 1;
            if fired > 100_000 {
                break;
            }
        }
        self.now = target;
        self.feed(Input::Timeout(target));
    }

    fn control(&mut self, code: u8) {
        let source = sa(SOURCES[usize::from((code >> 3) & 3)]);
        match code & 7 {
            op::END_OF_REMOTE_CANDIDATES => self.agent.end_of_remote_candidates(),
            op::END_OF_LOCAL_CANDIDATES => self.agent.end_of_local_candidates(),
            op::ADD_REMOTE_HOST => {
                let proto = if code & 0x20 != 0 {
                    Protocol::Tcp
                } else {
                    Protocol::Udp
                };
                let _ = self
                    .agent
                    .add_remote_candidate(Candidate::host(source, proto));
            }
            op::RESTART => self.agent.restart(),
            op::SET_REMOTE_CREDENTIALS => {
                let pwd = if code & 0x10 != 0 {
                    REMOTE_PWD_RESTARTED
                } else {
                    REMOTE_PWD
                };
                self.set_remote_credentials(code & 0x08 != 0, pwd);
            }
            op::ADD_LOCAL_V6 => {
                let _ = self
                    .agent
                    .add_local_candidate(Candidate::host(local_v6(), Protocol::Udp));
            }
            op::CLOSE => self.agent.close(),
            _ => {
                let c = Candidate::server_reflexive(
                    source,
                    sa(SOURCES[0]),
                    stun_server(),
                    Protocol::Udp,
                );
                let _ = self.agent.add_remote_candidate(c);
            }
        }
        self.drain();
    }
}

fn check_event(e: &IceEvent) {
    if let IceEvent::LocalCandidate(c) = e {
        let sdp = c.to_sdp_string();
        Candidate::from_sdp_string(&sdp)
            .unwrap_or_else(|err| panic!("own candidate {sdp:?} does not parse: {err}"));
    }
}

/// Where an `ice_agent` run ended, for tests that check a seed reaches what it aims at.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The agent's counters.
    pub stats: IceStats,
    /// Its connection state.
    pub state: IceConnectionState,
    /// Whether it has a selected pair.
    pub selected: bool,
    /// Whether it ended controlling.
    pub controlling: bool,
    /// Local candidates it would signal.
    pub local_candidates: usize,
    /// Remote candidates it knows, peer-reflexive ones included.
    pub remote_candidates: usize,
}

/// The `ice_agent` fuzz target; see the module docs for the input format.
pub fn ice_agent(data: &[u8]) {
    heap::within("ice_agent", ICE_BUDGET + 8 * data.len(), || {
        run_ice_agent(data)
    });
}

/// [`ice_agent`], reporting where the agent ended (`None` for an empty input).
pub fn run_ice_agent(data: &[u8]) -> Option<Outcome> {
    let mut r = Reader { data };
    let cfg = r.u8()?;
    let mut d = Driver::new(cfg);
    for _ in 0..MAX_RECORDS {
        let Some(tag) = r.u8() else { break };
        match tag & 3 {
            0 => {
                let len = usize::from(r.u16().unwrap_or(0));
                d.receive(tag, r.take(len).to_vec());
            }
            1 => {
                let fl = r.u8().unwrap_or(0);
                let len = usize::from(r.u16().unwrap_or(0)).min(MAX_SOUP);
                let msg = d.signed(tag, fl, r.take(len));
                d.receive(tag, msg);
            }
            2 => {
                let b = u64::from(r.u8().unwrap_or(0));
                d.advance(Duration::from_millis(b * b));
            }
            _ => d.control(r.u8().unwrap_or(0)),
        }
    }
    let a = &d.agent;
    Some(Outcome {
        stats: a.stats(),
        state: a.connection_state(),
        selected: a.selected_pair().is_some(),
        controlling: a.controlling(),
        local_candidates: a.local_candidates().count(),
        remote_candidates: a.remote_candidates().len(),
    })
}

/// Writes `ice_agent` inputs: for crafting seeds by hand.
#[derive(Debug, Clone)]
pub struct Script(Vec<u8>);

impl Script {
    /// A script starting with this [`config`] byte.
    pub fn new(config: u8) -> Self {
        Script(vec![config])
    }

    /// `bytes` arrive from `SOURCES[src]` at `DESTINATIONS[dst]`.
    pub fn datagram(mut self, src: u8, dst: u8, bytes: &[u8]) -> Self {
        let len = u16::try_from(bytes.len()).expect("datagram fits in 64 KiB");
        self.0.push((src & 3) << 2 | (dst & 3) << 4);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    /// A signed message of `class` (0 request, 1 indication, 2 success, 3 error) with
    /// these [`flags`] and attributes arrives from `SOURCES[src]` at `DESTINATIONS[dst]`.
    pub fn signed(mut self, class: u8, src: u8, dst: u8, fl: u8, attrs: &[(u16, &[u8])]) -> Self {
        let mut soup = Vec::new();
        for (typ, value) in attrs {
            soup.extend_from_slice(&typ.to_be_bytes());
            soup.push(u8::try_from(value.len()).expect("TLV value fits in 255 bytes"));
            soup.extend_from_slice(value);
        }
        let len = u16::try_from(soup.len()).expect("soup fits in 64 KiB");
        self.0
            .push(1 | (src & 3) << 2 | (dst & 3) << 4 | (class & 3) << 6);
        self.0.push(fl);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(&soup);
        self
    }

    /// Time advances `b²` ms.
    pub fn advance(mut self, b: u8) -> Self {
        self.0.extend_from_slice(&[2, b]);
        self
    }

    /// An API call: one of the [`op`] codes with its argument bits.
    pub fn control(mut self, op: u8) -> Self {
        self.0.extend_from_slice(&[3, op]);
        self
    }

    /// The input bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}
