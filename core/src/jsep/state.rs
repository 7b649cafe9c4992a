//! What JSEP keeps in the engine, and what each `RTCPeerConnection` call does to it.

use super::description::{Description, IceCandidateInit, Section, Setup};
use super::signaling::{Side, may_create, next_state};
use super::{JsepError, PeerConnectionState, RtcSessionDescription, SdpType, SignalingState};
use crate::datachannel::{ChannelId, DataChannelInit};
use crate::dtls::DtlsRole;
use crate::engine::{DtlsTransportState, Engine, Event};
use crate::ice::{IceConnectionState, IceGatheringState};
use crate::ortc::{
    DataChannelParameters, DtlsParameters, DtlsRoleParam, IceCandidate, IceParameters, IceRole,
    SctpCapabilities,
};
use crate::rng::Rng;

/// The SCTP port browsers and aiortc use; ours unless the engine was built with another.
const DEFAULT_SCTP_PORT: u16 = 5000;

/// RFC 8841 §6.1: with no `a=max-message-size` the peer takes 64 KiB.
const DEFAULT_MAX_MESSAGE_SIZE: u64 = 65536;

/// The engine's JSEP state: the signaling state, the four descriptions, and what the
/// next offer must carry.
#[derive(Debug)]
pub(crate) struct JsepPart {
    pub(crate) signaling: SignalingState,
    pub(crate) pending_local: Option<Description>,
    pub(crate) current_local: Option<Description>,
    pub(crate) pending_remote: Option<Description>,
    pub(crate) current_remote: Option<Description>,
    /// The remote description's `a=ice-options:trickle`, once there is one.
    pub(crate) remote_trickle: Option<bool>,
    /// A change awaits an exchange (`negotiationneeded`).
    pub(crate) negotiation_needed: bool,
    /// A data channel exists: offers carry the data section.
    want_data: bool,
    /// `o=` session id (RFC 8866 §5.2: random) and the version each new offer or answer
    /// of ours raises.
    session_id: u64,
    session_version: u64,
    /// The text of the offer or answer last created: only it may be set locally.
    last_created: Option<(SdpType, String)>,
    /// ICE was started (with the remote credentials): candidates go straight to it.
    ice_started: bool,
    /// Remote candidates that came before ICE could take them.
    early_candidates: Vec<Option<IceCandidate>>,
    /// Remote candidates ICE cannot use (mDNS names, TCP), skipped.
    pub(crate) skipped_candidates: u64,
    closed: bool,
}

impl JsepPart {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = Rng::from_seed(seed);
        JsepPart {
            signaling: SignalingState::Stable,
            pending_local: None,
            current_local: None,
            pending_remote: None,
            current_remote: None,
            remote_trickle: None,
            negotiation_needed: false,
            want_data: false,
            // 62 bits: positive as a signed 64-bit number, as JSEP §5.2.1 asks.
            session_id: rng.u64() >> 2,
            session_version: 0,
            last_created: None,
            ice_started: false,
            early_candidates: Vec::new(),
            skipped_candidates: 0,
            closed: false,
        }
    }

    /// The description the transports run on: the local one of the last complete
    /// exchange, else the pending one.
    fn local(&self) -> Option<&Description> {
        self.current_local.as_ref().or(self.pending_local.as_ref())
    }

    pub(crate) fn candidate_init(&self, c: &IceCandidate) -> IceCandidateInit {
        // Everything is bundled on the first section's transport.
        let mid = self
            .local()
            .and_then(|d| d.sections.first())
            .and_then(|s| s.mid.clone());
        IceCandidateInit {
            candidate: c.to_sdp_string(),
            sdp_mid: mid,
            sdp_m_line_index: Some(0),
            username_fragment: None,
        }
    }

    fn set_signaling(
        &mut self,
        state: SignalingState,
        events: &mut std::collections::VecDeque<Event>,
    ) {
        if self.signaling != state {
            self.signaling = state;
            events.push_back(Event::SignalingStateChange(state));
        }
    }
}

