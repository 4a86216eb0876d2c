//! Decoding the chunked transfer coding (RFC 9112 §7.1), incrementally.

use bytes::{Buf, BytesMut};

use super::decoder::Decoded;
use super::error::BodyError;
use super::limits::Limits;
use super::syntax::{is_ows, is_qdtext, is_quoted_pair, is_tchar};
use super::trailers::TrailerReader;

/// At most 16 hex digits, so a size always fits in a `u64`.
const MAX_SIZE_DIGITS: u8 = 16;

/// Where the decoder is within the chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size.
    Size,
    /// Whitespace after the size, before `;`.
    SizeWs,
    /// After `;`, before an extension name.
    BeforeName,
    /// Inside an extension name.
    Name,
    /// Whitespace after a name, before `=` or `;`.
    AfterName,
    /// After `=`, before the value.
    BeforeValue,
    /// Inside a token value.
    Token,
    /// Inside a quoted-string value.
    Quoted,
    /// After a backslash inside a quoted-string.
    Escape,
    /// After the closing quote.
    AfterQuoted,
    /// Whitespace after a value, before `;`.
    ValueWs,
    /// CR seen at the end of a size line.
    SizeLf,
    /// Inside a chunk's data.
    Data,
    /// After a chunk's data, expecting CR.
    DataCr,
    /// After a chunk's data and CR, expecting LF.
    DataLf,
    /// After the last chunk.
    Trailers,
    /// The body is complete.
    Done,
}

/// The state of a chunked body being decoded.
#[derive(Debug, Clone)]
pub(super) struct ChunkedDecoder {
    state: State,
    /// The size being read, then the data left in the current chunk.
    size: u64,
    digits: u8,
    /// Extension bytes on the current size line.
    ext_len: usize,
    max_ext_len: usize,
    trailers: TrailerReader,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub(super) fn new(limits: &Limits) -> Self {
        Self {
            state: State::Size,
            size: 0,
            digits: 0,
            ext_len: 0,
            max_ext_len: limits.max_chunk_ext_len,
            trailers: TrailerReader::new(limits.max_trailer_bytes, limits.max_headers),
        }
    }

