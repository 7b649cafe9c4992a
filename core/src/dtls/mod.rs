//! DTLS 1.2 (RFC 6347, RFC 5246) as WebRTC uses it: client and server, ECDHE with
//! ECDSA or RSA peers, AES-GCM and ChaCha20-Poly1305, extended master secret (RFC 7627),
//! use_srtp (RFC 5764), keying-material export (RFC 5705), self-signed certificates
//! checked against the fingerprint from signaling.
//!
//! [`Dtls`] is a sans-IO machine without addresses: feed it whole datagrams and time,
//! drain [`Output`]s whose transmits are bare datagrams (it is a [`Layer`]). The ICE/ORTC
//! chain above it supplies the addresses.
//!
//! The session is cut along its seams:
//! - `client.rs`: the client's flights, from its ClientHello to its Finished.
//! - `engine.rs`: flights (building, packing, retransmitting) and records (sealing,
//!   opening, epochs, the replay window), the send and receive paths under both roles.
//! - `keys.rs`: the key schedule: master secret, record keys, Finished verify_data.
//! - `server.rs`: the server's flights, from a ClientHello (or HelloVerifyRequest) to
//!   its Finished.
//!
//! Version negotiation is a seam: a ClientHello offering DTLS 1.3 (as browsers' do) is
//! answered with 1.2; a DTLS 1.3 engine can later take over in `on_client_hello`.
//!
//! ```
//! use std::time::Instant;
//! use sansrtc::dtls::{Dtls, DtlsCertificate, DtlsConfig, DtlsEvent, DtlsRole};
//! use sansrtc::crypto::{default_provider, HashAlgorithm};
//! use sansrtc::io::Output;
//!
//! let provider = default_provider();
//! let cert_c = DtlsCertificate::generate(&*provider).unwrap();
//! let cert_s = DtlsCertificate::generate(&*provider).unwrap();
//! let now = Instant::now();
//! let mut client = Dtls::new(DtlsRole::Client, DtlsConfig::new(cert_c.clone(),
//!     vec![cert_s.fingerprint(&*provider, HashAlgorithm::Sha256)]), now);
//! let mut server = Dtls::new(DtlsRole::Server, DtlsConfig::new(cert_s,
//!     vec![cert_c.fingerprint(&*provider, HashAlgorithm::Sha256)]), now);
//! // Deliver everything `me` sends to `peer`; count Connected events.
//! fn pump(me: &mut Dtls, peer: &mut Dtls, now: Instant) -> usize {
//!     let mut connected = 0;
//!     loop {
//!         match me.poll_output() {
//!             Output::Transmit(p) => peer.handle_datagram(now, &p),
//!             Output::Event(DtlsEvent::Connected { .. }) => connected += 1,
//!             Output::Event(_) => {}
//!             Output::Timeout(_) => return connected,
//!         }
//!     }
//! }
//! let mut connected = 0;
//! for _ in 0..10 {
//!     connected += pump(&mut client, &mut server, now);
//!     connected += pump(&mut server, &mut client, now);
//! }
//! assert_eq!(connected, 2);
//! assert_eq!(client.srtp_keying_material().unwrap().1, server.srtp_keying_material().unwrap().1);
//! ```

mod cert;
mod client;
mod codec;
mod engine;
mod error;
pub mod handshake;
mod keys;
pub mod record;
mod server;
mod suite;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

pub use cert::{DtlsCertificate, Fingerprint};
pub use error::{DecodeError, HandshakeFailure, ListKind, UnexpectedMessage};
pub use suite::CipherSuite;

use crate::crypto::{
    CryptoError, CryptoProvider, KeyExchange, NamedGroup, SignatureScheme, default_provider,
};
use crate::io::{IDLE_TIMEOUT, Layer, Output};
use crate::rng::Rng;
use crate::srtp::SrtpProfile;
use handshake::{ClientHello, Reassembler};
use record::{ALERT, APPLICATION_DATA, RecordCipher, ReplayWindow};
use suite::prf;

// What the unit tests name through `use super::*` but the hub itself no longer does.
#[cfg(test)]
use crate::crypto::HashAlgorithm;
#[cfg(test)]
use handshake::{EXT_USE_SRTP, ServerHello, ServerKeyExchange};
#[cfg(test)]
use record::{CHANGE_CIPHER_SPEC, DTLS_1_2, HANDSHAKE};