pub(crate) fn connection_state(e: &Engine) -> PeerConnectionState {
    if e.jsep.closed {
        return PeerConnectionState::Closed;
    }
    let ice = e.ice_transport().state();
    let dtls = e.dtls_transport().state();
    match (ice, dtls) {
        (IceConnectionState::Failed, _) | (_, DtlsTransportState::Failed) => {
            PeerConnectionState::Failed
        }
        (IceConnectionState::Disconnected, _) => PeerConnectionState::Disconnected,
        (
            IceConnectionState::Connected | IceConnectionState::Completed,
            DtlsTransportState::Connected,
        ) => PeerConnectionState::Connected,
        (IceConnectionState::New, DtlsTransportState::New) => PeerConnectionState::New,
        _ => PeerConnectionState::Connecting,
    }
}

fn check_open(e: &Engine) -> Result<(), JsepError> {
    if e.jsep.closed {
        Err(JsepError::Closed)
    } else {
        Ok(())
    }
}

/// Our transport attributes on a section: credentials, fingerprints, candidates.
fn our_transport(e: &Engine, s: &mut Section, setup: Setup, with_candidates: bool) {
    let ice = e.ice_gatherer().local_parameters();
    s.ufrag = Some(ice.username_fragment);
    s.pwd = Some(ice.password);
    s.ice_options = vec!["trickle".into()];
    s.fingerprints = e.dtls_transport().local_parameters().fingerprints;
    s.setup = Some(setup);
    s.candidates.clear();
    s.end_of_candidates = false;
    if with_candidates {
        s.candidates = e
            .ice_gatherer()
            .local_candidates()
            .iter()
            .map(IceCandidate::to_sdp_string)
            .collect();
        s.end_of_candidates = e.ice_gatherer().state() == IceGatheringState::Complete;
    }
}

/// Our data section: `UDP/DTLS/SCTP webrtc-datachannel` (or the legacy form, answering
/// a peer that offered it).
fn our_data_section(e: &Engine, mid: Option<String>, legacy: bool) -> Section {
    let port = e.sctp_transport().port();
    let max = e.sctp_transport().capabilities().max_message_size;
    let mut s = Section::new(
        "application",
        9,
        if legacy { "DTLS/SCTP" } else { "UDP/DTLS/SCTP" },
    );
    s.formats = vec![if legacy {
        port.to_string()
    } else {
        "webrtc-datachannel".into()
    }];
    s.mid = mid;
    s.sctp_port = (!legacy).then_some(port);
    s.sctpmap = legacy.then_some(port);
    s.max_message_size = Some(max);
    s
}

pub(crate) fn create_offer(e: &mut Engine) -> Result<RtcSessionDescription, JsepError> {
    check_open(e)?;
    may_create(e.jsep.signaling, true)?;
    // The sections negotiated so far keep their place and mid (JSEP §5.2.2); a data
    // section joins when a channel wants one.
    let mut sections: Vec<Section> = match e.jsep.local() {
        Some(d) => d.sections.clone(),
        None => Vec::new(),
    };
    if e.jsep.want_data && !sections.iter().any(|s| s.is_data() && s.port != 0) {
        let used: Vec<&str> = sections.iter().filter_map(|s| s.mid.as_deref()).collect();
        let mid = (0..)
            .map(|n: u32| n.to_string())
            .find(|m| !used.contains(&m.as_str()));
        sections.retain(|s| !s.is_data());
        sections.push(our_data_section(e, mid, false));
    }
    for (i, s) in sections.iter_mut().enumerate() {
        if s.port == 0 {
            continue;
        }
        our_transport(e, s, Setup::Actpass, i == 0);
    }
    created(e, SdpType::Offer, sections, |_| true)
}

/// Our offer or answer from its sections (the accepted ones bundled, those `bundle`
/// admits), written, and remembered as the one that may be set locally.
fn created(
    e: &mut Engine,
    sdp_type: SdpType,
    sections: Vec<Section>,
    bundle: impl Fn(&str) -> bool,
) -> Result<RtcSessionDescription, JsepError> {
    let bundle = sections
        .iter()
        .filter(|s| s.port != 0)
        .filter_map(|s| s.mid.clone())
        .filter(|m| bundle(m))
        .collect();
    e.jsep.session_version += 1;
    let d = Description {
        sdp_type,
        session_id: e.jsep.session_id,
        session_version: e.jsep.session_version,
        bundle,
        ice_lite: e.ice_gatherer().local_parameters().ice_lite,
        sections,
        text: String::new(),
    };
    let text = d.write()?;
    e.jsep.last_created = Some((sdp_type, text.clone()));
    Ok(RtcSessionDescription::new(sdp_type, text))
}

