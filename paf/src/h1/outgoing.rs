//! Encoding a body being sent, frame by frame: the step that the server's
//! responses and the client's requests share.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use http::HeaderMap;
use http_body::Body as HttpBody;

use super::codec::{Encoder, WriteBuf};
use crate::error::{BoxError, Error, Kind};

/// What one step did.
pub(crate) enum Step {
    /// A frame was encoded into the write queue; more may follow.
    Frame,
    /// The body ended and its end (the last chunk, trailers) was encoded.
    End,
}

/// Takes the next frame of `body` and encodes it into `dst`. Trailers are
/// gathered in `trailers` and written at the end (chunked framing only).
/// An error from the body, or a body that disagrees with its declared
/// length, is a user error: the message cannot be completed.
pub(crate) fn poll_encode<B>(
    cx: &mut Context<'_>,
    body: Pin<&mut B>,
    encoder: &mut Encoder,
    trailers: &mut Option<HeaderMap>,
    dst: &mut WriteBuf,
) -> Poll<Result<Step, Error>>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let length_error = |err| Error::with(Kind::User, err);
    match ready!(body.poll_frame(cx)) {
        Some(Ok(frame)) => match frame.into_data() {
            Ok(mut data) => {
                let data = data.copy_to_bytes(data.remaining());
                encoder.encode_data(data, dst).map_err(length_error)?;
                Poll::Ready(Ok(Step::Frame))
            }
            Err(frame) => {
                if let Ok(map) = frame.into_trailers() {
                    trailers.get_or_insert_with(HeaderMap::new).extend(map);
                }
                Poll::Ready(Ok(Step::Frame))
            }
        },
        Some(Err(err)) => Poll::Ready(Err(Error::user(err))),
        None => {
            encoder
                .encode_end(trailers.as_ref(), dst)
                .map_err(length_error)?;
            Poll::Ready(Ok(Step::End))
        }
    }
}
