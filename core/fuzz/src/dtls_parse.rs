//! # `dtls_parse`
//!
//! [`dtls_parse`] splits arbitrary bytes into DTLS records, each record payload into
//! handshake fragments, feeds the fragments through a [`Reassembler`], and runs every
//! message parser on the raw input, on every record payload and on every reassembled
//! message body. What parses must re-encode to something that parses back the same.

use sansrtc::dtls::handshake::{
    self as hs, ClientHello, Reassembler, ServerHello, ServerKeyExchange,
};
use sansrtc::dtls::record;

use super::{PARSED_PER_BYTE, PARSER_BUDGET, heap};

/// Runs every handshake-message parser on `body`; whatever parses must re-encode to bytes
/// that parse back to the same value.
fn parse_all_messages(body: &[u8]) {
    if let Ok(ch) = ClientHello::parse(body) {
        let again = ClientHello::parse(&ch.encode()).expect("re-encoded ClientHello parses");
        assert_eq!(again, ch, "ClientHello changed on re-encoding");
        for (typ, data) in &ch.extensions {
            parse_extension(*typ, data);
        }
    }
    if let Ok(sh) = ServerHello::parse(body) {
        let again = ServerHello::parse(&sh.encode()).expect("re-encoded ServerHello parses");
        assert_eq!(again, sh, "ServerHello changed on re-encoding");
        for (typ, data) in &sh.extensions {
            parse_extension(*typ, data);
        }
    }
    if let Ok(chain) = hs::parse_certificate(body) {
        let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
        let again = hs::parse_certificate(&hs::encode_certificate(&refs))
            .expect("re-encoded Certificate parses");
        assert_eq!(again, chain, "Certificate changed on re-encoding");
    }
    if let Ok(ske) = ServerKeyExchange::parse(body) {
        let again = ServerKeyExchange::parse(&ske.encode()).expect("re-encoded SKE parses");
        assert_eq!(again, ske, "ServerKeyExchange changed on re-encoding");
    }
    if let Ok((_types, schemes)) = hs::parse_certificate_request(body) {
        let (_, again) = hs::parse_certificate_request(&hs::encode_certificate_request(&schemes))
            .expect("re-encoded CertificateRequest parses");
        assert_eq!(again, schemes, "CertificateRequest changed on re-encoding");
    }
    if let Ok(public) = hs::parse_client_key_exchange(body) {
        let again = hs::parse_client_key_exchange(&hs::encode_client_key_exchange(&public))
            .expect("re-encoded ClientKeyExchange parses");
        assert_eq!(again, public, "ClientKeyExchange changed on re-encoding");
    }
    if let Ok((scheme, sig)) = hs::parse_signed(body) {
        let again = hs::parse_signed(&hs::encode_signed(scheme, &sig))
            .expect("re-encoded digitally-signed parses");
        assert_eq!(
            again,
            (scheme, sig),
            "digitally-signed changed on re-encoding"
        );
    }
    if let Ok((_version, cookie)) = hs::parse_hello_verify_request(body) {
        let (_, again) = hs::parse_hello_verify_request(&hs::encode_hello_verify_request(&cookie))
            .expect("re-encoded HelloVerifyRequest parses");
        assert_eq!(again, cookie, "HelloVerifyRequest changed on re-encoding");
    }
    parse_extension(hs::EXT_USE_SRTP, body);
    parse_extension(hs::EXT_SUPPORTED_GROUPS, body);
}

fn parse_extension(typ: u16, data: &[u8]) {
    match typ {
        hs::EXT_USE_SRTP => {
            if let Ok((profiles, _mki)) = hs::parse_use_srtp(data) {
                let again = hs::parse_use_srtp(&hs::encode_use_srtp(&profiles))
                    .expect("re-encoded use_srtp parses");
                assert_eq!(again.0, profiles, "use_srtp changed on re-encoding");
            }
        }
        _ => {
            if let Ok(list) = hs::parse_u16_list(data) {
                let again = hs::parse_u16_list(&hs::encode_u16_list(&list))
                    .expect("re-encoded u16 list parses");
                assert_eq!(again, list, "u16 list changed on re-encoding");
            }
        }
    }
}

/// A whole message must survive `encode_message`, `fragment_message` (fragments of
/// `1 + split` body bytes) and reassembly.
fn refragment(msg_type: u8, seq: u16, body: &[u8], split: u8) {
    let whole = hs::encode_message(msg_type, seq, body);
    let frags = hs::fragments(&whole).expect("encoded message parses");
    assert_eq!(frags.len(), 1);
    assert_eq!((frags[0].msg_type, frags[0].data), (msg_type, body));
    let mut r = Reassembler::default();
    r.reset(seq);
    for piece in hs::fragment_message(&whole, 1 + usize::from(split)) {
        for f in hs::fragments(&piece).expect("fragment parses") {
            r.add(&f, 0).expect("own fragment accepted");
        }
    }
    let (t, s, b, _) = r.pop().expect("refragmented message reassembles");
    assert_eq!((t, s, b.as_slice()), (msg_type, seq, body));
}

/// The `dtls_parse` fuzz target: records, fragments, reassembly and every message parser
/// on arbitrary bytes. Panics only if the codec breaks one of its promises.
pub fn dtls_parse(data: &[u8]) {
    heap::within(
        "dtls_parse",
        hs::MAX_BUFFERED + PARSER_BUDGET + PARSED_PER_BYTE * data.len(),
        || dtls_parse_unbounded(data),
    )
}

fn dtls_parse_unbounded(data: &[u8]) {
    parse_all_messages(data);
    let mut reasm = Reassembler::default();
    let mut consumed = 0;
    for rec in record::records(data) {
        let Ok(rec) = rec else { break };
        consumed += record::HEADER_LEN + rec.payload.len();
        assert!(consumed <= data.len());
        assert!(rec.payload.len() <= record::MAX_RECORD_PAYLOAD);
        assert!(rec.seq < 1 << 48);
        parse_all_messages(rec.payload);
        let Ok(frags) = hs::fragments(rec.payload) else {
            continue;
        };
        for f in &frags {
            assert!(u64::from(f.offset) + f.data.len() as u64 <= u64::from(f.length));
            parse_all_messages(f.data);
            // Bring a stray first message_seq into the window so reassembly gets exercised.
            if f.message_seq > reasm.next_seq().wrapping_add(4) && reasm.next_seq() == 0 {
                reasm.reset(f.message_seq);
            }
            let _ = reasm.add(f, rec.epoch);
        }
        while let Some((msg_type, seq, body, _)) = reasm.pop() {
            assert!(body.len() <= hs::MAX_MESSAGE_LEN);
            parse_all_messages(&body);
            refragment(msg_type, seq, &body, body.first().copied().unwrap_or(0));
        }
    }
}
