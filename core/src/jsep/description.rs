//! What JSEP reads from and writes into a session description (RFC 9429 §5.2, §5.3,
//! §5.8–5.9): per media section its kind, port, proto and formats, mid, ICE credentials
//! and options, fingerprints, `a=setup`, the SCTP attributes and candidates — session-level
//! attributes applied to every section that does not set its own. Everything else stays
//! in the text, which the SDP layer keeps whole.

use serde::{Deserialize, Serialize};

use super::{JsepError, SdpType};
use crate::ortc::DtlsFingerprint;
pub(crate) use crate::sdp::Setup;
use crate::sdp::{
    Group, IceOptions, MaxMessageSize, Media, MediaSection, Origin, SctpPort, Sctpmap,
    SessionDescription,
};

/// `RTCIceCandidateInit`: a trickled candidate as signaling carries it, in the W3C
/// JSON form (`{"candidate": "candidate:…", "sdpMid": "0", "sdpMLineIndex": 0}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidateInit {
    /// The `candidate:` attribute value; empty for end-of-candidates.
    #[serde(default)]
    pub candidate: String,
    /// The mid of the section it belongs to.
    #[serde(default)]
    pub sdp_mid: Option<String>,
    /// The index of the section it belongs to.
    #[serde(default)]
    pub sdp_m_line_index: Option<u16>,
    /// The ICE ufrag it belongs to (tells an ICE restart's candidates apart).
    #[serde(default)]
    pub username_fragment: Option<String>,
}

/// One media section as JSEP sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub(crate) media: String,
    /// 0: rejected (or, in a bundle, an `a=bundle-only` section).
    pub(crate) port: u16,
    pub(crate) proto: String,
    pub(crate) formats: Vec<String>,
    pub(crate) mid: Option<String>,
    pub(crate) ufrag: Option<String>,
    pub(crate) pwd: Option<String>,
    pub(crate) ice_options: Vec<String>,
    pub(crate) fingerprints: Vec<DtlsFingerprint>,
    pub(crate) setup: Option<Setup>,
    pub(crate) sctp_port: Option<u16>,
    /// Legacy `a=sctpmap:<port> webrtc-datachannel <streams>` (draft-ietf-mmusic-sctp-sdp-05).
    pub(crate) sctpmap: Option<u16>,
    pub(crate) max_message_size: Option<u64>,
    /// `candidate:` attribute values.
    pub(crate) candidates: Vec<String>,
    pub(crate) end_of_candidates: bool,
}

impl Section {
    pub(crate) fn new(media: &str, port: u16, proto: &str) -> Section {
        Section {
            media: media.into(),
            port,
            proto: proto.into(),
            formats: Vec::new(),
            mid: None,
            ufrag: None,
            pwd: None,
            ice_options: Vec::new(),
            fingerprints: Vec::new(),
            setup: None,
            sctp_port: None,
            sctpmap: None,
            max_message_size: None,
            candidates: Vec::new(),
            end_of_candidates: false,
        }
    }

    /// A data channel section: SCTP over DTLS (RFC 8841), in the current or the legacy
    /// form.
    pub(crate) fn is_data(&self) -> bool {
        self.media == "application"
            && (self.proto.eq_ignore_ascii_case("UDP/DTLS/SCTP")
                || self.proto.eq_ignore_ascii_case("TCP/DTLS/SCTP")
                || self.proto.eq_ignore_ascii_case("DTLS/SCTP"))
    }

    /// This section answered as rejected (JSEP §5.3.1: port 0, the offered proto and a
    /// format, the mid kept).
    pub(crate) fn rejected(&self) -> Section {
        let mut s = Section::new(&self.media, 0, &self.proto);
        s.formats = self.formats.iter().take(1).cloned().collect();
        if s.formats.is_empty() {
            s.formats.push("0".into());
        }
        s.mid = self.mid.clone();
        s
    }
}

/// A description as JSEP sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Description {
    pub(crate) sdp_type: SdpType,
    pub(crate) session_id: u64,
    pub(crate) session_version: u64,
    /// `a=group:BUNDLE` mids.
    pub(crate) bundle: Vec<String>,
    pub(crate) ice_lite: bool,
    pub(crate) sections: Vec<Section>,
    /// The text it was read from (kept to hand back as the description).
    pub(crate) text: String,
}

impl Description {
    pub(crate) fn to_init(&self) -> super::RtcSessionDescription {
        super::RtcSessionDescription::new(self.sdp_type, self.text.clone())
    }

