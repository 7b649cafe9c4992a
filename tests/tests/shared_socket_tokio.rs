//! Many async ORTC chains on one server socket, on tokio (the cases are in
//! `shared_socket_cases/`).

#[path = "rt/tokio.rs"]
mod rt;

#[path = "shared_socket_cases/mod.rs"]
mod cases;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_chains_on_one_socket_each_talk_to_their_own_peer() {
    // Each client needs a socket of its own here: 300 stays well under the 1,024 open
    // files a default soft limit allows.
    cases::many_chains_on_one_socket_each_talk_to_their_own_peer(300).await
}

#[tokio::test]
async fn datagrams_from_strangers_are_dropped_and_counted() {
    cases::datagrams_from_strangers_are_dropped_and_counted().await
}

#[tokio::test]
async fn stopping_one_chain_leaves_the_socket_and_the_others_working() {
    cases::stopping_one_chain_leaves_the_socket_and_the_others_working().await
}

#[tokio::test]
async fn the_socket_lives_while_a_chain_uses_it_and_closes_after() {
    cases::the_socket_lives_while_a_chain_uses_it_and_closes_after().await
}

#[tokio::test]
async fn calls_on_a_shared_chain_go_out_without_waiting_for_its_timers() {
    cases::calls_on_a_shared_chain_go_out_without_waiting_for_its_timers().await
}

#[tokio::test]
async fn chains_on_the_shared_socket_gather_server_reflexive_candidates() {
    cases::chains_on_the_shared_socket_gather_server_reflexive_candidates().await
}
