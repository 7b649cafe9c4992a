//! # `sdp`
//!
//! [`sdp`] reads the input as UTF-8 (invalid sequences replaced) and parses it with
//! `SessionDescription::parse`. What parses must write back to text that parses to the
//! same description and writes the same again, and a CRLF input must come back byte for
//! byte. Then every accessor runs: every typed attribute parser on every attribute
//! (whatever its name), each typed value writing back to text that parses to the same
//! value, and the typed `o=`, `t=`, `m=`, `c=`, `b=` lines likewise. Last, every section is
//! rejected (port 0), made inactive and stripped of its candidates, and the result must
//! still parse back equal.

use std::fmt::Debug;

use sansrtc::sdp::{
    Attribute, AttributeValue, Bandwidth, Candidate, Connection, Direction, Extmap, Fingerprint,
    Fmtp, Group, IceOptions, IcePwd, IceUfrag, MaxMessageSize, Media, Mid, Msid, Origin, Rid,
    RtcpFb, Rtpmap, SctpPort, Sctpmap, SessionDescription, Setup, Simulcast, Ssrc, SsrcGroup,
    Timing,
};

use super::{PARSED_PER_BYTE, PARSER_BUDGET, heap};

/// The `sdp` fuzz target. Panics only if the codec breaks one of its promises.
pub fn sdp(data: &[u8]) {
    heap::within("sdp", PARSER_BUDGET + PARSED_PER_BYTE * data.len(), || {
        sdp_unbounded(data)
    })
}

fn sdp_unbounded(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut sdp = match SessionDescription::parse(&text) {
        Ok(sdp) => sdp,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let written = sdp.to_string();
    let mut out = String::new();
    sdp.write_to(&mut out);
    assert_eq!(out, written, "write_to and Display disagree");
    drop(out);
    // CRLF lines, no blank lines at the end: written back byte for byte.
    let crlf = text.split_inclusive('\n').all(|l| l.ends_with("\r\n"))
        && text.trim_end_matches(['\r', '\n']).len() + 2 == text.len();
    if crlf {
        assert_eq!(
            written, text,
            "CRLF description not written back byte for byte"
        );
    }
    let again = SessionDescription::parse(&written)
        .unwrap_or_else(|e| panic!("written description does not parse: {e}\n{written}"));
    assert_eq!(again, sdp, "description changed on writing");
    assert_eq!(again.to_string(), written);
    drop(again);
    assert_eq!(sdp.lines().count(), written.matches("\r\n").count());

    fixed(Origin::parse, Origin::to_string, sdp.origin());
    fixed(Timing::parse, Timing::to_string, sdp.timing());
    let _ = (sdp.session_name(), sdp.ice_lite(), sdp.extmap_allow_mixed());
    let _ = sdp.connection().map(|c| c.ip());
    for b in sdp.bandwidths() {
        fixed(Bandwidth::parse, Bandwidth::to_string, b);
    }
    for a in sdp.attributes() {
        attribute(&a);
        let _ = (sdp.attribute(a.name), sdp.attribute_value(a.name));
        let _ = sdp.attribute_values(a.name).count();
    }
    for m in sdp.media_sections() {
        let media = m.media();
        assert_eq!(Media::parse(&media.to_string()).as_ref(), Ok(media));
        if let Some(c) = m.connection() {
            let _ = c.ip();
            assert_eq!(Connection::parse(&c.to_string()), Ok(c));
        }
        for b in m.bandwidths() {
            fixed(Bandwidth::parse, Bandwidth::to_string, b);
        }
        let _ = (
            m.direction(),
            m.rtcp_mux(),
            m.rtcp_rsize(),
            m.end_of_candidates(),
        );
        let _ = m.extmap_allow_mixed();
        if let Some(mid) = m.mid() {
            assert!(sdp.media_section_by_mid(mid).is_some());
        }
        for a in m.attributes() {
            attribute(&a);
            let _ = (m.attribute(a.name), m.attribute_value(a.name));
            let _ = m.attribute_values(a.name).count();
        }
    }

    for m in sdp.media_sections_mut() {
        m.set_port(0).expect("port 0 is a port");
        m.set_direction(Direction::Inactive)
            .expect("a direction is a line");
        m.remove_attributes("candidate");
        m.push_attribute("end-of-candidates", None)
            .expect("a valid attribute");
    }
    let written = sdp.to_string();
    let again = SessionDescription::parse(&written)
        .unwrap_or_else(|e| panic!("changed description does not parse: {e}\n{written}"));
    assert_eq!(again, sdp, "changed description changed on writing");
    assert!(again.media_sections().iter().all(|m| m.media().port == 0
        && m.direction() == Some(Direction::Inactive)
        && m.first::<Candidate>().is_none()));
}

/// A typed line that parses writes back to text that parses to the same value.
fn fixed<T: PartialEq + Debug, E: ToString>(
    parse: fn(&str) -> Result<T, E>,
    write: fn(&T) -> String,
    parsed: Result<T, E>,
) {
    match parsed {
        Ok(v) => {
            let text = write(&v);
            match parse(&text) {
                Ok(again) => assert_eq!(again, v, "{text:?} changed"),
                Err(e) => panic!("{text:?} does not parse back: {}", e.to_string()),
            }
        }
        Err(e) => drop(e.to_string()),
    }
}

/// Every typed parser on one attribute, whatever its name.
fn attribute(a: &Attribute<'_>) {
    typed::<Rtpmap>(a);
    typed::<Fmtp>(a);
    typed::<RtcpFb>(a);
    typed::<Extmap>(a);
    typed::<Ssrc>(a);
    typed::<SsrcGroup>(a);
    typed::<Msid>(a);
    typed::<Rid>(a);
    typed::<Simulcast>(a);
    typed::<Candidate>(a);
    typed::<Fingerprint>(a);
    typed::<Setup>(a);
    typed::<IceUfrag>(a);
    typed::<IcePwd>(a);
    typed::<IceOptions>(a);
    typed::<Group>(a);
    typed::<Mid>(a);
    typed::<SctpPort>(a);
    typed::<MaxMessageSize>(a);
    typed::<Sctpmap>(a);
    if let Some(d) = Direction::from_name(a.name) {
        assert_eq!(Direction::from_name(d.as_str()), Some(d));
    }
}

fn typed<T: AttributeValue + PartialEq + Debug>(a: &Attribute<'_>) {
    match a.parse::<T>() {
        Ok(v) => {
            let text = v.to_string();
            let again = T::parse_value(&text)
                .unwrap_or_else(|e| panic!("a={} {text:?} does not parse back: {e}", T::NAME));
            assert_eq!(again, v, "a={} {text:?} changed", T::NAME);
        }
        Err(e) => drop(e.to_string()),
    }
}
