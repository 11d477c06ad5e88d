//! `[data]` and `[[features]]`: which files to read, how to split their lines into
//! fields, and how each input column becomes a feature.

use serde::{Deserialize, Serialize};

/// How the lines of a data file are split into fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Comma separated; fields may be quoted with `"`.
    #[default]
    Csv,
    /// Tab separated; quotes are ordinary characters.
    Tsv,
    /// Apache Parquet (snappy or uncompressed): only the needed columns are read, one
    /// row group at a time; nulls are missing values (src/data/ingest/parquet.rs).
    Parquet,
}

/// What to do with a row that cannot be used (wrong field count, invalid text, a
/// value that is not a number where one is required).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadRows {
    /// Stop with an error naming the file, line and field.
    #[default]
    Error,
    /// Drop the row; it is counted and the first ten are listed in the run's report.
    Skip,
}

/// Text encoding of the data files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Encoding {
    /// UTF-8; invalid bytes make the row malformed.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// ISO-8859-1: every byte is one character (MovieLens `u.item`).
    #[serde(rename = "latin-1")]
    Latin1,
}

/// Which reader turns `data.files` into a table (see `src/data/loaders/`).
///
/// `csv` reads delimited files as the other `[data]` keys say. The others know one
/// public data set's layout: `movielens` joins a MovieLens 100K folder, `taobao`
/// aggregates UserBehavior events per (user, item), and `ali_ccp`, `aliexpress`,
/// `kuairand` read those data sets' CSV files and check their columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loader {
    /// Delimited files, read as `format`, `delimiter`, `header`, `columns` say.
    #[default]
    Csv,
    /// A MovieLens 100K folder: `u.data` joined with `u.user` and `u.item`.
    Movielens,
    /// Taobao UserBehavior events, one row per (user, item) pair.
    Taobao,
    /// Ali-CCP (ESMM) CSV files with a header: `click, purchase`, then features.
    AliCcp,
    /// AliExpress (MTReclib) CSV files with a header: search_id, 16 categorical,
    /// 63 numerical, click, conversion.
    Aliexpress,
    /// KuaiRand CSV files with a header: user_id, video_id, is_click, play_time_ms, ...
    Kuairand,
    /// Interaction logs (`user item [behavior] [time]`), one row per (user, item)
    /// pair with one label per behaviour, negatives sampled (`[data.interactions]`).
    Interactions,
}

/// `[data]`: the input files and how to read them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Files to read, relative to `--data-dir` or absolute; rows are concatenated in
    /// this order. gzip is detected from the first bytes, not from the name.
    pub files: Vec<String>,
    /// The data set's reader; `csv` unless the files need a join or an aggregation.
    #[serde(default)]
    pub loader: Loader,
    #[serde(default)]
    pub format: Format,
    /// Field separator, one character; unset: `,` for csv, tab for tsv.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// Strip spaces around every field (census-income separates fields with ", ").
    #[serde(default = "yes")]
    pub trim: bool,
    /// The first line of every file names the columns.
    #[serde(default)]
    pub header: bool,
    /// Column names when `header = false` (required then; one per field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    #[serde(default)]
    pub bad_rows: BadRows,
    /// Drop rows that repeat an earlier row exactly (all fields); they are counted.
    #[serde(default)]
    pub dedup: bool,
    /// Field texts (after trimming) that mean "no value".
    #[serde(default = "default_missing_values")]
    pub missing_values: Vec<String>,
    #[serde(default)]
    pub encoding: Encoding,
    /// The longest line (bytes, without its line end); a longer line is an error.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: u64,
    /// The longest field (bytes), quoted or not; a quoted field that grows past it
    /// is reported as an unterminated quote.
    #[serde(default = "default_max_field_bytes")]
    pub max_field_bytes: u64,
    /// The most lines one quoted field may span; past it, an unterminated quote.
    #[serde(default = "default_max_quoted_lines")]
    pub max_quoted_lines: u64,
    /// The most bytes a gzip file may decompress to; more is an error.
    #[serde(default = "default_max_decompressed_bytes")]
    pub max_decompressed_bytes: u64,
    /// `[[data.join]]`: side tables joined into every row on a key column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join: Vec<super::join::JoinConfig>,
    /// Keep every skipped row with its line and reason, not only the first
    /// [`KEEP_FIRST`](crate::data::ingest::KEEP_FIRST): `mtrec predict --bad-rows mark`
    /// writes one output row per input row. Not a config key.
    #[serde(skip)]
    pub list_every_bad_row: bool,
    /// `loader = "interactions"`: the event layout and the split of the pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactions: Option<super::interactions::InteractionsConfig>,
    /// `loader = "interactions"`: negative sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negatives: Option<super::interactions::NegativesConfig>,
    /// `loader = "interactions"`: ranking evaluation of the test split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranking: Option<super::interactions::RankingConfig>,
    /// `"off"` (rows in memory), `"auto"` (`<data-dir>/mtrec_cache`) or a folder: the
    /// encoded rows in an on-disk columnar cache, read memory-mapped (docs/data_cache.md).
    #[serde(default = "super::cache::default_cache")]
    pub cache: String,
    /// Cached runs: rows per shuffle block (blocks are shuffled, then rows in a window).
    #[serde(default = "super::cache::default_shuffle_block")]
    pub shuffle_block: usize,
    /// Cached runs: rows per shuffle window; 0 = a full shuffle (the in-memory order).
    #[serde(default = "super::cache::default_shuffle_window")]
    pub shuffle_window: usize,
}

