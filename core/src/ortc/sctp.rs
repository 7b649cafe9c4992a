//! `SctpTransport` and its data channels: a view onto the engine's association.

use std::ops::{Deref, DerefMut};

use bytes::Bytes;

use super::{DataChannelParameters, OrtcError, SctpCapabilities, SctpTransportState};
use crate::datachannel::{ChannelId, DataChannelConfig, DataChannelInfo, DataChannels};
use crate::engine::Engine;
use crate::sctp::SctpConfig;

/// W3C `RTCSctpTransportStats` (webrtc-stats §8.11), from the association.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpTransportStats {
    /// `smoothedRoundTripTime`: SCTP's smoothed RTT (RFC 9260 §6.3.1), once measured.
    pub smoothed_round_trip_time: Option<std::time::Duration>,
    /// `congestionWindow`, in bytes.
    pub congestion_window: usize,
    /// `receiverWindow`: the peer's receive window as last advertised, in bytes.
    pub receiver_window: usize,
    /// `mtu`: the largest SCTP packet sent, in bytes.
    pub mtu: usize,
    /// `unackData`: DATA chunks sent and not yet acknowledged.
    pub unack_data: usize,
}

/// `RTCSctpTransport` over the DTLS transport, with the data channels on it: a view onto
/// an [`Engine`] (`&Engine` from [`Engine::sctp_transport`] reads, `&mut Engine` from
/// [`Engine::sctp_transport_mut`] also acts).
#[derive(Debug, Clone, Copy)]
pub struct SctpTransport<R> {
    pub(crate) e: R,
}

impl<R: DerefMut<Target = Engine>> SctpTransport<R> {
    /// Adjust the association's configuration (window, message size, seed) before
    /// `start` and before the first data channel, which build the association from it.
    pub fn config_mut(&mut self) -> &mut SctpConfig {
        &mut self.e.sctp.cfg
    }

    /// Adjust the limits on what the peer may open (channel count, label and protocol
    /// lengths) before `start` and the first data channel; its rustdoc states the memory one peer can make the
    /// association and its channels hold.
    pub fn channel_config_mut(&mut self) -> &mut DataChannelConfig {
        &mut self.e.sctp.channel_cfg
    }

    /// `start(remoteCaps, remotePort)`: at any time, before or after the DTLS transport
    /// starts; the association opens once DTLS is up. Channels created before open
    /// with it.
    pub fn start(&mut self, remote: &SctpCapabilities, remote_port: u16) -> Result<(), OrtcError> {
        let e = &mut *self.e;
        if !e.sctp.enabled {
            return Err(OrtcError::NotStarted(
                "the engine has no SCTP layer (EngineConfig::sctp_port)",
            ));
        }
        if e.sctp.started {
            return Err(OrtcError::AlreadyStarted("SCTP transport"));
        }
        // W3C: a max message size of 0 means the peer takes any size.
        let max = (remote.max_message_size != 0).then_some(remote.max_message_size as usize);
        e.sctp.start(
            e.dtls.role,
            remote_port,
            max,
            e.now,
            e.dtls.writable(),
            &e.ice.agent,
            &mut e.events,
        );
        Ok(())
    }

    fn channels_mut(&mut self) -> Result<&mut DataChannels, OrtcError> {
        self.e
            .sctp
            .channels
            .as_mut()
            .ok_or(OrtcError::NotStarted("no data channel has been created"))
    }

    /// `new RTCDataChannel(transport, parameters)`: returns the channel's handle, which
    /// it keeps from now on. Works at any time before the transport stops: the channel
    /// gets its stream id (W3C `id`) when the DTLS role is known (the role picks its
    /// parity, RFC 8832 §6) unless it asked for one, waits for the association and
    /// opens with it; messages sent before wait for it too.
    pub fn create_data_channel(
        &mut self,
        p: &DataChannelParameters,
    ) -> Result<ChannelId, OrtcError> {
        let e = &mut *self.e;
        if !e.sctp.enabled {
            return Err(OrtcError::NotStarted(
                "the engine has no SCTP layer (EngineConfig::sctp_port)",
            ));
        }
        Ok(e.sctp
            .channels(e.dtls.role, e.now)
            .create(&p.label, p.init())?)
    }

    /// `send(string)`.
    pub fn send_text(&mut self, ch: ChannelId, text: &str) -> Result<(), OrtcError> {
        Ok(self.channels_mut()?.send_text(ch, text)?)
    }

    /// `send(bytes)`.
    pub fn send_binary(&mut self, ch: ChannelId, data: Bytes) -> Result<(), OrtcError> {
        Ok(self.channels_mut()?.send_binary(ch, data)?)
    }

    /// Hand back the room in the receive window of `n` bytes of messages the
    /// application has finished with; only with `config_mut().deferred_release` (receive
    /// flow control: a slow reader holds the peer back).
    pub fn release_received(&mut self, n: usize) {
        if let Some(c) = &mut self.e.sctp.channels {
            c.release_received(n);
        }
    }

    /// `bufferedAmountLowThreshold = n`.
    pub fn set_buffered_amount_low_threshold(&mut self, ch: ChannelId, n: usize) {
        if let Some(c) = &mut self.e.sctp.channels {
            c.set_buffered_amount_low_threshold(ch, n);
        }
    }

    /// `close()` of one data channel.
    pub fn close_channel(&mut self, ch: ChannelId) -> Result<(), OrtcError> {
        Ok(self.channels_mut()?.close(ch)?)
    }

    /// `stop()`: a graceful SCTP shutdown once queued data is delivered; the engine's
    /// [`stop`](Engine::stop) ends every layer at once.
    pub fn stop(&mut self) {
        if let Some(c) = &mut self.e.sctp.channels {
            c.association_mut().shutdown();
        }
    }

    /// Abort the association (SCTP ABORT, as aiortc's `stop()` does); DTLS and ICE stay.
    pub fn abort(&mut self) {
        if let Some(c) = &mut self.e.sctp.channels {
            c.association_mut().abort("transport stopped");
        }
    }
}

impl<R: Deref<Target = Engine>> SctpTransport<R> {
    /// `getCapabilities()`.
    pub fn capabilities(&self) -> SctpCapabilities {
        SctpCapabilities::from(&self.e.sctp.cfg)
    }

    /// `port`.
    pub fn port(&self) -> u16 {
        self.e.sctp.cfg.local_port
    }

    /// `state`.
    pub fn state(&self) -> SctpTransportState {
        self.e.sctp.state
    }

    /// W3C `RTCSctpTransportStats` (webrtc-stats): `None` until the association exists.
    pub fn stats(&self) -> Option<SctpTransportStats> {
        let a = self.e.sctp.channels.as_ref()?.association();
        Some(SctpTransportStats {
            smoothed_round_trip_time: a.srtt(),
            congestion_window: a.cwnd(),
            receiver_window: a.peer_receive_window(),
            mtu: self.e.sctp.cfg.mtu,
            unack_data: a.unacknowledged_chunks(),
        })
    }

    /// `bufferedAmount`.
    pub fn buffered_amount(&self, ch: ChannelId) -> usize {
        self.e
            .sctp
            .channels
            .as_ref()
            .map_or(0, |c| c.buffered_amount(ch))
    }
}

lend!(SctpTransport,
    /// A data channel's attributes (`label`, `readyState`, …).
    fn channel(ch: ChannelId) -> Option<&DataChannelInfo> = |e| e.sctp.channels.as_ref()?.channel(ch)
);

lend!(SctpTransport,
    /// The data channels underneath (association statistics, channel ids).
    fn data_channels() -> Option<&DataChannels> = |e| e.sctp.channels.as_ref()
);