/// Errors of the DTLS layer.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtlsError {
    /// A record or message is malformed.
    #[error("DTLS decode error: {0}")]
    Decode(DecodeError),
    /// A protected record failed authentication.
    #[error("DTLS record failed authentication")]
    BadRecordMac,
    /// Certificate generation, loading or parsing failed.
    #[error("certificate error: {0}")]
    Certificate(String),
    /// A fingerprint string is malformed.
    #[error("invalid fingerprint {0:?}")]
    InvalidFingerprint(String),
    /// The peer's certificate matches none of the fingerprints from signaling.
    #[error("peer certificate does not match the signaled fingerprint")]
    FingerprintMismatch,
    /// No remote fingerprint was configured to check the peer against.
    #[error("no remote fingerprint configured")]
    NoRemoteFingerprint,
    /// The peers share no cipher suite, group, or required extension.
    #[error("handshake failure: {0}")]
    HandshakeFailure(HandshakeFailure),
    /// A message arrived that the handshake state does not allow.
    #[error("unexpected handshake message: {0}")]
    UnexpectedMessage(UnexpectedMessage),
    /// A handshake signature did not verify.
    #[error("handshake signature does not verify")]
    BadSignature,
    /// The peer's Finished does not match the transcript.
    #[error("Finished verify_data mismatch")]
    BadFinished,
    /// The peer sent a fatal alert.
    #[error("peer sent fatal alert {0}")]
    PeerAlert(u8),
    /// The handshake did not complete in time.
    #[error("DTLS handshake timed out")]
    Timeout,
    /// Not connected (yet, or any more).
    #[error("DTLS not connected")]
    NotConnected,
    /// Application data larger than one record.
    #[error("message of {0} bytes exceeds the DTLS record limit")]
    MessageTooLarge(usize),
    /// The crypto provider failed.
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
}

impl DtlsError {
    /// The alert this error sends to the peer (RFC 5246 §7.2).
    fn alert(&self) -> u8 {
        match self {
            DtlsError::Decode(_) => 50,
            DtlsError::BadRecordMac => 20,
            DtlsError::FingerprintMismatch | DtlsError::Certificate(_) => 42,
            DtlsError::NoRemoteFingerprint => 42,
            DtlsError::HandshakeFailure(_) => 40,
            DtlsError::UnexpectedMessage(_) => 10,
            DtlsError::BadSignature | DtlsError::BadFinished => 51,
            _ => 80,
        }
    }
}

/// Which side of the handshake we play.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsRole {
    /// Sends the ClientHello (`a=setup:active`).
    Client,
    /// Answers it (`a=setup:passive`).
    Server,
}

/// Configuration of one DTLS session.
#[derive(Debug, Clone)]
pub struct DtlsConfig {
    /// Our certificate.
    pub certificate: DtlsCertificate,
    /// Fingerprints the peer's certificate must match (any one of them).
    pub remote_fingerprints: Vec<Fingerprint>,
    /// Cipher suites in preference order.
    pub cipher_suites: Vec<CipherSuite>,
    /// ECDHE groups in preference order.
    pub groups: Vec<NamedGroup>,
    /// SRTP protection profiles offered / accepted, in preference order.
    pub srtp_profiles: Vec<SrtpProfile>,
    /// Server: demand a HelloVerifyRequest cookie round trip. Off by default: between
    /// ICE-verified peers the path is already proven.
    pub hello_verify: bool,
    /// Refuse peers without the extended master secret (RFC 7627).
    pub require_extended_master_secret: bool,
    /// Client: send application data with the second flight, before the server's
    /// Finished (TLS False Start, RFC 7918), saving the round trip an SCTP INIT would
    /// otherwise wait. Safe under the RFC's conditions, which every session here meets:
    /// an AEAD suite, ECDHE, and a server already authenticated (its certificate matched
    /// the fingerprint and its ServerKeyExchange signature checked out). On by default;
    /// a server that drops such early records costs the data one retransmission.
    pub false_start: bool,
    /// First flight retransmission timeout (RFC 6347 §4.2.4.1 suggests 1 s; set it from
    /// a measured RTT when one is known).
    pub initial_retransmit: Duration,
    /// Cap on the doubled retransmission timeout.
    pub max_retransmit: Duration,
    /// Give up when the handshake has not completed after this long.
    pub handshake_timeout: Duration,
    /// Largest datagram we send.
    pub mtu: usize,
    /// Seed for randoms and cookie secrets.
    pub seed: u64,
    /// Crypto provider.
    pub provider: Arc<dyn CryptoProvider>,
}

impl DtlsConfig {
    /// Defaults with this certificate and these remote fingerprints.
    pub fn new(certificate: DtlsCertificate, remote_fingerprints: Vec<Fingerprint>) -> Self {
        DtlsConfig {
            certificate,
            remote_fingerprints,
            cipher_suites: CipherSuite::ALL.to_vec(),
            groups: vec![NamedGroup::X25519, NamedGroup::Secp256r1],
            srtp_profiles: SrtpProfile::ALL.to_vec(),
            hello_verify: false,
            require_extended_master_secret: true,
            false_start: true,
            initial_retransmit: Duration::from_secs(1),
            max_retransmit: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(30),
            mtu: 1200,
            seed: 0,
            provider: default_provider(),
        }
    }
}

