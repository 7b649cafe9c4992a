//! The parameters ORTC peers exchange, with serde forms whose JSON field names are those
//! of aiortc's dataclasses (`RTCIceParameters`, `RTCIceCandidate`, `RTCDtlsParameters`,
//! `RTCDtlsFingerprint`, `RTCSctpCapabilities`, `RTCDataChannelParameters`), so the two
//! stacks can hand them to each other as JSON.

use serde::{Deserialize, Serialize};

use super::OrtcError;
use crate::datachannel::DataChannelInit;
use crate::dtls::Fingerprint;
use crate::ice::{Candidate, IceCredentials};

/// `RTCIceParameters`: what the remote ICE agent needs to check connectivity with us.
///
/// ```
/// use sansrtc::ortc::IceParameters;
/// let p: IceParameters = serde_json::from_str(
///     r#"{"usernameFragment": "abcd", "password": "0123456789abcdefghijkl", "iceLite": false}"#,
/// ).unwrap();
/// assert_eq!(p.username_fragment, "abcd");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceParameters {
    /// `ice-ufrag`.
    pub username_fragment: String,
    /// `ice-pwd`.
    pub password: String,
    /// Whether the agent is ICE-lite.
    #[serde(default)]
    pub ice_lite: bool,
}

impl From<&IceCredentials> for IceParameters {
    fn from(c: &IceCredentials) -> Self {
        IceParameters {
            username_fragment: c.ufrag.clone(),
            password: c.pwd.clone(),
            ice_lite: c.lite,
        }
    }
}

impl From<&IceParameters> for IceCredentials {
    fn from(p: &IceParameters) -> Self {
        IceCredentials {
            ufrag: p.username_fragment.clone(),
            pwd: p.password.clone(),
            lite: p.ice_lite,
        }
    }
}

/// `RTCIceCandidate` as aiortc spells it (fields rather than an SDP line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// Component (1: RTP, the only one with bundle and rtcp-mux).
    pub component: u16,
    /// Foundation.
    pub foundation: String,
    /// Address.
    pub ip: String,
    /// Port.
    pub port: u16,
    /// Priority.
    pub priority: u32,
    /// `udp` or `tcp`.
    pub protocol: String,
    /// `host`, `srflx`, `prflx` or `relay`.
    #[serde(rename = "type")]
    pub candidate_type: String,
    /// Related address (reflexive and relayed candidates).
    #[serde(default)]
    pub related_address: Option<String>,
    /// Related port.
    #[serde(default)]
    pub related_port: Option<u16>,
    /// Media stream identification (SDP only).
    #[serde(default)]
    pub sdp_mid: Option<String>,
    /// Media line index (SDP only).
    #[serde(default)]
    pub sdp_m_line_index: Option<u16>,
    /// `active`, `passive` or `so` for TCP candidates.
    #[serde(default)]
    pub tcp_type: Option<String>,
}

impl IceCandidate {
    /// The SDP `candidate:` attribute value this candidate is (RFC 8839 §5.1).
    pub fn to_sdp_string(&self) -> String {
        let mut s = format!(
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.protocol,
            self.priority,
            self.ip,
            self.port,
            self.candidate_type
        );
        if let (Some(a), Some(p)) = (&self.related_address, self.related_port) {
            s.push_str(&format!(" raddr {a} rport {p}"));
        }
        if let Some(t) = &self.tcp_type {
            s.push_str(&format!(" tcptype {t}"));
        }
        s
    }

    /// Parse an SDP `candidate:` attribute value.
    pub fn from_sdp_string(s: &str) -> Result<Self, OrtcError> {
        let c = Candidate::from_sdp_string(s)?;
        Ok(Self::from(&c))
    }
}

impl From<&Candidate> for IceCandidate {
    fn from(c: &Candidate) -> Self {
        // The SDP form is the one place that knows every field; read it back.
        let line = c.to_sdp_string();
        let line = line.strip_prefix("a=").unwrap_or(&line);
        let words: Vec<&str> = line.split_whitespace().collect();
        let after = |key: &str| {
            words
                .iter()
                .position(|w| *w == key)
                .and_then(|i| words.get(i + 1))
                .map(|w| w.to_string())
        };
        IceCandidate {
            component: c.component(),
            foundation: c.foundation().to_string(),
            ip: c.address().ip().to_string(),
            port: c.address().port(),
            priority: c.priority(),
            protocol: c.protocol().as_str().to_ascii_lowercase(),
            candidate_type: c.kind().as_str().to_string(),
            related_address: c.related_address().map(|a| a.ip().to_string()),
            related_port: c.related_address().map(|a| a.port()),
            sdp_mid: None,
            sdp_m_line_index: None,
            tcp_type: after("tcptype"),
        }
    }
}

