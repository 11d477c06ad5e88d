//! A CSV file with a header → the same table as Parquet (snappy), for the Parquet
//! benchmarks of the streamed cache build (docs/benchmarks.md) where pyarrow is not
//! installed.
//!
//! ```text
//! cargo run --release --example csv_to_parquet -- in.csv out.parquet [rows per group] [text prefix]
//! ```
//! A column whose first 1,000 values all parse as `i64` is written as INT64, else as
//! DOUBLE if they parse as `f64`, else as UTF-8 text; an empty field is a null. The
//! rows are streamed: memory holds one row group (default 131,072 rows). A later value
//! that does not fit its column's type stops with the line number. With a text prefix,
//! the columns whose names start with it are written as UTF-8 text whatever they hold
//! (string categoricals, dictionary-encoded by the writer: docs/benchmarks.md, s11).

use parquet::basic::{Compression, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Text,
}

fn kind_of(values: &[&str]) -> Kind {
    let present = values.iter().filter(|v| !v.is_empty());
    if present.clone().all(|v| v.parse::<i64>().is_ok()) {
        Kind::Int
    } else if present.clone().all(|v| v.parse::<f64>().is_ok()) {
        Kind::Float
    } else {
        Kind::Text
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn write_group(
    w: &mut SerializedFileWriter<std::fs::File>,
    kinds: &[Kind],
    rows: &[csv::StringRecord],
    first_line: usize,
) -> Res<()> {
    let mut rg = w.next_row_group()?;
    let mut k = 0;
    while let Some(mut col) = rg.next_column()? {
        let cells: Vec<&str> = rows.iter().map(|r| r.get(k).unwrap_or("")).collect();
        let defs: Vec<i16> = cells.iter().map(|c| i16::from(!c.is_empty())).collect();
        let present = cells.iter().enumerate().filter(|(_, c)| !c.is_empty());
        let bad = |i: usize, c: &str| format!("line {}: `{c}` in column {}", first_line + i, k + 1);
        match kinds[k] {
            Kind::Int => {
                let v = present
                    .map(|(i, c)| c.parse::<i64>().map_err(|_| bad(i, c)))
                    .collect::<Result<Vec<_>, _>>()?;
                col.typed::<Int64Type>()
                    .write_batch(&v, Some(&defs), None)?;
            }
            Kind::Float => {
                let v = present
                    .map(|(i, c)| c.parse::<f64>().map_err(|_| bad(i, c)))
                    .collect::<Result<Vec<_>, _>>()?;
                col.typed::<DoubleType>()
                    .write_batch(&v, Some(&defs), None)?;
            }
            Kind::Text => {
                let v: Vec<ByteArray> = present.map(|(_, c)| ByteArray::from(*c)).collect();
                col.typed::<ByteArrayType>()
                    .write_batch(&v, Some(&defs), None)?;
            }
        }
        col.close()?;
        k += 1;
    }
    rg.close()?;
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err(
            "usage: csv_to_parquet in.csv out.parquet [rows per group] [text prefix]".into(),
        );
    }
    let group: usize = args.get(3).map_or(Ok(131_072), |g| g.parse())?;
    let mut reader = csv::Reader::from_path(&args[1])?;
    let names: Vec<String> = reader.headers()?.iter().map(String::from).collect();
    let mut records = reader.records();
    let mut rows: Vec<csv::StringRecord> = Vec::with_capacity(group);
    for r in records.by_ref().take(1000) {
        rows.push(r?);
    }
    let text = args.get(4);
    let kinds: Vec<Kind> = (0..names.len())
        .map(|k| {
            if text.is_some_and(|t| names[k].starts_with(t.as_str())) {
                return Kind::Text;
            }
            kind_of(
                &rows
                    .iter()
                    .map(|r| r.get(k).unwrap_or(""))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let fields = (names.iter().zip(&kinds))
        .map(|(n, k)| {
            let (phys, utf8) = match k {
                Kind::Int => (Physical::INT64, false),
                Kind::Float => (Physical::DOUBLE, false),
                Kind::Text => (Physical::BYTE_ARRAY, true),
            };
            let mut t = Type::primitive_type_builder(n, phys).with_repetition(Repetition::OPTIONAL);
            if utf8 {
                t = t.with_converted_type(parquet::basic::ConvertedType::UTF8);
            }
            Ok(Arc::new(t.build()?))
        })
        .collect::<Res<Vec<_>>>()?;
    let schema = Arc::new(Type::group_type_builder("m").with_fields(fields).build()?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let mut w = SerializedFileWriter::new(std::fs::File::create(&args[2])?, schema, props)?;
    let (mut line, mut groups) = (2, 0);
    loop {
        while rows.len() < group {
            match records.next() {
                Some(r) => rows.push(r?),
                None => break,
            }
        }
        if rows.is_empty() {
            break;
        }
        write_group(&mut w, &kinds, &rows, line)?;
        line += rows.len();
        groups += 1;
        rows.clear();
    }
    w.close()?;
    eprintln!("{}: {} rows in {groups} row groups", args[2], line - 2);
    Ok(())
}