/// What happened.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtlsEvent {
    /// The handshake completed and the peer's certificate matched its fingerprint.
    Connected {
        /// Negotiated cipher suite.
        cipher_suite: CipherSuite,
        /// Negotiated SRTP protection profile, if any.
        srtp_profile: Option<SrtpProfile>,
        /// ECDHE group used.
        group: NamedGroup,
    },
    /// Application data may be sent although the handshake has not completed: a client
    /// false-starting (see [`DtlsConfig::false_start`]) sent its second flight.
    /// `Connected` follows once the server's Finished checks out.
    Writable,
    /// Application data from the peer.
    ApplicationData(Bytes),
    /// The peer closed the session (close_notify).
    Closed,
    /// The session failed; nothing more will be sent.
    Failed(DtlsError),
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DtlsStats {
    /// Flights retransmitted.
    pub retransmits: u64,
    /// Records dropped: malformed, unauthenticated, replayed or from an unknown epoch.
    pub records_dropped: u64,
    /// Records dropped because they were replays.
    pub replays: u64,
    /// Plaintext (epoch 0) records dropped because keys already protect the session:
    /// anyone can forge one (an alert from a stranger must not close us), so once the
    /// peer's protected records arrive, only they are acted on. Counted in
    /// `records_dropped` too.
    pub plaintext_dropped: u64,
    /// Handshake fragments from a flight we already had that did not match what the
    /// peer sent: not answered with our flight (no reflection of forged records).
    /// Counted in `records_dropped` too.
    pub unmatched_retransmissions: u64,
    /// Datagrams sent.
    pub datagrams_sent: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Client: ClientHello not sent yet. Server: waiting for a ClientHello.
    Start,
    /// Client: waiting for ServerHello (or HelloVerifyRequest).
    WaitServerHello,
    /// Client: collecting Certificate … ServerHelloDone.
    WaitServerHelloDone,
    /// Client: waiting for the server's CCS + Finished.
    WaitServerFinished,
    /// Server: collecting Certificate, ClientKeyExchange, CertificateVerify, CCS, Finished.
    WaitClientFinished,
    Connected,
    Closed,
    Failed,
}

/// One message of a flight, kept for retransmission.
#[derive(Debug, Clone)]
enum FlightItem {
    /// A whole handshake message (header with offset 0) and the epoch it goes out in.
    Handshake {
        epoch: u16,
        message: Vec<u8>,
    },
    ChangeCipherSpec,
}

/// A DTLS protocol version.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsVersion {
    /// DTLS 1.2 (RFC 6347).
    Dtls12,
}

/// One DTLS 1.2 session. See the module docs.
#[derive(Debug)]
pub struct Dtls {
    cfg: DtlsConfig,
    role: DtlsRole,
    rng: Rng,
    state: State,
    /// The latest time we were given.
    now: Instant,
    /// When the handshake began: at construction for a client, at the ClientHello for a
    /// server (which may wait any time for one).
    started: Option<Instant>,

    write_epoch: u16,
    write_seq: [u64; 2],
    write_cipher: Option<RecordCipher>,
    /// A datagram buffer `send_with` did not fill, kept for the next call.
    spare: Option<Vec<u8>>,
    /// Plaintext bytes of the last record `send_with` sealed: the next buffer's size.
    last_app_plaintext: usize,
    read_epoch: u16,
    read_cipher: Option<RecordCipher>,
    pending_read_cipher: Option<RecordCipher>,
    /// Replay window of epoch 1. Epoch 0 has none: its records are not authenticated,
    /// so they must not move a window (a forged record numbered 2^48−1 would make
    /// every genuine one look replayed); the reassembler drops repeated messages.
    replay: ReplayWindow,
    /// Where each handshake message of the peer sits in `transcript` (message_seq,
    /// offset): a fragment claiming to be a retransmission is answered only if it
    /// repeats those bytes.
    peer_messages: Vec<(u16, usize)>,

    reasm: Reassembler,
    send_seq: u16,
    transcript: Vec<u8>,
    flight: Vec<FlightItem>,
    flight_deadline: Option<Instant>,
    rto: Duration,

    cookie_secret: [u8; 32],
    client_random: [u8; 32],
    server_random: [u8; 32],
    client_hello: Option<ClientHello>,
    suite: Option<CipherSuite>,
    group: Option<NamedGroup>,
    kx: Option<Box<dyn KeyExchange>>,
    /// An ephemeral key made before the handshake needed it (see
    /// [`Dtls::provide_key_exchange`]), used if the handshake settles on its group.
    prepared_kx: Option<(NamedGroup, Box<dyn KeyExchange>)>,
    peer_public: Vec<u8>,
    peer_cert: Option<Vec<u8>>,
    master: Vec<u8>,
    ems: bool,
    srtp: Option<SrtpProfile>,
    /// Transcript length before the client's Finished (server side, for checking it).
    cert_verify_checked: bool,

