//! `RTCPeerConnection`: the JSEP view of the same chain the ORTC handles drive.

use std::marker::PhantomData;
use std::net::{SocketAddr, ToSocketAddrs};

use sansrtc::datachannel::DataChannelInit;
use sansrtc::dtls::DtlsCertificate;
use sansrtc::ice::{IceConnectionState, IceGatheringState};
use sansrtc::jsep::{IceCandidateInit, PeerConnectionState, RtcSessionDescription, SignalingState};
use sansrtc::ortc::{DataChannelParameters, OrtcError};

use super::*;
use crate::state::Link;

/// `RTCIceServer`: where to find STUN (TURN is not there yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RtcIceServer {
    /// `urls`: `stun:host:port` (a name is resolved when the peer connection is made).
    pub urls: Vec<String>,
    /// `username` (TURN).
    pub username: Option<String>,
    /// `credential` (TURN).
    pub credential: Option<String>,
}

/// `RTCConfiguration`, plus where to bind (aiortc binds every interface; so do we by
/// default).
#[derive(Debug, Clone, Default)]
pub struct RtcConfiguration {
    /// `iceServers`.
    pub ice_servers: Vec<RtcIceServer>,
    /// `certificates`: one is made when none is given.
    pub certificates: Vec<DtlsCertificate>,
    /// Sockets, seed and ICE options (the `stun_servers` there are added to those of
    /// `ice_servers`).
    pub gather: IceGathererOptions,
}

/// `RTCPeerConnection`: offer/answer with SDP over the chain; data channels on it.
///
/// Written for any runtime here; `sansrtc_tokio::ortc` names it `RtcPeerConnection`
/// for tokio. Like aiortc's, [`set_local_description`](RtcPeerConnection::set_local_description)
/// waits until gathering is complete, so [`local_description`](RtcPeerConnection::local_description)
/// holds every candidate (no trickle needed); candidates also come out of
/// [`ice_candidates`](RtcPeerConnection::ice_candidates) for peers that trickle.
///
/// Clones are handles to the same peer connection; dropping the last closes it.
#[derive(Debug, Clone)]
pub struct RtcPeerConnection<R> {
    link: Link,
    runtime: PhantomData<fn() -> R>,
}

fn stun_servers(servers: &[RtcIceServer]) -> Result<Vec<SocketAddr>, Error> {
    let mut out = Vec::new();
    for url in servers.iter().flat_map(|s| &s.urls) {
        let Some(rest) = url.strip_prefix("stun:") else {
            return Err(OrtcError::InvalidParameters(format!(
                "ICE server {url:?}: only stun: URLs are supported"
            ))
            .into());
        };
        let with_port = if rest
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            rest.to_owned()
        } else {
            format!("{rest}:3478")
        };
        let addrs = with_port
            .to_socket_addrs()
            .map_err(|e| OrtcError::InvalidParameters(format!("ICE server {url:?}: {e}")))?;
        out.extend(addrs.take(1));
    }
    Ok(out)
}

impl<R: Runtime> RtcPeerConnection<R> {
    /// `new RTCPeerConnection(configuration)`. Nothing is bound until the first call
    /// that needs the network (`create_offer`, `set_remote_description` …).
    pub fn new(configuration: RtcConfiguration) -> Result<Self, Error> {
        let mut options = configuration.gather.clone();
        options
            .stun_servers
            .extend(stun_servers(&configuration.ice_servers)?);
        let gatherer = IceGatherer::<R>::new(options);
        let link = gatherer.link.clone();
        let certificates = if configuration.certificates.is_empty() {
            vec![
                DtlsCertificate::generate(&*sansrtc::crypto::default_provider())
                    .map_err(OrtcError::from)?,
            ]
        } else {
            configuration.certificates
        };
        {
            let mut s = link.lock();
            s.engine
                .dtls_transport_mut()
                .set_certificates(certificates)?;
            s.ice_created = true;
            s.dtls_created = true;
            s.sctp_created = true;
        }
        Ok(RtcPeerConnection {
            link,
            runtime: PhantomData,
        })
    }

    /// `createOffer()`.
    pub async fn create_offer(&self) -> Result<RtcSessionDescription, Error> {
        self.link
            .act::<R, _>(|s| Ok(s.engine.peer_connection_mut().create_offer()?))
    }

