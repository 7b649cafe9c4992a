//! The endpoint the task drives: whichever ORTC object is outermost so far, plus the
//! buffered-amount watch that wakes blocked senders.

use std::collections::{HashMap, VecDeque};

use sansrtc::dtls::DtlsCertificate;
use std::time::Instant;

use sansrtc::io::{Endpoint, IDLE_TIMEOUT, Input, Output};
use sansrtc::ortc::{
    DtlsTransport, IceGatherer, IceTransport, OrtcError, OrtcEvent, SctpTransport,
};

use super::Message;

/// The chain as built so far: each `new` on a handle wraps the outermost object in the
/// next one, as the core objects own the one below.
// One per chain, moved only when a transport is created: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Default)]
pub(crate) enum Stage {
    /// Sockets bound, nothing gathered yet (only while launching).
    #[default]
    Empty,
    Gatherer(IceGatherer),
    Ice(IceTransport),
    Dtls(DtlsTransport),
    Sctp(SctpTransport),
}

/// What the chain reports to the task.
// The same size as the `OrtcEvent` it wraps; the small variant costs no allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum ChainEvent {
    Ortc(OrtcEvent),
    /// A channel's buffered amount changed since it was last reported (data was
    /// acknowledged or abandoned).
    Buffered {
        id: u16,
        amount: usize,
    },
}

/// The ORTC chain as one [`Endpoint`].
///
/// Core reports `bufferedamountlow` only at the application's threshold; senders blocked
/// at the high-water mark need to hear of every decrease. So after each batch of input
/// the chain compares the buffered amount of every channel that has data in flight with
/// what it last reported, and reports the change.
#[derive(Debug)]
pub(crate) struct Chain {
    pub(crate) stage: Stage,
    /// The latest time of any input: what an empty chain counts its idle wake-up from.
    now: Instant,
    watched: HashMap<u16, usize>,
    dirty: bool,
    changes: VecDeque<(u16, usize)>,
}

impl Chain {
    /// An empty chain whose clock starts at `now`.
    pub(crate) fn new(now: Instant) -> Self {
        Chain {
            stage: Stage::Empty,
            now,
            watched: HashMap::new(),
            dirty: false,
            changes: VecDeque::new(),
        }
    }

    pub(crate) fn ice_mut(&mut self) -> Option<&mut IceTransport> {
        match &mut self.stage {
            Stage::Ice(i) => Some(i),
            Stage::Dtls(d) => Some(d.transport_mut()),
            Stage::Sctp(s) => Some(s.transport_mut().transport_mut()),
            _ => None,
        }
    }

    pub(crate) fn ice(&self) -> Option<&IceTransport> {
        match &self.stage {
            Stage::Ice(i) => Some(i),
            Stage::Dtls(d) => Some(d.transport()),
            Stage::Sctp(s) => Some(s.transport().transport()),
            _ => None,
        }
    }

    pub(crate) fn dtls_mut(&mut self) -> Option<&mut DtlsTransport> {
        match &mut self.stage {
            Stage::Dtls(d) => Some(d),
            Stage::Sctp(s) => Some(s.transport_mut()),
            _ => None,
        }
    }

    pub(crate) fn dtls(&self) -> Option<&DtlsTransport> {
        match &self.stage {
            Stage::Dtls(d) => Some(d),
            Stage::Sctp(s) => Some(s.transport()),
            _ => None,
        }
    }

    pub(crate) fn sctp_mut(&mut self) -> Option<&mut SctpTransport> {
        match &mut self.stage {
            Stage::Sctp(s) => Some(s),
            _ => None,
        }
    }

    /// `new RTCIceTransport(gatherer)`.
    pub(crate) fn create_ice(&mut self) {
        self.stage = match std::mem::take(&mut self.stage) {
            Stage::Gatherer(g) => Stage::Ice(IceTransport::new(g)),
            other => other,
        };
    }

    /// `new RTCDtlsTransport(ice, certificates)`, seeded (in core) from the gatherer's seed.
    pub(crate) fn create_dtls(
        &mut self,
        certificates: Vec<DtlsCertificate>,
    ) -> Result<(), OrtcError> {
        self.stage = match std::mem::take(&mut self.stage) {
            Stage::Ice(i) => {
                // The handle refuses an empty list, the only thing `new` fails on, so
                // the ICE transport is not lost here.
                Stage::Dtls(DtlsTransport::new(i, certificates)?)
            }
            other => other,
        };
        Ok(())
    }

