//! `SctpTransport` and its data channels, over a [`DtlsTransport`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::dtls::DtlsTransportState;
use super::{DataChannelParameters, DtlsTransport, OrtcError, OrtcEvent, SctpCapabilities};
use crate::datachannel::{DataChannelConfig, DataChannelEvent, DataChannelInfo, DataChannels};
use crate::io::{Endpoint, Input, Output};
use crate::sctp::{Association, SctpConfig};

/// `RTCSctpTransportState`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SctpTransportState {
    /// Not started.
    New,
    /// Started; waiting for DTLS or the association.
    Connecting,
    /// The association is up.
    Connected,
    /// Shut down, aborted or failed.
    Closed,
}

/// `RTCSctpTransport` over a DTLS transport, with the data channels on it. This is the
/// whole chain: feed it every datagram of the socket and every timeout.
#[derive(Debug)]
pub struct SctpTransport {
    dtls: DtlsTransport,
    cfg: SctpConfig,
    channel_cfg: DataChannelConfig,
    channels: Option<DataChannels>,
    state: SctpTransportState,
    connect_sent: bool,
    events: VecDeque<OrtcEvent>,
}

impl SctpTransport {
    /// `new RTCSctpTransport(dtlsTransport, port)`.
    pub fn new(dtls: DtlsTransport, port: u16) -> Self {
        let seed = dtls.transport().derived_seed(2);
        SctpTransport {
            dtls,
            cfg: SctpConfig {
                local_port: port,
                seed,
                ..SctpConfig::default()
            },
            channel_cfg: DataChannelConfig::default(),
            channels: None,
            state: SctpTransportState::New,
            connect_sent: false,
            events: VecDeque::new(),
        }
    }

    /// Adjust the association's configuration (window, message size, seed) before `start`.
    pub fn config_mut(&mut self) -> &mut SctpConfig {
        &mut self.cfg
    }

    /// Adjust the limits on what the peer may open (channel count, label and protocol
    /// lengths) before `start`; its rustdoc states the memory one peer can make the
    /// association and its channels hold.
    pub fn channel_config_mut(&mut self) -> &mut DataChannelConfig {
        &mut self.channel_cfg
    }

    /// `getCapabilities()`.
    pub fn capabilities(&self) -> SctpCapabilities {
        SctpCapabilities::from(&self.cfg)
    }

    /// `port`.
    pub fn port(&self) -> u16 {
        self.cfg.local_port
    }

    /// `start(remoteCaps, remotePort)`. The DTLS transport must be started first: its
    /// role picks the data channel id parity (RFC 8832 §6).
    pub fn start(&mut self, remote: &SctpCapabilities, remote_port: u16) -> Result<(), OrtcError> {
        if self.channels.is_some() {
            return Err(OrtcError::AlreadyStarted("SCTP transport"));
        }
        let Some(role) = self.dtls.role() else {
            return Err(OrtcError::NotStarted(
                "start the DTLS transport before the SCTP transport",
            ));
        };
        let mut cfg = self.cfg.clone();
        cfg.remote_port = remote_port;
        let mut assoc = Association::new(cfg, self.now());
        // W3C: a max message size of 0 means the peer takes any size.
        assoc.set_peer_max_message_size(
            (remote.max_message_size != 0).then_some(remote.max_message_size as usize),
        );
        self.channels = Some(DataChannels::with_config(
            assoc,
            role,
            self.channel_cfg.clone(),
        ));
        self.set_state(SctpTransportState::Connecting);
        self.maybe_connect();
        Ok(())
    }

    /// `state`.
    pub fn state(&self) -> SctpTransportState {
        self.state
    }

    /// `transport`: the DTLS transport underneath.
    pub fn transport(&self) -> &DtlsTransport {
        &self.dtls
    }

    /// The DTLS transport underneath, to start it (and ICE below it).
    pub fn transport_mut(&mut self) -> &mut DtlsTransport {
        &mut self.dtls
    }

    fn channels_mut(&mut self) -> Result<&mut DataChannels, OrtcError> {
        self.channels
            .as_mut()
            .ok_or(OrtcError::NotStarted("the SCTP transport is not started"))
    }

    /// `new RTCDataChannel(transport, parameters)`: returns its stream id. Before the
    /// association is up the channel waits, and opens with it.
    pub fn create_data_channel(&mut self, p: &DataChannelParameters) -> Result<u16, OrtcError> {
        let init = p.init();
        Ok(self.channels_mut()?.create(&p.label, init)?)
    }

    /// A data channel's attributes (`label`, `readyState`, …).
    pub fn channel(&self, id: u16) -> Option<&DataChannelInfo> {
        self.channels.as_ref()?.channel(id)
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
        if let Some(c) = &mut self.channels {
            c.release_received(n);
        }
    }

    /// `bufferedAmount`.
    pub fn buffered_amount(&self, id: u16) -> usize {
        self.channels.as_ref().map_or(0, |c| c.buffered_amount(id))
    }

    /// `bufferedAmountLowThreshold = n`.
    pub fn set_buffered_amount_low_threshold(&mut self, id: u16, n: usize) {
        if let Some(c) = &mut self.channels {
            c.set_buffered_amount_low_threshold(id, n);
        }
    }

