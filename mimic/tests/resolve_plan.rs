//! Building the plan: priorities and ties, derivation inputs, memoisation,
//! cycles, merge precedence, layers, and the errors of empty plans.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mimic::report::{NotBuilt, Outcome, ResolveErrorKind};
use mimic::{Ctx, Key, Registration, dft, keys, opt, req};
use support::{Script, Step, Then, scripted, step};

fn order(report: &mimic::report::Report) -> Vec<String> {
    report
        .entries()
        .iter()
        .map(|e| e.protocol.to_string())
        .collect()
}

fn connects(label: &'static str) -> Vec<Step> {
    vec![step(label, 0, Then::Connect)]
}

#[tokio::test(start_paused = true)]
async fn candidates_are_ordered_by_priority_lowest_first() {
    let (a, b, c) = (scripted("a", 10), scripted("b", 20), scripted("c", 30));
    let ctx = Ctx::new()
        .with_protocol(&c)
        .with_protocol(&a)
        .with_protocol(&b)
        .with(a.endpoint(), connects("a"))
        .with(b.endpoint(), connects("b"))
        .with(c.endpoint(), connects("c"));
    assert_eq!(order(&ctx.explain().await), ["a", "b", "c"]);
    let flow = ctx.resolve().await.expect("a connects");
    assert_eq!(flow.info().protocol(), "a");
}

#[tokio::test(start_paused = true)]
async fn equal_priorities_keep_registration_order_and_re_adding_moves_last() {
    let (first, second) = (scripted("first", 5), scripted("second", 5));
    let ctx = Ctx::new()
        .with_protocol(&first)
        .with_protocol(&second)
        .with(first.endpoint(), connects("first"))
        .with(second.endpoint(), connects("second"));
    assert_eq!(order(&ctx.explain().await), ["first", "second"]);
    let ctx = ctx.with_protocol(&first);
    assert_eq!(order(&ctx.explain().await), ["second", "first"]);
    assert!(
        ctx.explain()
            .await
            .entries()
            .iter()
            .all(|e| matches!(e.outcome, Outcome::Planned))
    );
}

static HOST: Key<String> = Key::new("host");
static SCHEME: Key<String> = Key::new("scheme");
static PORT: Key<u16> = Key::new("port");
static TARGET: Key<Vec<Step>> = Key::new("target");

/// The derivation's function sees `T` for `req` and `dft`, `Option<T>` for `opt`.
fn with_target(ctx: Ctx) -> Ctx {
    ctx.with_protocol(&Registration::with_key(&TARGET, "script", 0, Script))
        .derive(
            &TARGET,
            (req(&HOST), opt(&SCHEME), dft(&PORT, 80)),
            |(host, scheme, port)| async move {
                let label = format!("{}://{host}:{port}", scheme.as_deref().unwrap_or("none"));
                let label: &'static str = Box::leak(label.into_boxed_str());
                Ok::<_, std::io::Error>(Some(vec![step(label, 0, Then::Connect)]))
            },
        )
}

#[tokio::test(start_paused = true)]
async fn required_optional_and_default_inputs() {
    let ctx = with_target(Ctx::new());
    let report = ctx.explain().await;
    assert!(
        matches!(&report.entries()[0].outcome, Outcome::NotBuilt(NotBuilt::Missing { path, .. }) if path == &["target", "host"]),
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains("missing input `host` (for `target`)")
    );

    let ctx = ctx.with(&HOST, "example".to_string());
    let flow = ctx.resolve().await.expect("builds with defaults");
    assert_eq!(flow.info().endpoint(), Some("none://example:80"));

    let ctx = ctx.with(&SCHEME, "https".into()).with(&PORT, 8443);
    let flow = ctx.resolve().await.expect("builds with every input");
    assert_eq!(flow.info().endpoint(), Some("https://example:8443"));
}

