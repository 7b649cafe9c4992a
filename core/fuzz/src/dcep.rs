//! # `dcep`
//!
//! [`dcep`] parses DCEP messages, which must re-encode to exactly the input.

use sansrtc::datachannel::{ChannelType, DcepMessage};

use super::{PARSED_PER_BYTE, PARSER_BUDGET, heap};

/// The `dcep` fuzz target: `DcepMessage::parse` on arbitrary bytes. The format has one
/// encoding per message, so what parses must re-encode to exactly the input.
pub fn dcep(data: &[u8]) {
    heap::within("dcep", PARSER_BUDGET + PARSED_PER_BYTE * data.len(), || {
        dcep_unbounded(data)
    })
}

fn dcep_unbounded(data: &[u8]) {
    let Ok(msg) = DcepMessage::parse(data) else {
        return;
    };
    if let DcepMessage::Open(o) = &msg {
        let _ = (
            o.max_retransmits(),
            o.max_packet_life_time(),
            o.channel_type.is_ordered(),
        );
        assert_eq!(
            ChannelType::from_u8(o.channel_type.to_u8()),
            Some(o.channel_type)
        );
    }
    let mut out = Vec::new();
    msg.encode_into(&mut out)
        .unwrap_or_else(|e| panic!("parsed DCEP message does not re-encode: {e}"));
    assert_eq!(out.len(), msg.encoded_len());
    assert_eq!(out, data, "DCEP message changed on re-encoding");
    assert_eq!(DcepMessage::parse(&out).as_ref(), Ok(&msg));
}
