//! The async ORTC surface of `sansrtc-async-std` (the cases are in `ortc_cases/`).

#[path = "rt/async_std.rs"]
mod rt;

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

#[async_std::test]
async fn a_send_after_idle_time_measures_the_round_trip_not_the_silence() {
    cases::a_send_after_idle_time_measures_the_round_trip_not_the_silence().await
}