    /// Whether the peer takes trickled candidates (`a=ice-options:trickle`).
    pub(crate) fn trickle(&self) -> bool {
        self.sections
            .iter()
            .any(|s| s.ice_options.iter().any(|o| o == "trickle"))
    }

    /// The section whose transport carries everything (the bundle's first, else the
    /// first accepted).
    pub(crate) fn transport_section(&self) -> Option<&Section> {
        let first_bundled = self.bundle.first();
        self.sections
            .iter()
            .find(|s| s.port != 0 && first_bundled.is_some_and(|m| s.mid.as_ref() == Some(m)))
            .or_else(|| self.sections.iter().find(|s| s.port != 0))
    }

    /// A remote description the transports can run on: each accepted section has ICE
    /// credentials, a fingerprint and (for data) an SCTP port; names what is missing.
    pub(crate) fn check_usable(&self) -> Result<(), JsepError> {
        // Every section can be answered, if only rejected: its media, proto, first format
        // and mid write back into well-formed lines (the parser reads more than a
        // builder writes).
        let probe = Description {
            sections: self.sections.iter().map(Section::rejected).collect(),
            bundle: Vec::new(),
            text: String::new(),
            ..self.clone()
        };
        if let Err(e) = to_sdp(&probe) {
            return Err(JsepError::InvalidDescription(format!(
                "a media section cannot be answered: {e}"
            )));
        }
        for (i, s) in self.sections.iter().enumerate() {
            if s.port == 0 {
                continue;
            }
            let name = match &s.mid {
                Some(m) => format!("media section {i} (mid {m})"),
                None => format!("media section {i}"),
            };
            if s.ufrag.is_none() || s.pwd.is_none() {
                return Err(JsepError::InvalidDescription(format!(
                    "{name} has no a=ice-ufrag/a=ice-pwd"
                )));
            }
            if s.fingerprints.is_empty() {
                return Err(JsepError::InvalidDescription(format!(
                    "{name} has no a=fingerprint"
                )));
            }
            for f in &s.fingerprints {
                if let Err(e) = crate::dtls::Fingerprint::try_from(f) {
                    return Err(JsepError::InvalidDescription(format!(
                        "{name}: a=fingerprint {} cannot be used: {e}",
                        f.algorithm
                    )));
                }
            }
            if self.sdp_type != SdpType::Offer && s.setup == Some(Setup::Actpass) {
                return Err(JsepError::InvalidDescription(format!(
                    "{name}: an answer's a=setup must be active or passive, not actpass"
                )));
            }
        }
        Ok(())
    }

    /// Reads what JSEP needs from SDP text.
    pub(crate) fn parse(sdp_type: SdpType, text: &str) -> Result<Description, JsepError> {
        let sdp = SessionDescription::parse(text)?;
        from_sdp(sdp_type, &sdp, text)
    }

    /// Writes a description of ours as SDP text. Refused when a value taken from the
    /// remote offer (a rejected section's media, proto, format or mid) cannot be written
    /// back into a well-formed line.
    pub(crate) fn write(&self) -> Result<String, JsepError> {
        Ok(to_sdp(self)?.to_string())
    }
}

fn from_sdp(
    sdp_type: SdpType,
    sdp: &SessionDescription,
    text: &str,
) -> Result<Description, JsepError> {
    let origin = sdp.origin()?;
    // Session-level transport attributes apply to every section that has none of its
    // own (RFC 8839 §5.4, RFC 8122 §5, RFC 4145 §4).
    let session_ufrag = sdp.attribute_value("ice-ufrag");
    let session_pwd = sdp.attribute_value("ice-pwd");
    let session_options = sdp.first::<IceOptions>().transpose()?;
    let session_fingerprints = fingerprints(sdp.attribute_values("fingerprint"))?;
    let session_setup = sdp.first::<Setup>().transpose()?;
    let mut bundle = Vec::new();
    for g in sdp.typed::<Group>() {
        let g = g?;
        if g.semantics.eq_ignore_ascii_case("BUNDLE") && bundle.is_empty() {
            bundle = g.mids;
        }
    }
    let mut sections = Vec::with_capacity(sdp.media_sections().len());
    for m in sdp.media_sections() {
        let media = m.media();
        let mut s = Section::new(&media.media, media.port, &media.proto);
        s.formats = media.formats.clone();
        s.mid = m.mid().map(str::to_owned);
        s.ufrag = m
            .attribute_value("ice-ufrag")
            .or(session_ufrag)
            .map(str::to_owned);
        s.pwd = m
            .attribute_value("ice-pwd")
            .or(session_pwd)
            .map(str::to_owned);
        s.ice_options = match m.first::<IceOptions>().transpose()? {
            Some(o) => o.0,
            None => session_options.clone().map(|o| o.0).unwrap_or_default(),
        };
        s.fingerprints = fingerprints(m.attribute_values("fingerprint"))?;
        if s.fingerprints.is_empty() {
            s.fingerprints = session_fingerprints.clone();
        }
        s.setup = m.first::<Setup>().transpose()?.or(session_setup);
        s.sctp_port = m.first::<SctpPort>().transpose()?.map(|p| p.0);
        s.sctpmap = m.first::<Sctpmap>().transpose()?.map(|p| p.port);
        s.max_message_size = m.first::<MaxMessageSize>().transpose()?.map(|p| p.0);
        s.candidates = m
            .attribute_values("candidate")
            .map(|c| format!("candidate:{c}"))
            .collect();
        s.end_of_candidates = m.end_of_candidates() || sdp.has_attribute("end-of-candidates");
        sections.push(s);
    }
    Ok(Description {
        sdp_type,
        session_id: origin.session_id,
        session_version: origin.session_version,
        bundle,
        ice_lite: sdp.ice_lite(),
        sections,
        text: text.to_owned(),
    })
}