    out: VecDeque<Bytes>,
    events: VecDeque<DtlsEvent>,
    stats: DtlsStats,
}

const MAX_APP_RECORD: usize = 16384;
/// Floor of the flight retransmission timeout.
const MIN_RETRANSMIT: Duration = Duration::from_millis(10);

impl Dtls {
    /// A session in `role` whose clock starts at `now`. A client's ClientHello is
    /// ready to poll at once; a server waits for one.
    pub fn new(role: DtlsRole, cfg: DtlsConfig, now: Instant) -> Self {
        let mut rng = Rng::from_seed(cfg.seed);
        let mut cookie_secret = [0u8; 32];
        rng.fill(&mut cookie_secret);
        let mut dtls = Dtls {
            rto: cfg.initial_retransmit.max(MIN_RETRANSMIT),
            cfg,
            role,
            rng,
            state: State::Start,
            now,
            started: None,
            write_epoch: 0,
            write_seq: [0; 2],
            write_cipher: None,
            read_epoch: 0,
            read_cipher: None,
            pending_read_cipher: None,
            replay: ReplayWindow::default(),
            peer_messages: Vec::new(),
            reasm: Reassembler::default(),
            send_seq: 0,
            transcript: Vec::new(),
            flight: Vec::new(),
            flight_deadline: None,
            cookie_secret,
            client_random: [0; 32],
            server_random: [0; 32],
            client_hello: None,
            suite: None,
            group: None,
            kx: None,
            prepared_kx: None,
            peer_public: Vec::new(),
            peer_cert: None,
            master: Vec::new(),
            ems: false,
            srtp: None,
            cert_verify_checked: false,
            out: VecDeque::new(),
            spare: None,
            last_app_plaintext: 0,
            events: VecDeque::new(),
            stats: DtlsStats::default(),
        };
        if role == DtlsRole::Client {
            dtls.started = Some(now);
            if let Err(e) = dtls.send_client_hello(Vec::new()) {
                dtls.fail(e);
            }
        }
        dtls
    }

    /// Our role.
    pub fn role(&self) -> DtlsRole {
        self.role
    }

    /// Whether the handshake completed and the session is open.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Whether application data can be sealed and sent: once connected, or earlier for a
    /// client that false-starts ([`DtlsConfig::false_start`]) once its second flight is
    /// out.
    pub fn can_send(&self) -> bool {
        match self.state {
            State::Connected => true,
            State::WaitServerFinished => self.cfg.false_start && self.write_cipher.is_some(),
            _ => false,
        }
    }