impl TryFrom<&IceCandidate> for Candidate {
    type Error = OrtcError;

    fn try_from(c: &IceCandidate) -> Result<Self, OrtcError> {
        Ok(Candidate::from_sdp_string(&c.to_sdp_string())?)
    }
}

/// `RTCDtlsFingerprint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtlsFingerprint {
    /// Hash function name as in SDP (`sha-256`).
    pub algorithm: String,
    /// Upper-case hex bytes joined by colons.
    pub value: String,
}

impl From<&Fingerprint> for DtlsFingerprint {
    fn from(f: &Fingerprint) -> Self {
        DtlsFingerprint {
            algorithm: f.algorithm.sdp_name().to_string(),
            value: f.hex_value(),
        }
    }
}

impl TryFrom<&DtlsFingerprint> for Fingerprint {
    type Error = OrtcError;

    fn try_from(f: &DtlsFingerprint) -> Result<Self, OrtcError> {
        Ok(Fingerprint::from_parts(&f.algorithm, &f.value)?)
    }
}

/// `RTCDtlsRole`: which end starts the handshake. `Auto` follows the ICE role (ICE
/// controlled → DTLS client, controlling → DTLS server), as ORTC and aiortc do.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtlsRoleParam {
    /// Decided by the ICE role.
    #[default]
    Auto,
    /// Send the ClientHello.
    Client,
    /// Answer it.
    Server,
}

/// `RTCDtlsParameters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtlsParameters {
    /// Fingerprints of the certificates the end may present.
    pub fingerprints: Vec<DtlsFingerprint>,
    /// Its role.
    #[serde(default)]
    pub role: DtlsRoleParam,
}

impl DtlsParameters {
    /// Our parameters for these certificates: their SHA-256 fingerprints, role `auto`.
    pub fn for_certificates(
        certificates: &[crate::dtls::DtlsCertificate],
        provider: &dyn crate::crypto::CryptoProvider,
    ) -> Self {
        DtlsParameters {
            fingerprints: certificates
                .iter()
                .map(|c| (&c.fingerprint(provider, crate::crypto::HashAlgorithm::Sha256)).into())
                .collect(),
            role: DtlsRoleParam::Auto,
        }
    }
}

/// `RTCSctpCapabilities`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SctpCapabilities {
    /// Largest message the end accepts.
    pub max_message_size: u64,
}

/// `RTCDataChannelParameters`: how a data channel is opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataChannelParameters {
    /// Label.
    #[serde(default)]
    pub label: String,
    /// Give up on a message after this many milliseconds.
    #[serde(default)]
    pub max_packet_life_time: Option<u16>,
    /// Give up on a message after this many retransmissions.
    #[serde(default)]
    pub max_retransmits: Option<u16>,
    /// In-order delivery.
    #[serde(default = "yes")]
    pub ordered: bool,
    /// Subprotocol.
    #[serde(default)]
    pub protocol: String,
    /// Agreed out of band (no DCEP), with `id` set on both ends.
    #[serde(default)]
    pub negotiated: bool,
    /// Stream id (required when negotiated).
    #[serde(default)]
    pub id: Option<u16>,
}

impl From<&crate::sctp::SctpConfig> for SctpCapabilities {
    fn from(cfg: &crate::sctp::SctpConfig) -> Self {
        SctpCapabilities {
            max_message_size: cfg.max_receive_message_size as u64,
        }
    }
}

fn yes() -> bool {
    true
}

impl Default for DataChannelParameters {
    fn default() -> Self {
        DataChannelParameters {
            label: String::new(),
            max_packet_life_time: None,
            max_retransmits: None,
            ordered: true,
            protocol: String::new(),
            negotiated: false,
            id: None,
        }
    }
}

impl DataChannelParameters {
    /// A reliable, ordered channel with this label.
    pub fn new(label: &str) -> Self {
        DataChannelParameters {
            label: label.to_string(),
            ..Default::default()
        }
    }

    pub(crate) fn init(&self) -> DataChannelInit {
        DataChannelInit {
            ordered: self.ordered,
            max_retransmits: self.max_retransmits,
            max_packet_life_time: self.max_packet_life_time,
            protocol: self.protocol.clone(),
            negotiated: self.negotiated,
            id: self.id,
            ..Default::default()
        }
    }
}