#[tokio::test(start_paused = true)]
async fn derivations_run_once_per_resolution() {
    static SHARED: Key<u32> = Key::new("shared");
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let (a, b) = (scripted("a", 1), scripted("b", 2));
    let ctx = Ctx::new()
        .with_protocol(&a)
        .with_protocol(&b)
        .derive(&SHARED, (), move |()| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(Some(7))
            }
        })
        .derive(a.endpoint(), req(&SHARED), |_| async {
            Ok::<_, std::io::Error>(Some(vec![step("a", 0, Then::Fail)]))
        })
        .derive(b.endpoint(), req(&SHARED), |_| async {
            Ok::<_, std::io::Error>(Some(vec![step("b", 0, Then::Connect)]))
        });
    ctx.resolve().await.expect("b connects");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    ctx.resolve().await.expect("b connects again");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(ctx.get(&SHARED), None, "get never runs derivations");
}

#[tokio::test(start_paused = true)]
async fn derivations_run_in_dependency_order() {
    static FIRST: Key<String> = Key::new("first");
    static SECOND: Key<String> = Key::new("second");
    let script = scripted("script", 0);
    // Declared in reverse: the endpoint needs SECOND, which needs FIRST.
    let ctx = Ctx::new()
        .with_protocol(&script)
        .derive(
            script.endpoint(),
            req(&SECOND),
            |second: String| async move {
                let label: &'static str = Box::leak(second.into_boxed_str());
                Ok::<_, std::io::Error>(Some(vec![step(label, 0, Then::Connect)]))
            },
        )
        .derive(&SECOND, req(&FIRST), |first: String| async move {
            Ok::<_, std::io::Error>(Some(format!("{first}+second")))
        })
        .derive(&FIRST, (), |()| async {
            Ok::<_, std::io::Error>(Some("first".to_string()))
        });
    let flow = ctx.resolve().await.expect("connects");
    assert_eq!(flow.info().endpoint(), Some("first+second"));
}

#[tokio::test(start_paused = true)]
async fn a_failing_optional_input_fails_the_derivation() {
    let ctx = with_target(Ctx::new())
        .with(&HOST, "example".to_string())
        .derive(&SCHEME, (), |()| async {
            Err::<Option<String>, _>(std::io::Error::other("scheme table unreadable"))
        });
    let report = ctx.explain().await;
    assert!(
        matches!(&report.entries()[0].outcome, Outcome::NotBuilt(NotBuilt::DerivationFailed { path, .. }) if path == &["target", "scheme"]),
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains("derivation of `scheme` failed (for `target`): scheme table unreadable")
    );
}

#[tokio::test(start_paused = true)]
async fn a_not_applicable_optional_input_is_absent() {
    let ctx = with_target(Ctx::new())
        .with(&HOST, "example".to_string())
        .derive(&SCHEME, (), |()| async {
            Ok::<Option<String>, std::io::Error>(None)
        });
    let flow = ctx.resolve().await.expect("builds without the scheme");
    assert_eq!(flow.info().endpoint(), Some("none://example:80"));
}

