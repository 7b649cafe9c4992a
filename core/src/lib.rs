//! # sansrtc
//!
//! WebRTC and ORTC for Rust as deterministic *sans-IO* state machines: nothing in this
//! crate opens a socket, reads a clock, sleeps or spawns. Each protocol machine takes
//! timestamps and datagrams in and hands datagrams, deadlines and events out, so the same
//! code runs in a tokio app, in your own event loop, or in a simulated network where a
//! whole call replays from a seed.
//!
//! ## The loop
//!
//! Every machine is built with a start `Instant` and speaks the same verbs ([`io::Endpoint`],
//! or [`io::Layer`] for a layer riding on another): feed it [`io::Input`], then drain
//! [`io::Output`] until it tells you when to call again. `Input` and `Output` are
//! exhaustive, so a loop that matches all of their variants needs no catch-all arm.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sansrtc::io::{Endpoint, Input, Output, Protocol, Receive};
//! use sansrtc::ice::{Candidate, IceAgent, IceConfig, IceEvent};
//!
//! let start = Instant::now(); // time comes from the caller, never from the library
//! let mut a = IceAgent::new(IceConfig { seed: 1, controlling: true, ..Default::default() }, start);
//! let mut b = IceAgent::new(IceConfig { seed: 2, controlling: false, ..Default::default() }, start);
//! let (addr_a, addr_b) = ("127.0.0.1:5000".parse().unwrap(), "127.0.0.1:6000".parse().unwrap());
//! a.add_local_candidate(Candidate::host(addr_a, Protocol::Udp)).unwrap();
//! b.add_local_candidate(Candidate::host(addr_b, Protocol::Udp)).unwrap();
//! // Signaling: exchange credentials and candidates.
//! a.set_remote_credentials(b.local_credentials().clone());
//! b.set_remote_credentials(a.local_credentials().clone());
//! for c in a.local_candidates() { b.add_remote_candidate(c.clone()).unwrap(); }
//! for c in b.local_candidates() { a.add_remote_candidate(c.clone()).unwrap(); }
//!
//! // A zero-latency "network": whatever one agent transmits, the other receives.
//! let mut agents = [a, b];
//! let mut now = start;
//! let mut connected = false;
//! while !connected && now < start + Duration::from_secs(5) {
//!     let mut next = now + Duration::from_secs(1);
//!     for i in 0..2 {
//!         loop {
//!             match agents[i].poll_output() {
//!                 Output::Transmit(t) => agents[1 - i].handle_input(Input::Receive(Receive {
//!                     now, protocol: t.protocol, source: t.source,
//!                     destination: t.destination, contents: t.contents,
//!                 })),
//!                 Output::Event(IceEvent::SelectedPairChange { .. }) => connected = true,
//!                 Output::Event(_) => {}
//!                 Output::Timeout(at) => { next = next.min(at); break; }
//!             }
//!         }
//!     }
//!     now = next.max(now);
//!     for agent in &mut agents { agent.handle_input(Input::Timeout(now)); }
//! }
//! assert!(connected);
//! ```
//!
//! For anything bigger than two agents, [`sim`] gives you a deterministic network with
//! links, loss, jitter and NATs in virtual time.
//!
//! ## Randomness
//!
//! Every random choice that steers behaviour comes from a seedable [`rng::Rng`]; the same
//! seed and inputs give the same outputs.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod crypto;
pub mod datachannel;
pub mod demux;
pub mod dtls;
pub mod engine;
pub mod ice;
pub mod io;
pub mod jsep;
pub mod mux;
pub mod ortc;
pub mod rng;
pub mod sctp;
pub mod sdp;
pub mod sim;
pub mod srtp;
pub mod stun;