    /// Negotiated cipher suite.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.suite.filter(|_| self.state == State::Connected)
    }

    /// The negotiated protocol version, once connected.
    pub fn version(&self) -> Option<DtlsVersion> {
        self.is_connected().then_some(DtlsVersion::Dtls12)
    }

    /// Negotiated SRTP protection profile.
    pub fn srtp_profile(&self) -> Option<SrtpProfile> {
        self.srtp.filter(|_| self.state == State::Connected)
    }

    /// The peer's certificate (DER), once received.
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        self.peer_cert.as_deref()
    }

    /// Counters.
    pub fn stats(&self) -> DtlsStats {
        self.stats
    }

    /// Give this handshake its ephemeral ECDHE key, made ahead of the round trip that
    /// needs it (a server's ServerKeyExchange, a client's ClientKeyExchange): a caller
    /// with time to spare, such as an engine waiting for ICE, takes key generation off the
    /// handshake's critical path. The key is used once, and only if the handshake settles
    /// on `group`; otherwise, or without this call, a key is made when it is needed.
    pub fn provide_key_exchange(&mut self, group: NamedGroup, kx: Box<dyn KeyExchange>) {
        if self.kx.is_none() {
            self.prepared_kx = Some((group, kx));
        }
    }

    /// The ephemeral key for `group`: the prepared one if it is for `group`, else new.
    fn key_exchange_for(&mut self, group: NamedGroup) -> Result<Box<dyn KeyExchange>, DtlsError> {
        match self.prepared_kx.take() {
            Some((g, kx)) if g == group => Ok(kx),
            _ => Ok(self.cfg.provider.key_exchange(group)?),
        }
    }

    /// Set or replace the fingerprints the peer must match (before its Certificate arrives).
    pub fn set_remote_fingerprints(&mut self, fingerprints: Vec<Fingerprint>) {
        self.cfg.remote_fingerprints = fingerprints;
    }

    /// Set the first retransmission timeout, e.g. from the RTT ICE measured.
    pub fn set_initial_retransmit(&mut self, rto: Duration) {
        self.cfg.initial_retransmit = rto;
        if self.flight.is_empty() {
            self.rto = rto.max(MIN_RETRANSMIT);
        }
    }

    /// Keying material exporter (RFC 5705) without context.
    pub fn export_keying_material(&self, label: &str, len: usize) -> Result<Vec<u8>, DtlsError> {
        let suite = self.suite.ok_or(DtlsError::NotConnected)?;
        if self.state != State::Connected {
            return Err(DtlsError::NotConnected);
        }
        let mut seed = Vec::with_capacity(64);
        seed.extend_from_slice(&self.client_random);
        seed.extend_from_slice(&self.server_random);
        Ok(prf(
            &*self.cfg.provider,
            suite.prf_hash(),
            &self.master,
            label.as_bytes(),
            &seed,
            len,
        ))
    }

    /// The negotiated SRTP profile and its keying material (RFC 5764 §4.2, label
    /// `EXTRACTOR-dtls_srtp`): client key | server key | client salt | server salt.
    pub fn srtp_keying_material(&self) -> Option<(SrtpProfile, Vec<u8>)> {
        let profile = self.srtp_profile()?;
        let km = self
            .export_keying_material("EXTRACTOR-dtls_srtp", profile.keying_material_len())
            .ok()?;
        Some((profile, km))
    }

    /// Send application data in one record.
    pub fn send(&mut self, data: &[u8]) -> Result<(), DtlsError> {
        if !self.can_send() {
            return Err(DtlsError::NotConnected);
        }
        if data.len() > MAX_APP_RECORD {
            return Err(DtlsError::MessageTooLarge(data.len()));
        }
        // Exactly the record's size, so it becomes `Bytes` without a second allocation.
        let cap = self
            .write_cipher
            .as_ref()
            .map_or(data.len() + 64, |c| c.record_len(data.len()));
        let mut dgram = Vec::with_capacity(cap);
        self.seal_record(&mut dgram, APPLICATION_DATA, data);
        self.push_datagram(dgram);
        Ok(())
    }

    /// Send one record whose plaintext `write` appends to the buffer it is given, so a
    /// layer above (SCTP) can encode straight into the record and be encrypted where it
    /// lies, with no copy. `write` returns false when it has nothing to send; then no
    /// record goes out and this returns `Ok(false)`.
    ///
    /// ```
    /// # use sansrtc::dtls::{Dtls, DtlsConfig, DtlsCertificate, DtlsError, DtlsRole};
    /// # let provider = sansrtc::crypto::default_provider();
    /// # let cert = DtlsCertificate::generate(&*provider).unwrap();
    /// # let mut dtls = Dtls::new(DtlsRole::Client, DtlsConfig::new(cert, vec![]), std::time::Instant::now());
    /// // Before the handshake there is nothing to seal with.
    /// let sent = dtls.send_with(|buf| {
    ///     buf.extend_from_slice(b"hello");
    ///     true
    /// });
    /// assert!(matches!(sent, Err(DtlsError::NotConnected)));
    /// ```
    pub fn send_with(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> bool,
    ) -> Result<bool, DtlsError> {
        if !self.can_send() {
            return Err(DtlsError::NotConnected);
        }
        let Some(cipher) = &self.write_cipher else {
            return Err(DtlsError::NotConnected);
        };
        let prefix = cipher.prefix_len();
        // A buffer `write` declined last time is used again. A new one is sized for
        // exactly the record expected: a datagram whose length is its capacity becomes
        // `Bytes` without a second allocation for the shared header, and a bulk
        // sender's records are all one size.
        let mut dgram = self.spare.take().unwrap_or_else(|| {
            let mtu = self.cfg.mtu.max(256);
            let last = self.last_app_plaintext;
            // A run of small records (a receiver's acknowledgements) gets small buffers,
            // which the allocator serves from its fast per-size caches; anything larger
            // a full MTU's worth, so a slightly shorter record does not make the next
            // full one grow its buffer.
            let plain = if last > 0 && last <= mtu / 4 {
                last
            } else {
                mtu.max(last)
            };
            Vec::with_capacity(cipher.record_len(plain))
        });
        dgram.clear();
        dgram.resize(prefix, 0);
        if !write(&mut dgram) {
            self.spare = Some(dgram);
            return Ok(false);
        }
        let len = dgram.len() - prefix;
        if len > MAX_APP_RECORD {
            return Err(DtlsError::MessageTooLarge(len));
        }
        self.last_app_plaintext = len;
        let seq = self.next_write_seq();
        let epoch = self.write_epoch;
        if let Some(c) = &self.write_cipher {
            c.seal_in_place(&mut dgram, 0, APPLICATION_DATA, epoch, seq);
        }
        self.push_datagram(dgram);
        Ok(true)
    }

    /// Append one application-data record, written in place by `write`, to `out`: the
    /// datagrams of one GSO batch being built end to end in one buffer, so a packet is
    /// written once and sealed where it lies, with no buffer of its own and no copy into
    /// the batch. Returns the record's length, or `None` when `write` declined (`out`
    /// is left as it was). Datagrams this session queued itself (handshake, alerts)
    /// come from [`poll_output`](Self::poll_output) and go first:
    /// [`has_queued_datagrams`](Self::has_queued_datagrams) tells.
    pub fn seal_append(
        &mut self,
        out: &mut Vec<u8>,
        write: impl FnOnce(&mut Vec<u8>) -> bool,
    ) -> Result<Option<usize>, DtlsError> {
        if !self.can_send() {
            return Err(DtlsError::NotConnected);
        }
        let Some(cipher) = &self.write_cipher else {
            return Err(DtlsError::NotConnected);
        };
        let at = out.len();
        out.resize(at + cipher.prefix_len(), 0);
        if !write(out) {
            out.truncate(at);
            return Ok(None);
        }
        let len = out.len() - at - cipher.prefix_len();
        if len > MAX_APP_RECORD {
            out.truncate(at);
            return Err(DtlsError::MessageTooLarge(len));
        }
        self.last_app_plaintext = len;
        let seq = self.next_write_seq();
        let epoch = self.write_epoch;
        if let Some(c) = &self.write_cipher {
            c.seal_in_place(out, at, APPLICATION_DATA, epoch, seq);
        }
        self.stats.datagrams_sent += 1;
        Ok(Some(out.len() - at))
    }

    /// Whether datagrams this session queued itself wait in
    /// [`poll_output`](Self::poll_output).
    pub fn has_queued_datagrams(&self) -> bool {
        !self.out.is_empty()
    }

    /// Close: send close_notify. Queued datagrams stay queued.
    pub fn close(&mut self) {
        if matches!(self.state, State::Closed | State::Failed) {
            return;
        }
        if self.state == State::Connected {
            let mut dgram = Vec::new();
            self.seal_record(&mut dgram, ALERT, &[1, 0]);
            self.push_datagram(dgram);
        }
        self.state = State::Closed;
        self.flight_deadline = None;
    }

    /// Advance time; retransmits flights whose timer expired.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if matches!(self.state, State::Closed | State::Failed | State::Connected) {
            return;
        }
        if let Some(started) = self.started
            && now.saturating_duration_since(started) >= self.cfg.handshake_timeout
            && (self.role == DtlsRole::Client || self.state != State::Start)
        {
            self.fail(DtlsError::Timeout);
            return;
        }
        if let Some(at) = self.flight_deadline
            && now >= at
        {
            self.rto = (self.rto * 2).min(self.cfg.max_retransmit);
            self.stats.retransmits += 1;
            self.send_flight();
        }
    }

    /// Feed one received datagram.
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        self.handle_datagram_owned(now, BytesMut::from(datagram));
    }

    /// Feed one received datagram the caller no longer needs: application data is
    /// decrypted in place and handed on as a slice of it, with no copy.
    pub fn handle_datagram_owned(&mut self, now: Instant, mut datagram: BytesMut) {
        self.now = self.now.max(now);
        if matches!(self.state, State::Closed | State::Failed) {
            return;
        }
        let mut peer_retransmitted = false;
        while !datagram.is_empty() {
            let Ok(len) = record::first_record_len(&datagram) else {
                self.stats.records_dropped += 1;
                break;
            };
            // The usual datagram is one record: take it whole rather than split it.
            let rec = if len == datagram.len() {
                std::mem::take(&mut datagram)
            } else {
                datagram.split_to(len)
            };
            match self.handle_record(rec) {
                Ok(retx) => peer_retransmitted |= retx,
                Err(e) => {
                    if self.state == State::Connected || is_record_level(&e) {
                        // After the handshake, and for bad records at any time, one bad
                        // record must not kill the session (RFC 6347 §4.1.2.7).
                        self.stats.records_dropped += 1;
                    } else {
                        self.fail(e);
                        return;
                    }
                }
            }
            if matches!(self.state, State::Closed | State::Failed) {
                return;
            }
        }
        if peer_retransmitted && !self.flight.is_empty() {
            // The peer did not get our last flight (RFC 6347 §4.2.4).
            self.stats.retransmits += 1;
            self.send_flight();
        }
    }

    /// Next output: a datagram for the transport below, an event, or the next deadline.
    pub fn poll_output(&mut self) -> Output<DtlsEvent, Bytes> {
        if let Some(p) = self.out.pop_front() {
            return Output::Transmit(p);
        }
        if let Some(e) = self.events.pop_front() {
            return Output::Event(e);
        }
        Output::Timeout(self.poll_timeout().unwrap_or(self.now + IDLE_TIMEOUT))
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called, if a timer is
    /// armed (a flight awaiting its answer, or the handshake's overall limit).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.state, self.flight_deadline, self.started) {
            (State::Closed | State::Failed | State::Connected, _, _) => None,
            (_, Some(at), Some(started)) => Some(at.min(started + self.cfg.handshake_timeout)),
            (_, None, Some(started)) if self.state != State::Start => {
                Some(started + self.cfg.handshake_timeout)
            }
            _ => None,
        }
    }

    fn fail(&mut self, e: DtlsError) {
        tracing::debug!(error = %e, role = ?self.role, "DTLS failed");
        if !matches!(e, DtlsError::PeerAlert(_) | DtlsError::Timeout) {
            let mut dgram = Vec::new();
            let alert = [2, e.alert()];
            if self.write_epoch == 1 {
                self.seal_record(&mut dgram, ALERT, &alert);
            } else {
                self.plain_record(&mut dgram, ALERT, &alert);
            }
            self.push_datagram(dgram);
        }
        self.state = State::Failed;
        self.flight_deadline = None;
        self.events.push_back(DtlsEvent::Failed(e));
    }

    fn handle_message(
        &mut self,
        msg_type: u8,
        seq: u16,
        body: &[u8],
        epoch: u16,
    ) -> Result<(), DtlsError> {
        use handshake as h;
        if self.transcript.len() + h::HEADER_LEN + body.len() > h::MAX_TRANSCRIPT {
            return Err(DtlsError::UnexpectedMessage(
                UnexpectedMessage::HandshakeTooLong,
            ));
        }
        match (self.role, self.state, msg_type) {
            (DtlsRole::Server, State::Start, h::CLIENT_HELLO) => self.on_client_hello(seq, body),
            (DtlsRole::Client, State::WaitServerHello, h::HELLO_VERIFY_REQUEST) => {
                let (_, cookie) = h::parse_hello_verify_request(body)?;
                if cookie.len() > 255 {
                    return Err(DtlsError::Decode(DecodeError::CookieTooLong));
                }
                // RFC 6347 §4.2.1: the first ClientHello and the HelloVerifyRequest stay
                // out of the transcript.
                self.transcript.clear();
                self.peer_messages.clear();
                self.send_client_hello(cookie)
            }
            (DtlsRole::Client, State::WaitServerHello, h::SERVER_HELLO) => {
                self.add_to_transcript(msg_type, seq, body);
                self.on_server_hello(body)
            }
            // One Certificate per handshake: a second would only pad the transcript.
            (DtlsRole::Client, State::WaitServerHelloDone, h::CERTIFICATE)
                if self.peer_cert.is_none() =>
            {
                self.add_to_transcript(msg_type, seq, body);
                self.on_certificate(body)
            }
            (DtlsRole::Client, State::WaitServerHelloDone, h::SERVER_KEY_EXCHANGE) => {
                self.add_to_transcript(msg_type, seq, body);
                self.on_server_key_exchange(body)
            }
            (DtlsRole::Client, State::WaitServerHelloDone, h::CERTIFICATE_REQUEST) => {
                self.add_to_transcript(msg_type, seq, body);
                let (_, schemes) = h::parse_certificate_request(body)?;
                let ours = self.cfg.certificate.signing_key().scheme().code();
                if !schemes.contains(&ours) {
                    return Err(DtlsError::HandshakeFailure(
                        HandshakeFailure::ServerAcceptsNoSchemeOfOurs,
                    ));
                }
                Ok(())
            }
            (DtlsRole::Client, State::WaitServerHelloDone, h::SERVER_HELLO_DONE) => {
                self.add_to_transcript(msg_type, seq, body);
                self.send_client_flight()
            }
            (DtlsRole::Client, State::WaitServerFinished, h::FINISHED) if epoch == 1 => {
                self.check_finished(b"server finished", body)?;
                self.add_to_transcript(msg_type, seq, body);
                self.flight.clear();
                self.flight_deadline = None;
                self.connected();
                Ok(())
            }
            (DtlsRole::Server, State::WaitClientFinished, h::CERTIFICATE)
                if self.peer_cert.is_none() =>
            {
                self.add_to_transcript(msg_type, seq, body);
                self.on_certificate(body)
            }
            (DtlsRole::Server, State::WaitClientFinished, h::CLIENT_KEY_EXCHANGE) => {
                self.add_to_transcript(msg_type, seq, body);
                self.peer_public = h::parse_client_key_exchange(body)?;
                self.derive_master_secret()
            }
            (DtlsRole::Server, State::WaitClientFinished, h::CERTIFICATE_VERIFY) => {
                let (scheme, sig) = h::parse_signed(body)?;
                self.verify_peer_signature(scheme, &self.transcript.clone(), &sig)?;
                self.cert_verify_checked = true;
                self.add_to_transcript(msg_type, seq, body);
                Ok(())
            }
            (DtlsRole::Server, State::WaitClientFinished, h::FINISHED) if epoch == 1 => {
                if !self.cert_verify_checked || self.master.is_empty() {
                    return Err(DtlsError::UnexpectedMessage(
                        UnexpectedMessage::FinishedBeforeCertificateVerify,
                    ));
                }
                self.check_finished(b"client finished", body)?;
                self.add_to_transcript(msg_type, seq, body);
                self.send_server_finished()
            }
            _ => Err(DtlsError::UnexpectedMessage(
                UnexpectedMessage::NotAllowed { got: msg_type },
            )),
        }
    }

    fn random32(&mut self) -> [u8; 32] {
        let mut r = [0u8; 32];
        self.rng.fill(&mut r);
        r
    }

    fn on_certificate(&mut self, body: &[u8]) -> Result<(), DtlsError> {
        let chain = handshake::parse_certificate(body)?;
        let leaf = chain
            .into_iter()
            .next()
            .ok_or(DtlsError::Certificate("peer sent no certificate".into()))?;
        if self.cfg.remote_fingerprints.is_empty() {
            return Err(DtlsError::NoRemoteFingerprint);
        }
        let matches = self
            .cfg
            .remote_fingerprints
            .iter()
            .any(|f| Fingerprint::of(&*self.cfg.provider, f.algorithm, &leaf).value == f.value);
        if !matches {
            return Err(DtlsError::FingerprintMismatch);
        }
        self.peer_cert = Some(leaf);
        Ok(())
    }

    fn verify_peer_signature(
        &self,
        scheme: u16,
        message: &[u8],
        sig: &[u8],
    ) -> Result<(), DtlsError> {
        let cert = self
            .peer_cert
            .as_deref()
            .ok_or(DtlsError::UnexpectedMessage(
                UnexpectedMessage::SignatureBeforeCertificate,
            ))?;
        let scheme = SignatureScheme::from_code(scheme).ok_or(DtlsError::HandshakeFailure(
            HandshakeFailure::UnsupportedSignatureScheme,
        ))?;
        let (key, rsa) = cert::public_key_of(cert)?;
        if rsa == scheme.is_ecdsa() {
            return Err(DtlsError::HandshakeFailure(
                HandshakeFailure::SchemeDoesNotFitKey,
            ));
        }
        self.cfg
            .provider
            .verify(scheme, &key, message, sig)
            .map_err(|_| DtlsError::BadSignature)
    }

    fn connected(&mut self) {
        self.state = State::Connected;
        // Nothing reads the transcript once both Finished messages are checked: after
        // the handshake only the peer's protected Finished asks for our flight again.
        self.transcript = Vec::new();
        self.peer_messages = Vec::new();
        let (Some(cipher_suite), Some(group)) = (self.suite, self.group) else {
            return;
        };
        tracing::debug!(role = ?self.role, suite = cipher_suite.name(), "DTLS connected");
        self.events.push_back(DtlsEvent::Connected {
            cipher_suite,
            srtp_profile: self.srtp,
            group,
        });
    }
}

