//! Fuzz harnesses for `sansrtc`, shared by the cargo-fuzz targets in `fuzz_targets/` and
//! by `core/tests/fuzz_corpus.rs`, which replays the committed corpora under stable
//! `cargo test`. That test includes this file with `#[path]`, so it may use nothing but
//! `sansrtc`, its dependency `bytes`, and `std`.
//!
//! # `stun`
//!
//! [`stun`] parses the input with `Message::parse`; on success it walks every attribute,
//! calls every getter, runs both integrity checks with a fixed key (and a long-term key
//! when USERNAME and REALM are present), and re-encodes the decoded attributes with
//! `MessageBuilder`, which must parse back to the same attributes.
//!
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
//!
//! # `dtls_parse`
//!
//! [`dtls_parse`] splits arbitrary bytes into DTLS records, each record payload into
//! handshake fragments, feeds the fragments through a [`Reassembler`], and runs every
//! message parser on the raw input, on every record payload and on every reassembled
//! message body. What parses must re-encode to something that parses back the same.
//!
//! # `dtls` (targets `dtls_server` and `dtls_client`)
//!
//! [`dtls`] drives one [`Dtls`] session with fixed certificates ([`FUZZ_SERVER_CERT`],
//! [`FUZZ_CLIENT_CERT`]) and a fixed seed. The input is a mode byte (bits in
//! [`dtls_mode`]; `dtls_server` and `dtls_client` force the role bit), then records:
//!
//! | first byte (`tag`) | follows | effect |
//! |---|---|---|
//! | `tag & 3 == 0` | `len: u16` BE, `len` bytes | the bytes arrive as one datagram |
//! | `tag & 3 == 1` | `b: u8` | time advances `b²` ms, firing every deadline on the way |
//! | `tag & 3 == 2` | depends on the call | an API call (see [`dtls_op`]) |
//! | `tag & 3 == 3` | nothing | the `(tag >> 2) & 7`-th newest datagram the session sent comes back to it |
//!
//! Unless the mode says [`dtls_mode::REAL_CRYPTO`], the session runs on [`FuzzCrypto`], a
//! deterministic and deliberately insecure provider (fixed ECDHE keys, hash "signatures"),
//! so a recorded handshake transcript replays byte for byte and the fuzzer can mutate its
//! way past the handshake into the connected states. After every record the harness
//! drains `poll_output`, checking that the session settles, that what it sends parses as
//! DTLS records, and that its deadlines never lie in the past; a time advance must make
//! progress.
//!
//! # `sctp_parse` and `dcep`
//!
//! [`sctp_parse`] runs `Packet::parse` under both checksum policies on the input as it
//! is, and again with the checksum field fixed up ([`fix_sctp_checksum`]) so mutations
//! reach the chunk parsers; a zeroed checksum under `AcceptZero` must be judged exactly
//! like a correct one. `Chunk::parse_all` runs on the input with and without its common
//! header. Whatever parses must re-encode (CRC32c and zero checksum) and parse back the
//! same. [`dcep`] parses DCEP messages, which must re-encode to exactly the input.
//!
//! # `sctp_association`
//!
//! [`sctp_association`] drives two associations with fixed seeds ([`SCTP_SEEDS`]): A,
//! under test, and B, an honest peer whose packets only reach A when a record says so
//! (possibly mutated). The input is a config byte ([`sctp_config`]), then records
//! ([`sctp_rec`]; `tag & 7` picks the kind):
//!
//! | `tag & 7` | follows | effect |
//! |---|---|---|
//! | 0 | `len: u16` BE, `len` bytes | a datagram arrives at A (checksum / header fix-ups in the tag bits) |
//! | 1 | `b: u8` | time advances `b²` ms for both, firing deadlines; optionally a live link |
//! | 2, 3 | depends on the call | an API call on A / on B ([`sctp_call`]) |
//! | 4 | nothing | A's oldest packet on the wire: to B, dropped, reflected to A, duplicated |
//! | 5 | nothing, or `pos: u16`, `xor: u8` | B's oldest packet: to A, dropped, mutated, or a replay |
//! | 6 | nothing | packets flow both ways until quiet |
//! | 7 | optionally `len: u8` and bytes | A gets a COOKIE-ECHO with its own latest cookie |
//!
//! After every step both sides are drained: they must settle, never return a deadline in
//! the past, send only packets that parse with a valid CRC (INIT alone and untagged,
//! DATA packets within the MTU), report Connected and Closed at most once and nothing
//! after Closed, and keep `buffered_amount` within what the application sent (zero after
//! Closed). B hears only A's packets, so every message B delivers must be one A was asked
//! to send, intact, once, in order per stream when ordered.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansrtc::crypto::{
    AEAD_TAG_LEN, Aead, AeadAlgorithm, AesCtr, CryptoError, CryptoProvider, HashAlgorithm, HmacKey,
    HmacTag, KeyExchange, NamedGroup, RingProvider, SignatureScheme, SigningKey, default_provider,
};
use sansrtc::dtls::handshake::{
    self as hs, ClientHello, Reassembler, ServerHello, ServerKeyExchange,
};
use sansrtc::dtls::record::{self, Record};
use sansrtc::dtls::{
    CipherSuite, Dtls, DtlsCertificate, DtlsConfig, DtlsError, DtlsEvent, DtlsRole, DtlsStats,
    Fingerprint,
};

use sansrtc::datachannel::{ChannelType, DcepMessage};
use sansrtc::sctp::{
    self, Association, Checksum, ChecksumPolicy, Chunk, Packet, SctpConfig, SctpError, SctpEvent,
};

use sansrtc::ice::{
    Candidate, IceAgent, IceConfig, IceConnectionState, IceCredentials, IceEvent, IceStats,
};
use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive, Transmit};
use sansrtc::stun::{
    self, Attribute, Class, Message, MessageBuilder, Method, StunError, TransactionId, attr,
};

/// Every harness runs under live-heap accounting ([`heap`]): the targets and the corpus
/// replay link this crate, so this allocator counts for both.
#[global_allocator]
static GLOBAL: heap::Counting = heap::Counting;

/// Live-heap accounting per thread, so each harness can check that what an input makes a
/// machine hold stays within the bound the machine promises (a peer must not grow our
/// memory without limit). Counted per thread because the corpus replay runs targets on
/// parallel test threads; a harness runs on one thread.
pub mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    /// The counting allocator (the system allocator underneath).
    pub struct Counting;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(n: usize) {
        // `try_with`: during thread teardown the counters may be gone already.
        let _ = LIVE.try_with(|l| {
            let v = l.get() + n as isize;
            l.set(v);
            let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
        });
    }

    fn sub(n: usize) {
        let _ = LIVE.try_with(|l| l.set(l.get() - n as isize));
    }

    // SAFETY: every call goes straight to `System`; the counters only observe sizes.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                add(layout.size());
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                add(layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) };
            sub(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                sub(layout.size());
                add(new_size);
            }
            p
        }
    }

    /// Run `f`; return its result and the most heap it held live at once beyond what
    /// was live when it started (bytes, this thread).
    pub fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let base = LIVE.with(Cell::get);
        PEAK.with(|p| p.set(base));
        let r = f();
        let peak = PEAK.with(Cell::get);
        (r, usize::try_from(peak - base).unwrap_or(0))
    }

    /// Run `f` and panic if it ever held more than `budget` bytes live at once.
    pub fn within<R>(what: &str, budget: usize, f: impl FnOnce() -> R) -> R {
        let (r, peak) = peak_during(f);
        assert!(
            peak <= budget,
            "{what}: held {peak} bytes of heap at once, over its budget of {budget}"
        );
        r
    }
}

/// Heap a parser harness may hold beyond what its input's size allows: the parsers
/// borrow, the harness re-encodes what parses.
pub const PARSER_BUDGET: usize = 16 * 1024;

/// Heap a parser harness may hold per byte of input: a 4-byte chunk, parameter or
/// attribute decodes to one value of up to ~100 bytes, and the harness keeps a few
/// decodings of the input at once. What matters is that the heap follows the bytes that
/// arrived, never a length a peer claims.
pub const PARSED_PER_BYTE: usize = 128;

/// Heap one ICE agent may hold: candidates and pairs are capped by its config (`max_remote_candidates`), checks and
/// consent transactions by the pairs.
pub const ICE_BUDGET: usize = 256 * 1024;

/// Heap one DTLS session may hold: handshake messages buffered ahead of the next one
/// ([`hs::MAX_BUFFERED`]), the transcript ([`hs::MAX_TRANSCRIPT`]), our flight, and a
/// datagram's worth of records.
pub const DTLS_BUDGET: usize = hs::MAX_BUFFERED + hs::MAX_TRANSCRIPT + 128 * 1024;

/// The key the `stun` harness checks integrity with: RFC 5769's short-term password, so
/// the RFC vectors in the corpus verify.
pub const STUN_KEY: &[u8] = b"VOkJxbRl1RmTxUk/WvJxBt";

/// Attribute types probed with `get_raw`, beyond [`attr::KNOWN`].
const EXTRA_TYPES: &[u16] = &[
    attr::SOFTWARE,
    attr::FINGERPRINT,
    attr::ICE_CONTROLLED,
    attr::ICE_CONTROLLING,
    attr::PASSWORD_ALGORITHMS,
    attr::ALTERNATE_DOMAIN,
    attr::ALTERNATE_SERVER,
];

/// The `stun` fuzz target: parse arbitrary bytes; on success use every accessor. Panics
/// only if the codec breaks one of its promises.
pub fn stun(data: &[u8]) {
    heap::within("stun", PARSER_BUDGET + PARSED_PER_BYTE * data.len(), || {
        stun_unbounded(data)
    })
}

fn stun_unbounded(data: &[u8]) {
    let _ = stun::is_stun(data);
    let Ok(msg) = Message::parse(data) else {
        return;
    };
    assert!(data.len() >= stun::HEADER_LEN && data.len().is_multiple_of(4));
    assert_eq!(msg.as_bytes(), data);
    let (class, method, tid) = (msg.class(), msg.method(), msg.transaction_id());

    let attrs: Vec<Attribute<'_>> = msg.attributes().collect();
    for a in &attrs {
        let _ = a.typ();
        if let Attribute::UnknownAttributes(list) = a {
            let _ = list.iter().count();
        }
    }
    let _ = msg.unknown_comprehension_required().count();
    for &typ in attr::KNOWN.iter().chain(EXTRA_TYPES) {
        let _ = msg.get_raw(typ);
    }
    let _ = msg.username();
    let _ = msg.mapped_address();
    let _ = msg.relayed_address();
    let _ = msg.peer_address();
    let _ = msg.priority();
    let _ = msg.use_candidate();
    let _ = msg.ice_controlling();
    let _ = msg.ice_controlled();
    let _ = msg.error_code();
    let _ = msg.realm();
    let _ = msg.nonce();
    let _ = msg.lifetime();
    let _ = msg.data();

    let mi = msg.check_integrity(&RingProvider::new(), STUN_KEY);
    assert_eq!(msg.has_integrity(), mi != Err(StunError::NoIntegrity));
    let mi256 = msg.check_integrity_sha256(&RingProvider::new(), STUN_KEY);
    assert_eq!(
        msg.has_integrity_sha256(),
        mi256 != Err(StunError::NoIntegrity)
    );
    if let (Some(user), Some(realm)) = (msg.username(), msg.realm()) {
        let key = stun::long_term_key(user, realm, "TheMatrIX");
        let _ = msg.check_integrity(&RingProvider::new(), &key);
        let _ = msg.check_integrity_sha256(&RingProvider::new(), &key);
    }

    // What the decoder produced, the encoder must reproduce.
    let mut b = MessageBuilder::new(class, method, tid);
    for a in &attrs {
        b.attribute(a);
    }
    let again = b.finish();
    let back = Message::parse(&again)
        .unwrap_or_else(|e| panic!("re-encoded message does not parse: {e}: {again:02x?}"));
    assert_eq!(back.class(), class);
    assert_eq!(back.method(), method);
    assert_eq!(back.transaction_id(), tid);
    let attrs_back: Vec<Attribute<'_>> = back.attributes().collect();
    assert_eq!(attrs, attrs_back, "attributes changed on re-encoding");
}

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

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("valid socket address")
}

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

