//! Connecting attempts: a staggered race, or one at a time.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::{Instant, sleep_until, timeout};

use super::attempt::{Attempt, StepError};
use crate::ctx::{Options, Strategy};
use crate::derive::BoxFuture;
use crate::flow::Flow;
use crate::report::{Cause, Outcome, Skipped};

/// How the race ended. Outcomes are written into the attempts' entries.
pub(crate) enum Ended {
    Connected(Flow),
    AllFailed,
    Deadline,
}

enum Failure {
    Step(StepError),
    TimedOut(Duration),
}

/// An attempt's connection under the per-attempt timeout, if any.
async fn limited(
    connect: BoxFuture<'static, Result<Flow, StepError>>,
    limit: Option<Duration>,
) -> Result<Flow, Failure> {
    match limit {
        Some(limit) => match timeout(limit, connect).await {
            Ok(result) => result.map_err(Failure::Step),
            Err(_) => Err(Failure::TimedOut(limit)),
        },
        None => connect.await.map_err(Failure::Step),
    }
}

/// How a failed attempt is reported.
fn failed(failure: Failure, after: Duration) -> Outcome {
    match failure {
        Failure::Step(StepError { stage, error }) => Outcome::Failed {
            stage,
            after,
            cause: Arc::new(error) as Cause,
        },
        Failure::TimedOut(after) => Outcome::TimedOut { after },
    }
}

type Running = FuturesUnordered<BoxFuture<'static, (usize, Result<Flow, Failure>)>>;

struct Race<'a> {
    attempts: &'a mut [Attempt],
    started: Vec<Option<Instant>>,
    running: Running,
    next: usize,
    begun: Instant,
    attempt_timeout: Option<Duration>,
}

impl Race<'_> {
    fn start_next(&mut self) {
        let index = self.next;
        self.next += 1;
        let now = Instant::now();
        self.started[index] = Some(now);
        self.attempts[index].entry.started = Some(now - self.begun);
        let connect = self.attempts[index].connect();
        let limit = self.attempt_timeout;
        self.running.push(Box::pin(
            async move { (index, limited(connect, limit).await) },
        ));
    }

    fn elapsed(&self, index: usize) -> Duration {
        self.started[index].map_or(Duration::ZERO, |s| s.elapsed())
    }

    fn more(&self) -> bool {
        self.next < self.attempts.len()
    }

    /// Marks every attempt that has not ended: running ones with `running`,
    /// the rest as not attempted for `skipped`.
    fn close(&mut self, running: fn(Duration) -> Outcome, skipped: Skipped) {
        for index in 0..self.attempts.len() {
            if !matches!(self.attempts[index].entry.outcome, Outcome::Planned) {
                continue;
            }
            let outcome = if self.started[index].is_some() {
                running(self.elapsed(index))
            } else {
                Outcome::NotAttempted(skipped)
            };
            self.attempts[index].entry.outcome = outcome;
        }
        self.running.clear();
    }
}

pub(crate) async fn race(
    attempts: &mut [Attempt],
    options: &Options,
    begun: Instant,
    deadline: Option<Instant>,
) -> Ended {
    let stagger = match options.strategy.unwrap_or_default() {
        Strategy::Race { stagger } => Some(stagger),
        Strategy::Sequential => None,
    };
    let count = attempts.len();
    if count == 1 {
        return single(&mut attempts[0], options, begun, deadline).await;
    }
    let mut race = Race {
        attempts,
        started: vec![None; count],
        running: FuturesUnordered::new(),
        next: 0,
        begun,
        attempt_timeout: options.attempt_timeout,
    };
    let mut next_start: Option<Instant> = None;

    loop {
        if race.running.is_empty() {
            if !race.more() {
                return Ended::AllFailed;
            }
            race.start_next();
            next_start = stagger.map(super::after);
        }
        let timer = next_start.filter(|_| race.more());
        tokio::select! {
            biased;
            Some((index, result)) = race.running.next() => {
                let after = race.elapsed(index);
                match result {
                    Ok(flow) => {
                        race.attempts[index].entry.outcome = Outcome::Connected { after };
                        race.close(|after| Outcome::Cancelled { after }, Skipped::AnotherWon);
                        return Ended::Connected(flow);
                    }
                    Err(failure) => {
                        race.attempts[index].entry.outcome = failed(failure, after);
                        // A failure frees its slot: the next candidate starts at once.
                        if race.more() && !race.running.is_empty() {
                            race.start_next();
                            next_start = stagger.map(super::after);
                        }
                    }
                }
            }
            () = sleep_until(timer.unwrap_or(begun)), if timer.is_some() => {
                race.start_next();
                next_start = stagger.map(super::after);
            }
            () = sleep_until(deadline.unwrap_or(begun)), if deadline.is_some() => {
                race.close(|after| Outcome::DeadlineExceeded { after }, Skipped::Deadline);
                return Ended::Deadline;
            }
        }
    }
}

/// One attempt: no race to run, so no set of futures and no timers but the
/// ones asked for.
async fn single(
    attempt: &mut Attempt,
    options: &Options,
    begun: Instant,
    deadline: Option<Instant>,
) -> Ended {
    let start = Instant::now();
    attempt.entry.started = Some(start - begun);
    let connect = limited(attempt.connect(), options.attempt_timeout);
    let result = match deadline {
        Some(deadline) => match tokio::time::timeout_at(deadline, connect).await {
            Ok(result) => result,
            Err(_) => {
                let after = start.elapsed();
                attempt.entry.outcome = Outcome::DeadlineExceeded { after };
                return Ended::Deadline;
            }
        },
        None => connect.await,
    };
    let after = start.elapsed();
    match result {
        Ok(flow) => {
            attempt.entry.outcome = Outcome::Connected { after };
            Ended::Connected(flow)
        }
        Err(failure) => {
            attempt.entry.outcome = failed(failure, after);
            Ended::AllFailed
        }
    }
}
