//! `SctpTransport` and its data channels: a view onto the engine's association.

use std::ops::{Deref, DerefMut};

use bytes::Bytes;

use super::{DataChannelParameters, OrtcError, SctpCapabilities, SctpTransportState};
use crate::datachannel::{DataChannelConfig, DataChannelInfo, DataChannels};
use crate::engine::Engine;
use crate::sctp::SctpConfig;

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

    /// `start(remoteCaps, remotePort)`. The DTLS transport must be started first: its
    /// role picks the data channel id parity (RFC 8832 §6). Channels created before
    /// open with the association.
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
        let Some(role) = e.dtls.role else {
            return Err(OrtcError::NotStarted(
                "start the DTLS transport before the SCTP transport",
            ));
        };
        // W3C: a max message size of 0 means the peer takes any size.
        let max = (remote.max_message_size != 0).then_some(remote.max_message_size as usize);
        e.sctp.start(
            role,
            remote_port,
            max,
            e.now,
            e.dtls.state,
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

    /// `new RTCDataChannel(transport, parameters)`: returns its stream id, which it keeps.
    /// Works once the DTLS transport is started (its role picks the id's parity, RFC 8832
    /// §6), before or after `start`: the channel waits for the association and opens
    /// with it.
    pub fn create_data_channel(&mut self, p: &DataChannelParameters) -> Result<u16, OrtcError> {
        let e = &mut *self.e;
        if !e.sctp.enabled {
            return Err(OrtcError::NotStarted(
                "the engine has no SCTP layer (EngineConfig::sctp_port)",
            ));
        }
        let Some(role) = e.dtls.role else {
            return Err(OrtcError::NotStarted(
                "start the DTLS transport before creating a data channel: its role picks the id",
            ));
        };
        Ok(e.sctp.channels(role, e.now).create(&p.label, p.init())?)
    }

    /// `send(string)`.
    pub fn send_text(&mut self, id: u16, text: &str) -> Result<(), OrtcError> {
        Ok(self.channels_mut()?.send_text(id, text)?)
    }

    /// `send(bytes)`.
    pub fn send_binary(&mut self, id: u16, data: Bytes) -> Result<(), OrtcError> {
        Ok(self.channels_mut()?.send_binary(id, data)?)
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
    pub fn set_buffered_amount_low_threshold(&mut self, id: u16, n: usize) {
        if let Some(c) = &mut self.e.sctp.channels {
            c.set_buffered_amount_low_threshold(id, n);
        }
    }

    /// `close()` of one data channel.
    pub fn close_channel(&mut self, id: u16) -> Result<(), OrtcError> {
        Ok(self.channels_mut()?.close(id)?)
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

    /// `bufferedAmount`.
    pub fn buffered_amount(&self, id: u16) -> usize {
        self.e
            .sctp
            .channels
            .as_ref()
            .map_or(0, |c| c.buffered_amount(id))
    }
}

lend!(SctpTransport,
    /// A data channel's attributes (`label`, `readyState`, …).
    fn channel(id: u16) -> Option<&DataChannelInfo> = |e| e.sctp.channels.as_ref()?.channel(id)
);

lend!(SctpTransport,
    /// The data channels underneath (association statistics, channel ids).
    fn data_channels() -> Option<&DataChannels> = |e| e.sctp.channels.as_ref()
);
