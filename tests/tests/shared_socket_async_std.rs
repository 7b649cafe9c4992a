//! Many async ORTC chains on one server socket, on async-std (the cases are in
//! `shared_socket_cases/`): the shared socket's task works the same on another runtime.

#[path = "rt/async_std.rs"]
mod rt;

#[path = "shared_socket_cases/mod.rs"]
mod cases;

#[async_std::test]
async fn many_chains_on_one_socket_each_talk_to_their_own_peer() {
    cases::many_chains_on_one_socket_each_talk_to_their_own_peer(20).await
}

#[async_std::test]
async fn stopping_one_chain_leaves_the_socket_and_the_others_working() {
    cases::stopping_one_chain_leaves_the_socket_and_the_others_working().await
}

#[async_std::test]
async fn datagrams_from_strangers_are_dropped_and_counted() {
    cases::datagrams_from_strangers_are_dropped_and_counted().await
}

#[async_std::test]
async fn the_socket_lives_while_a_chain_uses_it_and_closes_after() {
    cases::the_socket_lives_while_a_chain_uses_it_and_closes_after().await
}

#[async_std::test]
async fn calls_on_a_shared_chain_go_out_without_waiting_for_its_timers() {
    cases::calls_on_a_shared_chain_go_out_without_waiting_for_its_timers().await
}

#[async_std::test]
async fn chains_on_the_shared_socket_gather_server_reflexive_candidates() {
    cases::chains_on_the_shared_socket_gather_server_reflexive_candidates().await
}
