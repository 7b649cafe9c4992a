//! JSEP (RFC 9429): `RTCPeerConnection`'s offer/answer over the same [`Engine`] the ORTC
//! views drive. [`Engine::peer_connection`] is a second view onto it: SDP in and out, the
//! W3C signaling states, and from the negotiated descriptions the very calls an ORTC
//! user makes (ICE start with the remote credentials and candidates, DTLS start with
//! the remote fingerprints and the role `a=setup` gives, SCTP start with the remote
//! `a=sctp-port` and `a=max-message-size`).
//!
//! Data channels are negotiated here (one `m=application` section, `UDP/DTLS/SCTP
//! webrtc-datachannel`, or the legacy `DTLS/SCTP 5000` with `a=sctpmap`). Audio and
//! video sections a browser offers are read in full by the SDP layer and answered as
//! rejected (port 0) until the media layer lands; never an error.
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Instant;
//! use sansrtc::crypto::default_provider;
//! use sansrtc::datachannel::DataChannelInit;
//! use sansrtc::dtls::DtlsCertificate;
//! use sansrtc::engine::{Engine, EngineConfig};
//! use sansrtc::jsep::{SdpType, SignalingState};
//!
//! let engine = |port: u16| {
//!     let cert = DtlsCertificate::generate(&*default_provider()).unwrap();
//!     let mut e = Engine::new(EngineConfig::with_certificate(cert), Instant::now());
//!     let addr: SocketAddr = ([127, 0, 0, 1], port).into();
//!     e.ice_gatherer_mut().gather(&[addr]).unwrap();
//!     e
//! };
//! let (mut a, mut b) = (engine(40000), engine(40001));
//! a.peer_connection_mut().create_data_channel("chat", DataChannelInit::default())?;
//! let offer = a.peer_connection_mut().create_offer()?;
//! assert_eq!(offer.sdp_type, SdpType::Offer);
//! a.peer_connection_mut().set_local_description(&offer)?;
//! b.peer_connection_mut().set_remote_description(&offer)?;
//! let answer = b.peer_connection_mut().create_answer()?;
//! b.peer_connection_mut().set_local_description(&answer)?;
//! a.peer_connection_mut().set_remote_description(&answer)?;
//! assert_eq!(a.peer_connection().signaling_state(), SignalingState::Stable);
//! // Now drive both engines with their sockets: ICE, DTLS and SCTP are started.
//! # Ok::<(), sansrtc::jsep::JsepError>(())
//! ```

mod description;
mod signaling;
mod state;
#[cfg(test)]
mod tests;

use std::ops::Deref;

use serde::{Deserialize, Serialize};

pub use description::IceCandidateInit;
pub use signaling::SignalingState;
pub(crate) use state::JsepPart;

use crate::datachannel::{ChannelId, DataChannelInit};
use crate::engine::Engine;
use crate::ortc::OrtcError;
use crate::sdp::SdpError;

/// `RTCSdpType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpType {
    /// An offer.
    Offer,
    /// A provisional answer.
    Pranswer,
    /// A final answer.
    Answer,
    /// Undo the pending offer (its description is empty).
    Rollback,
}

impl SdpType {
    /// The W3C name.
    pub fn as_str(self) -> &'static str {
        match self {
            SdpType::Offer => "offer",
            SdpType::Pranswer => "pranswer",
            SdpType::Answer => "answer",
            SdpType::Rollback => "rollback",
        }
    }
}

/// `RTCSessionDescriptionInit`: its JSON form, `{"type": "offer", "sdp": "v=0\r\n…"}`, is
/// what every signaling server carries (aiortc's `RTCSessionDescription` too).
///
/// ```
/// use sansrtc::jsep::{RtcSessionDescription, SdpType};
/// let d: RtcSessionDescription =
///     serde_json::from_str(r#"{"type": "answer", "sdp": "v=0\r\n"}"#).unwrap();
/// assert_eq!(d.sdp_type, SdpType::Answer);
/// assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"type":"answer","sdp":"v=0\r\n"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtcSessionDescription {
    /// `type`.
    #[serde(rename = "type")]
    pub sdp_type: SdpType,
    /// `sdp`: the description's text (empty for a rollback).
    #[serde(default)]
    pub sdp: String,
}