pub(crate) fn create_answer(e: &mut Engine) -> Result<RtcSessionDescription, JsepError> {
    check_open(e)?;
    may_create(e.jsep.signaling, false)?;
    let Some(offer) = e.jsep.pending_remote.clone() else {
        return Err(JsepError::InvalidState {
            operation: "createAnswer",
            what: "answer",
            state: e.jsep.signaling,
        });
    };
    // JSEP §5.3.1: "active" unless the offerer insists on it.
    let mut data_taken = false;
    let mut sections = Vec::with_capacity(offer.sections.len());
    for r in &offer.sections {
        let accept = r.is_data() && r.port != 0 && !data_taken;
        if !accept {
            sections.push(r.rejected());
            continue;
        }
        data_taken = true;
        let setup = match r.setup {
            Some(Setup::Active) => Setup::Passive,
            _ => Setup::Active,
        };
        // The one accepted section is the transport: the candidates ride in it.
        let mut s = our_data_section(e, r.mid.clone(), r.proto == "DTLS/SCTP");
        our_transport(e, &mut s, setup, true);
        sections.push(s);
    }
    created(e, SdpType::Answer, sections, |m| {
        offer.bundle.iter().any(|b| b == m)
    })
}

pub(crate) fn set_local(e: &mut Engine, d: &RtcSessionDescription) -> Result<(), JsepError> {
    check_open(e)?;
    let next = next_state(e.jsep.signaling, Side::Local, d.sdp_type)?;
    if d.sdp_type == SdpType::Rollback {
        e.jsep.pending_local = None;
        e.jsep.set_signaling(next, &mut e.events);
        return Ok(());
    }
    // Only what we created may be set (webrtc-pc §4.4.1.5: no SDP munging); a
    // pranswer is set from a created answer.
    let created = e.jsep.last_created.as_ref().is_some_and(|(kind, text)| {
        let kind_ok =
            *kind == d.sdp_type || (*kind == SdpType::Answer && d.sdp_type == SdpType::Pranswer);
        kind_ok && same_text(text, &d.sdp)
    });
    if !created {
        return Err(JsepError::InvalidModification(format!(
            "the {} is not the one createOffer/createAnswer made last",
            d.sdp_type.as_str()
        )));
    }
    let desc = Description::parse(d.sdp_type, &d.sdp)?;
    match d.sdp_type {
        SdpType::Offer | SdpType::Pranswer => e.jsep.pending_local = Some(desc),
        SdpType::Answer => {
            e.jsep.current_local = Some(desc);
            e.jsep.pending_local = None;
            if let Some(r) = e.jsep.pending_remote.take() {
                e.jsep.current_remote = Some(r);
            }
        }
        SdpType::Rollback => unreachable!("handled above"),
    }
    e.jsep.set_signaling(next, &mut e.events);
    if next == SignalingState::Stable {
        settle(e)?;
    }
    Ok(())
}

pub(crate) fn set_remote(e: &mut Engine, d: &RtcSessionDescription) -> Result<(), JsepError> {
    check_open(e)?;
    let next = next_state(e.jsep.signaling, Side::Remote, d.sdp_type)?;
    if d.sdp_type == SdpType::Rollback {
        e.jsep.pending_remote = None;
        e.jsep.set_signaling(next, &mut e.events);
        return Ok(());
    }
    let desc = Description::parse(d.sdp_type, &d.sdp)?;
    desc.check_usable()?;
    if d.sdp_type == SdpType::Answer {
        // The answer must keep the offer's sections, in order (JSEP §5.10).
        let offer = e.jsep.pending_local.as_ref();
        if offer.is_some_and(|o| o.sections.len() != desc.sections.len()) {
            return Err(JsepError::InvalidDescription(format!(
                "the answer has {} media sections, the offer {}",
                desc.sections.len(),
                offer.map_or(0, |o| o.sections.len())
            )));
        }
    }
    // Everything that can refuse the description is checked before anything changes,
    // so a refused one leaves the state as it was (webrtc-pc §4.4.1.6).
    let section = desc.transport_section();
    let mut candidates = Vec::new();
    for c in section.map(|s| s.candidates.as_slice()).unwrap_or_default() {
        if let Some(c) = parse_candidate(e, c)? {
            candidates.push(c);
        }
    }
    let end = section.is_some_and(|s| s.end_of_candidates);
    e.jsep.remote_trickle = Some(desc.trickle());
    match d.sdp_type {
        SdpType::Offer | SdpType::Pranswer => e.jsep.pending_remote = Some(desc),
        SdpType::Answer => {
            e.jsep.current_remote = Some(desc);
            e.jsep.pending_remote = None;
            if let Some(l) = e.jsep.pending_local.take() {
                e.jsep.current_local = Some(l);
            }
        }
        SdpType::Rollback => unreachable!("handled above"),
    }
    e.jsep.set_signaling(next, &mut e.events);
    for c in candidates {
        queue_candidate(e, Some(c))?;
    }
    if end {
        queue_candidate(e, None)?;
    }
    if next == SignalingState::Stable {
        settle(e)?;
    }
    Ok(())
}

