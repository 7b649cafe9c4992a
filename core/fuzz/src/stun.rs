//! # `stun`
//!
//! [`stun`] parses the input with `Message::parse`; on success it walks every attribute,
//! calls every getter, runs both integrity checks with a fixed key (and a long-term key
//! when USERNAME and REALM are present), and re-encodes the decoded attributes with
//! `MessageBuilder`, which must parse back to the same attributes.

use sansrtc::crypto::RingProvider;
use sansrtc::stun::{self, Attribute, Message, MessageBuilder, StunError, attr};

use super::{PARSED_PER_BYTE, PARSER_BUDGET, heap};

/// The key the `stun` harness checks integrity with: RFC 5769's short-term password, so
/// the RFC vectors in the corpus verify.
pub const STUN_KEY: &[u8] = b"VOkJxbRl1RmTxUk/WvJxBt";

/// Attribute types probed with `get_raw`, beyond [`attr::KNOWN`].
const EXTRA_TYPES: &[u16] = &[
    attr::SOFTWARE,
    attr::FINGERPRINT,
    attr::ICE_CONTROLLED,
    attr::ICE_CONTROLLING,
    attr::PASSWORD_ALGORITHMS,
    attr::ALTERNATE_DOMAIN,
    attr::ALTERNATE_SERVER,
];

/// The `stun` fuzz target: parse arbitrary bytes; on success use every accessor. Panics
/// only if the codec breaks one of its promises.
pub fn stun(data: &[u8]) {
    heap::within("stun", PARSER_BUDGET + PARSED_PER_BYTE * data.len(), || {
        stun_unbounded(data)
    })
}

fn stun_unbounded(data: &[u8]) {
    let _ = stun::is_stun(data);
    let Ok(msg) = Message::parse(data) else {
        return;
    };
    assert!(data.len() >= stun::HEADER_LEN && data.len().is_multiple_of(4));
    assert_eq!(msg.as_bytes(), data);
    let (class, method, tid) = (msg.class(), msg.method(), msg.transaction_id());

    let attrs: Vec<Attribute<'_>> = msg.attributes().collect();
    for a in &attrs {
        let _ = a.typ();
        if let Attribute::UnknownAttributes(list) = a {
            let _ = list.iter().count();
        }
    }
    let _ = msg.unknown_comprehension_required().count();
    for &typ in attr::KNOWN.iter().chain(EXTRA_TYPES) {
        let _ = msg.get_raw(typ);
    }
    let _ = msg.username();
    let _ = msg.mapped_address();
    let _ = msg.relayed_address();
    let _ = msg.peer_address();
    let _ = msg.priority();
    let _ = msg.use_candidate();
    let _ = msg.ice_controlling();
    let _ = msg.ice_controlled();
    let _ = msg.error_code();
    let _ = msg.realm();
    let _ = msg.nonce();
    let _ = msg.lifetime();
    let _ = msg.data();

    let mi = msg.check_integrity(&RingProvider::new(), STUN_KEY);
    assert_eq!(msg.has_integrity(), mi != Err(StunError::NoIntegrity));
    let mi256 = msg.check_integrity_sha256(&RingProvider::new(), STUN_KEY);
    assert_eq!(
        msg.has_integrity_sha256(),
        mi256 != Err(StunError::NoIntegrity)
    );
    if let (Some(user), Some(realm)) = (msg.username(), msg.realm()) {
        let key = stun::long_term_key(user, realm, "TheMatrIX");
        let _ = msg.check_integrity(&RingProvider::new(), &key);
        let _ = msg.check_integrity_sha256(&RingProvider::new(), &key);
    }

    // What the decoder produced, the encoder must reproduce.
    let mut b = MessageBuilder::new(class, method, tid);
    for a in &attrs {
        b.attribute(a);
    }
    let again = b.finish();
    let back = Message::parse(&again)
        .unwrap_or_else(|e| panic!("re-encoded message does not parse: {e}: {again:02x?}"));
    assert_eq!(back.class(), class);
    assert_eq!(back.method(), method);
    assert_eq!(back.transaction_id(), tid);
    let attrs_back: Vec<Attribute<'_>> = back.attributes().collect();
    assert_eq!(attrs, attrs_back, "attributes changed on re-encoding");
}