/// The clock every run starts at, read once per process.
fn base_instant() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// The one drain every target shares: takes a machine's outputs until it names its next
/// deadline, and checks that it gets there (within `max` outputs: a machine that keeps
/// emitting never lets its caller sleep) and that the deadline is not in the past.
/// Returns what it sent and reported, in order, and the deadline.
pub fn settle<E, T>(
    what: &str,
    now: Instant,
    max: usize,
    mut poll: impl FnMut() -> Output<E, T>,
) -> (Vec<Output<E, T>>, Instant) {
    let mut taken = Vec::new();
    for _ in 0..max {
        match poll() {
            Output::Timeout(at) => {
                assert!(
                    at >= now,
                    "{what}: deadline {:?} before now {:?}",
                    at.saturating_duration_since(base_instant()),
                    now - base_instant()
                );
                return (taken, at);
            }
            other => taken.push(other),
        }
    }
    panic!("{what}: poll_output did not settle after {max} outputs");
}

/// Outputs drained after one input before the agent counts as never settling.
const MAX_OUTPUTS: usize = 100_000;
/// Records of one input that are acted on; the rest is ignored, bounding run time.
const MAX_RECORDS: usize = 256;
/// Deadlines fired at the same instant in a row before a time advance counts as stuck.
const MAX_SAME_INSTANT: usize = 1_000;
/// Largest TLV soup used for a signed message.
const MAX_SOUP: usize = 4096;

struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    /// Up to `n` bytes (fewer at the end of the input).
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }
}

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

// ---- DTLS ------------------------------------------------------------------------------

/// Runs every handshake-message parser on `body`; whatever parses must re-encode to bytes
/// that parse back to the same value.
fn parse_all_messages(body: &[u8]) {
    if let Ok(ch) = ClientHello::parse(body) {
        let again = ClientHello::parse(&ch.encode()).expect("re-encoded ClientHello parses");
        assert_eq!(again, ch, "ClientHello changed on re-encoding");
        for (typ, data) in &ch.extensions {
            parse_extension(*typ, data);
        }
    }
    if let Ok(sh) = ServerHello::parse(body) {
        let again = ServerHello::parse(&sh.encode()).expect("re-encoded ServerHello parses");
        assert_eq!(again, sh, "ServerHello changed on re-encoding");
        for (typ, data) in &sh.extensions {
            parse_extension(*typ, data);
        }
    }
    if let Ok(chain) = hs::parse_certificate(body) {
        let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
        let again = hs::parse_certificate(&hs::encode_certificate(&refs))
            .expect("re-encoded Certificate parses");
        assert_eq!(again, chain, "Certificate changed on re-encoding");
    }
    if let Ok(ske) = ServerKeyExchange::parse(body) {
        let again = ServerKeyExchange::parse(&ske.encode()).expect("re-encoded SKE parses");
        assert_eq!(again, ske, "ServerKeyExchange changed on re-encoding");
    }
    if let Ok((_types, schemes)) = hs::parse_certificate_request(body) {
        let (_, again) = hs::parse_certificate_request(&hs::encode_certificate_request(&schemes))
            .expect("re-encoded CertificateRequest parses");
        assert_eq!(again, schemes, "CertificateRequest changed on re-encoding");
    }
    if let Ok(public) = hs::parse_client_key_exchange(body) {
        let again = hs::parse_client_key_exchange(&hs::encode_client_key_exchange(&public))
            .expect("re-encoded ClientKeyExchange parses");
        assert_eq!(again, public, "ClientKeyExchange changed on re-encoding");
    }
    if let Ok((scheme, sig)) = hs::parse_signed(body) {
        let again = hs::parse_signed(&hs::encode_signed(scheme, &sig))
            .expect("re-encoded digitally-signed parses");
        assert_eq!(
            again,
            (scheme, sig),
            "digitally-signed changed on re-encoding"
        );
    }
    if let Ok((_version, cookie)) = hs::parse_hello_verify_request(body) {
        let (_, again) = hs::parse_hello_verify_request(&hs::encode_hello_verify_request(&cookie))
            .expect("re-encoded HelloVerifyRequest parses");
        assert_eq!(again, cookie, "HelloVerifyRequest changed on re-encoding");
    }
    parse_extension(hs::EXT_USE_SRTP, body);
    parse_extension(hs::EXT_SUPPORTED_GROUPS, body);
}

fn parse_extension(typ: u16, data: &[u8]) {
    match typ {
        hs::EXT_USE_SRTP => {
            if let Ok((profiles, _mki)) = hs::parse_use_srtp(data) {
                let again = hs::parse_use_srtp(&hs::encode_use_srtp(&profiles))
                    .expect("re-encoded use_srtp parses");
                assert_eq!(again.0, profiles, "use_srtp changed on re-encoding");
            }
        }
        _ => {
            if let Ok(list) = hs::parse_u16_list(data) {
                let again = hs::parse_u16_list(&hs::encode_u16_list(&list))
                    .expect("re-encoded u16 list parses");
                assert_eq!(again, list, "u16 list changed on re-encoding");
            }
        }
    }
}

/// A whole message must survive `encode_message`, `fragment_message` (fragments of
/// `1 + split` body bytes) and reassembly.
fn refragment(msg_type: u8, seq: u16, body: &[u8], split: u8) {
    let whole = hs::encode_message(msg_type, seq, body);
    let frags = hs::fragments(&whole).expect("encoded message parses");
    assert_eq!(frags.len(), 1);
    assert_eq!((frags[0].msg_type, frags[0].data), (msg_type, body));
    let mut r = Reassembler::default();
    r.reset(seq);
    for piece in hs::fragment_message(&whole, 1 + usize::from(split)) {
        for f in hs::fragments(&piece).expect("fragment parses") {
            r.add(&f, 0).expect("own fragment accepted");
        }
    }
    let (t, s, b, _) = r.pop().expect("refragmented message reassembles");
    assert_eq!((t, s, b.as_slice()), (msg_type, seq, body));
}

/// The `dtls_parse` fuzz target: records, fragments, reassembly and every message parser
/// on arbitrary bytes. Panics only if the codec breaks one of its promises.
pub fn dtls_parse(data: &[u8]) {
    heap::within(
        "dtls_parse",
        hs::MAX_BUFFERED + PARSER_BUDGET + PARSED_PER_BYTE * data.len(),
        || dtls_parse_unbounded(data),
    )
}

fn dtls_parse_unbounded(data: &[u8]) {
    parse_all_messages(data);
    let mut reasm = Reassembler::default();
    let mut consumed = 0;
    for rec in record::records(data) {
        let Ok(rec) = rec else { break };
        consumed += record::HEADER_LEN + rec.payload.len();
        assert!(consumed <= data.len());
        assert!(rec.payload.len() <= record::MAX_RECORD_PAYLOAD);
        assert!(rec.seq < 1 << 48);
        parse_all_messages(rec.payload);
        let Ok(frags) = hs::fragments(rec.payload) else {
            continue;
        };
        for f in &frags {
            assert!(u64::from(f.offset) + f.data.len() as u64 <= u64::from(f.length));
            parse_all_messages(f.data);
            // Bring a stray first message_seq into the window so reassembly gets exercised.
            if f.message_seq > reasm.next_seq().wrapping_add(4) && reasm.next_seq() == 0 {
                reasm.reset(f.message_seq);
            }
            let _ = reasm.add(f, rec.epoch);
        }
        while let Some((msg_type, seq, body, _)) = reasm.pop() {
            assert!(body.len() <= hs::MAX_MESSAGE_LEN);
            parse_all_messages(&body);
            refragment(msg_type, seq, &body, body.first().copied().unwrap_or(0));
        }
    }
}

/// The `dtls` harness's server certificate: a fixed ECDSA P-256 self-signed certificate
/// (test-only key material), so transcripts recorded in one process replay in another.
pub const FUZZ_SERVER_CERT: (&str, &str) = (
    "-----BEGIN CERTIFICATE-----
MIIBkzCCATmgAwIBAgIUSnzUI/GHgazYXg9+qRqfojA1LEkwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTc2Fuc3J0Yy1mdXp6LXNlcnZlcjAgFw0yNjExMjYyMjI3Mzda
GA8yMTI2MTEwMjIyMjczN1owHjEcMBoGA1UEAwwTc2Fuc3J0Yy1mdXp6LXNlcnZl
cjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFKhmGHQ4/TLQ9iZwjeaiJXlHb/K
1fT2sHDB7gm6X3mHxF3QpkDVKooeLRd1PoXF3xRLbu/WGTIx8eK+gl0cahCjUzBR
MB0GA1UdDgQWBBTDSZ/VJwVRbhtGSYFfqmtQ5a/s9zAfBgNVHSMEGDAWgBTDSZ/V
JwVRbhtGSYFfqmtQ5a/s9zAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gA
MEUCIQC4877hCSVZMnIV+fw+7e0AptiZdMuI6/BcIGBxgyD9qwIgBrg286WyWffh
COmJtpsRdT47MFRf17nHwo1ItGiSlJ0=
-----END CERTIFICATE-----",
    "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgod0Y+D02YnTVw9Gy
TMFYTYBQgGGswxu1jGVP7iK8J+mhRANCAARSoZhh0OP0y0PYmcI3moiV5R2/ytX0
9rBwwe4Jul95h8Rd0KZA1SqKHi0XdT6Fxd8US27v1hkyMfHivoJdHGoQ
-----END PRIVATE KEY-----",
);