#[tokio::test(start_paused = true)]
async fn a_cycle_is_reported_with_its_path() {
    static A: Key<Vec<Step>> = Key::new("a");
    static B: Key<Vec<Step>> = Key::new("b");
    let ctx = support::cycle(Ctx::new(), &A, &B)
        .with_protocol(&Registration::with_key(&A, "script", 0, Script));
    let err = ctx.resolve().await.expect_err("a cycle builds nothing");
    assert_eq!(err.kind(), ResolveErrorKind::NoCandidate);
    assert!(
        matches!(&err.report().entries()[0].outcome, Outcome::NotBuilt(NotBuilt::Cycle { path }) if path == &["a", "b", "a"]),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("not built: cycle `a` -> `b` -> `a`"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn with_replaces_a_derivation_and_merge_lets_the_argument_win() {
    let script = scripted("script", 0);
    let base = Ctx::new()
        .with_protocol(&script)
        .derive(script.endpoint(), (), |()| async {
            Ok::<_, std::io::Error>(Some(vec![step("derived", 0, Then::Connect)]))
        });
    let flow = base.resolve().await.expect("derived endpoint");
    assert_eq!(flow.info().endpoint(), Some("derived"));

    let valued = base.clone().with(script.endpoint(), connects("value"));
    assert_eq!(
        valued.get(script.endpoint()).map(|s| s[0].label),
        Some("value")
    );
    let flow = valued.resolve().await.expect("value endpoint");
    assert_eq!(flow.info().endpoint(), Some("value"));

    let other = Ctx::new().with(script.endpoint(), connects("other"));
    let merged = valued.clone().merge(&other);
    assert_eq!(
        merged.get(script.endpoint()).map(|s| s[0].label),
        Some("other")
    );
    let flow = merged.resolve().await.expect("merged endpoint");
    assert_eq!(flow.info().endpoint(), Some("other"));

    // The original contexts are untouched.
    assert_eq!(
        valued.get(script.endpoint()).map(|s| s[0].label),
        Some("value")
    );
    assert!(base.get(script.endpoint()).is_none());
    assert!(base.contains(script.endpoint()));
    assert!(
        !base
            .clone()
            .without(script.endpoint())
            .contains(script.endpoint())
    );
}

#[tokio::test(start_paused = true)]
async fn merge_appends_registrations_and_overrides_options() {
    let (a, b) = (scripted("a", 0), scripted("b", 0));
    let left = Ctx::new()
        .with_protocol(&a)
        .with_protocol(&b)
        .with_strategy(mimic::Strategy::Sequential);
    let right = Ctx::new()
        .with_protocol(&a)
        .with_strategy(mimic::Strategy::Race {
            stagger: std::time::Duration::from_millis(10),
        });
    let merged = left
        .merge(&right)
        .with(a.endpoint(), connects("a"))
        .with(b.endpoint(), connects("b"));
    assert_eq!(order(&merged.explain().await), ["b", "a"]);
    assert_eq!(
        merged.strategy(),
        mimic::Strategy::Race {
            stagger: std::time::Duration::from_millis(10)
        }
    );
}

#[tokio::test(start_paused = true)]
async fn empty_contexts_say_what_is_missing() {
    let err = Ctx::new().resolve().await.expect_err("no protocol");
    assert_eq!(err.kind(), ResolveErrorKind::NoProtocol);
    assert_eq!(
        err.to_string(),
        "could not connect: the context has no protocol registered\n  (no protocol registered)"
    );

    let err = Ctx::new()
        .with_builtins()
        .resolve()
        .await
        .expect_err("no endpoint");
    assert_eq!(err.kind(), ResolveErrorKind::NoCandidate);
    let text = err.to_string();
    assert!(
        text.contains(
            "tls (priority 0): not built: missing input `tls server name` (for `tls endpoint`)"
        ),
        "{text}"
    );
    assert!(
        text.contains("unix (priority 10): not built: missing input `unix path`"),
        "{text}"
    );
    assert!(text.contains("tcp (priority 20): not built: missing input `host` (for `tcp endpoint` -> `ip addresses`)"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn builtins_report_a_missing_port() {
    let ctx = Ctx::new()
        .with_builtins()
        .with(&keys::HOST, "127.0.0.1".to_string());
    let text = ctx.explain().await.to_string();
    assert!(
        text.contains("tcp (priority 20): not built: missing input `port` (for `tcp endpoint`)"),
        "{text}"
    );
}

/// A layer that adds nothing; its name shows in the protocol stack.
struct Tag;

impl mimic::Layer for Tag {
    type Endpoint = &'static str;
    type Flow = mimic::Flow;

    async fn connect(&self, _: &&'static str, inner: mimic::Flow) -> std::io::Result<mimic::Flow> {
        Ok(inner)
    }

    fn describe(&self, tag: &&'static str) -> String {
        format!("tag {tag}")
    }
}

#[tokio::test(start_paused = true)]
async fn a_layer_wraps_every_protocol_including_later_ones() {
    let tag = Registration::layer("tag", 0, Tag);
    let (a, b) = (scripted("a", 20), scripted("b", 10));
    let ctx = Ctx::new()
        .with_protocol(&a)
        .with_protocol(&tag)
        .with_protocol(&b)
        .with(a.endpoint(), connects("a"))
        .with(b.endpoint(), connects("b"));

    // Without the layer's endpoint, the protocols are tried bare.
    let report = ctx.explain().await;
    assert_eq!(order(&report), ["tag", "b", "a"]);
    assert!(
        report
            .to_string()
            .contains("tag (priority 0): not built: missing input `tag`")
    );

    let ctx = ctx.with(tag.endpoint(), "x");
    let report = ctx.explain().await;
    assert_eq!(
        order(&report),
        ["tag/b", "tag/a"],
        "bare candidates are gone"
    );
    assert_eq!(
        report.entries()[0].endpoint.as_deref(),
        Some("tag x over b")
    );
    let flow = ctx.resolve().await.expect("connects through the layer");
    assert_eq!(flow.info().protocols().collect::<Vec<_>>(), ["tag", "b"]);
}

#[tokio::test(start_paused = true)]
async fn layers_stack_in_registration_order_and_can_be_restricted() {
    let inner = Registration::layer("inner", 0, Tag).over(&["a"]);
    let outer = Registration::layer("outer", 0, Tag);
    let unused = Registration::layer("unused", 0, Tag).over(&["nothing"]);
    let (a, b) = (scripted("a", 10), scripted("b", 20));
    let ctx = Ctx::new()
        .with_protocol(&a)
        .with_protocol(&b)
        .with_protocol(&inner)
        .with_protocol(&outer)
        .with_protocol(&unused)
        .with(a.endpoint(), connects("a"))
        .with(b.endpoint(), connects("b"))
        .with(inner.endpoint(), "i")
        .with(outer.endpoint(), "o")
        .with(unused.endpoint(), "u");
    let report = ctx.explain().await;
    // Same priority: the outer layer was registered before `unused`.
    assert_eq!(
        order(&report),
        ["outer/inner/a", "outer/b", "unused"],
        "{report}"
    );
    assert!(matches!(
        report.entries()[2].outcome,
        Outcome::NotBuilt(NotBuilt::NothingToWrap)
    ));
    assert_eq!(
        report.entries()[0].endpoint.as_deref(),
        Some("tag o over tag i over a")
    );
    let flow = ctx.resolve().await.expect("connects");
    assert_eq!(
        flow.info().protocols().collect::<Vec<_>>(),
        ["outer", "inner", "a"]
    );
}

#[tokio::test(start_paused = true)]
async fn same_name_on_the_same_key_replaces_other_names_coexist() {
    static SHARED: Key<Vec<Step>> = Key::new("shared endpoint");
    let first = Registration::with_key(&SHARED, "script", 10, Script);
    let replacement = Registration::with_key(&SHARED, "script", 5, Script);
    let neighbour = Registration::with_key(&SHARED, "other", 1, Script);
    let ctx = Ctx::new()
        .with_protocol(&first)
        .with_protocol(&neighbour)
        .with_protocol(&replacement)
        .with(&SHARED, connects("x"));
    let report = ctx.explain().await;
    let rows: Vec<_> = report
        .entries()
        .iter()
        .map(|e| (e.protocol.to_string(), e.priority))
        .collect();
    assert_eq!(rows, [("other".to_string(), 1), ("script".to_string(), 5)]);
}

/// An error with a cause of its own, shown as two levels.
#[derive(Debug)]
struct RegistryDown(std::io::Error);

impl std::fmt::Display for RegistryDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the registry did not answer")
    }
}

impl std::error::Error for RegistryDown {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Each line has its cause's whole chain; attempted candidates come first,
/// and the headline counts every numbered line.
#[tokio::test(start_paused = true)]
async fn report_lines_show_each_cause_with_its_whole_chain_once() {
    let script = scripted("script", 0);
    let failing = scripted("failing", 1);
    let ctx = Ctx::new()
        .with_protocol(&script)
        .with_protocol(&failing)
        .derive(script.endpoint(), (), |()| async {
            let down = RegistryDown(std::io::Error::other("timed out"));
            Err::<Option<Vec<Step>>, _>(down)
        })
        .with(failing.endpoint(), vec![step("refused", 0, Then::Fail)]);
    let err = ctx.resolve().await.expect_err("nothing connects");
    assert_eq!(
        err.to_string(),
        "could not connect: all 1 attempted candidates failed; 1 more could not be built\n  \
         1. failing (priority 1) refused: failing failed after 0 ms: refused refused [started at +0 ms]\n  \
         2. script (priority 0): not built: derivation of `script` failed: \
         the registry did not answer: timed out"
    );
    assert_eq!(format!("{err:#}"), err.to_string());
}