    /// `new RTCSctpTransport(dtls, port)`, seeded (in core) from the gatherer's seed, with
    /// a receive window of `receive_window` bytes that delivered messages keep their room
    /// in until the application takes them (`release_received`).
    pub(crate) fn create_sctp(&mut self, port: u16, receive_window: u32) {
        self.stage = match std::mem::take(&mut self.stage) {
            Stage::Dtls(d) => {
                let mut s = SctpTransport::new(d, port);
                let cfg = s.config_mut();
                cfg.receive_window = receive_window;
                cfg.deferred_release = true;
                Stage::Sctp(s)
            }
            other => other,
        };
    }

    /// Sends a message; returns the channel's buffered amount after it.
    pub(crate) fn send(&mut self, id: u16, message: Message) -> Result<usize, OrtcError> {
        let sctp = self
            .sctp_mut()
            .ok_or(OrtcError::NotStarted("the SCTP transport is not started"))?;
        match message {
            Message::Text(t) => sctp.send_text(id, &t)?,
            Message::Binary(b) => sctp.send_binary(id, b)?,
        }
        let amount = sctp.buffered_amount(id);
        self.watched.insert(id, amount);
        Ok(amount)
    }

    /// Hands `n` bytes of messages the application took (or that were dropped) back
    /// to SCTP's receive window.
    pub(crate) fn release_received(&mut self, n: usize) {
        if let Some(s) = self.sctp_mut() {
            s.release_received(n);
        }
    }

    pub(crate) fn buffered_amount(&self, id: u16) -> usize {
        match &self.stage {
            Stage::Sctp(s) => s.buffered_amount(id),
            _ => 0,
        }
    }

    /// Stops every layer above ICE: ABORT and close_notify (SCTP and DTLS), so the peer
    /// learns at once instead of by timeout.
    pub(crate) fn stop_above_ice(&mut self) {
        match &mut self.stage {
            Stage::Sctp(s) => s.stop_all(),
            Stage::Dtls(d) => d.stop(),
            _ => {}
        }
    }

    fn check_buffered(&mut self) {
        let Stage::Sctp(s) = &self.stage else {
            return;
        };
        let changes = &mut self.changes;
        self.watched.retain(|&id, last| {
            let amount = s.buffered_amount(id);
            if amount != *last {
                *last = amount;
                changes.push_back((id, amount));
            }
            amount > 0
        });
    }
}

impl Endpoint for Chain {
    type Event = ChainEvent;

    fn handle_input(&mut self, input: Input) {
        self.dirty = true;
        self.now = self.now.max(input.now());
        match &mut self.stage {
            Stage::Empty => {}
            Stage::Gatherer(g) => g.handle_input(input),
            Stage::Ice(i) => i.handle_input(input),
            Stage::Dtls(d) => d.handle_input(input),
            Stage::Sctp(s) => s.handle_input(input),
        }
    }

    fn poll_output(&mut self) -> Output<ChainEvent> {
        if let Some((id, amount)) = self.changes.pop_front() {
            return Output::Event(ChainEvent::Buffered { id, amount });
        }
        let out = match &mut self.stage {
            Stage::Empty => Output::Timeout(self.now + IDLE_TIMEOUT),
            Stage::Gatherer(g) => g.poll_output(),
            Stage::Ice(i) => i.poll_output(),
            Stage::Dtls(d) => d.poll_output(),
            Stage::Sctp(s) => s.poll_output(),
        };
        match out {
            Output::Transmit(t) => Output::Transmit(t),
            Output::Event(e) => Output::Event(ChainEvent::Ortc(e)),
            Output::Timeout(at) => {
                // Everything the last input caused has been handed out: acknowledgements
                // have been processed, so buffered amounts are current.
                if std::mem::take(&mut self.dirty) {
                    self.check_buffered();
                    if let Some((id, amount)) = self.changes.pop_front() {
                        return Output::Event(ChainEvent::Buffered { id, amount });
                    }
                }
                Output::Timeout(at)
            }
        }
    }
}
