//! A streaming dBase (.dbf) reader that hands out raw field bytes.
//!
//! The `dbase` crate decodes text as it reads, with one encoding chosen up
//! front; detecting GBK vs UTF-8, repairing mojibake per value and keeping
//! `.shp`/`.dbf` records aligned across deleted records all need the raw
//! bytes, so the (simple, fixed-width) format is read here directly.

use std::io::{self, Read, Seek, SeekFrom};

use serde_json::{Map, Number, Value};

use crate::text::{Fix, Sniffer, TextDecoder};

/// Anything the DBF can be read from: it is read twice (sniffing, then
/// records), so it must seek.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

#[derive(Debug, Clone)]
pub(crate) struct DbfField {
    raw_name: Vec<u8>,
    pub(crate) name: String,
    kind: u8,
    /// Offset inside the record, after the deletion flag.
    offset: usize,
    length: usize,
    decimals: u8,
}

pub(crate) struct DbfReader {
    source: io::BufReader<Box<dyn ReadSeek>>,
    pub(crate) fields: Vec<DbfField>,
    pub(crate) record_count: usize,
    header_len: u64,
    next_record: usize,
    buf: Vec<u8>,
}

/// Whether the record just read is live or marked deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordState {
    Live,
    Deleted,
}

/// A value-level problem; the caller adds file and record.
#[derive(Debug)]
pub(crate) enum FieldProblem {
    Undecodable { field: String },
}

/// Something worth telling the user about one value.
#[derive(Debug)]
pub(crate) struct FieldNote {
    pub(crate) field: String,
    pub(crate) message: String,
}

