//! Connection strategies on tokio's paused clock: staggered race, failures
//! starting the next attempt at once, per-attempt timeout, overall deadline,
//! sequential order, and every outcome a report can hold.

mod support;

use std::time::Duration;

use mimic::report::{NotBuilt, Outcome, ResolveErrorKind, Skipped};
use mimic::{Ctx, Key, Strategy, req};
use support::{Then, kinds, scripted, starts, step};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(start_paused = true)]
async fn slow_best_candidate_loses_to_fast_second_after_the_stagger() {
    let script = scripted("script", 0);
    let ctx = Ctx::new().with_protocol(&script).with(
        script.endpoint(),
        vec![
            step("slow", 1000, Then::Connect),
            step("fast", 10, Then::Connect),
        ],
    );
    let begun = Instant::now();
    let flow = ctx.resolve().await.expect("the fast candidate connects");
    assert_eq!(begun.elapsed(), ms(260));
    assert_eq!(flow.info().endpoint(), Some("fast"));
    let report = flow.info().report().expect("a report on success");
    assert_eq!(
        starts(report.entries()),
        [("slow".into(), Some(0)), ("fast".into(), Some(250))]
    );
    assert_eq!(kinds(report.entries()), ["cancelled 260", "connected 10"]);
    assert_eq!(
        report.winner().and_then(|w| w.endpoint.as_deref()),
        Some("fast")
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_candidate_starts_the_next_at_once() {
    let script = scripted("script", 0);
    let ctx = Ctx::new().with_protocol(&script).with(
        script.endpoint(),
        vec![
            step("a", 20, Then::Fail),
            step("b", 10, Then::Connect),
            step("c", 0, Then::Connect),
        ],
    );
    let flow = ctx.resolve().await.expect("b connects");
    let report = flow.info().report().expect("a report");
    assert_eq!(
        starts(report.entries()),
        [
            ("a".into(), Some(0)),
            ("b".into(), Some(20)),
            ("c".into(), None)
        ]
    );
    assert_eq!(
        kinds(report.entries()),
        [
            "failed 20",
            "connected 10",
            "not attempted: another candidate connected first"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_while_others_run_starts_the_next_without_waiting() {
    let script = scripted("script", 0);
    let ctx = Ctx::new().with_protocol(&script).with(
        script.endpoint(),
        vec![
            step("a", 1000, Then::Connect),
            step("b", 10, Then::Fail),
            step("c", 500, Then::Connect),
        ],
    );
    let flow = ctx.resolve().await.expect("a connects first");
    let report = flow.info().report().expect("a report");
    // b starts at 250 and fails at 260; c starts then, not at 510.
    assert_eq!(
        starts(report.entries()),
        [
            ("a".into(), Some(0)),
            ("b".into(), Some(250)),
            ("c".into(), Some(260))
        ]
    );
    assert_eq!(flow.info().endpoint(), Some("c"));
    assert_eq!(
        kinds(report.entries()),
        ["cancelled 760", "failed 10", "connected 500"]
    );
}

#[tokio::test(start_paused = true)]
async fn the_stagger_is_configurable() {
    let script = scripted("script", 0);
    let ctx = Ctx::new()
        .with_protocol(&script)
        .with(
            script.endpoint(),
            vec![step("a", 1000, Then::Connect), step("b", 0, Then::Connect)],
        )
        .with_strategy(Strategy::Race { stagger: ms(40) });
    let begun = Instant::now();
    let flow = ctx.resolve().await.expect("b connects");
    assert_eq!(flow.info().endpoint(), Some("b"));
    assert_eq!(begun.elapsed(), ms(40));
}

#[tokio::test(start_paused = true)]
async fn sequential_waits_for_each_attempt_to_end() {
    let script = scripted("script", 0);
    let ctx = Ctx::new()
        .with_protocol(&script)
        .with(
            script.endpoint(),
            vec![step("a", 1000, Then::Fail), step("b", 10, Then::Connect)],
        )
        .with_strategy(Strategy::Sequential);
    let begun = Instant::now();
    let flow = ctx.resolve().await.expect("b connects");
    assert_eq!(begun.elapsed(), ms(1010));
    let report = flow.info().report().expect("a report");
    assert_eq!(
        starts(report.entries()),
        [("a".into(), Some(0)), ("b".into(), Some(1000))]
    );
}

#[tokio::test(start_paused = true)]
async fn per_attempt_timeout_moves_on_and_is_reported() {
    let script = scripted("script", 0);
    let ctx = Ctx::new()
        .with_protocol(&script)
        .with(
            script.endpoint(),
            vec![step("a", 0, Then::Hang), step("b", 0, Then::Hang)],
        )
        .with_attempt_timeout(ms(100));
    let begun = Instant::now();
    let err = ctx.resolve().await.expect_err("both hang");
    assert_eq!(begun.elapsed(), ms(200));
    assert_eq!(err.kind(), ResolveErrorKind::AllFailed);
    assert!(err.is_timeout());
    assert_eq!(
        starts(err.report().entries()),
        [("a".into(), Some(0)), ("b".into(), Some(100))]
    );
    assert_eq!(
        kinds(err.report().entries()),
        ["timed out 100", "timed out 100"]
    );
    assert!(err.to_string().contains("timed out after 100 ms"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn overall_deadline_stops_running_attempts_and_skips_the_rest() {
    let script = scripted("script", 0);
    let ctx = Ctx::new()
        .with_protocol(&script)
        .with(
            script.endpoint(),
            vec![
                step("a", 0, Then::Hang),
                step("b", 0, Then::Hang),
                step("c", 0, Then::Hang),
                step("d", 0, Then::Hang),
            ],
        )
        .with_deadline(ms(600));
    let begun = Instant::now();
    let err = ctx.resolve().await.expect_err("all hang");
    assert_eq!(begun.elapsed(), ms(600));
    assert_eq!(err.kind(), ResolveErrorKind::Deadline(ms(600)));
    assert!(err.is_timeout());
    assert_eq!(
        kinds(err.report().entries()),
        [
            "deadline 600",
            "deadline 350",
            "deadline 100",
            "not attempted: the overall deadline passed first"
        ]
    );
    assert!(
        err.to_string()
            .starts_with("could not connect: the deadline of 600 ms passed")
    );
}

#[tokio::test(start_paused = true)]
async fn the_deadline_also_bounds_derivations() {
    static SLOW: Key<Vec<support::Step>> = Key::new("slow endpoint");
    static SEED: Key<u8> = Key::new("seed");
    let script = mimic::Registration::with_key(&SLOW, "script", 0, support::Script);
    let ctx = Ctx::new()
        .with_protocol(&script)
        .with(&SEED, 1)
        .derive(&SLOW, req(&SEED), |_| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, std::io::Error>(Some(vec![step("late", 0, Then::Connect)]))
        })
        .with_deadline(ms(300));
    let begun = Instant::now();
    let err = ctx
        .resolve()
        .await
        .expect_err("the derivation outlives the deadline");
    assert_eq!(begun.elapsed(), ms(300));
    assert_eq!(err.kind(), ResolveErrorKind::NoCandidate);
    let entry = &err.report().entries()[0];
    assert!(
        matches!(&entry.outcome, Outcome::NotBuilt(NotBuilt::DerivationFailed { path, .. }) if path == &["slow endpoint"]),
        "{entry}"
    );
    assert!(
        err.to_string()
            .contains("deadline passed during the derivation"),
        "{err}"
    );
}

/// One error report holding every failure outcome: each way of not being
/// built, a refused connection, a per-attempt timeout, the deadline, and a
/// candidate never attempted.
#[tokio::test(start_paused = true)]
async fn a_resolve_error_reports_every_outcome() {
    static A: Key<u8> = Key::new("a");
    static B: Key<u8> = Key::new("b");
    static PORT: Key<u16> = Key::new("port");
    let missing = scripted("missing", 1);
    let not_applicable = scripted("nothing", 2);
    let failing = scripted("failing", 3);
    let cyclic = scripted("cyclic", 4);
    let live = scripted("live", 5);
    let ctx = support::cycle(Ctx::new(), &A, &B)
        .with_protocol(&missing)
        .with_protocol(&not_applicable)
        .with_protocol(&failing)
        .with_protocol(&cyclic)
        .with_protocol(&live)
        .derive(missing.endpoint(), req(&PORT), |_| async {
            Ok::<_, std::io::Error>(Some(vec![]))
        })
        .derive(not_applicable.endpoint(), (), |()| async {
            Ok::<_, std::io::Error>(None)
        })
        .derive(failing.endpoint(), (), |()| async {
            Err::<Option<Vec<support::Step>>, _>(std::io::Error::other("no route to the registry"))
        })
        .derive(cyclic.endpoint(), req(&A), |_| async {
            Ok::<_, std::io::Error>(Some(vec![]))
        })
        .with(
            live.endpoint(),
            vec![
                step("refused", 5, Then::Fail),
                step("slow", 0, Then::Hang),
                step("stuck", 0, Then::Hang),
                step("late", 0, Then::Connect),
            ],
        )
        .with_attempt_timeout(ms(200))
        .with_deadline(ms(300));
    let err = ctx.resolve().await.expect_err("nothing connects");
    assert_eq!(err.kind(), ResolveErrorKind::Deadline(ms(300)));
    assert_eq!(
        kinds(err.report().entries()),
        [
            "not built",
            "not built",
            "not built",
            "not built",
            "failed 5",
            "timed out 200",
            "deadline 95",
            "not attempted: the overall deadline passed first",
        ]
    );
    // Attempts first; `missing` had no input at all: summed up at the end.
    let text = err.to_string();
    let lines = [
        "could not connect: the deadline of 300 ms passed",
        "  1. live (priority 5) refused: live failed after 5 ms: refused refused [started at +0 ms]",
        "  2. live (priority 5) slow: timed out after 200 ms [started at +5 ms]",
        "  3. live (priority 5) stuck: stopped after 95 ms by the overall deadline [started at +205 ms]",
        "  4. live (priority 5) late: not attempted: the overall deadline passed first",
        "  5. nothing (priority 2): not built: derivation of `nothing` said not applicable",
        "  6. failing (priority 3): not built: derivation of `failing` failed: no route to the registry",
        "  7. cyclic (priority 4): not built: cycle `a` -> `b` -> `a` (for `cyclic`)",
        "  never applicable (no input set): missing",
    ];
    assert_eq!(text, lines.join("\n"));
    // The whole report has every candidate in order.
    let full = err.report().full().to_string();
    assert!(
        full.starts_with(
            "  1. missing (priority 1): not built: missing input `port` (for `missing`)\n"
        ),
        "{full}"
    );
    assert!(full.contains("\n  8. live (priority 5) late: "), "{full}");
    // The causes are the report's lines, not a source: the whole chain
    // reads the same, and no cause is printed twice.
    assert!(std::error::Error::source(&err).is_none());
    assert_eq!(format!("{err:#}"), text);
    assert_eq!(mimic::report::Chain(&err).to_string(), text);
    for cause in ["refused refused", "no route to the registry"] {
        assert_eq!(text.matches(cause).count(), 1, "{cause:?} in:\n{text}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_success_report_shows_the_winner_the_cancelled_and_the_skipped() {
    let script = scripted("script", 0);
    let ctx = Ctx::new().with_protocol(&script).with(
        script.endpoint(),
        vec![
            step("slow", 400, Then::Connect),
            step("quick", 100, Then::Connect),
            step("spare", 0, Then::Connect),
        ],
    );
    let flow = ctx.resolve().await.expect("quick connects");
    let report = flow.info().report().expect("a report");
    assert_eq!(
        kinds(report.entries()),
        [
            "cancelled 350",
            "connected 100",
            "not attempted: another candidate connected first"
        ]
    );
    let text = report.to_string();
    assert!(
        text.contains("cancelled after 350 ms because another candidate won"),
        "{text}"
    );
    assert!(
        matches!(
            report.entries()[2].outcome,
            Outcome::NotAttempted(Skipped::AnotherWon)
        ),
        "{text}"
    );
}

/// Addresses that answer on a schedule: IPv6 ones never answer, IPv4 ones
/// accept after 5 ms. Splits like the TCP protocol does.
struct Eyeballs;

impl mimic::Protocol for Eyeballs {
    type Endpoint = mimic::tcp::TcpEndpoint;
    type Flow = tokio::io::DuplexStream;

    async fn connect(&self, endpoint: &Self::Endpoint) -> std::io::Result<Self::Flow> {
        let addr = endpoint.addrs()[0];
        if addr.is_ipv6() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(ms(5)).await;
        Ok(tokio::io::duplex(8).0)
    }

    fn split(&self, endpoint: &Self::Endpoint) -> Vec<Self::Endpoint> {
        mimic::tcp::rfc8305_order(endpoint.addrs())
            .into_iter()
            .map(Into::into)
            .collect()
    }

    fn describe(&self, endpoint: &Self::Endpoint) -> String {
        endpoint.to_string()
    }
}

#[tokio::test(start_paused = true)]
async fn happy_eyeballs_interleaves_families_250_ms_apart() {
    let addrs: Vec<std::net::SocketAddr> =
        ["127.0.0.1:443", "127.0.0.2:443", "[::1]:443", "[::2]:443"]
            .iter()
            .map(|a| a.parse().expect("literal"))
            .collect();
    let eyeballs = mimic::Registration::new("tcp", 0, Eyeballs);
    let ctx = Ctx::new()
        .with_protocol(&eyeballs)
        .with(eyeballs.endpoint(), mimic::tcp::TcpEndpoint::new(addrs));
    let begun = Instant::now();
    let flow = ctx.resolve().await.expect("IPv4 answers");
    assert_eq!(begun.elapsed(), ms(255));
    assert_eq!(flow.info().endpoint(), Some("127.0.0.1:443"));
    let report = flow.info().report().expect("a report");
    assert_eq!(
        starts(report.entries()),
        [
            ("[::1]:443".into(), Some(0)),
            ("127.0.0.1:443".into(), Some(250)),
            ("[::2]:443".into(), None),
            ("127.0.0.2:443".into(), None),
        ]
    );
}

/// A lone attempt skips the race machinery; its timeouts still apply.
#[tokio::test(start_paused = true)]
async fn a_single_attempt_obeys_the_attempt_timeout_and_the_deadline() {
    let script = scripted("script", 0);
    let ctx = Ctx::new()
        .with_protocol(&script)
        .with(script.endpoint(), vec![step("only", 0, Then::Hang)]);

    let err = ctx
        .clone()
        .with_attempt_timeout(ms(100))
        .resolve()
        .await
        .expect_err("hangs");
    assert_eq!(err.kind(), ResolveErrorKind::AllFailed);
    assert_eq!(kinds(err.report().entries()), ["timed out 100"]);

    let err = ctx
        .clone()
        .with_deadline(ms(70))
        .resolve()
        .await
        .expect_err("hangs");
    assert_eq!(err.kind(), ResolveErrorKind::Deadline(ms(70)));
    assert_eq!(kinds(err.report().entries()), ["deadline 70"]);

    let refused = ctx.with(script.endpoint(), vec![step("only", 3, Then::Fail)]);
    let err = refused.resolve().await.expect_err("refused");
    assert_eq!(kinds(err.report().entries()), ["failed 3"]);
}
