//! The endpoint the task drives: whichever ORTC object is outermost so far, plus the
//! buffered-amount watch that wakes blocked senders.

use std::collections::{HashMap, VecDeque};

use sansrtc::dtls::DtlsCertificate;
use std::time::Instant;

use sansrtc::engine::Engine;
use sansrtc::io::{Endpoint, IDLE_TIMEOUT, Input, Output};
use sansrtc::ortc::{DtlsTransport, IceTransport, OrtcError, OrtcEvent, SctpTransport};

use super::Message;

/// How far the application has built the chain with the ORTC handles: each `new` on a
/// handle creates the next object, and the engine underneath shows only what exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// Sockets bound, nothing gathered yet (only while launching).
    #[default]
    Empty,
    Gatherer,
    Ice,
    Dtls,
    Sctp,
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
    stage: Stage,
    /// The engine, from the moment the gatherer has gathered.
    engine: Option<Engine>,
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
            engine: None,
            now,
            watched: HashMap::new(),
            dirty: false,
            changes: VecDeque::new(),
        }
    }

    /// The gatherer's engine, gathered: the chain's first object.
    pub(crate) fn install(&mut self, engine: Engine) {
        self.engine = Some(engine);
        self.stage = Stage::Gatherer;
    }

    /// The engine, once the chain has reached `stage`.
    fn at(&self, stage: Stage) -> Option<&Engine> {
        self.engine.as_ref().filter(|_| self.stage >= stage)
    }

    fn at_mut(&mut self, stage: Stage) -> Option<&mut Engine> {
        self.engine.as_mut().filter(|_| self.stage >= stage)
    }

    pub(crate) fn ice_mut(&mut self) -> Option<IceTransport<&mut Engine>> {
        Some(self.at_mut(Stage::Ice)?.ice_transport_mut())
    }

    pub(crate) fn ice(&self) -> Option<IceTransport<&Engine>> {
        Some(self.at(Stage::Ice)?.ice_transport())
    }

    pub(crate) fn dtls_mut(&mut self) -> Option<DtlsTransport<&mut Engine>> {
        Some(self.at_mut(Stage::Dtls)?.dtls_transport_mut())
    }

    pub(crate) fn dtls(&self) -> Option<DtlsTransport<&Engine>> {
        Some(self.at(Stage::Dtls)?.dtls_transport())
    }

    pub(crate) fn sctp_mut(&mut self) -> Option<SctpTransport<&mut Engine>> {
        Some(self.at_mut(Stage::Sctp)?.sctp_transport_mut())
    }

    /// `new RTCIceTransport(gatherer)`.
    pub(crate) fn create_ice(&mut self) {
        if self.stage == Stage::Gatherer {
            self.stage = Stage::Ice;
        }
    }

    /// `new RTCDtlsTransport(ice, certificates)`, seeded (in core) from the gatherer's seed.
    pub(crate) fn create_dtls(
        &mut self,
        certificates: Vec<DtlsCertificate>,
    ) -> Result<(), OrtcError> {
        if self.stage != Stage::Ice {
            return Ok(());
        }
        if let Some(e) = &mut self.engine {
            e.dtls_transport_mut().set_certificates(certificates)?;
            self.stage = Stage::Dtls;
        }
        Ok(())
    }

    /// `new RTCSctpTransport(dtls, port)`, seeded (in core) from the gatherer's seed, with
    /// a receive window of `receive_window` bytes that delivered messages keep their room
    /// in until the application takes them (`release_received`).
    pub(crate) fn create_sctp(&mut self, port: u16, receive_window: u32) {
        if self.stage != Stage::Dtls {
            return;
        }
        if let Some(e) = &mut self.engine {
            let mut s = e.sctp_transport_mut();
            let cfg = s.config_mut();
            cfg.local_port = port;
            cfg.receive_window = receive_window;
            cfg.deferred_release = true;
            self.stage = Stage::Sctp;
        }
    }

    /// Sends a message; returns the channel's buffered amount after it.
    pub(crate) fn send(&mut self, id: u16, message: Message) -> Result<usize, OrtcError> {
        let mut sctp = self
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
        if let Some(mut s) = self.sctp_mut() {
            s.release_received(n);
        }
    }

    pub(crate) fn buffered_amount(&self, id: u16) -> usize {
        self.at(Stage::Sctp)
            .map_or(0, |e| e.sctp_transport().buffered_amount(id))
    }

    /// Stops every layer above ICE: ABORT and close_notify (SCTP and DTLS), so the peer
    /// learns at once instead of by timeout.
    pub(crate) fn stop_above_ice(&mut self) {
        if let Some(e) = self.at_mut(Stage::Dtls) {
            e.dtls_transport_mut().stop();
        }
    }

    fn check_buffered(&mut self) {
        let Some(e) = self.engine.as_ref().filter(|_| self.stage == Stage::Sctp) else {
            return;
        };
        let s = e.sctp_transport();
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
        if let Some(e) = &mut self.engine {
            e.handle_input(input);
        }
    }

    fn poll_output(&mut self) -> Output<ChainEvent> {
        if let Some((id, amount)) = self.changes.pop_front() {
            return Output::Event(ChainEvent::Buffered { id, amount });
        }
        let out = match &mut self.engine {
            None => Output::Timeout(self.now + IDLE_TIMEOUT),
            Some(e) => e.poll_output(),
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