impl Default for DataConfig {
    /// No files, no column names (set `files` and `columns` or `header`); every other
    /// field at its documented default.
    fn default() -> Self {
        DataConfig {
            files: Vec::new(),
            loader: Loader::Csv,
            format: Format::Csv,
            delimiter: None,
            trim: true,
            header: false,
            columns: None,
            bad_rows: BadRows::Error,
            dedup: false,
            missing_values: default_missing_values(),
            encoding: Encoding::Utf8,
            max_line_bytes: default_max_line_bytes(),
            max_field_bytes: default_max_field_bytes(),
            max_quoted_lines: default_max_quoted_lines(),
            max_decompressed_bytes: default_max_decompressed_bytes(),
            join: Vec::new(),
            list_every_bad_row: false,
            interactions: None,
            negatives: None,
            ranking: None,
            cache: super::cache::default_cache(),
            shuffle_block: super::cache::default_shuffle_block(),
            shuffle_window: super::cache::default_shuffle_window(),
        }
    }
}

impl DataConfig {
    /// The field separator in effect: `delimiter`, else the format's own.
    pub fn delimiter_char(&self) -> char {
        self.delimiter.unwrap_or(match self.format {
            Format::Csv | Format::Parquet => ',',
            Format::Tsv => '\t',
        })
    }

    /// `Err` when one of the `max_*` limits is 0 (nothing could be read).
    pub fn check_limits(&self) -> crate::error::Result<()> {
        let limits = [
            ("data.max_line_bytes", self.max_line_bytes),
            ("data.max_field_bytes", self.max_field_bytes),
            ("data.max_quoted_lines", self.max_quoted_lines),
            ("data.max_decompressed_bytes", self.max_decompressed_bytes),
        ];
        match limits.iter().find(|(_, v)| *v == 0) {
            Some((key, _)) => Err(crate::error::Error::Config {
                what: key.to_string(),
                message: "is 0; expected a positive limit (leave it out for the default)".into(),
            }),
            None => Ok(()),
        }
    }
}

/// How a column becomes model input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// One value per row, looked up in an embedding table of width `dim`.
    Categorical,
    /// A number, scaled by `scale`.
    Numeric,
    /// A `separator`-separated list of values per row; their embeddings are averaged.
    MultiHot,
}

/// How a numeric feature is rescaled (statistics from the training split only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// `(x − mean) / std`.
    #[default]
    Standard,
    /// `(x − min) / (max − min)`.
    Minmax,
    /// Unchanged.
    None,
}

/// What a missing value (a text in `data.missing_values`) becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// Numeric: the training mean.
    Mean,
    /// Numeric: 0 (before scaling).
    Zero,
    /// Categorical / multi-hot: the out-of-vocabulary id 0.
    Oov,
    /// Stop with an error naming the file and line.
    Error,
}

/// `[[features]]`: one input column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    /// The column's name (a header name or an entry of `data.columns`).
    pub name: String,
    pub kind: FeatureKind,
    /// Embedding width (categorical, multi-hot).
    #[serde(default = "default_dim")]
    pub dim: usize,
    /// Values seen fewer times than this in the training split map to id 0 (OOV).
    #[serde(default = "default_min_count")]
    pub min_count: usize,
    /// > 0: hash values into this many buckets instead of building a vocabulary.
    #[serde(default)]
    pub hash_buckets: usize,
    /// Multi-hot: the list separator inside a field.
    #[serde(default = "default_separator")]
    pub separator: String,
    /// Numeric: rescaling.
    #[serde(default)]
    pub scale: Scale,
    /// Unset: `mean` for numeric, `oov` for categorical and multi-hot (filled on load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Missing>,
    /// Categorical: a text column describing each id, fed through a frozen encoder and a
    /// learned adaptor (`[features.text]`, see [`super::text`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<super::text::TextConfig>,
}

impl FeatureConfig {
    /// The missing-value policy in effect (the kind's default when unset).
    pub fn missing_policy(&self) -> Missing {
        self.missing.unwrap_or(match self.kind {
            FeatureKind::Numeric => Missing::Mean,
            FeatureKind::Categorical | FeatureKind::MultiHot => Missing::Oov,
        })
    }
}

fn yes() -> bool {
    true
}

fn default_missing_values() -> Vec<String> {
    vec!["".into(), "?".into(), "NA".into()]
}

/// 1 MiB: far above any real row, small enough to hold in memory.
fn default_max_line_bytes() -> u64 {
    1 << 20
}

/// 1 MiB.
fn default_max_field_bytes() -> u64 {
    1 << 20
}

/// 100 lines.
fn default_max_quoted_lines() -> u64 {
    100
}

/// 16 GiB.
fn default_max_decompressed_bytes() -> u64 {
    1 << 34
}

pub(super) fn default_dim() -> usize {
    8
}

pub(super) fn default_min_count() -> usize {
    1
}

pub(super) fn default_separator() -> String {
    "|".into()
}
