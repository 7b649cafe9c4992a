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

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sansrtc::crypto::{
    AEAD_TAG_LEN, Aead, AeadAlgorithm, AesCtr, CryptoError, CryptoProvider, HashAlgorithm, HmacKey,
    HmacTag, KeyExchange, NamedGroup, SignatureScheme, SigningKey, default_provider,
};
use sansrtc::dtls::handshake as hs;
use sansrtc::dtls::record::{self, Record};
use sansrtc::dtls::{
    CipherSuite, Dtls, DtlsCertificate, DtlsConfig, DtlsError, DtlsEvent, DtlsRole, DtlsStats,
    Fingerprint,
};
use sansrtc::io::Output;

use super::{DTLS_BUDGET, MAX_RECORDS, MAX_SAME_INSTANT, Reader, base_instant, heap, settle};

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
                    DtlsEvent::Writable => {
                        // Only a false-starting client may send before it is connected.
                        assert_eq!(self.dtls.role(), DtlsRole::Client, "server writable early");
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

    /// Send application data: accepted exactly when the session can send (connected, or
    /// a client false-starting after its last flight, RFC 7918).
    pub fn send(&mut self, data: &[u8]) {
        let writable = self.dtls.can_send();
        assert!(
            self.dtls.is_connected() || !writable || self.dtls.role() == DtlsRole::Client,
            "only a client sends before it is connected"
        );
        let res = self.dtls.send(data);
        assert_eq!(res.is_ok(), writable, "send: {res:?}");
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