/// `a=fingerprint` values, checked (RFC 8122 §5: a known hash and a digest of its size).
fn fingerprints<'a>(
    values: impl Iterator<Item = &'a str>,
) -> Result<Vec<DtlsFingerprint>, JsepError> {
    values
        .map(|v| {
            let f = <crate::sdp::Fingerprint as crate::sdp::AttributeValue>::parse_value(v)?;
            let hex: Vec<String> = f.bytes.iter().map(|b| format!("{b:02X}")).collect();
            Ok(DtlsFingerprint {
                algorithm: f.hash_function.as_str().to_owned(),
                value: hex.join(":"),
            })
        })
        .collect()
}

fn to_sdp(d: &Description) -> Result<SessionDescription, crate::sdp::SdpError> {
    let origin = Origin {
        username: "-".into(),
        session_id: d.session_id,
        session_version: d.session_version,
        nettype: "IN".into(),
        addrtype: "IP4".into(),
        address: "127.0.0.1".into(),
    };
    let mut sdp = SessionDescription::new(&origin)?;
    if !d.bundle.is_empty() {
        sdp.push(&Group {
            semantics: "BUNDLE".into(),
            mids: d.bundle.clone(),
        })?;
    }
    if d.ice_lite {
        sdp.push_attribute("ice-lite", None)?;
    }
    for s in &d.sections {
        let m = sdp.push_media(Media {
            media: s.media.clone(),
            port: s.port,
            port_count: None,
            proto: s.proto.clone(),
            formats: s.formats.clone(),
        })?;
        write_section(m, s)?;
    }
    Ok(sdp)
}

fn write_section(m: &mut MediaSection, s: &Section) -> Result<(), crate::sdp::SdpError> {
    m.push_line(crate::sdp::Line::new('c', "IN IP4 0.0.0.0")?)?;
    if let Some(mid) = &s.mid {
        m.push_attribute("mid", Some(mid))?;
    }
    if s.port == 0 {
        return Ok(());
    }
    if let (Some(u), Some(p)) = (&s.ufrag, &s.pwd) {
        m.push_attribute("ice-ufrag", Some(u))?;
        m.push_attribute("ice-pwd", Some(p))?;
    }
    if !s.ice_options.is_empty() {
        m.push(&IceOptions(s.ice_options.clone()))?;
    }
    for f in &s.fingerprints {
        m.push_attribute("fingerprint", Some(&format!("{} {}", f.algorithm, f.value)))?;
    }
    if let Some(setup) = s.setup {
        m.push(&setup)?;
    }
    if let Some(port) = s.sctp_port {
        m.push(&SctpPort(port))?;
    }
    if let Some(port) = s.sctpmap {
        m.push(&Sctpmap {
            port,
            protocol: "webrtc-datachannel".into(),
            streams: Some(1024),
        })?;
    }
    if let Some(max) = s.max_message_size {
        m.push(&MaxMessageSize(max))?;
    }
    for c in &s.candidates {
        let value = c.strip_prefix("candidate:").unwrap_or(c);
        m.push_attribute("candidate", Some(value))?;
    }
    if s.end_of_candidates {
        m.push_attribute("end-of-candidates", None)?;
    }
    Ok(())
}