/// The `dtls` harness's client certificate; see [`FUZZ_SERVER_CERT`].
pub const FUZZ_CLIENT_CERT: (&str, &str) = (
    "-----BEGIN CERTIFICATE-----
MIIBkzCCATmgAwIBAgIUAYhZEvArTm4zFLcz29p1yUDPFREwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTc2Fuc3J0Yy1mdXp6LWNsaWVudDAgFw0yNjExMjYyMjI3Mzda
GA8yMTI2MTEwMjIyMjczN1owHjEcMBoGA1UEAwwTc2Fuc3J0Yy1mdXp6LWNsaWVu
dDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABAliaf9hz95SPSvCxs4PjFpUdVrv
LwBEsDcuvNywjahyzBpxrsuHtK8eCmpCxr6k7/0RzNDQFxjPaeCfICRY2hSjUzBR
MB0GA1UdDgQWBBR4l8W0c3klNQ3t/4No8O7eQ7lOdjAfBgNVHSMEGDAWgBR4l8W0
c3klNQ3t/4No8O7eQ7lOdjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gA
MEUCIQC28VvqtSwzvrR7J0LUo5uDSixpWtkNlvUetFWaDyFBKAIgSAAkroPB/yvn
8OAxK8sZuK+aQwpo1l43PC9AQm0Gdmw=
-----END CERTIFICATE-----",
    "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgnPHR4+4uc2kpxmOa
l1WfRUXSHvlAXdgMXuhnvvlj76uhRANCAAQJYmn/Yc/eUj0rwsbOD4xaVHVa7y8A
RLA3LrzcsI2ocswaca7Lh7SvHgpqQsa+pO/9EczQ0BcYz2ngnyAkWNoU
-----END PRIVATE KEY-----",
);

/// SHA-256 fingerprints of the browser certificates in
/// `core/tests/fixtures/chromium-156/dtls/` (client-role, client-role-hvr, server-role,
/// server-role-media): trusted too, so the captured flights get past the fingerprint
/// check to the signature checks.
pub const CHROMIUM_FINGERPRINTS: [&str; 4] = [
    "72:61:9E:04:B5:9D:16:16:E0:40:8E:99:3E:E9:00:66:A4:AA:4E:8B:3A:25:B0:CB:79:A5:FF:3B:3F:BC:11:DC",
    "3F:25:45:88:0D:46:F7:A3:1D:9A:14:EF:5D:E4:10:7F:DF:19:9E:8E:A6:91:B6:C7:88:83:C4:95:FE:FC:09:18",
    "14:C2:87:D1:A0:44:A4:65:D9:D7:A4:B6:F1:51:AE:5C:0C:A2:BB:03:E1:6E:C7:A8:D2:F8:F7:DF:FD:2D:C8:13",
    "96:3C:9B:94:77:9C:08:30:27:31:0C:BB:30:D8:50:B5:B8:49:6E:F8:EF:29:3B:A4:F2:97:33:9E:DA:A4:B3:18",
];

/// A deterministic, deliberately insecure [`CryptoProvider`] for fuzzing: fixed ECDHE
/// public values with a symmetric "shared secret" (a hash of both publics), and
/// "signatures" that are a hash of the message. Hashes, HMAC and AEADs are real (from
/// the default provider). With it, a handshake transcript recorded once replays byte for
/// byte, so the fuzzer gets past Finished. Never use it outside tests.
#[derive(Debug)]
pub struct FuzzCrypto {
    inner: Arc<dyn CryptoProvider>,
    /// Byte the fixed ECDHE public values are made of (differs per side).
    tag: u8,
}

impl FuzzCrypto {
    /// A provider whose ECDHE public values are made of `tag` bytes.
    pub fn new(tag: u8) -> Self {
        FuzzCrypto {
            inner: default_provider(),
            tag,
        }
    }
}

fn fake_signature(inner: &dyn CryptoProvider, message: &[u8]) -> Vec<u8> {
    inner.hash(
        HashAlgorithm::Sha256,
        &[b"sansrtc insecure fuzz signature", message],
    )
}

#[derive(Debug)]
struct FakeKx {
    inner: Arc<dyn CryptoProvider>,
    group: NamedGroup,
    public: Vec<u8>,
}

impl KeyExchange for FakeKx {
    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn complete(self: Box<Self>, peer: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let ok = match self.group {
            NamedGroup::X25519 => peer.len() == 32,
            _ => peer.len() == 65 && peer[0] == 4,
        };
        if !ok {
            return Err(CryptoError::InvalidPeerKey);
        }
        let (a, b) = if self.public.as_slice() <= peer {
            (self.public.as_slice(), peer)
        } else {
            (peer, self.public.as_slice())
        };
        Ok(self.inner.hash(HashAlgorithm::Sha256, &[a, b]))
    }
}

#[derive(Debug)]
struct FakeSigner {
    inner: Arc<dyn CryptoProvider>,
    scheme: SignatureScheme,
    /// The real key's public value, so certificates built on this signer look right.
    public: Vec<u8>,
}

impl SigningKey for FakeSigner {
    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(fake_signature(&*self.inner, message))
    }

    fn public_key(&self) -> &[u8] {
        &self.public
    }
}

impl CryptoProvider for FuzzCrypto {
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        buf.fill(self.tag);
        Ok(())
    }

    fn key_exchange(&self, group: NamedGroup) -> Result<Box<dyn KeyExchange>, CryptoError> {
        let public = match group {
            NamedGroup::X25519 => vec![self.tag; 32],
            _ => {
                let mut p = vec![self.tag; 65];
                p[0] = 4;
                p
            }
        };
        Ok(Box::new(FakeKx {
            inner: self.inner.clone(),
            group,
            public,
        }))
    }

    fn aead(&self, alg: AeadAlgorithm, key: &[u8]) -> Result<Box<dyn Aead>, CryptoError> {
        self.inner.aead(alg, key)
    }

    fn hmac(&self, hash: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> HmacTag {
        self.inner.hmac(hash, key, parts)
    }

    fn hmac_key(&self, hash: HashAlgorithm, key: &[u8]) -> Box<dyn HmacKey> {
        self.inner.hmac_key(hash, key)
    }

    fn aes_ctr(&self, key: &[u8]) -> Result<Box<dyn AesCtr>, CryptoError> {
        self.inner.aes_ctr(key)
    }

    fn hash(&self, hash: HashAlgorithm, parts: &[&[u8]]) -> Vec<u8> {
        self.inner.hash(hash, parts)
    }

    fn verify(
        &self,
        _scheme: SignatureScheme,
        _public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        if signature == fake_signature(&*self.inner, message) {
            Ok(())
        } else {
            Err(CryptoError::BadSignature)
        }
    }

    fn signing_key(
        &self,
        scheme: SignatureScheme,
        pkcs8: &[u8],
    ) -> Result<Arc<dyn SigningKey>, CryptoError> {
        // Only to reject what the real provider rejects.
        let real = self.inner.signing_key(scheme, pkcs8)?;
        Ok(Arc::new(FakeSigner {
            inner: self.inner.clone(),
            scheme,
            public: real.public_key().to_vec(),
        }))
    }

    fn generate_signing_key(&self, scheme: SignatureScheme) -> Result<Vec<u8>, CryptoError> {
        self.inner.generate_signing_key(scheme)
    }
}

/// Bits of the mode byte that starts a `dtls` input.
pub mod dtls_mode {
    /// We are the client (the fuzzer plays the server); otherwise the server.
    pub const CLIENT: u8 = 0x01;
    /// Use the real (ring) provider instead of [`super::FuzzCrypto`].
    pub const REAL_CRYPTO: u8 = 0x02;
    /// Server: demand a HelloVerifyRequest cookie exchange.
    pub const HELLO_VERIFY: u8 = 0x04;
    /// Offer / accept only P-256 for ECDHE.
    pub const P256_ONLY: u8 = 0x08;
    /// Offer / accept no SRTP profile.
    pub const NO_SRTP: u8 = 0x10;
    /// Do not require the extended master secret.
    pub const NO_EMS_REQUIRED: u8 = 0x20;
    /// A 256-byte MTU, so our own flights go out fragmented.
    pub const SMALL_MTU: u8 = 0x40;
    /// Prefer ChaCha20-Poly1305, then AES-256-GCM.
    pub const CHACHA_FIRST: u8 = 0x80;
}

/// API calls: `(tag >> 2) & 7` of a `tag & 3 == 2` record picks one.
pub mod dtls_op {
    /// `send` of `len: u8` bytes that follow.
    pub const SEND: u8 = 0;
    /// `close`.
    pub const CLOSE: u8 = 1;
    /// `set_initial_retransmit` of `max(b, 1)²` ms (`b: u8` follows).
    pub const SET_RETRANSMIT: u8 = 2;
    /// `export_keying_material` of `b: u8` bytes, and every getter.
    pub const EXPORT: u8 = 3;
    /// `set_remote_fingerprints`: `(tag >> 5) & 3` = 0 none, 1 a wrong one, 2 the right
    /// one, 3 the right one behind a wrong one.
    pub const SET_FINGERPRINTS: u8 = 4;
    /// `handle_timeout` at the current instant, whether or not a deadline is due.
    pub const POKE: u8 = 5;
}

/// Everything one provider kind needs: the provider (per side) and both certificates.
struct DtlsWorld {
    providers: [Arc<dyn CryptoProvider>; 2],
    server: DtlsCertificate,
    client: DtlsCertificate,
}

fn dtls_world(real: bool) -> &'static DtlsWorld {
    static WORLDS: [OnceLock<DtlsWorld>; 2] = [OnceLock::new(), OnceLock::new()];
    WORLDS[usize::from(real)].get_or_init(|| {
        let providers: [Arc<dyn CryptoProvider>; 2] = if real {
            [default_provider(), default_provider()]
        } else {
            [
                Arc::new(FuzzCrypto::new(0x5c)),
                Arc::new(FuzzCrypto::new(0xc5)),
            ]
        };
        let load = |(cert, key): (&str, &str)| {
            DtlsCertificate::from_pem(&*providers[0], cert, key).expect("fixed certificate")
        };
        DtlsWorld {
            server: load(FUZZ_SERVER_CERT),
            client: load(FUZZ_CLIENT_CERT),
            providers,
        }
    })
}

/// The configuration of the `role` side under `mode` (whether or not the fuzzer plays
/// it): fixed certificates, each trusting the other's fingerprint, a fixed seed per role.
pub fn dtls_config(mode: u8, role: DtlsRole) -> DtlsConfig {
    let has = |bit: u8| mode & bit != 0;
    let w = dtls_world(has(dtls_mode::REAL_CRYPTO));
    let client = role == DtlsRole::Client;
    let (ours, theirs) = if client {
        (&w.client, &w.server)
    } else {
        (&w.server, &w.client)
    };
    let provider = w.providers[usize::from(client)].clone();
    let mut fps = vec![theirs.fingerprint(&*provider, HashAlgorithm::Sha256)];
    fps.extend(
        CHROMIUM_FINGERPRINTS
            .iter()
            .map(|hex| Fingerprint::from_parts("sha-256", hex).expect("valid fingerprint")),
    );
    let mut cfg = DtlsConfig::new(ours.clone(), fps);
    cfg.provider = provider;
    cfg.seed = if client { 0xC11E } else { 0x5E4E };
    cfg.hello_verify = has(dtls_mode::HELLO_VERIFY);
    if has(dtls_mode::P256_ONLY) {
        cfg.groups = vec![NamedGroup::Secp256r1];
    }
    if has(dtls_mode::NO_SRTP) {
        cfg.srtp_profiles.clear();
    }
    cfg.require_extended_master_secret = !has(dtls_mode::NO_EMS_REQUIRED);
    if has(dtls_mode::SMALL_MTU) {
        cfg.mtu = 256;
    }
    if has(dtls_mode::CHACHA_FIRST) {
        cfg.cipher_suites = vec![
            CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256,
            CipherSuite::EcdheEcdsaAes256GcmSha384,
            CipherSuite::EcdheEcdsaAes128GcmSha256,
        ];
    }
    cfg
}

