//! The parameters ORTC peers exchange, with serde forms whose JSON field names are those
//! of aiortc's dataclasses (`RTCIceParameters`, `RTCIceCandidate`, `RTCDtlsParameters`,
//! `RTCDtlsFingerprint`, `RTCSctpCapabilities`, `RTCDataChannelParameters`), so the two
//! stacks can hand them to each other as JSON.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::OrtcError;
use crate::datachannel::DataChannelInit;
use crate::dtls::Fingerprint;
use crate::ice::{
    Candidate, CandidateKind, IceCredentials, IceError, TcpType, protocol_from_token,
};
use crate::io::Protocol;

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
        IceCandidate {
            component: c.component(),
            foundation: c.foundation().to_string(),
            ip: c.address().ip().to_string(),
            port: c.address().port(),
            priority: c.priority(),
            protocol: c.protocol().as_str().to_string(),
            candidate_type: c.kind().as_str().to_string(),
            related_address: c.related_address().map(|a| a.ip().to_string()),
            related_port: c.related_address().map(|a| a.port()),
            sdp_mid: None,
            sdp_m_line_index: None,
            tcp_type: c.tcp_type().map(|t| t.as_str().to_string()),
        }
    }
}

/// `InvalidParameters` naming the candidate field (as aiortc's JSON spells it) that is wrong.
fn invalid_field(field: &str, why: impl std::fmt::Display) -> OrtcError {
    OrtcError::InvalidParameters(format!("candidate {field}: {why}"))
}

/// An address field: ORTC carries IP literals only. An mDNS name (RFC 8839 §5.1 allows
/// them in SDP) needs a resolver, which is the caller's, not this sans-IO crate's.
fn parse_ip(field: &str, value: &str) -> Result<IpAddr, OrtcError> {
    value.parse().map_err(|_| {
        if value.ends_with(".local") {
            invalid_field(
                field,
                format!("mDNS hostname {value:?} must be resolved by the caller"),
            )
        } else {
            invalid_field(field, format!("{value:?} is not an IP address"))
        }
    })
}

impl TryFrom<&IceCandidate> for Candidate {
    type Error = OrtcError;

