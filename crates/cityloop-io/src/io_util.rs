//! Read adapters: byte counting for progress, and transcoding to UTF-8.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use encoding_rs::{CoderResult, Decoder, Encoding};

/// Counts bytes read from the underlying source, shared with the
/// [`crate::FeatureReader`] so it can report progress however many layers
/// (buffering, transcoding, csv) sit on top.
pub(crate) struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> CountingReader<R> {
    pub(crate) fn new(inner: R) -> (Self, Arc<AtomicU64>) {
        let count = Arc::new(AtomicU64::new(0));
        (
            Self {
                inner,
                count: Arc::clone(&count),
            },
            count,
        )
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Streams `inner` decoded from `encoding` as UTF-8 (malformed input becomes
/// U+FFFD and is counted).
pub(crate) struct DecodingReader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    input_start: usize,
    input_end: usize,
    output: Vec<u8>,
    output_start: usize,
    output_end: usize,
    eof: bool,
    pub(crate) replacements: Arc<AtomicU64>,
}

impl<R: Read> DecodingReader<R> {
    pub(crate) fn new(inner: R, encoding: &'static Encoding) -> Self {
        Self {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; 16 * 1024],
            input_start: 0,
            input_end: 0,
            output: vec![0; 64 * 1024],
            output_start: 0,
            output_end: 0,
            eof: false,
            replacements: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.output_start < self.output_end {
                let available = &self.output[self.output_start..self.output_end];
                let n = available.len().min(buf.len());
                buf[..n].copy_from_slice(&available[..n]);
                self.output_start += n;
                return Ok(n);
            }
            if self.eof && self.input_start == self.input_end {
                return Ok(0);
            }
            if self.input_start == self.input_end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.input_start = 0;
                self.input_end = n;
                if n == 0 {
                    self.eof = true;
                }
            }
            let last = self.eof;
            let (result, read, written, had_errors) = self.decoder.decode_to_utf8(
                &self.input[self.input_start..self.input_end],
                &mut self.output,
                last,
            );
            if had_errors {
                self.replacements.fetch_add(1, Ordering::Relaxed);
            }
            self.input_start += read;
            self.output_start = 0;
            self.output_end = written;
            if last && result == CoderResult::InputEmpty && written == 0 {
                return Ok(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcodes_gbk_in_small_reads() {
        let text = "金桂社区,上水井盖\n".repeat(5000);
        let gbk = encoding_rs::GBK.encode(&text).0.into_owned();
        let mut reader = DecodingReader::new(&gbk[..], encoding_rs::GBK);
        let mut out = Vec::new();
        let mut chunk = [0u8; 7];
        loop {
            let n = reader.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(String::from_utf8(out).unwrap(), text);
        assert_eq!(reader.replacements.load(Ordering::Relaxed), 0);
    }
}