/// Where a `dtls` run ended, for tests that check a seed reaches what it aims at.
#[derive(Debug, Clone, Default)]
pub struct DtlsOutcome {
    /// A Connected event came.
    pub connected: bool,
    /// Application data events received.
    pub app_data: usize,
    /// The peer closed (close_notify).
    pub closed: bool,
    /// The session failed with this.
    pub failed: Option<DtlsError>,
    /// The session's counters.
    pub stats: DtlsStats,
}

/// Outputs drained after one input before the session counts as never settling.
const DTLS_MAX_OUTPUTS: usize = 10_000;
/// Datagrams kept for [`dtls`] reflection records.
const DTLS_KEEP_SENT: usize = 8;

/// One `dtls` run; public so the seed generator can drive it and record what it feeds.
pub struct DtlsRun {
    dtls: Dtls,
    mode: u8,
    now: Instant,
    deadline: Option<Instant>,
    /// Every datagram the session sent, oldest first (the newest [`DTLS_KEEP_SENT`] only
    /// unless [`DtlsRun::keep_all_sent`]).
    pub sent: Vec<Vec<u8>>,
    keep_all: bool,
    /// What happened so far.
    pub outcome: DtlsOutcome,
}

impl DtlsRun {
    /// A session under `mode`, started with a first `handle_timeout` (a client sends its
    /// ClientHello there).
    pub fn new(mode: u8) -> Self {
        let role = if mode & dtls_mode::CLIENT != 0 {
            DtlsRole::Client
        } else {
            DtlsRole::Server
        };
        let now = base_instant();
        let mut run = DtlsRun {
            dtls: Dtls::new(role, dtls_config(mode, role), now),
            mode,
            now,
            deadline: None,
            sent: Vec::new(),
            keep_all: false,
            outcome: DtlsOutcome::default(),
        };
        run.drain();
        run
    }

    /// Keep every sent datagram in [`DtlsRun::sent`] (for the seed generator).
    pub fn keep_all_sent(&mut self) {
        self.keep_all = true;
    }

    /// The current instant of the run.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The session.
    pub fn dtls(&self) -> &Dtls {
        &self.dtls
    }

    /// Take every output, checking what the session sends and when it wants to be called.
    fn drain(&mut self) {
        let dtls = &mut self.dtls;
        let (taken, at) = settle("DTLS", self.now, DTLS_MAX_OUTPUTS, || dtls.poll_output());
        for o in taken {
            match o {
                Output::Transmit(p) => {
                    check_own_datagram(&p, self.mode);
                    if !self.keep_all && self.sent.len() == DTLS_KEEP_SENT {
                        self.sent.remove(0);
                    }
                    self.sent.push(p.to_vec());
                }
                Output::Event(e) => match e {
                    DtlsEvent::Connected { .. } => {
                        assert!(!self.outcome.connected, "connected twice");
                        assert!(self.dtls.is_connected());
                        self.outcome.connected = true;
                    }
                    DtlsEvent::ApplicationData(d) => {
                        assert!(d.len() <= 16384 + 2048);
                        self.outcome.app_data += 1;
                    }
                    DtlsEvent::Closed => self.outcome.closed = true,
                    DtlsEvent::Failed(e) => {
                        assert!(self.outcome.failed.is_none(), "failed twice: {e}");
                        self.outcome.failed = Some(e);
                    }
                    _ => {}
                },
                Output::Timeout(_) => unreachable!("settle keeps the deadline"),
            }
        }
        self.deadline = Some(at);
        self.touch_getters();
    }

    fn touch_getters(&mut self) {
        let d = &self.dtls;
        let _ = (
            d.role(),
            d.is_connected(),
            d.cipher_suite(),
            d.srtp_profile(),
        );
        let _ = d.peer_certificate().map(<[u8]>::len);
        if let Some((profile, km)) = d.srtp_keying_material() {
            assert_eq!(km.len(), profile.keying_material_len());
        }
        self.outcome.stats = d.stats();
    }

    /// A datagram arrives now.
    pub fn datagram(&mut self, bytes: &[u8]) {
        self.dtls.handle_datagram(self.now, bytes);
        self.drain();
    }

    /// Move time on by `by`, firing every deadline on the way.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        let mut same = 0;
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
            self.dtls.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
        self.dtls.handle_timeout(target);
        self.drain();
    }

    /// Send application data.
    pub fn send(&mut self, data: &[u8]) {
        let connected = self.dtls.is_connected();
        let res = self.dtls.send(data);
        assert_eq!(res.is_ok(), connected, "send: {res:?}");
        self.drain();
    }

    /// Close the session.
    pub fn close(&mut self) {
        self.dtls.close();
        self.drain();
        assert!(!self.dtls.is_connected());
    }

    fn op(&mut self, tag: u8, r: &mut Reader<'_>) {
        match (tag >> 2) & 7 {
            dtls_op::SEND => {
                let len = usize::from(r.u8().unwrap_or(0));
                let data = r.take(len).to_vec();
                self.send(&data);
            }
            dtls_op::CLOSE => self.close(),
            dtls_op::SET_RETRANSMIT => {
                let b = u64::from(r.u8().unwrap_or(0).max(1));
                self.dtls
                    .set_initial_retransmit(Duration::from_millis(b * b));
                self.drain();
            }
            dtls_op::EXPORT => {
                let len = usize::from(r.u8().unwrap_or(0));
                let res = self.dtls.export_keying_material("EXPORTER-fuzz", len);
                assert_eq!(res.is_ok(), self.dtls.is_connected(), "export: {res:?}");
                if let Ok(km) = res {
                    assert_eq!(km.len(), len);
                }
            }
            dtls_op::SET_FINGERPRINTS => {
                let role = self.dtls.role();
                let cfg = dtls_config(self.mode, role);
                let right = cfg.remote_fingerprints[0].clone();
                let mut wrong = right.clone();
                wrong.value[0] ^= 0xFF;
                self.dtls.set_remote_fingerprints(match (tag >> 5) & 3 {
                    0 => Vec::new(),
                    1 => vec![wrong],
                    2 => vec![right],
                    _ => vec![wrong, right],
                });
            }
            dtls_op::POKE => {
                self.dtls.handle_timeout(self.now);
                self.drain();
            }
            _ => {
                let _ = self.dtls.send(&[]);
                self.drain();
            }
        }
    }
}

/// Everything we send must parse as DTLS records; plaintext handshake records must parse
/// as fragments, and fit the MTU.
fn check_own_datagram(p: &[u8], mode: u8) {
    let mtu = if mode & dtls_mode::SMALL_MTU != 0 {
        256
    } else {
        1200
    };
    let mut handshake_only = true;
    for rec in record::records(p) {
        let rec: Record<'_> = rec.unwrap_or_else(|e| panic!("own datagram does not parse: {e}"));
        if rec.content_type == record::HANDSHAKE {
            if rec.epoch == 0 {
                hs::fragments(rec.payload)
                    .unwrap_or_else(|e| panic!("own handshake record does not parse: {e}"));
            } else {
                assert!(
                    rec.payload.len() >= AEAD_TAG_LEN,
                    "protected record too short"
                );
            }
        } else {
            handshake_only = false;
        }
    }
    if handshake_only {
        assert!(
            p.len() <= mtu,
            "flight datagram of {} bytes over MTU {mtu}",
            p.len()
        );
    }
}

/// The `dtls_server` / `dtls_client` fuzz targets; see the module docs for the input
/// format. The role bit of the mode byte is forced to `client`.
pub fn dtls(data: &[u8], client: bool) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mode = if client {
        mode | dtls_mode::CLIENT
    } else {
        mode & !dtls_mode::CLIENT
    };
    let mut input = vec![mode];
    input.extend_from_slice(rest);
    heap::within("dtls", DTLS_BUDGET + 8 * input.len(), || run_dtls(&input));
}

/// The `dtls_server` target.
pub fn dtls_server(data: &[u8]) {
    dtls(data, false);
}

/// The `dtls_client` target.
pub fn dtls_client(data: &[u8]) {
    dtls(data, true);
}

/// Runs a `dtls` input as is (its mode byte picks the role), reporting where the session
/// ended (`None` for an empty input).
pub fn run_dtls(data: &[u8]) -> Option<DtlsOutcome> {
    let mut r = Reader { data };
    let mode = r.u8()?;
    let mut run = DtlsRun::new(mode);
    for _ in 0..MAX_RECORDS {
        let Some(tag) = r.u8() else { break };
        match tag & 3 {
            0 => {
                let len = usize::from(r.u16().unwrap_or(0));
                let bytes = r.take(len);
                run.datagram(bytes);
            }
            1 => {
                let b = u64::from(r.u8().unwrap_or(0));
                run.advance(Duration::from_millis(b * b));
            }
            2 => run.op(tag, &mut r),
            _ => {
                let back = usize::from((tag >> 2) & 7);
                if let Some(d) = run.sent.iter().rev().nth(back).cloned() {
                    run.datagram(&d);
                }
            }
        }
    }
    run.touch_getters();
    Some(run.outcome)
}

/// Writes `dtls` inputs: for crafting seeds.
#[derive(Debug, Clone)]
pub struct DtlsScript(Vec<u8>);

impl DtlsScript {
    /// A script starting with this [`dtls_mode`] byte.
    pub fn new(mode: u8) -> Self {
        DtlsScript(vec![mode])
    }

    /// `bytes` arrive as one datagram.
    pub fn datagram(mut self, bytes: &[u8]) -> Self {
        self.push_datagram(bytes);
        self
    }

    /// `bytes` arrive as one datagram (in place).
    pub fn push_datagram(&mut self, bytes: &[u8]) {
        let len = u16::try_from(bytes.len()).expect("datagram fits in 64 KiB");
        self.0.push(0);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
    }

    /// Time advances `b²` ms.
    pub fn advance(mut self, b: u8) -> Self {
        self.0.extend_from_slice(&[1, b]);
        self
    }

    /// An API call: a [`dtls_op`] code with its argument bits (`arg` is put in bits 5..7)
    /// and argument bytes.
    pub fn op(mut self, op: u8, arg: u8, bytes: &[u8]) -> Self {
        self.0.push(2 | (op & 7) << 2 | (arg & 7) << 5);
        self.0.extend_from_slice(bytes);
        self
    }