    /// Whether the last chunk and the trailer section have been read.
    pub(super) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes the next piece from the front of `buf`; `None` means more
    /// bytes are needed. Data is returned as soon as any is available.
    pub(super) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, BodyError> {
        loop {
            match self.state {
                State::Done => return Ok(Some(Decoded::End)),
                State::Data => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let take =
                        usize::try_from(self.size).map_or(buf.len(), |left| left.min(buf.len()));
                    self.size -= take as u64;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok(Some(Decoded::Data(buf.split_to(take).freeze())));
                }
                State::Trailers => {
                    let Some(fields) = self.trailers.read(buf)? else {
                        return Ok(None);
                    };
                    self.state = State::Done;
                    let decoded = if fields.is_empty() {
                        Decoded::End
                    } else {
                        Decoded::Trailers(fields)
                    };
                    return Ok(Some(decoded));
                }
                _ => {
                    let mut used = 0;
                    for &b in buf.iter() {
                        used += 1;
                        self.step(b)?;
                        if matches!(self.state, State::Data | State::Trailers) {
                            break;
                        }
                    }
                    buf.advance(used);
                    if !matches!(self.state, State::Data | State::Trailers) {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Takes one byte of a size line or of the CRLF after a chunk's data.
    fn step(&mut self, b: u8) -> Result<(), BodyError> {
        use State::*;
        let in_extension = !matches!(self.state, Size | SizeLf | DataCr | DataLf);
        if in_extension && b != b'\r' {
            self.count_extension()?;
        }
        if b == b'\n' && !matches!(self.state, SizeLf | DataLf) {
            return Err(BodyError::MissingCrlf);
        }
        let bad = BodyError::BadChunkExtension;
        self.state = match (self.state, b) {
            (Size, _) => return self.size_byte(b),
            (SizeWs, b';') => BeforeName,
            (SizeWs, b) if is_ows(b) => SizeWs,
            (SizeWs, _) => return Err(BodyError::BadChunkSize),
            (BeforeName, b) if is_ows(b) => BeforeName,
            (BeforeName, b) if is_tchar(b) => Name,
            (Name, b) if is_tchar(b) => Name,
            (Name, b'=') | (AfterName, b'=') => BeforeValue,
            (Name | Token | AfterQuoted, b';') | (AfterName | ValueWs, b';') => BeforeName,
            (Name, b) | (AfterName, b) if is_ows(b) => AfterName,
            (Name | Token | AfterQuoted, b'\r') => SizeLf,
            (BeforeValue, b) if is_ows(b) => BeforeValue,
            (BeforeValue, b'"') => Quoted,
            (BeforeValue, b) if is_tchar(b) => Token,
            (Token, b) if is_tchar(b) => Token,
            (Token | AfterQuoted | ValueWs, b) if is_ows(b) => ValueWs,
            (Quoted, b'"') => AfterQuoted,
            (Quoted, b'\\') => Escape,
            (Quoted, b) if is_qdtext(b) => Quoted,
            (Escape, b) if is_quoted_pair(b) => Quoted,
            (SizeLf, b'\n') => {
                self.line_done();
                return Ok(());
            }
            (DataCr, b'\r') => DataLf,
            (DataLf, b'\n') => Size,
            (SizeLf | DataCr | DataLf, _) => return Err(BodyError::MissingCrlf),
            _ => return Err(bad),
        };
        Ok(())
    }

    /// Takes one byte while reading the size digits.
    fn size_byte(&mut self, b: u8) -> Result<(), BodyError> {
        if let Some(digit) = char::from(b).to_digit(16) {
            if self.digits == MAX_SIZE_DIGITS {
                return Err(BodyError::BadChunkSize);
            }
            self.size = self.size << 4 | u64::from(digit);
            self.digits += 1;
            return Ok(());
        }
        if self.digits == 0 {
            return Err(BodyError::BadChunkSize);
        }
        self.state = match b {
            b'\r' => State::SizeLf,
            b';' => State::BeforeName,
            b if is_ows(b) => State::SizeWs,
            _ => return Err(BodyError::BadChunkSize),
        };
        self.count_extension()
    }

    fn count_extension(&mut self) -> Result<(), BodyError> {
        if self.state == State::SizeLf {
            return Ok(());
        }
        self.ext_len += 1;
        if self.ext_len > self.max_ext_len {
            return Err(BodyError::ChunkExtensionTooLong);
        }
        Ok(())
    }

    /// Ends a size line: data follows, or the trailers after the last chunk.
    fn line_done(&mut self) {
        self.state = if self.size == 0 {
            State::Trailers
        } else {
            State::Data
        };
        self.digits = 0;
        self.ext_len = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bytes::Bytes;
    use http::HeaderMap;

    use super::*;

    /// Decodes everything in `input`, fed whole.
    fn decode_all(input: &[u8], limits: &Limits) -> Result<(Vec<u8>, HeaderMap, usize), BodyError> {
        let mut decoder = ChunkedDecoder::new(limits);
        let mut buf = BytesMut::from(input);
        let mut data = Vec::new();
        let mut trailers = HeaderMap::new();
        loop {
            match decoder.decode(&mut buf)? {
                Some(Decoded::Data(bytes)) => data.extend_from_slice(&bytes),
                Some(Decoded::Trailers(fields)) => trailers = fields,
                Some(Decoded::End) => return Ok((data, trailers, buf.len())),
                None => return Err(BodyError::Incomplete),
            }
        }
    }

    #[test]
    fn valid_bodies() {
        let cases: [(&[u8], &[u8]); 8] = [
            (b"0\r\n\r\n", b""),
            (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
            (b"5\r\nhello\r\n6\r\n world\r\n000\r\n\r\n", b"hello world"),
            (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
            (b"a;x\r\n0123456789\r\n0;y=z\r\n\r\n", b"0123456789"),
            (b"1 ; a = b ;c;d=\"q \\\" \\\\ \"\r\nx\r\n0\r\n\r\n", b"x"),
            (b"1\t;a=\"\"\r\nx\r\n0\r\n\r\n", b"x"),
            (b"0000000000000001\r\nx\r\n0\r\n\r\n", b"x"),
        ];
        for (input, body) in cases {
            let (data, _, rest) = decode_all(input, &Limits::default()).unwrap();
            assert_eq!(data, body, "{:?}", String::from_utf8_lossy(input));
            assert_eq!(rest, 0);
        }
    }

    #[test]
    fn refused_bodies() {
        use BodyError::*;
        let cases: [(&[u8], BodyError); 25] = [
            (b"\r\n", BadChunkSize),
            (b";a\r\n", BadChunkSize),
            (b" 5\r\nhello\r\n", BadChunkSize),
            (b"5 \r\nhello\r\n", BadChunkSize),
            (b"0x5\r\nhello\r\n", BadChunkSize),
            (b"-5\r\nhello\r\n", BadChunkSize),
            (b"+5\r\nhello\r\n", BadChunkSize),
            (b"g\r\n", BadChunkSize),
            (b"10000000000000000\r\n", BadChunkSize),
            (b"5\nhello\r\n", MissingCrlf),
            (b"5\r\rhello\r\n", MissingCrlf),
            (b"5\r\nhelloX\r\n", MissingCrlf),
            (b"5\r\nhello\rX", MissingCrlf),
            (b"5\r\nhello\n0\r\n\r\n", MissingCrlf),
            (b"5;a\nhello", MissingCrlf),
            (b"5;\r\nhello", BadChunkExtension),
            (b"5;=b\r\nhello", BadChunkExtension),
            (b"5;a=\r\nhello", BadChunkExtension),
            (b"5;a b\r\nhello", BadChunkExtension),
            (b"5;a=b \r\nhello", BadChunkExtension),
            (b"5;a=\"b\r\nhello", BadChunkExtension),
            (b"5;a=\"b\"c\r\nhello", BadChunkExtension),
            (b"5;a=(b)\r\nhello", BadChunkExtension),
            (b"5;a=\"\x01\"\r\nhello", BadChunkExtension),
            (b"5;a@\r\nhello", BadChunkExtension),
        ];
        for (input, error) in cases {
            let result = decode_all(input, &Limits::default());
            assert_eq!(
                result.err(),
                Some(error),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn extension_length_is_bounded() {
        let limits = Limits {
            max_chunk_ext_len: 8,
            ..Limits::default()
        };
        let cases: [(&[u8], Result<(), BodyError>); 4] = [
            (b"1;abcdefg\r\nx\r\n0\r\n\r\n", Ok(())),
            (
                b"1;abcdefgh\r\nx\r\n0\r\n\r\n",
                Err(BodyError::ChunkExtensionTooLong),
            ),
            (
                b"1         ;a\r\nx\r\n0\r\n\r\n",
                Err(BodyError::ChunkExtensionTooLong),
            ),
            (b"1;a;b;c;d\r\nx\r\n0;a;b;c;d\r\n\r\n", Ok(())),
        ];
        for (input, expected) in cases {
            let result = decode_all(input, &limits).map(|_| ());
            assert_eq!(result, expected, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn data_is_never_held_back() {
        let mut decoder = ChunkedDecoder::new(&Limits::default());
        let mut buf = BytesMut::from(&b"b\r\nhel"[..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Decoded::Data(Bytes::from_static(b"hel"))))
        );
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"lo world\r\n");
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Decoded::Data(Bytes::from_static(b"lo world"))))
        );
        buf.extend_from_slice(b"0\r\nx: y\r\n\r\nnext");
        let mut fields = HeaderMap::new();
        fields.insert("x", "y".parse().unwrap());
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Decoded::Trailers(fields)))
        );
        assert!(decoder.is_done());
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Decoded::End)));
        assert_eq!(&buf[..], b"next");
    }
}
