//! Glue around `httparse`: header slots, field positions, zero-copy field maps
//! and precise reasons for what `httparse` refuses.

use std::mem::MaybeUninit;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use super::error::HeadError;
use super::syntax::{is_ows, is_tchar, leading_empty_lines, trim_ows};

/// Header slots kept on the stack; larger limits use the heap.
pub(super) const STACK_SLOTS: usize = 128;

/// Field positions kept inline; heads with more fields spill to the heap.
const INLINE_SPANS: usize = 32;

/// One uninitialised `httparse` header slot.
pub(super) type Slot<'b> = MaybeUninit<httparse::Header<'b>>;

/// The slots to parse into: at most `limit`, and no more than `buf` could fill.
///
/// A field line takes at least 3 bytes (`a:\n`), so clamping by the buffer
/// size never causes a spurious `TooManyHeaders` and keeps huge limits cheap.
pub(super) fn slots<'s, 'b>(
    stack: &'s mut [Slot<'b>; STACK_SLOTS],
    heap: &'s mut Vec<Slot<'b>>,
    limit: usize,
    buf: &[u8],
) -> &'s mut [Slot<'b>] {
    let count = limit.min(buf.len() / 3 + 1);
    if count <= STACK_SLOTS {
        &mut stack[..count]
    } else {
        heap.resize(count, MaybeUninit::uninit());
        heap
    }
}

/// Where a field line's name and value lie inside the head. Offsets are
/// 32 bits wide: the inline array is zeroed for every head, and half the
/// width halves that. A part past 4 GiB (only with a limit that large)
/// gets an empty backwards range, which the field map refuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct FieldSpan {
    name: (u32, u32),
    value: (u32, u32),
}

impl FieldSpan {
    fn new(base: &[u8], field: &httparse::Header<'_>) -> FieldSpan {
        let narrow = |(start, end): (usize, usize)| match (u32::try_from(start), u32::try_from(end))
        {
            (Ok(start), Ok(end)) => (start, end),
            _ => (u32::MAX, 0),
        };
        FieldSpan {
            name: narrow(offsets(base, field.name.as_bytes())),
            value: narrow(offsets(base, field.value)),
        }
    }

    fn name(&self) -> std::ops::Range<usize> {
        self.name.0 as usize..self.name.1 as usize
    }

    fn value(&self) -> std::ops::Range<usize> {
        self.value.0 as usize..self.value.1 as usize
    }
}

/// The positions of all field lines of a head, recorded while `httparse`
/// borrows the buffer so that the head can be split off afterwards.
pub(super) struct Spans {
    inline: [FieldSpan; INLINE_SPANS],
    spill: Vec<FieldSpan>,
    len: usize,
}

impl Spans {
    /// No fields yet.
    pub(super) fn new() -> Self {
        Self {
            inline: [FieldSpan::default(); INLINE_SPANS],
            spill: Vec::new(),
            len: 0,
        }
    }

    /// Records the positions of `fields`, which all borrow from `base`.
    pub(super) fn record(&mut self, base: &[u8], fields: &[httparse::Header<'_>]) {
        let span = |field: &httparse::Header<'_>| FieldSpan::new(base, field);
        self.len = fields.len();
        if let Some(inline) = self.inline.get_mut(..fields.len()) {
            for (slot, field) in inline.iter_mut().zip(fields) {
                *slot = span(field);
            }
        } else {
            self.spill = fields.iter().map(span).collect();
        }
    }

    /// The recorded positions, in wire order.
    pub(super) fn as_slice(&self) -> &[FieldSpan] {
        self.inline.get(..self.len).unwrap_or(&self.spill)
    }
}

/// The start and end of `part` inside `base`.
pub(super) fn offsets(base: &[u8], part: &[u8]) -> (usize, usize) {
    let start = part.as_ptr().addr().wrapping_sub(base.as_ptr().addr());
    (start, start.wrapping_add(part.len()))
}

/// Builds the field map from `head`, showing every field line to `observe`.
///
/// Values are zero-copy slices of `head`.
pub(super) fn field_map(
    head: &Bytes,
    spans: &[FieldSpan],
    mut observe: impl FnMut(&[u8], &[u8]),
) -> Result<HeaderMap, HeadError> {
    let mut map =
        HeaderMap::try_with_capacity(spans.len()).map_err(|_| HeadError::TooManyHeaders)?;
    for span in spans {
        let (Some(name), Some(value)) = (head.get(span.name()), head.get(span.value())) else {
            return Err(HeadError::BadRequest("invalid field line"));
        };
        observe(name, value);
        let name = HeaderName::from_bytes(name)
            .map_err(|_| HeadError::BadRequest("invalid header name"))?;
        let value = HeaderValue::from_maybe_shared(head.slice(span.value()))
            .map_err(|_| HeadError::BadRequest("invalid header value"))?;
        map.try_append(name, value)
            .map_err(|_| HeadError::TooManyHeaders)?;
    }
    Ok(map)
}

/// The error for an `httparse` failure in the field section of `buf`.
pub(super) fn field_error(error: httparse::Error, buf: &[u8]) -> HeadError {
    match error {
        httparse::Error::TooManyHeaders => HeadError::TooManyHeaders,
        httparse::Error::HeaderName => HeadError::BadRequest(name_problem(buf)),
        httparse::Error::HeaderValue => HeadError::BadRequest("invalid header value"),
        httparse::Error::NewLine => HeadError::BadRequest("invalid line ending"),
        httparse::Error::Status => HeadError::BadRequest("invalid status line"),
        httparse::Error::Token => HeadError::BadRequest("invalid request line"),
        httparse::Error::Version => HeadError::BadRequest("invalid http version"),
    }
}

/// Finds the field line `httparse` refused for its name, and says why.
///
/// `httparse` reports obsolete line folding, whitespace before the colon and
/// bad name characters alike; this only runs on the error path.
fn name_problem(buf: &[u8]) -> &'static str {
    let start = leading_empty_lines(buf);
    let lines = buf.get(start..).unwrap_or_default().split(|&b| b == b'\n');
    // The start line was accepted; the field lines follow it.
    for line in lines.skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(&first) = line.first() else {
            break;
        };
        if is_ows(first) {
            return "obsolete line folding";
        }
        let name_len = line
            .iter()
            .position(|&b| !is_tchar(b))
            .unwrap_or(line.len());
        let rest = line.get(name_len..).unwrap_or_default();
        match rest.first() {
            _ if name_len == 0 => return "empty header name",
            Some(b':') => {}
            Some(&b) if is_ows(b) => {
                let after = trim_ows(rest);
                if after.is_empty() || after.starts_with(b":") {
                    return "whitespace before colon";
                }
                return "invalid header name";
            }
            None => return "header line without colon",
            Some(_) => return "invalid header name",
        }
    }
    "invalid header name"
}