    /// `send` of `data` (at most 255 bytes).
    pub fn send(self, data: &[u8]) -> Self {
        let len = u8::try_from(data.len()).expect("at most 255 bytes");
        let mut bytes = vec![len];
        bytes.extend_from_slice(data);
        self.op(dtls_op::SEND, 0, &bytes)
    }

    /// The `back`-th newest datagram the session sent comes back to it.
    pub fn reflect(mut self, back: u8) -> Self {
        self.0.push(3 | (back & 7) << 2);
        self
    }

    /// Records already in `dtls` input form, appended as they are.
    pub fn raw(mut self, records: &[u8]) -> Self {
        self.0.extend_from_slice(records);
        self
    }

    /// The input bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Keys for [`srtp_unprotect`]: the Chromium 156 "media" session's DTLS-SRTP keying
/// material (AES_CM_128_HMAC_SHA1_80; the browser was the DTLS server), so captured
/// browser packets authenticate when the mode selects it.
pub const CHROMIUM_SRTP_KEYING_MATERIAL: &str = "465772a308357f1665a8128a3cd006a6762392677638c32798b650ae5e71f48498015392eb25645fa076741234615832a680bff6efcf46dd659ef525";

fn srtp_contexts(mode: u8) -> (sansrtc::srtp::SrtpContext, sansrtc::srtp::SrtpContext) {
    use sansrtc::srtp::{DtlsRole, DtlsSrtpContexts, SrtpConfig, SrtpContext, SrtpProfile};
    let config = || SrtpConfig {
        replay_window: 64,
        max_ssrcs: 4,
        ..SrtpConfig::default()
    };
    if mode & 8 != 0 {
        let km: Vec<u8> = (0..CHROMIUM_SRTP_KEYING_MATERIAL.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&CHROMIUM_SRTP_KEYING_MATERIAL[i..i + 2], 16).unwrap())
            .collect();
        let p = SrtpProfile::Aes128CmHmacSha1_80;
        // From-browser packets are protected with the server half: our remote as client.
        let rx = DtlsSrtpContexts::new(p, &km, DtlsRole::Client, config())
            .unwrap()
            .remote;
        let tx = DtlsSrtpContexts::new(p, &km, DtlsRole::Server, config())
            .unwrap()
            .local;
        return (tx, rx);
    }
    let p = SrtpProfile::ALL[usize::from(mode & 3)];
    let key: Vec<u8> = (0..p.key_len() as u8).collect();
    let salt: Vec<u8> = (0..p.salt_len() as u8).map(|b| b ^ 0x5a).collect();
    (
        SrtpContext::new(p, &key, &salt, config()).unwrap(),
        SrtpContext::new(p, &key, &salt, config()).unwrap(),
    )
}

/// SRTP/SRTCP on hostile input. The first byte is the mode: bits 0–1 pick the profile
/// (`SrtpProfile::ALL`), bit 2 treats packets as RTCP, bit 3 uses Chromium's keys. Then
/// packets follow, each `len: u16` BE and `len` bytes, fed in order to one receiving
/// context (so ROC and replay state carry over). Unprotect must never panic; and each
/// packet is also protected by a sending context with the same keys and, when the receiver
/// accepts it, must come back unchanged.
pub fn srtp_unprotect(data: &[u8]) {
    heap::within(
        "srtp_unprotect",
        PARSER_BUDGET + PARSED_PER_BYTE * data.len(),
        || srtp_unprotect_unbounded(data),
    )
}

fn srtp_unprotect_unbounded(data: &[u8]) {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let rtcp = mode & 4 != 0;
    let (_, mut rx) = srtp_contexts(mode);
    let (mut tx2, mut rx2) = srtp_contexts(mode);
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let packet = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let mut buf = bytes::BytesMut::from(packet);
        let _ = if rtcp {
            rx.unprotect_rtcp(&mut buf)
        } else {
            rx.unprotect_rtp(&mut buf)
        };
        let mut round = bytes::BytesMut::from(packet);
        let protected = if rtcp {
            tx2.protect_rtcp(&mut round)
        } else {
            tx2.protect_rtp(&mut round)
        };
        if protected.is_ok() {
            let back = if rtcp {
                rx2.unprotect_rtcp(&mut round)
            } else {
                rx2.unprotect_rtp(&mut round)
            };
            if back.is_ok() {
                assert_eq!(&round[..], packet, "protect → unprotect changed the packet");
            }
        }
    }
}

// ---- SCTP and DCEP ------------------------------------------------------------------

/// Writes the CRC32c of `packet` into its checksum field (bytes 8..12, least significant
/// byte first, as `sctp::checksum` documents). Shorter inputs stay as they are.
pub fn fix_sctp_checksum(packet: &mut [u8]) {
    if packet.len() >= sctp::COMMON_HEADER_LEN {
        let crc = sctp::checksum(packet).to_le_bytes();
        packet[8..12].copy_from_slice(&crc);
    }
}

/// A parsed packet must re-encode (with either checksum kind) to bytes that parse back
/// to the same packet, and encoding must be stable.
fn sctp_round_trip(p: &Packet) {
    let wire = p
        .to_bytes(Checksum::Crc32c)
        .unwrap_or_else(|e| panic!("parsed packet does not re-encode: {e}: {p:?}"));
    assert_eq!(Ok(wire.len()), p.encoded_len());
    assert!(wire.len().is_multiple_of(4), "encoded packet not padded");
    let back = Packet::parse(wire.clone(), ChecksumPolicy::Verify)
        .unwrap_or_else(|e| panic!("re-encoded packet does not parse: {e}: {wire:02x?}"));
    assert_eq!(&back, p, "packet changed on re-encoding");
    assert_eq!(back.to_bytes(Checksum::Crc32c).as_ref(), Ok(&wire));
    let zero = p.to_bytes(Checksum::Zero).expect("encodes once");
    assert_eq!(zero[8..12], [0; 4]);
    assert_eq!(zero[12..], wire[12..]);
    let back = Packet::parse(zero, ChecksumPolicy::AcceptZero)
        .unwrap_or_else(|e| panic!("zero-checksum packet does not parse: {e}"));
    assert_eq!(&back, p);
    for c in &p.chunks {
        touch_chunk(c);
    }
}

/// Calls the accessors of a parsed chunk.
fn touch_chunk(c: &Chunk) {
    let ty = c.chunk_type();
    let _ = (ty.name(), ty.unknown_action(), ty.to_string());
    match c {
        Chunk::Init(i) | Chunk::InitAck(i) => {
            let _ = (
                i.state_cookie().map(Bytes::len),
                i.forward_tsn_supported(),
                i.supported_extensions().len(),
                i.supports(sctp::ChunkType::RE_CONFIG),
                i.zero_checksum_acceptable(),
            );
            for p in &i.params {
                let _ = (p.param_type(), p.unknown_action());
            }
        }
        Chunk::IData(d) => {
            let _ = (d.beginning(), d.fsn(), d.ppid());
        }
        Chunk::Heartbeat(h) | Chunk::HeartbeatAck(h) => {
            let _ = h.sender_info();
        }
        Chunk::Abort(sctp::Abort { causes, .. }) | Chunk::Error(sctp::ErrorChunk { causes }) => {
            for cause in causes {
                let _ = cause.code();
            }
        }
        Chunk::ReConfig(r) => {
            for p in &r.params {
                let _ = (p.param_type(), p.unknown_action());
            }
        }
        _ => {}
    }
}

/// `Chunk::parse_all` on `b`; what parses must re-encode chunk by chunk and parse back
/// the same.
fn sctp_chunks_round_trip(b: Bytes) {
    let Ok(chunks) = Chunk::parse_all(b) else {
        return;
    };
    let mut out = Vec::new();
    for c in &chunks {
        let before = out.len();
        c.encode_into(&mut out)
            .unwrap_or_else(|e| panic!("parsed chunk does not re-encode: {e}: {c:?}"));
        assert_eq!(Ok(out.len() - before), c.encoded_len());
        touch_chunk(c);
    }
    let back = Chunk::parse_all(Bytes::from(out))
        .unwrap_or_else(|e| panic!("re-encoded chunks do not parse: {e}"));
    assert_eq!(back, chunks, "chunks changed on re-encoding");
}

/// The `sctp_parse` fuzz target: `Packet::parse` under both checksum policies, on the
/// input as it is and with its checksum field fixed up (so mutations get past the CRC to
/// the chunk parsers), and `Chunk::parse_all` on the input with and without its common
/// header. Whatever parses must round-trip. Panics only if the codec breaks a promise.
pub fn sctp_parse(data: &[u8]) {
    heap::within(
        "sctp_parse",
        PARSER_BUDGET + PARSED_PER_BYTE * data.len(),
        || sctp_parse_unbounded(data),
    )
}

fn sctp_parse_unbounded(data: &[u8]) {
    let raw = Bytes::copy_from_slice(data);
    let verify = Packet::parse(raw.clone(), ChecksumPolicy::Verify);
    let zero = Packet::parse(raw.clone(), ChecksumPolicy::AcceptZero);
    if let Ok(p) = &verify {
        // A correct CRC32c is accepted under both policies.
        assert_eq!(zero.as_ref(), Ok(p));
        sctp_round_trip(p);
    }
    if let Ok(p) = &zero {
        sctp_round_trip(p);
    }

    let mut fixed = data.to_vec();
    fix_sctp_checksum(&mut fixed);
    let fixed_res = Packet::parse(Bytes::from(fixed), ChecksumPolicy::Verify);
    assert_ne!(
        fixed_res.as_ref().err(),
        Some(&SctpError::Checksum),
        "a fixed-up checksum was rejected"
    );
    if data.len() >= sctp::COMMON_HEADER_LEN {
        // A zero checksum under AcceptZero must judge the rest exactly as a correct one.
        let mut zeroed = data.to_vec();
        zeroed[8..12].fill(0);
        let zero_res = Packet::parse(Bytes::from(zeroed), ChecksumPolicy::AcceptZero);
        assert_eq!(zero_res, fixed_res, "zero and correct checksum disagree");
    }
    if let Ok(p) = &fixed_res {
        assert_eq!(p.source_port, u16::from_be_bytes([data[0], data[1]]));
        assert_eq!(p.destination_port, u16::from_be_bytes([data[2], data[3]]));
        assert_eq!(
            p.verification_tag,
            u32::from_be_bytes([data[4], data[5], data[6], data[7]])
        );
        sctp_round_trip(p);
    }

    let header = raw.len().min(sctp::COMMON_HEADER_LEN);
    sctp_chunks_round_trip(raw.slice(header..));
    sctp_chunks_round_trip(raw);
}

/// The `dcep` fuzz target: `DcepMessage::parse` on arbitrary bytes. The format has one
/// encoding per message, so what parses must re-encode to exactly the input.
pub fn dcep(data: &[u8]) {
    heap::within("dcep", PARSER_BUDGET + PARSED_PER_BYTE * data.len(), || {
        dcep_unbounded(data)
    })
}