fn same_text(a: &str, b: &str) -> bool {
    // Line endings may change on the way through an application (LF for CRLF).
    a.lines()
        .map(str::trim_end)
        .eq(b.lines().map(str::trim_end))
}

/// An exchange completed: start (or keep) the transports with what was agreed.
fn settle(e: &mut Engine) -> Result<(), JsepError> {
    let (Some(local), Some(remote)) = (e.jsep.current_local.clone(), e.jsep.current_remote.clone())
    else {
        return Ok(());
    };
    let we_offered = local.sdp_type == SdpType::Offer;
    e.jsep.negotiation_needed =
        e.jsep.want_data && !local.sections.iter().any(|s| s.is_data() && s.port != 0);
    let Some(i) = local
        .sections
        .iter()
        .position(|s| s.port != 0)
        .filter(|&i| remote.sections.get(i).is_some_and(|r| r.port != 0))
    else {
        return Ok(());
    };
    let r = &remote.sections[i];
    let l = &local.sections[i];
    // ICE (RFC 8445 §6.1.1: the offerer controls, unless only it is full and the peer lite).
    if !e.jsep.ice_started && !e.jsep.closed {
        let params = IceParameters {
            username_fragment: r.ufrag.clone().unwrap_or_default(),
            password: r.pwd.clone().unwrap_or_default(),
            ice_lite: remote.ice_lite,
        };
        let lite = e.ice_gatherer().local_parameters().ice_lite;
        let role = if remote.ice_lite && !lite {
            IceRole::Controlling
        } else if lite && !remote.ice_lite {
            IceRole::Controlled
        } else if we_offered {
            IceRole::Controlling
        } else {
            IceRole::Controlled
        };
        e.ice_transport_mut().start(&params, role)?;
        e.jsep.ice_started = true;
        for c in std::mem::take(&mut e.jsep.early_candidates) {
            e.ice_transport_mut().add_remote_candidate(c.as_ref())?;
        }
    }
    // DTLS: the role the answer's a=setup gives (RFC 8842 §5.3).
    if e.dtls_transport().state() == DtlsTransportState::New {
        let answer_setup = if we_offered { r.setup } else { l.setup };
        let answerer_is_client = !matches!(answer_setup, Some(Setup::Passive));
        let ours = if answerer_is_client != we_offered {
            DtlsRole::Client
        } else {
            DtlsRole::Server
        };
        let (local_param, remote_param) = match ours {
            DtlsRole::Client => (DtlsRoleParam::Client, DtlsRoleParam::Server),
            DtlsRole::Server => (DtlsRoleParam::Server, DtlsRoleParam::Client),
        };
        e.dtls_transport_mut().set_local_role(local_param)?;
        e.dtls_transport_mut().start(&DtlsParameters {
            fingerprints: r.fingerprints.clone(),
            role: remote_param,
        })?;
    }
    // SCTP, when a data section was agreed.
    if l.is_data()
        && r.is_data()
        && e.sctp_transport().state() == crate::engine::SctpTransportState::New
    {
        let caps = SctpCapabilities {
            max_message_size: r.max_message_size.unwrap_or(DEFAULT_MAX_MESSAGE_SIZE),
        };
        let port = r.sctp_port.or(r.sctpmap).unwrap_or(DEFAULT_SCTP_PORT);
        e.sctp_transport_mut().start(&caps, port)?;
    }
    Ok(())
}