fn le_u16(bytes: &[u8], at: usize) -> usize {
    bytes
        .get(at..at + 2)
        .map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])))
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn trim_bytes(bytes: &[u8]) -> &[u8] {
    let pad = |b: &u8| *b == b' ' || *b == 0;
    let start = bytes.iter().position(|b| !pad(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !pad(b)).map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or_default()
}

impl DbfReader {
    /// Reads the header and field descriptors.
    pub(crate) fn new(source: Box<dyn ReadSeek>) -> Result<Self, String> {
        let mut source = io::BufReader::new(source);
        let mut head = [0u8; 32];
        source
            .read_exact(&mut head)
            .map_err(|e| format!("header: {e}"))?;
        let record_count = le_u32(&head, 4) as usize;
        let header_len = le_u16(&head, 8);
        let record_len = le_u16(&head, 10);
        if header_len < 33 || record_len == 0 {
            return Err(format!(
                "header declares {header_len} header bytes and {record_len}-byte records"
            ));
        }
        let mut descriptors = vec![0u8; header_len - 32];
        source.read_exact(&mut descriptors).map_err(|e| {
            format!("header declares {header_len} bytes but the file is shorter ({e})")
        })?;

        let mut fields = Vec::new();
        let mut offset = 0usize;
        for chunk in descriptors.chunks_exact(32) {
            if chunk.first() == Some(&0x0D) {
                break;
            }
            let raw_name: Vec<u8> = chunk
                .get(..11)
                .unwrap_or_default()
                .iter()
                .copied()
                .take_while(|&b| b != 0)
                .collect();
            let kind = chunk.get(11).copied().unwrap_or(b'C').to_ascii_uppercase();
            let mut length = usize::from(chunk.get(16).copied().unwrap_or(0));
            let decimals = chunk.get(17).copied().unwrap_or(0);
            if kind == b'C' && decimals > 0 {
                // Clipper/FoxPro store character widths over 255 with the
                // high byte in the "decimals" slot; only trust that reading
                // if the record length agrees (checked below).
                length += usize::from(decimals) * 256;
            }
            fields.push(DbfField {
                raw_name,
                name: String::new(),
                kind,
                offset,
                length,
                decimals,
            });
            offset += length;
        }
        if offset + 1 != record_len {
            // Undo the wide-character interpretation if it does not fit.
            let mut plain = 0usize;
            for field in &mut fields {
                if field.kind == b'C' && field.decimals > 0 {
                    field.length -= usize::from(field.decimals) * 256;
                }
                field.offset = plain;
                plain += field.length;
            }
            if plain + 1 > record_len {
                return Err(format!(
                    "fields need {} bytes per record but records are {record_len} bytes",
                    plain + 1
                ));
            }
        }
        Ok(Self {
            source,
            fields,
            record_count,
            header_len: header_len as u64,
            next_record: 0,
            buf: vec![0u8; record_len],
        })
    }

    /// Feeds field names and character values to `sniffer` until it has
    /// enough evidence, then rewinds to the first record.
    pub(crate) fn sniff(&mut self, sniffer: &mut Sniffer) -> io::Result<()> {
        for field in &self.fields {
            sniffer.feed(&field.raw_name);
        }
        self.source.seek(SeekFrom::Start(self.header_len))?;
        for _ in 0..self.record_count {
            if sniffer.has_enough() || self.source.read_exact(&mut self.buf).is_err() {
                // A short file is reported when the records are really read.
                break;
            }
            if self.buf.first() == Some(&b'*') {
                continue;
            }
            for field in self.fields.iter().filter(|f| f.kind == b'C') {
                if let Some(bytes) = self
                    .buf
                    .get(1 + field.offset..1 + field.offset + field.length)
                {
                    sniffer.feed(trim_bytes(bytes));
                }
            }
        }
        self.source.seek(SeekFrom::Start(self.header_len))?;
        Ok(())
    }

    /// Decodes field names with the file's encoding. Duplicate or empty names
    /// get a suffix so no attribute is silently overwritten.
    pub(crate) fn decode_names(&mut self, decoder: &TextDecoder) -> Vec<FieldNote> {
        let mut notes = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, field) in self.fields.iter_mut().enumerate() {
            let raw = trim_bytes(&field.raw_name);
            let mut name = match decoder.decode(raw) {
                Some((name, _)) => name,
                None => String::from_utf8_lossy(raw).into_owned(),
            };
            if name.is_empty() {
                name = format!("field{}", i + 1);
            }
            let base = name.clone();
            let mut n = 2;
            while !seen.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            if name != base {
                notes.push(FieldNote {
                    field: base,
                    message: format!("duplicate field name; renamed to {name:?}"),
                });
            }
            field.name = name;
        }
        notes
    }

    /// Reads the next record (see [`DbfReader::current`] for its bytes);
    /// `None` after the last record the header declares.
    pub(crate) fn advance(&mut self) -> Option<io::Result<RecordState>> {
        if self.next_record >= self.record_count {
            return None;
        }
        self.next_record += 1;
        if let Err(e) = self.source.read_exact(&mut self.buf) {
            return Some(Err(e));
        }
        Some(Ok(if self.buf.first() == Some(&b'*') {
            RecordState::Deleted
        } else {
            RecordState::Live
        }))
    }

    /// The bytes of the record last read by [`DbfReader::advance`].
    pub(crate) fn current(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn remaining(&self) -> usize {
        self.record_count.saturating_sub(self.next_record)
    }
}

/// Turns one record's bytes into properties.
pub(crate) fn decode_record(
    fields: &[DbfField],
    record: &[u8],
    decoder: &TextDecoder,
    notes: &mut Vec<FieldNote>,
) -> Result<Map<String, Value>, FieldProblem> {
    let mut props = Map::new();
    for field in fields {
        let raw = record
            .get(1 + field.offset..1 + field.offset + field.length)
            .unwrap_or_default();
        let value = decode_field(field, raw, decoder, notes)?;
        props.insert(field.name.clone(), value);
    }
    Ok(props)
}

fn note(notes: &mut Vec<FieldNote>, field: &DbfField, message: String) {
    notes.push(FieldNote {
        field: field.name.clone(),
        message,
    });
}

fn decode_field(
    field: &DbfField,
    raw: &[u8],
    decoder: &TextDecoder,
    notes: &mut Vec<FieldNote>,
) -> Result<Value, FieldProblem> {
    match field.kind {
        b'N' | b'F' => Ok(numeric(field, raw, notes)),
        b'D' => Ok(date(field, raw, notes)),
        b'L' => Ok(match trim_bytes(raw).first() {
            Some(b'T' | b't' | b'Y' | b'y') => Value::Bool(true),
            Some(b'F' | b'f' | b'N' | b'n') => Value::Bool(false),
            _ => Value::Null,
        }),
        // Visual FoxPro binary integer.
        b'I' if raw.len() == 4 => Ok(Value::from(i32::from_le_bytes([
            raw[0], raw[1], raw[2], raw[3],
        ]))),
        // Visual FoxPro binary double.
        b'B' | b'O' if raw.len() == 8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(raw);
            Ok(Number::from_f64(f64::from_le_bytes(b)).map_or(Value::Null, Value::Number))
        }
        // Visual FoxPro currency: i64 scaled by 10 000.
        b'Y' if raw.len() == 8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(raw);
            let scaled = i64::from_le_bytes(b);
            Ok(Number::from_f64(scaled as f64 / 10_000.0).map_or(Value::Null, Value::Number))
        }
        b'M' | b'G' | b'P' => {
            if !trim_bytes(raw).is_empty() {
                note(
                    notes,
                    field,
                    "memo fields (.dbt/.fpt) are not read; value set to null".to_owned(),
                );
            }
            Ok(Value::Null)
        }
        _ => text(field, raw, decoder, notes),
    }
}