fn dcep_unbounded(data: &[u8]) {
    let Ok(msg) = DcepMessage::parse(data) else {
        return;
    };
    if let DcepMessage::Open(o) = &msg {
        let _ = (
            o.max_retransmits(),
            o.max_packet_life_time(),
            o.channel_type.is_ordered(),
        );
        assert_eq!(
            ChannelType::from_u8(o.channel_type.to_u8()),
            Some(o.channel_type)
        );
    }
    let mut out = Vec::new();
    msg.encode_into(&mut out)
        .unwrap_or_else(|e| panic!("parsed DCEP message does not re-encode: {e}"));
    assert_eq!(out.len(), msg.encoded_len());
    assert_eq!(out, data, "DCEP message changed on re-encoding");
    assert_eq!(DcepMessage::parse(&out).as_ref(), Ok(&msg));
}

/// Bits of the config byte that starts an `sctp_association` input.
pub mod sctp_config {
    /// The fuzzed association (A) calls `connect` at the start.
    pub const A_CONNECTS: u8 = 0x01;
    /// The honest peer (B) calls `connect` at the start.
    pub const B_CONNECTS: u8 = 0x02;
    /// A runs with a 300-byte MTU (more fragments, fuller packets).
    pub const SMALL_MTU: u8 = 0x04;
    /// A accepts messages of at most 4 KiB (and so has the smallest receive window).
    pub const SMALL_MESSAGES: u8 = 0x08;
    /// B runs with a 300-byte MTU.
    pub const B_SMALL_MTU: u8 = 0x10;
    /// Both offer I-DATA (RFC 8260), so they interleave with I-DATA and I-FORWARD-TSN.
    pub const INTERLEAVING: u8 = 0x20;
}

/// Record kinds of an `sctp_association` input: `tag & 7`.
pub mod sctp_rec {
    /// `len: u16` BE, `len` bytes: a datagram arrives at A. Bit 3: its checksum is fixed
    /// up. Bits 4–5: its header is rewritten first: ports as A expects them and the
    /// verification tag set to A's tag (1), zero (2) or B's tag (3).
    pub const DATAGRAM: u8 = 0;
    /// `b: u8`: time advances `b²` ms, firing both associations' deadlines on the way.
    /// Bit 3: after each firing packets flow both ways until quiet (a live link).
    pub const ADVANCE: u8 = 1;
    /// An API call on A; bits 3–4 pick it ([`super::sctp_call`]).
    pub const A_CALL: u8 = 2;
    /// The same API calls on B.
    pub const B_CALL: u8 = 3;
    /// The oldest packet A sent that is still on the wire: bits 3–4 say whether it is
    /// delivered to B (0), dropped (1), reflected back to A (2) or delivered to B and
    /// left on the wire (3, a duplicate later).
    pub const A_PACKET: u8 = 4;
    /// The oldest packet B sent that is still on the wire: bits 3–4 say whether it is
    /// delivered to A (0), dropped (1), delivered to A with one byte changed (2: `pos:
    /// u16` BE, `xor: u8`; the checksum is fixed up unless bit 5 is set), or (3) the
    /// `tag >> 5`-th newest packet B ever sent is delivered to A again.
    pub const B_PACKET: u8 = 5;
    /// Packets flow both ways until quiet, for at most `1 + (tag >> 3)` rounds.
    pub const PUMP: u8 = 6;
    /// A receives a COOKIE-ECHO (tagged with A's tag) carrying the cookie of the latest
    /// INIT-ACK A sent; bit 3: followed by `len: u8` bytes appended after the chunk
    /// (more chunks), the checksum fixed up.
    pub const COOKIE_ECHO: u8 = 7;
}

/// API calls of [`sctp_rec::A_CALL`] and [`sctp_rec::B_CALL`]: `(tag >> 3) & 3`.
pub mod sctp_call {
    /// `send`: `stream: u8`, `len: u16` BE (a length of 0 sends 1 byte). Bit 5 of the
    /// tag: unordered; bits 6–7: the PPID (string, binary, DCEP, string-empty).
    pub const SEND: u8 = 0;
    /// `abort`.
    pub const ABORT: u8 = 1;
    /// `connect`.
    pub const CONNECT: u8 = 2;
    /// `handle_timeout` at the current instant.
    pub const POKE: u8 = 3;
}

/// The seeds of A and B.
pub const SCTP_SEEDS: [u64; 2] = [0x5c79_a001, 0x5c79_b002];
/// PPIDs a send record can pick.
const SCTP_PPIDS: [u32; 4] = [51, 53, 50, 56];
/// Outputs drained after one input before an association counts as never settling.
const SCTP_MAX_OUTPUTS: usize = 10_000;
/// Packets kept on the wire per direction (the oldest are lost beyond it).
const SCTP_WIRE_MAX: usize = 64;
/// Packets of B kept for replay records.
const SCTP_KEEP_SENT: usize = 8;
/// Bytes the application may send per side in one run; further sends are skipped.
const SCTP_MAX_SEND_TOTAL: usize = 256 << 10;

/// The configuration of A (`side` 0) or B (1) under `config`.
pub fn sctp_config_for(config: u8, side: usize) -> SctpConfig {
    let small_mtu = if side == 0 {
        sctp_config::SMALL_MTU
    } else {
        sctp_config::B_SMALL_MTU
    };
    let mut cfg = SctpConfig {
        seed: SCTP_SEEDS[side],
        ..SctpConfig::default()
    };
    if config & small_mtu != 0 {
        cfg.mtu = 300;
    }
    cfg.interleaving = config & sctp_config::INTERLEAVING != 0;
    if side == 0 && config & sctp_config::SMALL_MESSAGES != 0 {
        cfg.max_receive_message_size = 4096;
        cfg.receive_window = 0;
    }
    cfg
}

/// The payload of the `k`-th message a side sends: its index in the first bytes, then a
/// pattern, so the receiver can tell which message arrived and that it is intact.
pub fn sctp_payload(k: usize, len: usize) -> Bytes {
    let mut v: Vec<u8> = (0..len).map(|j| (k * 31 + j) as u8).collect();
    let idx = (k as u32).to_be_bytes();
    let n = len.min(4);
    v[..n].copy_from_slice(&idx[..n]);
    Bytes::from(v)
}

/// Where an `sctp_association` run ended, for tests that check a seed reaches its aim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SctpOutcome {
    /// A reported Connected.
    pub a_connected: bool,
    /// B reported Connected.
    pub b_connected: bool,
    /// Messages A received.
    pub a_messages: usize,
    /// Messages B received (all checked against what A sent).
    pub b_messages: usize,
    /// Why A closed, if it did.
    pub a_closed: Option<String>,
    /// Why B closed, if it did.
    pub b_closed: Option<String>,
    /// Packets A sent.
    pub a_packets: usize,
}

/// A message one side sent: (stream, ppid, unordered, length).
type SentMessage = (u16, u32, bool, usize);

/// One association of the pair and what the harness knows about it.
struct SctpPeer {
    assoc: Association,
    mtu: usize,
    max_message: usize,
    local_port: u16,
    remote_port: u16,
    /// Its Initiate Tag, read from what a fresh twin sends first.
    tag: u32,
    deadline: Option<Instant>,
    /// Packets it sent that are still on the wire, oldest first.
    wire: VecDeque<Bytes>,
    /// The newest packets it sent.
    sent: VecDeque<Bytes>,
    /// The state cookie of the latest INIT-ACK it sent.
    cookie: Option<Bytes>,
    /// Every message the application gave it (accepted by `send`).
    messages: Vec<SentMessage>,
    sent_bytes: usize,
    connected: bool,
    closed: Option<String>,
    received: usize,
    packets: usize,
}

impl SctpPeer {
    fn new(cfg: SctpConfig, now: Instant) -> Self {
        // A twin with the same seed tells its tag: the one in its INIT.
        let mut twin = Association::new(cfg.clone(), now);
        twin.connect(now);
        let tag = loop {
            match twin.poll_output() {
                Output::Transmit(p) => {
                    let p = Packet::parse(p, ChecksumPolicy::Verify).expect("own INIT parses");
                    match p.chunks.first() {
                        Some(Chunk::Init(i)) => break i.initiate_tag,
                        other => panic!("first packet is not an INIT: {other:?}"),
                    }
                }
                Output::Event(_) => {}
                Output::Timeout(_) => panic!("connect sent no INIT"),
            }
        };
        SctpPeer {
            mtu: cfg.mtu.max(256),
            max_message: cfg.max_receive_message_size,
            local_port: cfg.local_port,
            remote_port: cfg.remote_port,
            assoc: Association::new(cfg, now),
            tag,
            deadline: None,
            wire: VecDeque::new(),
            sent: VecDeque::new(),
            cookie: None,
            messages: Vec::new(),
            sent_bytes: 0,
            connected: false,
            closed: None,
            received: 0,
            packets: 0,
        }
    }

    /// What it sends must parse with a valid CRC (or a zero one, RFC 9653, once both ends
    /// offered it), come from and go to the right ports,
    /// follow the INIT bundling and tag rules, and carry DATA only in packets within the
    /// MTU.
    fn check_packet(&mut self, bytes: &Bytes) {
        let p = Packet::parse(bytes.clone(), ChecksumPolicy::AcceptZero)
            .unwrap_or_else(|e| panic!("own packet does not parse: {e}: {bytes:02x?}"));
        if bytes.len() >= 12 && bytes[8..12] == [0, 0, 0, 0] {
            assert!(
                !p.chunks
                    .iter()
                    .any(|c| matches!(c, Chunk::Init(_) | Chunk::CookieEcho(_))),
                "zero checksum on INIT or COOKIE-ECHO (RFC 9653 §5.2)"
            );
        }
        assert_eq!(
            (p.source_port, p.destination_port),
            (self.local_port, self.remote_port)
        );
        let mut data = false;
        for c in &p.chunks {
            match c {
                Chunk::Init(i) => {
                    assert_eq!(p.chunks.len(), 1, "INIT bundled");
                    assert_eq!(p.verification_tag, 0, "INIT with a tag");
                    assert_eq!(i.initiate_tag, self.tag, "INIT with another tag");
                }
                Chunk::InitAck(i) => {
                    assert_eq!(p.chunks.len(), 1, "INIT-ACK bundled");
                    assert_ne!(i.initiate_tag, 0);
                    self.cookie = i.state_cookie().cloned();
                }
                Chunk::Data(d) => {
                    assert!(!d.user_data.is_empty(), "DATA without user data");
                    assert!(
                        !self.assoc.uses_interleaving(),
                        "DATA while I-DATA is in use"
                    );
                    data = true;
                }
                Chunk::IData(d) => {
                    assert!(!d.user_data.is_empty(), "I-DATA without user data");
                    assert!(self.assoc.uses_interleaving(), "I-DATA not negotiated");
                    data = true;
                }
                _ => {}
            }
        }
        if data {
            assert!(
                bytes.len() <= self.mtu,
                "packet with DATA of {} bytes over MTU {}",
                bytes.len(),
                self.mtu
            );
        }
        self.packets += 1;
    }

