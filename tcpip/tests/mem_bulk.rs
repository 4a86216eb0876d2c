//! A gigabyte each way between two stacks in memory. In a file of its own:
//! it keeps both cores busy for seconds, and the other tests' timers
//! (retransmissions above all) must not run starved beside it.

mod support;

use support::{both_ways, pair, prompt};
use tcpip::link::MemLinkConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gibibyte_each_way_arrives_intact() {
    let (client, server) = pair(
        MemLinkConfig {
            mtu: 9000,
            ..MemLinkConfig::default()
        },
        |c| c,
    );
    let started = std::time::Instant::now();
    prompt("1 GiB each way", both_ways(&client, &server, 9000, 1 << 30)).await;
    eprintln!("1 GiB each way in {:?}", started.elapsed());
}