fn text(
    field: &DbfField,
    raw: &[u8],
    decoder: &TextDecoder,
    notes: &mut Vec<FieldNote>,
) -> Result<Value, FieldProblem> {
    let bytes = trim_bytes(raw);
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let Some((text, fix)) = decoder.decode(bytes) else {
        return Err(FieldProblem::Undecodable {
            field: field.name.clone(),
        });
    };
    if let Some(message) = fix.describe(decoder.encoding) {
        note(notes, field, message);
    }
    // Decoding may expose padding that was inside a multi-byte sequence.
    let text = if fix == Fix::Clean {
        text
    } else {
        text.trim().to_owned()
    };
    Ok(if text.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    })
}

fn numeric(field: &DbfField, raw: &[u8], notes: &mut Vec<FieldNote>) -> Value {
    let bytes = trim_bytes(raw);
    let Ok(text) = std::str::from_utf8(bytes) else {
        note(
            notes,
            field,
            "numeric field holds non-ASCII bytes; value set to null".to_owned(),
        );
        return Value::Null;
    };
    if text.is_empty() || text == "-" || text == "." {
        return Value::Null;
    }
    if text.bytes().all(|b| b == b'*') {
        // Writers fill a numeric field with '*' when the value overflowed it.
        note(
            notes,
            field,
            "numeric overflow marker (****); value set to null".to_owned(),
        );
        return Value::Null;
    }
    let integral = !text.contains(['.', 'e', 'E']);
    if integral {
        // Codes such as 33018800100101 must keep every digit.
        if let Ok(v) = text.trim_start_matches('+').parse::<i64>() {
            return Value::from(v);
        }
        if let Ok(v) = text.trim_start_matches('+').parse::<u64>() {
            return Value::from(v);
        }
        if text
            .trim_start_matches(['+', '-'])
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            // Too long for 64 bits: a float would lose digits, so keep the text.
            note(
                notes,
                field,
                "integer too large for 64 bits; kept as text".to_owned(),
            );
            return Value::String(text.to_owned());
        }
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Number::from_f64(v).map_or(Value::Null, Value::Number),
        _ => {
            note(
                notes,
                field,
                format!("not a number: {text:?}; kept as text"),
            );
            Value::String(text.to_owned())
        }
    }
}

