//! The async ORTC surface of `sansrtc-async-std` (the cases are in `ortc_cases/`).

mod rt {
    use std::time::Duration;

    pub use sansrtc_async_std::{UdpDriver, ortc};

    pub async fn timeout<T>(d: Duration, f: impl Future<Output = T>) -> Option<T> {
        async_std::future::timeout(d, f).await.ok()
    }

    pub async fn sleep(d: Duration) {
        async_std::task::sleep(d).await
    }

    /// Runs `f` as a task; the returned future yields its result.
    pub fn spawn<T: Send + 'static>(
        f: impl Future<Output = T> + Send + 'static,
    ) -> impl Future<Output = T> {
        async_std::task::spawn(f)
    }

    /// A task that runs until stopped.
    pub struct Background(async_std::task::JoinHandle<()>);

    pub fn background(f: impl Future<Output = ()> + Send + 'static) -> Background {
        Background(async_std::task::spawn(f))
    }

    impl Background {
        pub async fn stop(self) {
            self.0.cancel().await;
        }
    }
}

#[path = "ortc_cases/mod.rs"]
mod cases;

#[async_std::test]
async fn chains_connect_and_carry_text_binary_and_empty_messages_both_ways() {
    cases::chains_connect_and_carry_text_binary_and_empty_messages_both_ways().await
}

#[async_std::test]
async fn bulk_send_waits_at_the_high_water_mark_and_delivers_every_byte_in_order() {
    cases::bulk_send_waits_at_the_high_water_mark_and_delivers_every_byte_in_order().await
}

#[async_std::test]
async fn a_send_dropped_while_it_waits_withdraws_its_message_and_the_next_goes() {
    cases::a_send_dropped_while_it_waits_withdraws_its_message_and_the_next_goes().await
}

#[async_std::test]
async fn ipv6_loopback_connects_and_low_threshold_event_fires() {
    cases::ipv6_loopback_connects_and_low_threshold_event_fires().await
}

#[async_std::test]
async fn wrong_fingerprint_fails_dtls_start_with_an_error() {
    cases::wrong_fingerprint_fails_dtls_start_with_an_error().await
}

#[async_std::test]
async fn a_chosen_dtls_role_overrides_the_one_ice_implies() {
    cases::a_chosen_dtls_role_overrides_the_one_ice_implies().await
}

#[async_std::test]
async fn dropping_every_handle_ends_the_task_and_closes_the_sockets() {
    cases::dropping_every_handle_ends_the_task_and_closes_the_sockets().await
}

#[async_std::test]
async fn gather_waits_for_server_reflexive_candidates_from_stun_servers() {
    cases::gather_waits_for_server_reflexive_candidates_from_stun_servers().await
}

#[async_std::test]
async fn a_reader_that_stops_holds_the_sender_back_and_then_gets_every_byte() {
    cases::a_reader_that_stops_holds_the_sender_back_and_then_gets_every_byte().await
}

#[async_std::test]
async fn a_channel_nobody_can_read_does_not_stall_the_others() {
    cases::a_channel_nobody_can_read_does_not_stall_the_others().await
}

#[async_std::test]
async fn a_flood_of_empty_messages_overflows_the_channel_bound_with_an_event() {
    cases::a_flood_of_empty_messages_overflows_the_channel_bound_with_an_event().await
}

#[async_std::test]
async fn channels_opened_and_closed_again_and_again_are_forgotten() {
    cases::channels_opened_and_closed_again_and_again_are_forgotten().await
}

#[async_std::test]
async fn a_channel_made_before_anything_starts_gets_its_id_and_delivers() {
    cases::a_channel_made_before_anything_starts_gets_its_id_and_delivers().await
}
