//! Reading a whole body.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::HeaderMap;

use super::Body;
use crate::error::{Error, Kind};

/// A whole body: its bytes and its trailers.
#[derive(Clone, Debug, Default)]
pub struct Collected {
    data: Bytes,
    trailers: Option<HeaderMap>,
}

impl Collected {
    /// The body's bytes.
    pub fn to_bytes(&self) -> Bytes {
        self.data.clone()
    }

    /// The body's bytes, by value.
    pub fn into_bytes(self) -> Bytes {
        self.data
    }

    /// The trailers, if the body had any.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }
}

impl Body {
    /// Reads the whole body and its trailers.
    ///
    /// The size is bounded only by what the body's producer allows: a server
    /// limits request bodies with its body limit.
    pub async fn collect(mut self) -> Result<Collected, Error> {
        let mut first: Option<Bytes> = None;
        let mut rest = BytesMut::new();
        let mut trailers = None;
        while let Some(frame) = self.frame().await {
            let frame = match frame?.into_data() {
                Ok(data) => {
                    // One chunk, the common case, is kept without copying.
                    match &first {
                        None if rest.is_empty() => first = Some(data),
                        _ => {
                            if let Some(first) = first.take() {
                                rest.put(first);
                            }
                            rest.put(data);
                        }
                    }
                    continue;
                }
                Err(frame) => frame,
            };
            if let Ok(map) = frame.into_trailers() {
                trailers.get_or_insert_with(HeaderMap::new).extend(map);
            }
        }
        let data = first.unwrap_or_else(|| rest.freeze());
        Ok(Collected { data, trailers })
    }

    /// Reads the whole body into one buffer.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        Ok(self.collect().await?.data)
    }

    /// Reads the whole body as UTF-8 text.
    pub async fn text(self) -> Result<String, Error> {
        let bytes = self.bytes().await?;
        String::from_utf8(bytes.into()).map_err(|err| Error::with(Kind::Body, err.utf8_error()))
    }

    /// Reads the body to its end and throws it away; returns how many bytes
    /// it had. Reading a received body to the end is what lets its
    /// connection carry the next message.
    pub async fn drain(mut self) -> Result<u64, Error> {
        let mut total = 0;
        while let Some(frame) = self.frame().await {
            if let Some(data) = frame?.data_ref() {
                total += data.remaining() as u64;
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn collects_chunks_and_trailers() {
        let (mut tx, body) = Body::channel();
        let producer = tokio::spawn(async move {
            tx.send_data("ab").await?;
            tx.send_data("cd").await?;
            let mut trailers = HeaderMap::new();
            trailers.insert("x-sum", http::HeaderValue::from_static("42"));
            tx.send_trailers(trailers).await
        });
        let collected = body.collect().await.expect("body completes");
        assert_eq!(collected.to_bytes(), "abcd");
        let sum = collected.trailers().and_then(|t| t.get("x-sum"));
        assert_eq!(sum.map(|v| v.as_bytes()), Some(&b"42"[..]));
        assert!(producer.await.is_ok_and(|r| r.is_ok()));
    }

    #[tokio::test]
    async fn drain_counts_and_text_checks_utf8() {
        assert_eq!(Body::full(vec![0u8; 1000]).drain().await.ok(), Some(1000));
        let err = Body::full(vec![0xff, 0xfe]).text().await.err();
        assert!(err.is_some_and(|e| e.is_body()));
    }

    #[tokio::test]
    async fn an_aborted_channel_fails_the_reader() {
        let (tx, body) = Body::channel();
        tx.abort();
        assert!(body.bytes().await.is_err_and(|e| e.is_canceled()));
    }
}