fn date(field: &DbfField, raw: &[u8], notes: &mut Vec<FieldNote>) -> Value {
    let bytes = trim_bytes(raw);
    if bytes.is_empty() || bytes.iter().all(|&b| b == b'0') {
        return Value::Null;
    }
    let text = String::from_utf8_lossy(bytes);
    let valid = bytes.len() == 8 && bytes.iter().all(u8::is_ascii_digit) && {
        let month = &text[4..6];
        let day = &text[6..8];
        ("01"..="12").contains(&month) && ("01"..="31").contains(&day)
    };
    if valid {
        Value::String(format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..8]))
    } else {
        note(notes, field, format!("not a date: {text:?}; kept as text"));
        Value::String(text.into_owned())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Field definition for hand-built DBFs: name bytes, type, length, decimals.
    pub(crate) struct RawField<'a> {
        pub name: &'a [u8],
        pub kind: u8,
        pub length: u8,
        pub decimals: u8,
    }

    /// Builds a dBase III file byte by byte, so tests control the exact bytes
    /// (GBK text, no language driver id, deleted records).
    pub(crate) fn build_dbf(fields: &[RawField<'_>], records: &[(bool, Vec<Vec<u8>>)]) -> Vec<u8> {
        let record_len: usize = 1 + fields.iter().map(|f| usize::from(f.length)).sum::<usize>();
        let header_len = 32 + 32 * fields.len() + 1;
        let mut out = vec![0u8; 32];
        out[0] = 0x03;
        out[1..4].copy_from_slice(&[124, 1, 1]);
        out[4..8].copy_from_slice(&u32::try_from(records.len()).unwrap_or(0).to_le_bytes());
        out[8..10].copy_from_slice(&u16::try_from(header_len).unwrap_or(0).to_le_bytes());
        out[10..12].copy_from_slice(&u16::try_from(record_len).unwrap_or(0).to_le_bytes());
        for f in fields {
            let mut d = [0u8; 32];
            d[..f.name.len()].copy_from_slice(f.name);
            d[11] = f.kind;
            d[16] = f.length;
            d[17] = f.decimals;
            out.extend_from_slice(&d);
        }
        out.push(0x0D);
        for (deleted, values) in records {
            out.push(if *deleted { b'*' } else { b' ' });
            for (f, v) in fields.iter().zip(values) {
                let mut cell = v.clone();
                cell.resize(usize::from(f.length), b' ');
                out.extend_from_slice(&cell);
            }
        }
        out.push(0x1A);
        out
    }

    fn reader(bytes: Vec<u8>) -> DbfReader {
        DbfReader::new(Box::new(io::Cursor::new(bytes))).unwrap()
    }

    #[test]
    fn reads_types() {
        let fields = [
            RawField {
                name: b"CODE",
                kind: b'N',
                length: 14,
                decimals: 0,
            },
            RawField {
                name: b"AREA",
                kind: b'N',
                length: 12,
                decimals: 3,
            },
            RawField {
                name: b"DAY",
                kind: b'D',
                length: 8,
                decimals: 0,
            },
            RawField {
                name: b"OK",
                kind: b'L',
                length: 1,
                decimals: 0,
            },
            RawField {
                name: b"NOTE",
                kind: b'C',
                length: 10,
                decimals: 0,
            },
        ];
        let records = vec![
            (
                false,
                vec![
                    b"33018800100101".to_vec(),
                    b"   1234.500".to_vec(),
                    b"20240131".to_vec(),
                    b"T".to_vec(),
                    b"  hi  ".to_vec(),
                ],
            ),
            (
                false,
                vec![
                    b"".to_vec(),
                    b"********".to_vec(),
                    b"".to_vec(),
                    b"?".to_vec(),
                    b"".to_vec(),
                ],
            ),
        ];
        let mut r = reader(build_dbf(&fields, &records));
        let decoder = TextDecoder {
            encoding: encoding_rs::UTF_8,
            repair: true,
        };
        assert!(r.decode_names(&decoder).is_empty());
        let fields = r.fields.clone();
        let mut notes = Vec::new();
        assert!(matches!(r.advance(), Some(Ok(RecordState::Live))));
        let props = decode_record(&fields, r.current(), &decoder, &mut notes).unwrap();
        assert_eq!(props["CODE"], serde_json::json!(33018800100101_i64));
        assert_eq!(props["AREA"], serde_json::json!(1234.5));
        assert_eq!(props["DAY"], serde_json::json!("2024-01-31"));
        assert_eq!(props["OK"], serde_json::json!(true));
        assert_eq!(props["NOTE"], serde_json::json!("hi"));
        assert!(matches!(r.advance(), Some(Ok(RecordState::Live))));
        let props = decode_record(&fields, r.current(), &decoder, &mut notes).unwrap();
        for key in ["CODE", "AREA", "DAY", "OK", "NOTE"] {
            assert_eq!(props[key], Value::Null, "{key}");
        }
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(r.advance().is_none());
    }

    #[test]
    fn chinese_field_names_and_duplicates() {
        let gbk_name = encoding_rs::GBK.encode("名称").0.into_owned();
        let fields = [
            RawField {
                name: &gbk_name,
                kind: b'C',
                length: 20,
                decimals: 0,
            },
            RawField {
                name: b"A",
                kind: b'C',
                length: 2,
                decimals: 0,
            },
            RawField {
                name: b"A",
                kind: b'C',
                length: 2,
                decimals: 0,
            },
        ];
        let mut r = reader(build_dbf(&fields, &[]));
        let mut sniffer = Sniffer::default();
        r.sniff(&mut sniffer).unwrap();
        assert_eq!(sniffer.verdict(), crate::text::Verdict::Gbk);
        let decoder = TextDecoder {
            encoding: encoding_rs::GBK,
            repair: true,
        };
        let notes = r.decode_names(&decoder);
        let names: Vec<&str> = r.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["名称", "A", "A_2"]);
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn huge_integer_kept_as_text() {
        let mut notes = Vec::new();
        let field = DbfField {
            raw_name: b"X".to_vec(),
            name: "X".into(),
            kind: b'N',
            offset: 0,
            length: 25,
            decimals: 0,
        };
        assert_eq!(
            numeric(&field, b"1234567890123456789012345", &mut notes),
            Value::String("1234567890123456789012345".into())
        );
        assert_eq!(numeric(&field, b"-42", &mut notes), serde_json::json!(-42));
        assert_eq!(
            numeric(&field, b"12a", &mut notes),
            Value::String("12a".into())
        );
    }

    #[test]
    fn truncated_dbf_is_an_error() {
        let fields = [RawField {
            name: b"N",
            kind: b'C',
            length: 4,
            decimals: 0,
        }];
        let mut bytes = build_dbf(
            &fields,
            &[
                (false, vec![b"abcd".to_vec()]),
                (false, vec![b"efgh".to_vec()]),
            ],
        );
        bytes.truncate(bytes.len() - 4);
        let mut r = reader(bytes);
        assert!(matches!(r.advance(), Some(Ok(RecordState::Live))));
        assert!(matches!(r.advance(), Some(Err(_))));
    }
}