/// A candidate from the remote description or `addIceCandidate`, as its SDP text.
fn add_candidate_text(e: &mut Engine, text: &str) -> Result<(), JsepError> {
    if text.trim().is_empty() {
        return queue_candidate(e, None);
    }
    match parse_candidate(e, text)? {
        Some(c) => queue_candidate(e, Some(c)),
        None => Ok(()),
    }
}

/// A remote candidate ICE can use; `None` (counted) for one it cannot: TCP (ICE here
/// runs over UDP only; RFC 6544 is not implemented) or an mDNS name (Chromium hides host
/// addresses behind them: resolving it can come later, and the peer's checks still reach
/// us and make it peer-reflexive). A malformed one is an error.
fn parse_candidate(e: &mut Engine, text: &str) -> Result<Option<IceCandidate>, JsepError> {
    let text = text.trim();
    match IceCandidate::from_sdp_string(text) {
        Ok(c) if c.protocol.eq_ignore_ascii_case("udp") => Ok(Some(c)),
        Ok(_) => {
            e.jsep.skipped_candidates += 1;
            Ok(None)
        }
        Err(_) if mdns_name(text) => {
            e.jsep.skipped_candidates += 1;
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

fn mdns_name(text: &str) -> bool {
    text.split_ascii_whitespace()
        .nth(4)
        .is_some_and(|a| a.ends_with(".local"))
}

fn queue_candidate(e: &mut Engine, c: Option<IceCandidate>) -> Result<(), JsepError> {
    if !e.jsep.ice_started {
        e.jsep.early_candidates.push(c);
        // Bounded: a peer that sends thousands before its answer gets the first ones.
        if e.jsep.early_candidates.len() > 256 {
            e.jsep.early_candidates.remove(0);
            e.jsep.skipped_candidates += 1;
        }
        return Ok(());
    }
    e.ice_transport_mut().add_remote_candidate(c.as_ref())?;
    Ok(())
}

pub(crate) fn add_ice_candidate(
    e: &mut Engine,
    c: Option<&IceCandidateInit>,
) -> Result<(), JsepError> {
    check_open(e)?;
    let Some(remote) = e
        .jsep
        .pending_remote
        .as_ref()
        .or(e.jsep.current_remote.as_ref())
    else {
        return Err(JsepError::InvalidState {
            operation: "addIceCandidate",
            what: "candidate",
            state: e.jsep.signaling,
        });
    };
    let Some(c) = c else {
        return queue_candidate(e, None);
    };
    // webrtc-pc §4.4.1.7: the candidate must name a section the remote description has.
    let known = match (&c.sdp_mid, c.sdp_m_line_index) {
        (Some(mid), _) => remote.sections.iter().any(|s| s.mid.as_ref() == Some(mid)),
        (None, Some(i)) => (i as usize) < remote.sections.len(),
        (None, None) => c.candidate.trim().is_empty(),
    };
    if !known {
        return Err(JsepError::InvalidDescription(format!(
            "candidate for a media section the remote description does not have (mid {:?}, index {:?})",
            c.sdp_mid, c.sdp_m_line_index
        )));
    }
    add_candidate_text(e, &c.candidate)
}

pub(crate) fn create_data_channel(
    e: &mut Engine,
    label: &str,
    init: DataChannelInit,
) -> Result<ChannelId, JsepError> {
    check_open(e)?;
    let ch = e
        .sctp_transport_mut()
        .create_data_channel(&DataChannelParameters::for_init(label, &init))?;
    let negotiated = e
        .jsep
        .local()
        .is_some_and(|d| d.sections.iter().any(|s| s.is_data() && s.port != 0));
    if !std::mem::replace(&mut e.jsep.want_data, true) && !negotiated {
        e.jsep.negotiation_needed = true;
        e.events.push_back(Event::NegotiationNeeded);
    }
    Ok(ch)
}

pub(crate) fn close(e: &mut Engine) {
    if e.jsep.closed {
        return;
    }
    e.jsep.closed = true;
    e.stop();
    let events = &mut e.events;
    e.jsep.set_signaling(SignalingState::Closed, events);
}
