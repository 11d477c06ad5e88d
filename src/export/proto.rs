//! A minimal protocol-buffers wire format writer and reader: exactly what the ONNX
//! messages of [`super::onnx`] need (varints, 32-bit floats, length-delimited fields).
//!
//! Wire format (protobuf encoding spec): every field is `key = (field_number << 3) | wire_type`
//! as a varint, then the payload: wire type 0 a varint, 2 a varint length and that many
//! bytes (strings, sub-messages, packed repeated scalars), 5 four little-endian bytes
//! (float). A varint stores 7 bits per byte, low bits first, the high bit set on every
//! byte but the last; a negative int64 is its two's complement as a 10-byte varint.

use crate::error::{Error, Result};

/// Appends protobuf fields to a byte buffer.
#[derive(Default, Debug, Clone)]
pub struct Writer {
    pub buf: Vec<u8>,
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    fn key(&mut self, field: u32, wire: u8) {
        put_varint(&mut self.buf, (u64::from(field) << 3) | u64::from(wire));
    }

    /// Wire type 0: int32 / int64 / enum (negative values as 10-byte two's complement).
    pub fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        put_varint(&mut self.buf, v as u64);
    }

    /// Wire type 5: a float.
    pub fn float(&mut self, field: u32, v: f32) {
        self.key(field, 5);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Wire type 2: bytes, a string or an encoded sub-message.
    pub fn bytes(&mut self, field: u32, v: &[u8]) {
        self.key(field, 2);
        put_varint(&mut self.buf, v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    pub fn string(&mut self, field: u32, v: &str) {
        self.bytes(field, v.as_bytes());
    }

    /// A sub-message written by `f` into its own buffer.
    pub fn message(&mut self, field: u32, f: impl FnOnce(&mut Writer)) {
        let mut w = Writer::new();
        f(&mut w);
        self.bytes(field, &w.buf);
    }

    /// Packed repeated int64 (proto3 default for repeated scalars).
    pub fn packed_ints(&mut self, field: u32, v: &[i64]) {
        let mut b = Vec::with_capacity(v.len());
        for &x in v {
            put_varint(&mut b, x as u64);
        }
        self.bytes(field, &b);
    }
}

/// One decoded field: its number and payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    Bytes(&'a [u8]),
}

fn bad(message: String) -> Error {
    Error::Config {
        what: "protobuf message".into(),
        message: format!(
            "{message}; the file is not a complete protobuf message (truncated or not ONNX)"
        ),
    }
}

fn get_varint(b: &[u8], pos: &mut usize) -> Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b
            .get(*pos)
            .ok_or_else(|| bad(format!("varint runs past the end at byte {pos}")))?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(bad(format!(
        "varint longer than 10 bytes before byte {pos}"
    )))
}

/// Every field of one message, in order. Fails on a truncated or unknown wire type.
pub fn fields(b: &[u8]) -> Result<Vec<(u32, Value<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let key = get_varint(b, &mut pos)?;
        let (field, wire) = ((key >> 3) as u32, key & 7);
        let v = match wire {
            0 => Value::Varint(get_varint(b, &mut pos)?),
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                let s = b
                    .get(pos..pos + n)
                    .ok_or_else(|| bad(format!("field {field}: fixed value past the end")))?;
                pos += n;
                if n == 4 {
                    Value::Fixed32(u32::from_le_bytes(s.try_into().expect("4 bytes")))
                } else {
                    Value::Fixed64(u64::from_le_bytes(s.try_into().expect("8 bytes")))
                }
            }
            2 => {
                let n = get_varint(b, &mut pos)? as usize;
                let s = b.get(pos..pos + n).ok_or_else(|| {
                    bad(format!(
                        "field {field}: {n} bytes announced at byte {pos}, past the end"
                    ))
                })?;
                pos += n;
                Value::Bytes(s)
            }
            w => return Err(bad(format!("field {field}: unknown wire type {w}"))),
        };
        out.push((field, v));
    }
    Ok(out)
}

/// Decodes a packed repeated varint payload.
pub fn packed_varints(b: &[u8]) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        out.push(get_varint(b, &mut pos)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_every_wire_type() {
        let mut w = Writer::new();
        w.int(1, 300);
        w.int(2, -1);
        w.float(3, 1.5);
        w.string(4, "héllo");
        w.packed_ints(5, &[0, 127, 128, -2]);
        let f = fields(&w.buf).unwrap();
        assert_eq!(f[0], (1, Value::Varint(300)));
        assert_eq!(f[1], (2, Value::Varint(u64::MAX)));
        assert_eq!(f[2], (3, Value::Fixed32(1.5f32.to_bits())));
        assert_eq!(f[3], (4, Value::Bytes("héllo".as_bytes())));
        let Value::Bytes(p) = f[4].1 else { panic!() };
        let v: Vec<i64> = packed_varints(p)
            .unwrap()
            .into_iter()
            .map(|x| x as i64)
            .collect();
        assert_eq!(v, vec![0, 127, 128, -2]);
        // 300 = 0b10_0101100: low 7 bits first with the continuation bit
        assert_eq!(&w.buf[..3], &[0x08, 0xac, 0x02]);
        assert!(
            fields(&w.buf[..w.buf.len() - 1]).is_err(),
            "truncated input"
        );
    }
}