    /// Field by field; every refusal is `InvalidParameters` naming the field.
    fn try_from(c: &IceCandidate) -> Result<Self, OrtcError> {
        let protocol = protocol_from_token(&c.protocol).ok_or_else(|| {
            invalid_field("protocol", format!("{:?} is not udp or tcp", c.protocol))
        })?;
        let kind = CandidateKind::from_token(&c.candidate_type).ok_or_else(|| {
            invalid_field(
                "type",
                format!("{:?} is not host, srflx, prflx or relay", c.candidate_type),
            )
        })?;
        let tcp_type = match c.tcp_type.as_deref() {
            None => None,
            Some(_) if protocol != Protocol::Tcp => {
                return Err(invalid_field("tcpType", "set on a udp candidate"));
            }
            Some(t) => Some(TcpType::from_token(t).ok_or_else(|| {
                invalid_field("tcpType", format!("{t:?} is not active, passive or so"))
            })?),
        };
        let ip = parse_ip("ip", &c.ip)?;
        // Nothing can be sent to port 0; only an active TCP candidate, which never
        // accepts connections, has no port to reach (RFC 6544 §4.5).
        if c.port == 0 && tcp_type != Some(TcpType::Active) {
            return Err(invalid_field("port", "0 cannot be reached"));
        }
        // Port 0 is fine here: browsers hide the base as `0.0.0.0` port 0 (RFC 8828 §5.2).
        let related_address = match (&c.related_address, c.related_port) {
            (None, None) => None,
            (Some(a), Some(p)) => Some(SocketAddr::new(parse_ip("relatedAddress", a)?, p)),
            (Some(_), None) => {
                return Err(invalid_field(
                    "relatedPort",
                    "missing beside relatedAddress",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid_field(
                    "relatedAddress",
                    "missing beside relatedPort",
                ));
            }
        };
        let named = |e: IceError| match e {
            // The ICE layer's message starts with the field it refused.
            IceError::InvalidCandidate(why) => {
                OrtcError::InvalidParameters(format!("candidate {why}"))
            }
            e => OrtcError::Ice(e),
        };
        Candidate::remote(
            &c.foundation,
            c.component,
            protocol,
            c.priority,
            SocketAddr::new(ip, c.port),
            kind,
        )
        .map_err(named)?
        .with_related_address(related_address)
        .with_tcp_type(tcp_type)
        .map_err(named)
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

    /// The parameters of a channel made with `createDataChannel(label, init)`.
    pub fn for_init(label: &str, init: &DataChannelInit) -> Self {
        DataChannelParameters {
            label: label.to_owned(),
            max_packet_life_time: init.max_packet_life_time,
            max_retransmits: init.max_retransmits,
            ordered: init.ordered,
            protocol: init.protocol.clone(),
            negotiated: init.negotiated,
            id: init.id,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn round_trip(c: &Candidate) -> Candidate {
        let ortc = IceCandidate::from(c);
        // Through JSON too: the shape aiortc reads and writes.
        let json = serde_json::to_string(&ortc).unwrap();
        let back: IceCandidate = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ortc);
        Candidate::try_from(&back).unwrap()
    }

    /// A remote candidate equal to `c` as signalled: its base is its address.
    fn as_remote(c: &Candidate) -> Candidate {
        Candidate::remote(
            c.foundation(),
            c.component(),
            c.protocol(),
            c.priority(),
            c.address(),
            c.kind(),
        )
        .unwrap()
        .with_related_address(c.related_address())
        .with_tcp_type(c.tcp_type())
        .unwrap()
    }

    #[test]
    fn every_kind_round_trips() {
        let base = addr("10.0.0.2:5000");
        let server = addr("198.51.100.9:3478");
        for c in [
            Candidate::host(addr("192.0.2.1:5000"), Protocol::Udp),
            Candidate::host(addr("[2001:db8::1]:5000"), Protocol::Udp),
            Candidate::server_reflexive(addr("203.0.113.7:61665"), base, server, Protocol::Udp),
            Candidate::peer_reflexive(addr("203.0.113.8:4000"), base, 1_845_501_695, Protocol::Udp),
            Candidate::relayed(addr("198.51.100.9:50000"), base, server, Protocol::Udp),
            Candidate::host(addr("192.0.2.1:9000"), Protocol::Tcp),
        ] {
            let back = round_trip(&c);
            assert_eq!(back, as_remote(&c), "{c}");
            assert_eq!(back.to_sdp_string(), c.to_sdp_string());
        }
    }

    #[test]
    fn tcp_types_round_trip() {
        for (t, port) in [
            (TcpType::Active, 0),
            (TcpType::Passive, 9000),
            (TcpType::SimultaneousOpen, 9001),
        ] {
            let c = Candidate::remote(
                "7",
                1,
                Protocol::Tcp,
                1_518_280_447,
                SocketAddr::new("192.0.2.1".parse().unwrap(), port),
                CandidateKind::Host,
            )
            .unwrap()
            .with_tcp_type(Some(t))
            .unwrap();
            assert_eq!(IceCandidate::from(&c).tcp_type.as_deref(), Some(t.as_str()));
            assert_eq!(round_trip(&c), c);
        }
    }

    #[test]
    fn json_shape_is_aiortcs() {
        let c = Candidate::server_reflexive(
            addr("203.0.113.7:61665"),
            addr("10.0.0.2:61665"),
            addr("198.51.100.9:3478"),
            Protocol::Udp,
        );
        let v = serde_json::to_value(IceCandidate::from(&c)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "component": 1,
                "foundation": c.foundation(),
                "ip": "203.0.113.7",
                "port": 61665,
                "priority": c.priority(),
                "protocol": "udp",
                "type": "srflx",
                "relatedAddress": "10.0.0.2",
                "relatedPort": 61665,
                "sdpMid": null,
                "sdpMLineIndex": null,
                "tcpType": null,
            })
        );
    }

    fn aiortc_host() -> IceCandidate {
        serde_json::from_str(
            r#"{"component": 1, "foundation": "a1b2", "ip": "127.0.0.1", "port": 50000,
                "priority": 2130706431, "protocol": "udp", "type": "host",
                "relatedAddress": null, "relatedPort": null, "sdpMid": null,
                "sdpMLineIndex": null, "tcpType": null}"#,
        )
        .unwrap()
    }

    #[test]
    fn aiortc_candidate_is_accepted() {
        let c = Candidate::try_from(&aiortc_host()).unwrap();
        assert_eq!(c.address(), addr("127.0.0.1:50000"));
        assert_eq!(c.kind(), CandidateKind::Host);
        assert_eq!(c.foundation(), "a1b2");
        assert_eq!(c.priority(), 2130706431);
    }

    /// One way to make a good candidate bad.
    type Spoil = fn(&mut IceCandidate);

    #[test]
    fn a_bad_candidate_names_its_field() {
        let cases: [(&str, Spoil); 12] = [
            ("type", |c| c.candidate_type = "bogus".into()),
            ("protocol", |c| c.protocol = "sctp".into()),
            ("ip", |c| c.ip = "not-an-ip".into()),
            ("ip", |c| c.ip = "abcd.local".into()),
            ("port", |c| c.port = 0),
            ("foundation", |c| c.foundation = String::new()),
            ("foundation", |c| c.foundation = "a b".into()),
            ("component", |c| c.component = 0),
            ("tcpType", |c| c.tcp_type = Some("active".into())),
            ("relatedAddress", |c| {
                c.related_address = Some("10.0.0.256".into());
                c.related_port = Some(1);
            }),
            ("relatedPort", |c| {
                c.related_address = Some("10.0.0.2".into())
            }),
            ("tcpType", |c| {
                c.protocol = "tcp".into();
                c.tcp_type = Some("sideways".into());
            }),
        ];
        for (field, spoil) in cases {
            let mut c = aiortc_host();
            spoil(&mut c);
            match Candidate::try_from(&c) {
                Err(OrtcError::InvalidParameters(why)) => {
                    assert!(why.contains(field), "{field}: {why}")
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