    /// `close()` of one data channel.
    pub fn close_channel(&mut self, id: u16) -> Result<(), OrtcError> {
        Ok(self.channels_mut()?.close(id)?)
    }

    /// The data channels underneath (association statistics, channel ids).
    pub fn data_channels(&self) -> Option<&DataChannels> {
        self.channels.as_ref()
    }

    /// `stop()`: a graceful SCTP shutdown once queued data is delivered, then DTLS
    /// close_notify and ICE stop follow with [`SctpTransport::stop_all`].
    pub fn stop(&mut self) {
        if let Some(c) = &mut self.channels {
            c.association_mut().shutdown();
        }
    }

    /// Abort the association (SCTP ABORT, as aiortc's `stop()` does); DTLS and ICE stay.
    pub fn abort(&mut self) {
        if let Some(c) = &mut self.channels {
            c.association_mut().abort("transport stopped");
        }
    }

    /// Stop every layer at once: ABORT, close_notify, ICE stops.
    pub fn stop_all(&mut self) {
        if let Some(c) = &mut self.channels {
            c.association_mut().abort("transport stopped");
        }
        self.set_state(SctpTransportState::Closed);
        self.dtls.stop();
    }

    fn set_state(&mut self, s: SctpTransportState) {
        if self.state != s {
            self.state = s;
            self.events.push_back(OrtcEvent::SctpStateChange(s));
        }
    }

    /// Open the association once DTLS is up; its first timer starts from the ICE RTT.
    fn maybe_connect(&mut self) {
        if self.connect_sent || self.dtls.state() != DtlsTransportState::Connected {
            return;
        }
        let now = self.now();
        let Some(c) = &mut self.channels else {
            return;
        };
        if let Some(rtt) = self.dtls.transport().selected_rtt() {
            c.association_mut()
                .set_initial_rto(rtt * 2 + Duration::from_millis(10));
        }
        c.association_mut().connect(now);
        self.connect_sent = true;
    }

    /// The latest time the chain was given.
    fn now(&self) -> Instant {
        self.dtls.transport().now()
    }

    fn on_channels_event(&mut self, e: DataChannelEvent) {
        if let DataChannelEvent::AssociationClosed { .. } = &e {
            self.set_state(SctpTransportState::Closed);
        }
        self.events.push_back(OrtcEvent::DataChannel(e));
    }
}

impl Endpoint for SctpTransport {
    type Event = OrtcEvent;

    fn handle_input(&mut self, input: Input) {
        match input {
            Input::Timeout(now) => {
                self.dtls.handle_timeout(now);
                if let Some(c) = &mut self.channels {
                    c.handle_timeout(now);
                }
            }
            input => {
                if let Some(r) = self.dtls.route(input) {
                    self.events.push_back(OrtcEvent::Datagram(r));
                }
            }
        }
    }

    fn poll_output(&mut self) -> Output<OrtcEvent> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Output::Event(e);
            }
            // SCTP packets are written into DTLS records first, so they leave now.
            if let Some(c) = &mut self.channels {
                while self.dtls.send_with(|buf| c.poll_transmit(buf)) {}
            }
            let dtls_deadline = match self.dtls.poll() {
                Output::Transmit(t) => return Output::Transmit(t),
                Output::Event(OrtcEvent::DtlsData(p)) => {
                    let now = self.now();
                    if let Some(c) = &mut self.channels {
                        c.handle_packet(now, p);
                    }
                    continue;
                }
                Output::Event(e) => {
                    if e == OrtcEvent::DtlsStateChange(DtlsTransportState::Connected) {
                        self.maybe_connect();
                    }
                    if matches!(
                        e,
                        OrtcEvent::DtlsStateChange(
                            DtlsTransportState::Closed | DtlsTransportState::Failed
                        )
                    ) && self.state != SctpTransportState::New
                    {
                        // Nothing can reach the peer any more: end the association here,
                        // so channels report `closed` and sends fail instead of vanishing.
                        if let Some(c) = &mut self.channels {
                            c.association_mut().abort("DTLS transport closed");
                        }
                        self.set_state(SctpTransportState::Closed);
                    }
                    return Output::Event(e);
                }
                Output::Timeout(t) => t,
            };
            let Some(c) = &mut self.channels else {
                return Output::Timeout(dtls_deadline);
            };
            let sctp_deadline = match c.poll_output() {
                Output::Transmit(p) => {
                    // Control packets built before DTLS was up, or by the owned-packet path.
                    if let Err(e) = self.dtls.send(&p) {
                        tracing::debug!(error = %e, "SCTP packet not sent");
                    }
                    continue;
                }
                Output::Event(e) => {
                    let was = self.state;
                    if c.association().is_established() && was == SctpTransportState::Connecting {
                        self.set_state(SctpTransportState::Connected);
                    }
                    self.on_channels_event(e);
                    continue;
                }
                Output::Timeout(t) => t,
            };
            if self.state == SctpTransportState::Connecting
                && self
                    .channels
                    .as_ref()
                    .is_some_and(|c| c.association().is_established())
            {
                self.set_state(SctpTransportState::Connected);
                continue;
            }
            return Output::Timeout(dtls_deadline.min(sctp_deadline));
        }
    }
}