    fn check_buffered(&self) {
        let b = self.assoc.buffered_amount();
        assert!(
            b <= self.sent_bytes,
            "buffered_amount {b} exceeds the {} bytes ever sent",
            self.sent_bytes
        );
        if self.closed.is_some() {
            assert_eq!(b, 0, "buffered_amount {b} after close");
        }
    }

    /// Take every output, checking it.
    fn drain(&mut self, now: Instant, other_messages: &[SentMessage], seen: &mut SeenMessages) {
        let assoc = &mut self.assoc;
        let (taken, at) = settle("SCTP", now, SCTP_MAX_OUTPUTS, || assoc.poll_output());
        for o in taken {
            match o {
                Output::Transmit(p) => {
                    self.check_packet(&p);
                    if self.wire.len() == SCTP_WIRE_MAX {
                        self.wire.pop_front();
                    }
                    self.wire.push_back(p.clone());
                    if self.sent.len() == SCTP_KEEP_SENT {
                        self.sent.pop_front();
                    }
                    self.sent.push_back(p);
                }
                Output::Event(e) => {
                    assert!(self.closed.is_none(), "event after Closed: {e:?}");
                    match e {
                        SctpEvent::Connected => {
                            assert!(!self.connected, "connected twice");
                            self.connected = true;
                        }
                        SctpEvent::Message {
                            stream_id,
                            ppid,
                            data,
                            unordered,
                        } => {
                            assert!(self.connected, "message before Connected");
                            assert!(!data.is_empty(), "empty message");
                            assert!(
                                data.len() <= self.max_message,
                                "message of {} bytes over the {} limit",
                                data.len(),
                                self.max_message
                            );
                            self.received += 1;
                            if let Some(seen) = seen.as_mut() {
                                seen.check(other_messages, stream_id, ppid, &data, unordered);
                            }
                        }
                        SctpEvent::Closed { reason } => self.closed = Some(reason.to_string()),
                        _ => {}
                    }
                }
                Output::Timeout(_) => unreachable!("settle keeps the deadline"),
            }
        }
        self.deadline = Some(at);
        self.check_buffered();
    }
}

/// What B received of A's messages: B only ever hears A's own packets, so every message
/// it delivers must be one A was asked to send, intact, at most once, and in send order
/// per stream when ordered.
#[derive(Default)]
struct SeenTracker {
    delivered: Vec<bool>,
    last_ordered: std::collections::HashMap<u16, usize>,
}

type SeenMessages = Option<SeenTracker>;

impl SeenTracker {
    fn check(&mut self, sent: &[SentMessage], stream: u16, ppid: u32, data: &[u8], un: bool) {
        // Short messages carry only part of their index: find the candidates.
        let k = if data.len() >= 4 {
            u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize
        } else {
            match (0..sent.len()).find(|&k| {
                !self.delivered.get(k).copied().unwrap_or(false)
                    && sent[k] == (stream, ppid, un, data.len())
                    && sctp_payload(k, data.len()) == data
            }) {
                Some(k) => k,
                None => panic!("B received a short message A never sent: {data:02x?}"),
            }
        };
        assert!(
            k < sent.len(),
            "B received message #{k}, A sent {}",
            sent.len()
        );
        assert_eq!(
            sent[k],
            (stream, ppid, un, data.len()),
            "message #{k} arrived with other metadata"
        );
        assert!(
            sctp_payload(k, data.len()) == data,
            "message #{k} corrupted"
        );
        if self.delivered.len() < sent.len() {
            self.delivered.resize(sent.len(), false);
        }
        assert!(!self.delivered[k], "message #{k} delivered twice");
        self.delivered[k] = true;
        if !un {
            if let Some(&last) = self.last_ordered.get(&stream) {
                assert!(
                    k > last,
                    "ordered message #{k} after #{last} on stream {stream}"
                );
            }
            self.last_ordered.insert(stream, k);
        }
    }
}

/// One `sctp_association` run: A (the association under test) and B (an honest peer).
/// Public so the seed generator can drive it and record what it feeds.
pub struct SctpRun {
    peers: [SctpPeer; 2],
    now: Instant,
    seen: SeenMessages,
    /// When set, the records that replay what A experienced without B: B's packets as
    /// datagrams (checksum fix-up bit set), A's calls and time advances.
    pub record: Option<Vec<u8>>,
}

impl SctpRun {
    /// A pair under `config` (see [`sctp_config`]).
    pub fn new(config: u8) -> Self {
        let now = base_instant();
        let mut run = SctpRun {
            peers: [
                SctpPeer::new(sctp_config_for(config, 0), now),
                SctpPeer::new(sctp_config_for(config, 1), now),
            ],
            now,
            seen: Some(SeenTracker::default()),
            record: None,
        };
        for side in 0..2 {
            let flag = [sctp_config::A_CONNECTS, sctp_config::B_CONNECTS][side];
            if config & flag != 0 {
                run.peers[side].assoc.connect(now);
            }
            run.drain(side);
        }
        run
    }

    /// The current instant of the run.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Where the run stands.
    pub fn outcome(&self) -> SctpOutcome {
        let [a, b] = &self.peers;
        SctpOutcome {
            a_connected: a.connected,
            b_connected: b.connected,
            a_messages: a.received,
            b_messages: b.received,
            a_closed: a.closed.clone(),
            b_closed: b.closed.clone(),
            a_packets: a.packets,
        }
    }

    fn drain(&mut self, side: usize) {
        let now = self.now;
        let (a, b) = self.peers.split_at_mut(1);
        if side == 0 {
            a[0].drain(now, &b[0].messages, &mut None);
        } else {
            b[0].drain(now, &a[0].messages, &mut self.seen);
        }
    }

    fn feed(&mut self, side: usize, packet: Bytes) {
        if side == 0
            && let Some(rec) = self.record.as_mut()
        {
            let len = u16::try_from(packet.len()).expect("packet fits in 64 KiB");
            rec.push(sctp_rec::DATAGRAM | 8);
            rec.extend_from_slice(&len.to_be_bytes());
            rec.extend_from_slice(&packet);
        }
        self.peers[side].assoc.handle_packet(self.now, packet);
        self.drain(side);
    }

    /// A datagram arrives at A, optionally with header fix-ups (see [`sctp_rec::DATAGRAM`]).
    fn datagram(&mut self, tag: u8, bytes: &[u8]) {
        let mut v = bytes.to_vec();
        let header = (tag >> 4) & 3;
        if header != 0 && v.len() >= sctp::COMMON_HEADER_LEN {
            let a = &self.peers[0];
            let vtag = match header {
                1 => a.tag,
                2 => 0,
                _ => self.peers[1].tag,
            };
            v[0..2].copy_from_slice(&a.remote_port.to_be_bytes());
            v[2..4].copy_from_slice(&a.local_port.to_be_bytes());
            v[4..8].copy_from_slice(&vtag.to_be_bytes());
        }
        if tag & 8 != 0 {
            fix_sctp_checksum(&mut v);
        }
        self.feed(0, Bytes::from(v));
    }

    /// Move time on by `by`, firing both associations' deadlines on the way; with `live`,
    /// packets flow both ways after each firing.
    fn advance(&mut self, by: Duration, live: bool) {
        if let Some(rec) = self.record.as_mut() {
            assert!(!live, "a live advance cannot be recorded");
            let b = (by.as_millis() as f64).sqrt() as u8;
            assert_eq!(
                u128::from(b) * u128::from(b),
                by.as_millis(),
                "not a square"
            );
            rec.extend_from_slice(&[sctp_rec::ADVANCE, b]);
        }
        let target = self.now + by;
        let mut same = 0;
        loop {
            let next = self.peers.iter().filter_map(|p| p.deadline).min();
            let Some(at) = next.filter(|&at| at <= target) else {
                break;
            };
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
            for side in 0..2 {
                if self.peers[side].deadline.is_some_and(|d| d <= self.now) {
                    self.peers[side].assoc.handle_timeout(self.now);
                    self.drain(side);
                }
            }
            if live {
                self.pump(8);
            }
        }
        self.now = target;
        for side in 0..2 {
            self.peers[side].assoc.handle_timeout(target);
            self.drain(side);
        }
        if live {
            self.pump(8);
        }
    }

    /// An API call on A (`side` 0) or B.
    fn call(&mut self, side: usize, tag: u8, r: &mut Reader<'_>) {
        let code = (tag >> 3) & 3;
        let mut args = Vec::new();
        match code {
            sctp_call::SEND => {
                let stream = r.u8().unwrap_or(0);
                let len = r.u16().unwrap_or(0);
                args = vec![stream, (len >> 8) as u8, len as u8];
                let p = &mut self.peers[side];
                let len = usize::from(len.max(1));
                if p.sent_bytes + len <= SCTP_MAX_SEND_TOTAL {
                    let unordered = tag & 0x20 != 0;
                    let ppid = SCTP_PPIDS[usize::from(tag >> 6)];
                    let k = p.messages.len();
                    let stream = u16::from(stream);
                    let res = p.assoc.send(stream, ppid, sctp_payload(k, len), unordered);
                    match &res {
                        Ok(()) => assert!(p.closed.is_none(), "send accepted after Closed"),
                        Err(SctpError::MessageTooLarge { .. }) => {}
                        Err(e) => assert!(p.closed.is_some(), "send failed while open: {e}"),
                    }
                    if res.is_ok() {
                        p.messages.push((stream, ppid, unordered, len));
                        p.sent_bytes += len;
                    }
                }
            }
            sctp_call::ABORT => self.peers[side].assoc.abort("fuzz"),
            sctp_call::CONNECT => self.peers[side].assoc.connect(self.now),
            _ => self.peers[side].assoc.handle_timeout(self.now),
        }
        if side == 0
            && let Some(rec) = self.record.as_mut()
        {
            rec.push(tag);
            rec.extend_from_slice(&args);
        }
        self.drain(side);
    }

    /// A's oldest packet on the wire; see [`sctp_rec::A_PACKET`].
    fn a_packet(&mut self, how: u8) {
        let Some(p) = self.peers[0].wire.pop_front() else {
            return;
        };
        match how & 3 {
            0 => self.feed(1, p),
            1 => {}
            2 => self.feed(0, p),
            _ => {
                self.peers[0].wire.push_front(p.clone());
                self.feed(1, p);
            }
        }
    }

    /// B's oldest packet on the wire, or a replay; see [`sctp_rec::B_PACKET`].
    fn b_packet(&mut self, tag: u8, r: &mut Reader<'_>) {
        match (tag >> 3) & 3 {
            0 => {
                if let Some(p) = self.peers[1].wire.pop_front() {
                    self.feed(0, p);
                }
            }
            1 => {
                self.peers[1].wire.pop_front();
            }
            2 => {
                let pos = usize::from(r.u16().unwrap_or(0));
                let xor = r.u8().unwrap_or(0);
                if let Some(p) = self.peers[1].wire.pop_front() {
                    let mut v = p.to_vec();
                    let at = pos % v.len();
                    v[at] ^= xor;
                    if tag & 0x20 == 0 {
                        fix_sctp_checksum(&mut v);
                    }
                    self.feed(0, Bytes::from(v));
                }
            }
            _ => {
                let back = usize::from(tag >> 5);
                let sent = &self.peers[1].sent;
                if let Some(p) = sent.iter().rev().nth(back).cloned() {
                    self.feed(0, p);
                }
            }
        }
    }

