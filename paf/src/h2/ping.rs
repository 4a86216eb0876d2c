//! Keep-alive: a PING every interval; a connection whose peer does not
//! answer in time is dead.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use h2::{Ping, PingPong};
use tokio::time::{Instant, Sleep};

use crate::error::{Error, Kind, Timeout};

pub(crate) struct KeepAlive {
    ping: PingPong,
    interval: Duration,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    awaiting_pong: bool,
}

impl KeepAlive {
    pub(crate) fn new(ping: PingPong, interval: Duration, timeout: Duration) -> KeepAlive {
        KeepAlive {
            ping,
            interval,
            timeout,
            sleep: Box::pin(tokio::time::sleep(interval)),
            awaiting_pong: false,
        }
    }

    /// Ready with an error once the peer failed to answer a PING in time.
    pub(crate) fn poll_dead(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        loop {
            if self.awaiting_pong {
                match self.ping.poll_pong(cx) {
                    Poll::Ready(Ok(_)) => {
                        self.awaiting_pong = false;
                        self.sleep
                            .as_mut()
                            .reset(crate::timer::after(self.interval));
                    }
                    Poll::Ready(Err(err)) => return Poll::Ready(Error::h2(err)),
                    Poll::Pending => {}
                }
            }
            ready!(self.sleep.as_mut().poll(cx));
            if self.awaiting_pong {
                return Poll::Ready(Error::with(
                    Kind::Timeout(Timeout::Idle),
                    format!("no answer to a keep-alive PING within {:?}", self.timeout),
                ));
            }
            if let Err(err) = self.ping.send_ping(Ping::opaque()) {
                return Poll::Ready(Error::h2(err));
            }
            self.awaiting_pong = true;
            self.sleep.as_mut().reset(Instant::now() + self.timeout);
        }
    }
}
