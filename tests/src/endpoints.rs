//! Endpoints the runtime loopback tests drive (`tests/runtime_*.rs`). Small, but real:
//! every output follows from what went in, so a driver that loses, splits or misroutes
//! datagrams makes them fail. Shared by the tokio and async-std tests.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sansrtc::io::{Endpoint, IDLE_TIMEOUT, Input, Output, Protocol, Transmit};

/// Sequence number of the first datagram of the segmented burst.
pub const BURST_SEQ: u32 = 1000;
/// Sizes of the burst's datagrams, sent as one transmit with `segment_size` 300: the last
/// is shorter, as GSO allows.
pub const BURST: [usize; 3] = [300, 300, 150];

/// A numbered datagram: the sequence number, then its low byte repeated up to `len`.
pub fn datagram(seq: u32, len: usize) -> Vec<u8> {
    let mut d = seq.to_be_bytes().to_vec();
    d.resize(len, seq as u8);
    d
}

fn seq_of(d: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(..4)?.try_into().ok()?))
}

/// What the pinger reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingEvent {
    /// Every datagram came back intact.
    Done {
        /// How many came back.
        echoes: usize,
    },
}

/// Sends the burst when first polled (after the runtime has bound its addresses), then
/// `count` numbered 20-byte datagrams one per `interval` on its timer, and reports `Done` once each has come back, intact,
/// from `peer` to `local`.
#[derive(Debug)]
pub struct Pinger {
    pub local: SocketAddr,
    pub peer: SocketAddr,
    count: u32,
    interval: Duration,
    next: u32,
    next_at: Option<Instant>,
    now: Instant,
    expected: BTreeMap<u32, usize>,
    echoed: BTreeSet<u32>,
    /// Echoes that were not what was sent, or came from or to the wrong address.
    pub bad: usize,
    out: VecDeque<Output<PingEvent>>,
}

impl Pinger {
    pub fn new(count: u32, interval: Duration, now: Instant) -> Self {
        let unset = SocketAddr::from(([0, 0, 0, 0], 0));
        Pinger {
            local: unset,
            peer: unset,
            count,
            interval,
            next: 0,
            next_at: None,
            now,
            expected: BTreeMap::new(),
            echoed: BTreeSet::new(),
            bad: 0,
            out: VecDeque::new(),
        }
    }

    fn send(&mut self, contents: Vec<u8>, segment_size: Option<usize>) {
        let mut t = Transmit::single(Protocol::Udp, self.local, self.peer, contents.into());
        t.segment_size = segment_size;
        self.out.push_back(Output::Transmit(t));
    }
}

impl Endpoint for Pinger {
    type Event = PingEvent;

    fn handle_input(&mut self, input: Input) {
        self.now = self.now.max(input.now());
        match input {
            Input::Timeout(now) => {
                while let Some(at) = self
                    .next_at
                    .filter(|&at| at <= now && self.next < self.count)
                {
                    self.expected.insert(self.next, 20);
                    self.send(datagram(self.next, 20), None);
                    self.next += 1;
                    self.next_at = Some(at + self.interval);
                }
            }
            Input::Receive(r) => {
                let seq = seq_of(&r.contents);
                let intact = seq.is_some_and(|s| {
                    self.expected
                        .get(&s)
                        .is_some_and(|&len| r.contents[..] == datagram(s, len)[..])
                });
                if !intact || r.source != self.peer || r.destination != self.local {
                    self.bad += 1;
                    return;
                }
                if let Some(s) = seq
                    && self.echoed.insert(s)
                    && self.echoed.len() == self.count as usize + BURST.len()
                {
                    self.out.push_back(Output::Event(PingEvent::Done {
                        echoes: self.echoed.len(),
                    }));
                }
            }
        }
    }

    fn poll_output(&mut self) -> Output<PingEvent> {
        if self.next_at.is_none() {
            let mut burst = Vec::new();
            for (i, &len) in BURST.iter().enumerate() {
                let seq = BURST_SEQ + i as u32;
                burst.extend(datagram(seq, len));
                self.expected.insert(seq, len);
            }
            self.send(burst, Some(BURST[0]));
            self.next_at = Some(self.now);
        }
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        match self.next_at {
            Some(at) if self.next < self.count => Output::Timeout(at),
            _ => Output::Timeout(self.now + IDLE_TIMEOUT),
        }
    }
}

/// One datagram the echo saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echoed {
    pub seq: u32,
    pub len: usize,
    pub from: SocketAddr,
    pub at: SocketAddr,
}

/// Sends every datagram back where it came from, from where it arrived, and reports it.
#[derive(Debug)]
pub struct Echo {
    now: Instant,
    out: VecDeque<Output<Echoed>>,
}

impl Echo {
    /// An echo whose clock starts at `now`.
    pub fn new(now: Instant) -> Self {
        Echo {
            now,
            out: VecDeque::new(),
        }
    }
}

impl Endpoint for Echo {
    type Event = Echoed;

    fn handle_input(&mut self, input: Input) {
        self.now = self.now.max(input.now());
        if let Input::Receive(r) = input {
            let echoed = Echoed {
                seq: seq_of(&r.contents).unwrap_or(u32::MAX),
                len: r.contents.len(),
                from: r.source,
                at: r.destination,
            };
            self.out.push_back(Output::Transmit(Transmit::single(
                Protocol::Udp,
                r.destination,
                r.source,
                r.contents,
            )));
            self.out.push_back(Output::Event(echoed));
        }
    }

    fn poll_output(&mut self) -> Output<Echoed> {
        self.out
            .pop_front()
            .unwrap_or(Output::Timeout(self.now + IDLE_TIMEOUT))
    }
}

/// Arms one timer `after` its start, and reports how much time it was told had passed
/// when the timer fired. Counts datagrams, which should never come.
#[derive(Debug)]
pub struct Alarm {
    after: Duration,
    start: Instant,
    now: Instant,
    fired: bool,
    pub received: usize,
    out: VecDeque<Output<Duration>>,
}

impl Alarm {
    pub fn new(after: Duration, now: Instant) -> Self {
        Alarm {
            after,
            start: now,
            now,
            fired: false,
            received: 0,
            out: VecDeque::new(),
        }
    }
}

impl Endpoint for Alarm {
    type Event = Duration;

    fn handle_input(&mut self, input: Input) {
        self.now = self.now.max(input.now());
        match input {
            Input::Timeout(now) if !self.fired && now >= self.start + self.after => {
                self.fired = true;
                self.out.push_back(Output::Event(now - self.start));
            }
            Input::Timeout(_) => {}
            Input::Receive(_) => self.received += 1,
        }
    }

    fn poll_output(&mut self) -> Output<Duration> {
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        if self.fired {
            Output::Timeout(self.now + IDLE_TIMEOUT)
        } else {
            Output::Timeout(self.start + self.after)
        }
    }
}

/// Whether a bind failed because the address family or address is missing here (no IPv6
/// loopback in a container, say), which makes a test skip rather than fail.
pub fn unavailable(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::Unsupported
    ) || (cfg!(target_os = "linux") && e.raw_os_error() == Some(97)) // EAFNOSUPPORT
}