    /// `createAnswer()`.
    pub async fn create_answer(&self) -> Result<RtcSessionDescription, Error> {
        self.link
            .act::<R, _>(|s| Ok(s.engine.peer_connection_mut().create_answer()?))
    }

    /// `setLocalDescription(description)`; then, as aiortc does, waits until gathering
    /// is complete (at once with host candidates only).
    pub async fn set_local_description(&self, d: &RtcSessionDescription) -> Result<(), Error> {
        self.link
            .act::<R, _>(|s| Ok(s.engine.peer_connection_mut().set_local_description(d)?))?;
        self.link.gathered().await
    }

    /// `setRemoteDescription(description)`.
    pub async fn set_remote_description(&self, d: &RtcSessionDescription) -> Result<(), Error> {
        self.link
            .act::<R, _>(|s| Ok(s.engine.peer_connection_mut().set_remote_description(d)?))
    }

    /// `addIceCandidate(candidate)`; `None` is end-of-candidates.
    pub async fn add_ice_candidate(&self, c: Option<&IceCandidateInit>) -> Result<(), Error> {
        self.link
            .act::<R, _>(|s| Ok(s.engine.peer_connection_mut().add_ice_candidate(c)?))
    }

    /// `createDataChannel(label, init)`: usable at once; it opens with the association.
    /// The first one makes negotiation needed.
    pub fn create_data_channel(
        &self,
        label: &str,
        init: DataChannelInit,
    ) -> Result<DataChannel<R>, Error> {
        let params = DataChannelParameters::for_init(label, &init);
        self.link.new_channel(params, |s| {
            Ok(s.engine
                .peer_connection_mut()
                .create_data_channel(label, init)?)
        })
    }

    /// `ondatachannel`: channels the peer opens.
    pub fn data_channels(&self) -> IncomingChannels<R> {
        IncomingChannels {
            link: self.link.clone(),
            listener: None,
            runtime: PhantomData,
        }
    }

    /// `localDescription`.
    pub fn local_description(&self) -> Option<RtcSessionDescription> {
        self.link
            .lock()
            .engine
            .peer_connection()
            .local_description()
    }

    /// `remoteDescription`.
    pub fn remote_description(&self) -> Option<RtcSessionDescription> {
        self.link
            .lock()
            .engine
            .peer_connection()
            .remote_description()
    }

    /// `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.link.lock().engine.peer_connection().signaling_state()
    }

    /// `connectionState`.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.link.lock().engine.peer_connection().connection_state()
    }

    /// `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.link.lock().engine.ice_transport().state()
    }

    /// `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.link.lock().engine.ice_gatherer().state()
    }

    /// `onsignalingstatechange`: states from now on.
    pub fn signaling_state_changes(&self) -> Events<SignalingState> {
        let rx = self.link.lock().signaling_events.subscribe();
        Events::new(rx, &self.link)
    }

    /// `onconnectionstatechange`: states from now on.
    pub fn connection_state_changes(&self) -> Events<PeerConnectionState> {
        let rx = self.link.lock().pc_events.subscribe();
        Events::new(rx, &self.link)
    }

    /// `onicecandidate`: our candidates as they are gathered, for a peer that trickles
    /// (`None` once gathering is complete).
    pub fn ice_candidates(&self) -> Events<Option<IceCandidateInit>> {
        let rx = self.link.lock().candidate_events.subscribe();
        Events::new(rx, &self.link)
    }

    /// `onnegotiationneeded`.
    pub fn negotiation_needed(&self) -> Events<()> {
        let rx = self.link.lock().negotiation_events.subscribe();
        Events::new(rx, &self.link)
    }

    /// `sctp`: the SCTP transport the data channels run on.
    pub fn sctp(&self) -> SctpTransport<R> {
        SctpTransport {
            link: self.link.clone(),
            runtime: PhantomData,
        }
    }

    /// `close()`: the peer hears SCTP ABORT and DTLS close_notify; resolves once the
    /// sockets are closed.
    pub async fn close(&self) {
        {
            let mut s = self.link.lock();
            s.engine.peer_connection_mut().close();
            s.wake();
        }
        self.link.shared.notify();
        self.link.shutdown().await;
    }
}