impl RtcSessionDescription {
    /// A description of `sdp_type` with this text.
    pub fn new(sdp_type: SdpType, sdp: impl Into<String>) -> Self {
        RtcSessionDescription {
            sdp_type,
            sdp: sdp.into(),
        }
    }

    /// A rollback (`{"type": "rollback"}`).
    pub fn rollback() -> Self {
        RtcSessionDescription::new(SdpType::Rollback, "")
    }
}

/// W3C `RTCPeerConnectionState`, from the ICE and DTLS transports' states
/// (webrtc-pc §4.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerConnectionState {
    /// Nothing has started.
    New,
    /// ICE checks or the DTLS handshake are under way.
    Connecting,
    /// ICE found a path and DTLS is up.
    Connected,
    /// ICE lost the path for now.
    Disconnected,
    /// ICE or DTLS failed.
    Failed,
    /// `close()` was called.
    Closed,
}

/// Why a JSEP call failed: the W3C exception it stands for, and what was wrong.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum JsepError {
    /// `InvalidStateError`: the call is not allowed in this signaling state.
    #[error("InvalidStateError: {operation}({what}) in signaling state {state}")]
    InvalidState {
        /// The call (`setRemoteDescription` …).
        operation: &'static str,
        /// What it was asked to do (`offer` …).
        what: &'static str,
        /// The state it was made in.
        state: SignalingState,
    },
    /// `InvalidStateError`: the peer connection is closed.
    #[error("InvalidStateError: the peer connection is closed")]
    Closed,
    /// `InvalidAccessError` / `OperationError`: the description is not well formed SDP;
    /// the error names the line.
    #[error("invalid SDP: {0}")]
    Sdp(#[from] SdpError),
    /// `InvalidAccessError`: the description is SDP but cannot be used, with what is
    /// wrong (a section without ICE credentials, no fingerprint, both ends passive …).
    #[error("InvalidAccessError: {0}")]
    InvalidDescription(String),
    /// `InvalidModificationError`: a local description that is not the one last created.
    #[error("InvalidModificationError: {0}")]
    InvalidModification(String),
    /// `OperationError` from a transport (a bad candidate, a channel id taken).
    #[error("OperationError: {0}")]
    Transport(#[from] OrtcError),
}

/// `RTCPeerConnection`: JSEP over an [`Engine`] (`&Engine` from
/// [`Engine::peer_connection`] reads, `&mut Engine` from [`Engine::peer_connection_mut`]
/// also acts). See the [module documentation](self).
#[derive(Debug, Clone, Copy)]
pub struct PeerConnection<R> {
    pub(crate) e: R,
}

impl Engine {
    /// `RTCPeerConnection`: offer/answer, signaling state, descriptions.
    pub fn peer_connection(&self) -> PeerConnection<&Engine> {
        PeerConnection { e: self }
    }

    /// `RTCPeerConnection`, to negotiate.
    pub fn peer_connection_mut(&mut self) -> PeerConnection<&mut Engine> {
        PeerConnection { e: self }
    }
}

impl<R: Deref<Target = Engine>> PeerConnection<R> {
    /// `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.e.jsep.signaling
    }

    /// `localDescription`: the pending one, else the current one.
    pub fn local_description(&self) -> Option<RtcSessionDescription> {
        let j = &self.e.jsep;
        j.pending_local
            .as_ref()
            .or(j.current_local.as_ref())
            .map(|d| d.to_init())
    }

    /// `remoteDescription`: the pending one, else the current one.
    pub fn remote_description(&self) -> Option<RtcSessionDescription> {
        let j = &self.e.jsep;
        j.pending_remote
            .as_ref()
            .or(j.current_remote.as_ref())
            .map(|d| d.to_init())
    }

    /// `currentLocalDescription`: the one the last completed exchange settled on.
    pub fn current_local_description(&self) -> Option<RtcSessionDescription> {
        self.e.jsep.current_local.as_ref().map(|d| d.to_init())
    }

    /// `currentRemoteDescription`.
    pub fn current_remote_description(&self) -> Option<RtcSessionDescription> {
        self.e.jsep.current_remote.as_ref().map(|d| d.to_init())
    }

    /// `pendingLocalDescription`: set, its exchange not complete.
    pub fn pending_local_description(&self) -> Option<RtcSessionDescription> {
        self.e.jsep.pending_local.as_ref().map(|d| d.to_init())
    }

    /// `pendingRemoteDescription`.
    pub fn pending_remote_description(&self) -> Option<RtcSessionDescription> {
        self.e.jsep.pending_remote.as_ref().map(|d| d.to_init())
    }

    /// Whether a change needs an offer/answer exchange (`negotiationneeded` fired and
    /// no exchange has answered it yet).
    pub fn negotiation_needed(&self) -> bool {
        self.e.jsep.negotiation_needed
    }

    /// `canTrickleIceCandidates`: whether the remote description says the peer takes
    /// candidates after the description (`a=ice-options:trickle`); `None` before it.
    pub fn can_trickle_ice_candidates(&self) -> Option<bool> {
        self.e.jsep.remote_trickle
    }

    /// `connectionState`, from the ICE and DTLS transports (webrtc-pc §4.3.3).
    pub fn connection_state(&self) -> PeerConnectionState {
        state::connection_state(&self.e)
    }

    /// The `icecandidate` event's candidate for one of our candidates (from
    /// `Event::Ice(IceEvent::LocalCandidate)`), with the mid and index of the section it
    /// belongs to (the bundled transport's first).
    pub fn candidate_init(&self, candidate: &crate::ortc::IceCandidate) -> IceCandidateInit {
        self.e.jsep.candidate_init(candidate)
    }
}

