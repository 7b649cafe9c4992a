//! The W3C signaling state machine (webrtc-pc §4.3.1, JSEP RFC 9429 §3.2): which
//! description may be set in which state, and where each leads. A call the table does not
//! allow is an `InvalidStateError`, as the spec has it; the state is left unchanged.

use super::{JsepError, SdpType};

/// W3C `RTCSignalingState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignalingState {
    /// No offer/answer exchange under way.
    #[default]
    Stable,
    /// A local offer is applied; the remote answer is awaited.
    HaveLocalOffer,
    /// A remote offer is applied; our answer is awaited.
    HaveRemoteOffer,
    /// A local provisional answer is applied.
    HaveLocalPranswer,
    /// A remote provisional answer is applied.
    HaveRemotePranswer,
    /// The peer connection is closed.
    Closed,
}

impl SignalingState {
    /// The W3C name (`"have-local-offer"` …).
    pub fn as_str(self) -> &'static str {
        match self {
            SignalingState::Stable => "stable",
            SignalingState::HaveLocalOffer => "have-local-offer",
            SignalingState::HaveRemoteOffer => "have-remote-offer",
            SignalingState::HaveLocalPranswer => "have-local-pranswer",
            SignalingState::HaveRemotePranswer => "have-remote-pranswer",
            SignalingState::Closed => "closed",
        }
    }
}

impl std::fmt::Display for SignalingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side a description is set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Local,
    Remote,
}

/// The state setting a description of `kind` on `side` leads to from `state`, or the
/// `InvalidStateError` the spec gives (webrtc-pc §4.4.1.5–4.4.1.6).
pub(crate) fn next_state(
    state: SignalingState,
    side: Side,
    kind: SdpType,
) -> Result<SignalingState, JsepError> {
    use SdpType::*;
    use SignalingState::*;
    let next = match (side, kind, state) {
        (Side::Local, Offer, Stable | HaveLocalOffer) => Some(HaveLocalOffer),
        (Side::Local, Answer, HaveRemoteOffer | HaveLocalPranswer) => Some(Stable),
        (Side::Local, Pranswer, HaveRemoteOffer | HaveLocalPranswer) => Some(HaveLocalPranswer),
        (Side::Local, Rollback, HaveLocalOffer) => Some(Stable),
        (Side::Remote, Offer, Stable | HaveRemoteOffer) => Some(HaveRemoteOffer),
        (Side::Remote, Answer, HaveLocalOffer | HaveRemotePranswer) => Some(Stable),
        (Side::Remote, Pranswer, HaveLocalOffer | HaveRemotePranswer) => Some(HaveRemotePranswer),
        (Side::Remote, Rollback, HaveRemoteOffer) => Some(Stable),
        _ => None,
    };
    next.ok_or(JsepError::InvalidState {
        operation: match side {
            Side::Local => "setLocalDescription",
            Side::Remote => "setRemoteDescription",
        },
        what: kind.as_str(),
        state,
    })
}

/// Whether `createOffer` (`offer`) or `createAnswer` may run in `state`
/// (webrtc-pc §4.4.1.3–4.4.1.4).
pub(crate) fn may_create(state: SignalingState, offer: bool) -> Result<(), JsepError> {
    use SignalingState::*;
    let ok = if offer {
        matches!(state, Stable | HaveLocalOffer)
    } else {
        matches!(state, HaveRemoteOffer | HaveLocalPranswer)
    };
    if ok {
        Ok(())
    } else {
        Err(JsepError::InvalidState {
            operation: if offer { "createOffer" } else { "createAnswer" },
            what: if offer { "offer" } else { "answer" },
            state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SdpType::*;
    use SignalingState::*;

    /// webrtc-pc §4.3.1's state transition diagram, every edge, and every other pair refused.
    #[test]
    fn transitions_follow_the_w3c_diagram() {
        let allowed = [
            (Side::Local, Offer, Stable, HaveLocalOffer),
            (Side::Local, Offer, HaveLocalOffer, HaveLocalOffer),
            (Side::Local, Answer, HaveRemoteOffer, Stable),
            (Side::Local, Answer, HaveLocalPranswer, Stable),
            (Side::Local, Pranswer, HaveRemoteOffer, HaveLocalPranswer),
            (Side::Local, Pranswer, HaveLocalPranswer, HaveLocalPranswer),
            (Side::Local, Rollback, HaveLocalOffer, Stable),
            (Side::Remote, Offer, Stable, HaveRemoteOffer),
            (Side::Remote, Offer, HaveRemoteOffer, HaveRemoteOffer),
            (Side::Remote, Answer, HaveLocalOffer, Stable),
            (Side::Remote, Answer, HaveRemotePranswer, Stable),
            (Side::Remote, Pranswer, HaveLocalOffer, HaveRemotePranswer),
            (
                Side::Remote,
                Pranswer,
                HaveRemotePranswer,
                HaveRemotePranswer,
            ),
            (Side::Remote, Rollback, HaveRemoteOffer, Stable),
        ];
        let states = [
            Stable,
            HaveLocalOffer,
            HaveRemoteOffer,
            HaveLocalPranswer,
            HaveRemotePranswer,
            Closed,
        ];
        for side in [Side::Local, Side::Remote] {
            for kind in [Offer, Answer, Pranswer, Rollback] {
                for state in states {
                    let want = allowed
                        .iter()
                        .find(|(s, k, from, _)| *s == side && *k == kind && *from == state)
                        .map(|e| e.3);
                    match (next_state(state, side, kind), want) {
                        (Ok(got), Some(want)) => assert_eq!(got, want),
                        (Err(JsepError::InvalidState { state: s, .. }), None) => {
                            assert_eq!(s, state)
                        }
                        (got, want) => {
                            panic!("{side:?} {kind:?} in {state}: {got:?}, want {want:?}")
                        }
                    }
                }
            }
        }
    }

    /// Glare: a remote offer while ours is out is refused (the caller rolls back first).
    #[test]
    fn a_remote_offer_in_have_local_offer_is_refused() {
        let e = next_state(HaveLocalOffer, Side::Remote, Offer).unwrap_err();
        assert_eq!(
            e.to_string(),
            "InvalidStateError: setRemoteDescription(offer) in signaling state have-local-offer"
        );
    }

    #[test]
    fn create_offer_and_answer_only_where_allowed() {
        assert!(may_create(Stable, true).is_ok());
        assert!(may_create(HaveLocalOffer, true).is_ok());
        assert!(may_create(HaveRemoteOffer, true).is_err());
        assert!(may_create(HaveRemoteOffer, false).is_ok());
        assert!(may_create(HaveLocalPranswer, false).is_ok());
        assert!(may_create(Stable, false).is_err());
        assert!(may_create(Closed, true).is_err());
    }
}