/// Errors that drop the offending record only: anyone can forge a datagram, so garbage
/// must not end a handshake (RFC 6347 §4.1.2.7). Semantic failures of an authentic
/// handshake are fatal.
fn is_record_level(e: &DtlsError) -> bool {
    matches!(e, DtlsError::BadRecordMac | DtlsError::Decode(_))
}

/// Signature schemes we can verify, in preference order.
fn supported_schemes() -> Vec<u16> {
    [
        SignatureScheme::EcdsaP256Sha256,
        SignatureScheme::EcdsaP384Sha384,
        SignatureScheme::RsaPssSha256,
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::RsaPssSha384,
        SignatureScheme::RsaPkcs1Sha384,
        SignatureScheme::RsaPssSha512,
        SignatureScheme::RsaPkcs1Sha512,
    ]
    .iter()
    .map(|s| s.code())
    .collect()
}

#[cfg(test)]
mod tests;
/// Whole DTLS sessions in the simulator, each hosted directly through `io::Pinned`.
#[cfg(test)]
#[path = "sim/tests.rs"]
mod tests_sim;

impl Layer for Dtls {
    type Event = DtlsEvent;

    fn handle_packet(&mut self, now: Instant, packet: Bytes) {
        // Unshared (the usual case) it becomes mutable without a copy, so application
        // data is still decrypted in place.
        self.handle_datagram_owned(now, BytesMut::from(packet));
    }

    fn handle_timeout(&mut self, now: Instant) {
        Dtls::handle_timeout(self, now);
    }

    fn poll_output(&mut self) -> Output<DtlsEvent, Bytes> {
        Dtls::poll_output(self)
    }
}