impl PeerConnection<&mut Engine> {
    /// `createOffer()`: our transport parameters and a section for each negotiated (or
    /// now wanted) transceiver, with the candidates gathered so far.
    pub fn create_offer(&mut self) -> Result<RtcSessionDescription, JsepError> {
        state::create_offer(self.e)
    }

    /// `createAnswer()`: answers each section of the remote offer (data accepted, media
    /// rejected for now).
    pub fn create_answer(&mut self) -> Result<RtcSessionDescription, JsepError> {
        state::create_answer(self.e)
    }

    /// `setLocalDescription(description)`. A rollback undoes our pending offer.
    pub fn set_local_description(&mut self, d: &RtcSessionDescription) -> Result<(), JsepError> {
        state::set_local(self.e, d)
    }

    /// `setRemoteDescription(description)`: its candidates are added; once the exchange
    /// completes, ICE, DTLS and SCTP start with what it says.
    pub fn set_remote_description(&mut self, d: &RtcSessionDescription) -> Result<(), JsepError> {
        state::set_remote(self.e, d)
    }

    /// `addIceCandidate(candidate)`: a trickled remote candidate; `None` (or an empty
    /// candidate) is end-of-candidates. Candidates ICE cannot use (an mDNS `.local`
    /// name, TCP) are skipped, not an error: the peer is still reached through the
    /// address its checks come from (RFC 8445 §7.3.1.3).
    pub fn add_ice_candidate(&mut self, c: Option<&IceCandidateInit>) -> Result<(), JsepError> {
        state::add_ice_candidate(self.e, c)
    }

    /// `createDataChannel(label, init)`: the channel exists at once (messages queue until
    /// it opens); the first one makes negotiation needed for the data section.
    pub fn create_data_channel(
        &mut self,
        label: &str,
        init: DataChannelInit,
    ) -> Result<ChannelId, JsepError> {
        state::create_data_channel(self.e, label, init)
    }

    /// `close()`: stops every transport (the peer's SCTP hears ABORT, DTLS close_notify)
    /// and moves to `closed`.
    pub fn close(&mut self) {
        state::close(self.e)
    }
}
