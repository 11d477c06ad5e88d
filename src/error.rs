//! Structured errors. Every public function that can fail on user input returns
//! [`Result`]; the error names the operation and the shapes or the value that was
//! wrong, and says what was expected, so the caller can fix the input.

use std::fmt;

/// A `(rows, cols)` pair, printed as `(R, C)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims(pub usize, pub usize);

impl fmt::Display for Dims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.0, self.1)
    }
}

/// Everything that can go wrong in mtrec.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Operand shapes that do not fit together.
    Shape {
        op: &'static str,
        shapes: Vec<Dims>,
        expected: String,
    },
    /// An integer index (embedding row, class id) outside its range.
    Index {
        op: &'static str,
        position: usize,
        index: u64,
        bound: usize,
    },
    /// A NaN or infinity (or out-of-domain value) where a finite value is required.
    Value {
        op: &'static str,
        what: String,
        position: usize,
        value: f64,
        expected: String,
    },
    /// A buffer whose length does not match the declared shape.
    Length {
        op: &'static str,
        what: String,
        len: usize,
        expected: usize,
    },
    /// An invalid setting (hyper-parameter, configuration value).
    Config { what: String, message: String },
    /// A handle used with the wrong graph or parameter store.
    Handle { op: &'static str, message: String },
    /// File input / output.
    Io { path: String, message: String },
    /// A value at a place in an input file (data or run configuration) that cannot be
    /// used: `path:line:column: what: seen; expected ...`. `line` and `column` count
    /// from 1; in a delimited data file `column` is the field number.
    Input {
        path: String,
        line: usize,
        column: usize,
        what: String,
        seen: String,
        expected: String,
    },
    /// A compute device that cannot be used: not compiled in, no driver, no GPU, a kernel
    /// that does not compile. Says what was tried and what to do instead.
    Device {
        device: String,
        what: String,
        fix: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape { op, shapes, expected } => {
                let s: Vec<String> = shapes.iter().map(|shape| shape.to_string()).collect();
                write!(f, "{op}: incompatible shapes {}; expected {expected}", s.join(", "))
            }
            Error::Index { op, position, index, bound } => write!(
                f,
                "{op}: index {index} at position {position} is out of range; valid indices are 0..{bound}"
            ),
            Error::Value { op, what, position, value, expected } => write!(
                f,
                "{op}: {what} at position {position} is {value}; expected {expected}"
            ),
            Error::Length { op, what, len, expected } => write!(
                f,
                "{op}: {what} has {len} elements; expected {expected} (rows x cols)"
            ),
            Error::Config { what, message } => write!(f, "invalid {what}: {message}"),
            Error::Handle { op, message } => write!(f, "{op}: {message}"),
            Error::Io { path, message } => write!(f, "{path}: {message}"),
            Error::Input { path, line, column, what, seen, expected } => {
                write!(f, "{path}:{line}:{column}: {what}: {seen}; expected {expected}")
            }
            Error::Device { device, what, fix } => write!(f, "device {device}: {what}; {fix}"),
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand used across the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// The first non-finite element of `xs`, as an [`Error::Value`] naming `op` and `what`.
pub fn check_finite(op: &'static str, what: &str, xs: &[f32]) -> Result<()> {
    match xs.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::Value {
            op,
            what: what.to_string(),
            position: i,
            value: xs[i] as f64,
            expected: "a finite number".into(),
        }),
    }
}
