//! The typed causes behind [`DtlsError`](super::DtlsError)'s decode, handshake-failure and
//! unexpected-message variants: each says exactly what was wrong, so a caller can match on
//! it and a test can assert it, where a string could only be printed.

/// A list whose length must be a multiple of its element size, by what it lists.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// A list of `u16` values (supported groups, extension bodies).
    U16,
    /// The `use_srtp` protection profiles (RFC 5764 §4.1.1).
    SrtpProfiles,
    /// A ClientHello's cipher suites.
    CipherSuites,
    /// `signature_algorithms` (RFC 5246 §7.4.1.4.1).
    SignatureSchemes,
}

impl std::fmt::Display for ListKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ListKind::U16 => "u16",
            ListKind::SrtpProfiles => "use_srtp profile",
            ListKind::CipherSuites => "cipher suite",
            ListKind::SignatureSchemes => "signature scheme",
        })
    }
}

/// A record or handshake message that is malformed (alert `decode_error`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DecodeError {
    /// A length-prefixed field runs past the end of its message.
    #[error("field runs past the end")]
    FieldTruncated,
    /// A handshake fragment reaches beyond the message length it announces.
    #[error("fragment beyond message length")]
    FragmentBeyondMessage,
    /// A handshake message larger than any genuine one.
    #[error("handshake message too large")]
    HandshakeMessageTooLarge,
    /// The same extension twice in one hello (RFC 5246 §7.4.1.4).
    #[error("duplicate extension")]
    DuplicateExtension,
    /// A list with a length that is no multiple of its element size.
    #[error("odd {0} list")]
    OddList(ListKind),
    /// A ClientHello's session id or cookie longer than 32 bytes.
    #[error("session id or cookie too long")]
    SessionIdOrCookieTooLong,
    /// A HelloVerifyRequest cookie longer than DTLS allows (RFC 6347 §4.2.1).
    #[error("cookie too long")]
    CookieTooLong,
    /// A ServerKeyExchange with a curve type other than `named_curve` (RFC 8422 §5.4).
    #[error("ECDHE curve type must be named_curve")]
    CurveTypeNotNamed,
    /// Fewer bytes than a record header.
    #[error("record header truncated")]
    RecordHeaderTruncated,
    /// A record longer than what is left of its datagram.
    #[error("record length exceeds datagram")]
    RecordLengthExceedsDatagram,
    /// A protected record shorter than its nonce and tag.
    #[error("protected record too short")]
    ProtectedRecordTooShort,
    /// A record version that is not DTLS 1.0 or 1.2.
    #[error("record version")]
    RecordVersion,
    /// A plaintext record where only protected ones may come.
    #[error("plaintext record after keys")]
    PlaintextAfterKeys,
    /// A record the replay window has already seen (RFC 6347 §4.1.2.6).
    #[error("replayed record")]
    ReplayedRecord,
    /// A record from an epoch we have no keys for.
    #[error("record from an unknown epoch")]
    UnknownEpoch,
    /// A ChangeCipherSpec whose body is not the single byte 1.
    #[error("change_cipher_spec body")]
    ChangeCipherSpecBody,
    /// An alert whose body is not two bytes.
    #[error("alert body")]
    AlertBody,
    /// Application data before the handshake has finished.
    #[error("application data before the handshake")]
    ApplicationDataBeforeHandshake,
    /// A record content type DTLS 1.2 does not define.
    #[error("unknown content type")]
    UnknownContentType,
}

/// Why the two ends cannot agree on a session (alert `handshake_failure`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum HandshakeFailure {
    /// The client offers no DTLS 1.2.
    #[error("client does not offer DTLS 1.2")]
    ClientOffersNoDtls12,
    /// The server chose a version other than DTLS 1.2.
    #[error("server did not choose DTLS 1.2")]
    ServerChoseNoDtls12,
    /// No cipher suite both ends accept.
    #[error("no common cipher suite")]
    NoCommonCipherSuite,
    /// No ECDHE group both ends accept.
    #[error("no common ECDHE group")]
    NoCommonGroup,
    /// The peer lacks the extended master secret (RFC 7627) our configuration demands.
    #[error("extended master secret required")]
    ExtendedMasterSecretRequired,
    /// The client accepts no signature scheme our certificate's key can make.
    #[error("client accepts no signature scheme of our certificate")]
    ClientAcceptsNoSchemeOfOurs,
    /// The server accepts no signature scheme our certificate's key can make.
    #[error("server accepts no signature scheme of our certificate")]
    ServerAcceptsNoSchemeOfOurs,
    /// The server chose a cipher suite we did not offer.
    #[error("server chose a suite we did not offer")]
    SuiteNotOffered,
    /// The server chose an ECDHE group we did not offer.
    #[error("server chose a group we did not offer")]
    GroupNotOffered,
    /// The server chose an SRTP profile we did not offer.
    #[error("server chose an SRTP profile we did not offer")]
    SrtpProfileNotOffered,
    /// A signature scheme we do not implement.
    #[error("unsupported signature scheme")]
    UnsupportedSignatureScheme,
    /// A signature scheme that does not fit the peer certificate's key.
    #[error("signature scheme does not fit the key")]
    SchemeDoesNotFitKey,
    /// A signature that does not fit the negotiated suite.
    #[error("signature does not fit the suite")]
    SignatureDoesNotFitSuite,
}

/// A handshake message the state does not allow (alert `unexpected_message`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum UnexpectedMessage {
    /// The transcript would grow past any genuine handshake's size.
    #[error("handshake longer than any genuine one")]
    HandshakeTooLong,
    /// A handshake message of this type (RFC 5246 §7.4) that the state does not allow.
    #[error("handshake message type {got} not allowed in this state")]
    NotAllowed {
        /// The message's `HandshakeType`.
        got: u8,
    },
    /// The client's Finished before its CertificateVerify.
    #[error("Finished before CertificateVerify")]
    FinishedBeforeCertificateVerify,
    /// A signature before the certificate whose key checks it.
    #[error("signature before certificate")]
    SignatureBeforeCertificate,
    /// A message that needs the negotiated suite before one was chosen.
    #[error("no suite")]
    NoSuite,
    /// A message that needs a key exchange before one started.
    #[error("no key exchange in progress")]
    NoKeyExchange,
    /// ServerHelloDone before ServerKeyExchange.
    #[error("ServerHelloDone before ServerKeyExchange")]
    ServerHelloDoneBeforeServerKeyExchange,
    /// ServerHelloDone before Certificate.
    #[error("ServerHelloDone before Certificate")]
    ServerHelloDoneBeforeCertificate,
}