/// The error for an HTTP version token `httparse` refused: 505 for a
/// well-formed version other than 1.0 and 1.1, 400 for anything else.
pub(super) fn version_error(token: &[u8]) -> HeadError {
    let well_formed = match token {
        [b'H', b'T', b'T', b'P', b'/', major, rest @ ..] if major.is_ascii_digit() => {
            matches!(rest, [] | [b'.'] | [b'.', b'0'..=b'9'])
        }
        _ => false,
    };
    if well_formed {
        HeadError::VersionNotSupported
    } else {
        HeadError::BadRequest("invalid http version")
    }
}

/// The token starting at `at` in `buf`, up to a space, a line end or the end.
pub(super) fn token_at(buf: &[u8], at: usize) -> &[u8] {
    let rest = buf.get(at..).unwrap_or_default();
    let len = rest
        .iter()
        .position(|&b| matches!(b, b' ' | b'\r' | b'\n'))
        .unwrap_or(rest.len());
    rest.get(..len).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_problems() {
        let cases: [(&[u8], &str); 8] = [
            (
                b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
                "obsolete line folding",
            ),
            (
                b"GET / HTTP/1.1\r\nA: b\r\n\tfolded\r\n\r\n",
                "obsolete line folding",
            ),
            (
                b"GET / HTTP/1.1\r\nHost : b\r\n\r\n",
                "whitespace before colon",
            ),
            (
                b"GET / HTTP/1.1\r\nHost\t: b\r\n\r\n",
                "whitespace before colon",
            ),
            (b"GET / HTTP/1.1\r\n: b\r\n\r\n", "empty header name"),
            (b"GET / HTTP/1.1\r\nA(b: c\r\n\r\n", "invalid header name"),
            (
                b"GET / HTTP/1.1\r\nHost\r\n\r\n",
                "header line without colon",
            ),
            (
                b"\r\nHTTP/1.1 200 OK\nA: b\nX Y: z\n\n",
                "invalid header name",
            ),
        ];
        for (buf, reason) in cases {
            assert_eq!(
                name_problem(buf),
                reason,
                "{:?}",
                String::from_utf8_lossy(buf)
            );
        }
    }

    #[test]
    fn versions() {
        let cases: [(&[u8], HeadError); 8] = [
            (b"HTTP/2.0", HeadError::VersionNotSupported),
            (b"HTTP/1.2", HeadError::VersionNotSupported),
            (b"HTTP/3", HeadError::VersionNotSupported),
            (b"HTTP/9.", HeadError::VersionNotSupported),
            (b"HTTP/1.x", HeadError::BadRequest("invalid http version")),
            (b"HTTP/12.0", HeadError::BadRequest("invalid http version")),
            (b"http/1.1", HeadError::BadRequest("invalid http version")),
            (b"", HeadError::BadRequest("invalid http version")),
        ];
        for (token, error) in cases {
            assert_eq!(version_error(token), error, "{token:?}");
        }
    }

    #[test]
    fn tokens() {
        assert_eq!(token_at(b"GET / HTTP/2.0\r\n", 6), b"HTTP/2.0");
        assert_eq!(token_at(b"GET / HTTP/2", 6), b"HTTP/2");
        assert_eq!(token_at(b"GET /", 9), b"");
    }

    #[test]
    fn spans_spill_past_the_inline_capacity() {
        for count in [0, 1, INLINE_SPANS, INLINE_SPANS + 1, 100] {
            let text: String = (0..count).map(|i| format!("h{i}: v{i}\r\n")).collect();
            let buf = format!("{text}\r\n");
            let mut headers = vec![httparse::EMPTY_HEADER; count];
            let parsed = httparse::parse_headers(buf.as_bytes(), &mut headers);
            assert!(matches!(parsed, Ok(httparse::Status::Complete(_))));
            let mut spans = Spans::new();
            spans.record(buf.as_bytes(), &headers);
            let head = Bytes::from(buf.clone());
            let mut seen = 0;
            let map = field_map(&head, spans.as_slice(), |_, _| seen += 1);
            assert_eq!(seen, count);
            assert_eq!(map.map(|map| map.len()), Ok(count));
        }
    }
}
