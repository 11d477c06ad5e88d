//! The one Parquet writer of the tests (`mod parquet_fixture_support;`): a file of the
//! given schema from row groups of typed columns, snappy-compressed, nulls where a value
//! is `None` (definition levels written for the schema's optional columns only).
//! Each test keeps its own rows and schema; this holds the parquet-crate plumbing.

#![allow(dead_code)] // each test file uses a part

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::path::Path;
use std::sync::Arc;

/// One column of one row group, in the schema's order; `None` is a null.
pub enum Col {
    Bytes(Vec<Option<Vec<u8>>>),
    I64(Vec<Option<i64>>),
    I32(Vec<Option<i32>>),
    F64(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
}

impl Col {
    /// Text values as a bytes column.
    pub fn text(v: impl IntoIterator<Item = Option<String>>) -> Col {
        Col::Bytes(v.into_iter().map(|s| s.map(String::into_bytes)).collect())
    }
}

/// `(values, definition levels)` of a column: the present values and 1 / 0 per row.
fn split<T: Clone>(v: &[Option<T>]) -> (Vec<T>, Vec<i16>) {
    let d = v.iter().map(|x| i16::from(x.is_some())).collect();
    (v.iter().flatten().cloned().collect(), d)
}

/// Writes `groups` (each the columns of one row group, in the order of `schema`, a
/// Parquet message type) to `path`, snappy-compressed.
pub fn write_parquet(path: &Path, schema: &str, groups: impl IntoIterator<Item = Vec<Col>>) {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    for cols in groups {
        let mut rg = w.next_row_group().unwrap();
        let mut cols = cols.into_iter();
        while let Some(mut col) = rg.next_column().unwrap() {
            let c = cols.next().expect("a column for every field of the schema");
            macro_rules! write {
                ($ty:ty, $v:expr) => {{
                    let (v, d) = split($v);
                    let typed = col.typed::<$ty>();
                    let optional = typed.get_descriptor().max_def_level() > 0;
                    assert!(optional || !d.contains(&0), "a null in a required column");
                    typed
                        .write_batch(&v, optional.then_some(&d[..]), None)
                        .unwrap();
                }};
            }
            match c {
                Col::Bytes(v) => {
                    let v: Vec<Option<ByteArray>> =
                        v.into_iter().map(|b| b.map(ByteArray::from)).collect();
                    write!(ByteArrayType, &v)
                }
                Col::I64(v) => write!(Int64Type, &v),
                Col::I32(v) => write!(Int32Type, &v),
                Col::F64(v) => write!(DoubleType, &v),
                Col::Bool(v) => write!(BoolType, &v),
            }
            col.close().unwrap();
        }
        assert!(cols.next().is_none(), "more columns than the schema has");
        rg.close().unwrap();
    }
    w.close().unwrap();
}
