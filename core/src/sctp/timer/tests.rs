//! The timer table: ordering of deadlines, expiry, stopping.

use std::time::Duration;

use super::*;

#[test]
fn next_expiry_is_the_soonest_running_timer() {
    let t0 = Instant::now();
    let mut t = TimerTable::default();
    assert_eq!(t.next_expiry(), None);
    t.set(Timer::T3Rtx, t0 + Duration::from_secs(3));
    t.set(Timer::Heartbeat, t0 + Duration::from_secs(30));
    t.set(Timer::DelayedAck, t0 + Duration::from_millis(200));
    assert_eq!(t.next_expiry(), Some(t0 + Duration::from_millis(200)));
    t.stop(Timer::DelayedAck);
    assert_eq!(t.next_expiry(), Some(t0 + Duration::from_secs(3)));
    // Restarting moves the deadline rather than adding a second one.
    t.set(Timer::T3Rtx, t0 + Duration::from_secs(60));
    assert_eq!(t.next_expiry(), Some(t0 + Duration::from_secs(30)));
    t.stop_all();
    assert_eq!(t.next_expiry(), None);
}

#[test]
fn a_timer_expires_at_its_deadline_not_before() {
    let t0 = Instant::now();
    let mut t = TimerTable::default();
    let at = t0 + Duration::from_secs(1);
    t.set(Timer::T1, at);
    assert!(!t.expired(Timer::T1, t0));
    assert!(t.expired(Timer::T1, at));
    assert!(
        !t.expired(Timer::T2Shutdown, at),
        "a stopped timer never expires"
    );
    t.set_or_stop(Timer::T1, None);
    assert!(!t.is_set(Timer::T1));
}