    /// Packets flow both ways until none is left, for at most `rounds` rounds.
    fn pump(&mut self, rounds: usize) {
        for _ in 0..rounds {
            if self.peers.iter().all(|p| p.wire.is_empty()) {
                return;
            }
            while let Some(p) = self.peers[0].wire.pop_front() {
                self.feed(1, p);
            }
            while let Some(p) = self.peers[1].wire.pop_front() {
                self.feed(0, p);
            }
        }
    }

    /// A COOKIE-ECHO with A's latest cookie arrives at A; see [`sctp_rec::COOKIE_ECHO`].
    fn cookie_echo(&mut self, tag: u8, r: &mut Reader<'_>) {
        let extra = if tag & 8 != 0 {
            let len = usize::from(r.u8().unwrap_or(0));
            r.take(len)
        } else {
            &[]
        };
        let a = &self.peers[0];
        let Some(cookie) = a.cookie.clone() else {
            return;
        };
        let packet = Packet {
            source_port: a.remote_port,
            destination_port: a.local_port,
            verification_tag: a.tag,
            chunks: vec![Chunk::CookieEcho(sctp::CookieEcho { cookie })],
        };
        let mut v = packet
            .to_bytes(Checksum::Crc32c)
            .expect("COOKIE-ECHO encodes")
            .to_vec();
        v.extend_from_slice(extra);
        fix_sctp_checksum(&mut v);
        self.feed(0, Bytes::from(v));
    }
}

/// The `sctp_association` fuzz target; see the module docs for the input format.
pub fn sctp_association(data: &[u8]) {
    let Some(&config) = data.first() else {
        return;
    };
    // Each side's promise to its peer, plus what the application queued (held in the
    // send queue, in flight, on the simulated wire and in the checks) and the records.
    let budget = sctp_config_for(config, 0).memory_budget()
        + sctp_config_for(config, 1).memory_budget()
        + 8 * SCTP_MAX_SEND_TOTAL
        + 64 * data.len();
    heap::within("sctp_association", budget, || run_sctp(data));
}

/// Runs an `sctp_association` input, reporting where the pair ended (`None` for an empty
/// input).
pub fn run_sctp(data: &[u8]) -> Option<SctpOutcome> {
    let (&config, records) = data.split_first()?;
    let mut run = SctpRun::new(config);
    run.records(records);
    Some(run.outcome())
}

impl SctpRun {
    /// Acts on `sctp_association` records (see the module docs), at most
    /// `MAX_RECORDS` (256) of them.
    pub fn records(&mut self, data: &[u8]) {
        let mut r = Reader { data };
        for _ in 0..MAX_RECORDS {
            let Some(tag) = r.u8() else { break };
            match tag & 7 {
                sctp_rec::DATAGRAM => {
                    let len = usize::from(r.u16().unwrap_or(0));
                    let bytes = r.take(len);
                    self.datagram(tag, bytes);
                }
                sctp_rec::ADVANCE => {
                    let b = u64::from(r.u8().unwrap_or(0));
                    self.advance(Duration::from_millis(b * b), tag & 8 != 0);
                }
                sctp_rec::A_CALL => self.call(0, tag, &mut r),
                sctp_rec::B_CALL => self.call(1, tag, &mut r),
                sctp_rec::A_PACKET => self.a_packet(tag >> 3),
                sctp_rec::B_PACKET => self.b_packet(tag, &mut r),
                sctp_rec::PUMP => self.pump(1 + usize::from(tag >> 3)),
                _ => self.cookie_echo(tag, &mut r),
            }
        }
    }
}

/// Writes `sctp_association` inputs: for crafting seeds.
#[derive(Debug, Clone)]
pub struct SctpScript(Vec<u8>);

impl SctpScript {
    /// A script starting with this [`sctp_config`] byte.
    pub fn new(config: u8) -> Self {
        SctpScript(vec![config])
    }

    /// `bytes` arrive at A; `fix` holds the fix-up bits 3–5 of [`sctp_rec::DATAGRAM`].
    pub fn datagram(mut self, fix: u8, bytes: &[u8]) -> Self {
        let len = u16::try_from(bytes.len()).expect("datagram fits in 64 KiB");
        self.0.push(sctp_rec::DATAGRAM | (fix & 0x38));
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    /// Time advances `b²` ms; `live`: packets flow after each firing.
    pub fn advance(mut self, b: u8, live: bool) -> Self {
        self.0
            .extend_from_slice(&[sctp_rec::ADVANCE | if live { 8 } else { 0 }, b]);
        self
    }

    /// `send` on A (`side` 0) or B of `len` bytes; `ppid` indexes the PPIDs of
    /// [`sctp_call::SEND`].
    pub fn send(mut self, side: u8, stream: u8, len: u16, unordered: bool, ppid: u8) -> Self {
        let kind = [sctp_rec::A_CALL, sctp_rec::B_CALL][usize::from(side)];
        self.0
            .push(kind | sctp_call::SEND << 3 | u8::from(unordered) << 5 | (ppid & 3) << 6);
        self.0.push(stream);
        self.0.extend_from_slice(&len.to_be_bytes());
        self
    }

    /// Another [`sctp_call`] on A (`side` 0) or B.
    pub fn call(mut self, side: u8, call: u8) -> Self {
        let kind = [sctp_rec::A_CALL, sctp_rec::B_CALL][usize::from(side)];
        self.0.push(kind | (call & 3) << 3);
        self
    }

    /// A's oldest packet on the wire: delivered (0), dropped (1), reflected (2) or
    /// duplicated (3).
    pub fn a_packet(mut self, how: u8) -> Self {
        self.0.push(sctp_rec::A_PACKET | (how & 3) << 3);
        self
    }

    /// B's oldest packet on the wire: delivered (0) or dropped (1).
    pub fn b_packet(mut self, how: u8) -> Self {
        self.0.push(sctp_rec::B_PACKET | (how & 1) << 3);
        self
    }

    /// B's oldest packet on the wire arrives with byte `pos` XORed with `xor`.
    pub fn b_mutated(mut self, pos: u16, xor: u8, fix_checksum: bool) -> Self {
        self.0
            .push(sctp_rec::B_PACKET | 2 << 3 | if fix_checksum { 0 } else { 0x20 });
        self.0.extend_from_slice(&pos.to_be_bytes());
        self.0.push(xor);
        self
    }

    /// The `back`-th newest packet B sent arrives at A again.
    pub fn b_replay(mut self, back: u8) -> Self {
        self.0.push(sctp_rec::B_PACKET | 3 << 3 | (back & 7) << 5);
        self
    }

    /// Packets flow both ways for up to `rounds` (1..=32) rounds.
    pub fn pump(mut self, rounds: u8) -> Self {
        self.0.push(sctp_rec::PUMP | (rounds.clamp(1, 32) - 1) << 3);
        self
    }

    /// A COOKIE-ECHO with A's own cookie arrives at A, followed by `extra` chunk bytes.
    pub fn cookie_echo(mut self, extra: Option<&[u8]>) -> Self {
        match extra {
            None => self.0.push(sctp_rec::COOKIE_ECHO),
            Some(b) => {
                let len = u8::try_from(b.len()).expect("at most 255 bytes");
                self.0.push(sctp_rec::COOKIE_ECHO | 8);
                self.0.push(len);
                self.0.extend_from_slice(b);
            }
        }
        self
    }

    /// Records already in `sctp_association` form, appended as they are.
    pub fn raw(mut self, records: &[u8]) -> Self {
        self.0.extend_from_slice(records);
        self
    }

    /// The records without the config byte.
    pub fn records(&self) -> &[u8] {
        &self.0[1..]
    }

    /// The input bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

// -- ortc_chain ------------------------------------------------------------------------

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
fn ortc_snapshot(t: &sansrtc::ortc::SctpTransport) -> String {
    let ice = t.transport().transport().agent();
    let dtls = t.transport().session().map(|d| {
        let s = d.stats();
        (d.is_connected(), s.retransmits, s.datagrams_sent)
    });
    let channels = t
        .data_channels()
        .map(|c| format!("{:?}", c.association().stats()));
    format!(
        "{:?} {:?} {:?} {:?} {:?} {dtls:?} {channels:?}",
        ice.connection_state(),
        ice.selected_pair().map(|(l, r)| (l.address(), r.address())),
        t.transport().state(),
        t.state(),
        ice.stats().responses_received,
    )
}

/// Whether the chains connected (the replay test checks it for clean seeds).
pub fn run_ortc_chain(data: &[u8]) -> bool {
    use sansrtc::ortc::{
        DataChannelParameters, DtlsTransport, IceGatherer, IceGathererConfig, IceRole,
        IceTransport, SctpTransport,
    };
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
        let mut g = IceGatherer::new(
            IceGathererConfig {
                seed: Some(seed),
                ..Default::default()
            },
            now,
        );
        g.gather(&[addr]).expect("host candidate");
        SctpTransport::new(
            DtlsTransport::new(IceTransport::new(g), vec![cert.clone()]).expect("certificate"),
            5000,
        )
    };
    let mut a = chain(1, a_addr, ca);
    let mut b = chain(2, b_addr, cb);
    let signal = |y: &SctpTransport| {
        let ice = y.transport().transport();
        (
            ice.local_parameters(),
            ice.gatherer_candidates(),
            y.transport().local_parameters(),
            y.capabilities(),
        )
    };
    let (sa, sb) = (signal(&a), signal(&b));
    for (x, (params, cands, dtls, caps), role) in [
        (&mut a, sb, IceRole::Controlling),
        (&mut b, sa, IceRole::Controlled),
    ] {
        let xi = x.transport_mut().transport_mut();
        xi.start(&params, role).expect("ICE start");
        for c in &cands {
            xi.add_remote_candidate(Some(c)).expect("candidate");
        }
        xi.add_remote_candidate(None).expect("end of candidates");
        x.transport_mut().start(&dtls).expect("DTLS start");
        x.start(&caps, 5000).expect("SCTP start");
    }
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
    fn drain(t: &mut SctpTransport, now: Instant) -> Vec<Transmit> {
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
    let exchange = |a: &mut SctpTransport,
                    b: &mut SctpTransport,
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
    let mut channels: Vec<u16> = Vec::new();
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
                        if let Ok(id) = a.create_data_channel(&DataChannelParameters::new("f")) {
                            channels.push(id);
                        }
                    }
                    1 => {
                        if let Some(&id) = channels.first() {
                            let _ = a.send_binary(id, Bytes::from(vec![op; usize::from(op) * 40]));
                        }
                    }
                    _ => {
                        if let Some(id) = channels.pop() {
                            let _ = a.close_channel(id);
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
    let connected = a.state() == sansrtc::ortc::SctpTransportState::Connected
        && b.state() == sansrtc::ortc::SctpTransportState::Connected;
    if !meddled {
        assert!(connected, "a clean path did not connect");
    }
    connected
}
