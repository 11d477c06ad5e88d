//! A native sentence encoder: BERT-style transformer text embeddings computed with the
//! engine's own kernels (no Python, no BLAS), for item texts such as movie titles.
//!
//! - [`tokenizer`]: BERT's basic tokenizer + WordPiece, from `vocab.txt`;
//! - [`bert`]: the encoder layers, weights from `model.safetensors`;
//! - [`encoder`]: [`Encoder::load`]`(dir)` and [`Encoder::encode`]`(texts, batch_size)`:
//!   mean pooling over each text's tokens and L2 normalisation, batched by length;
//! - [`cache`]: [`embed_cached`]`(model_dir, texts, cache_dir)` stores embeddings on disk
//!   keyed by the model's content and the texts.
//!
//! It reproduces sentence-transformers' all-MiniLM-L6-v2 (token ids identical, cosine
//! ≥ 0.9999; `tests/text_encoder.rs`). See `docs/text.md`.

pub mod bert;
pub mod cache;
pub mod dense;
pub mod encoder;
pub mod gelu;
pub mod norm;
pub mod progress;
pub mod tokenizer;

pub use cache::embed_cached;
pub use encoder::Encoder;
pub use tokenizer::Tokenizer;
