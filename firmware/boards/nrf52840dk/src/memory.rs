//! The board's serving memory: [`lifted_proto::serve::Memory`] sized for the nRF52840's 256 KB of
//! RAM (about 107 KB in all; `main.rs` keeps it in a `static`).

use lifted_proto::server::{frame_buffer_len, tx_buffer_len};

/// Largest input dimension n₀ served.
pub const MAX_INPUT: usize = 4096;
/// Largest class count C served.
pub const MAX_CLASSES: usize = 1024;
/// Largest inference workspace (`Workspace::required`), in f32 values: 64 KB.
pub const MAX_WORKSPACE: usize = 16 * 1024;
/// Longest request frame accepted (COBS bytes without the delimiter): a 4096-value input fits.
pub const MAX_FRAME: usize = frame_buffer_len(MAX_INPUT);
/// Size of the response buffer: an answer with 1024 logits fits.
pub const TX_LEN: usize = tx_buffer_len(MAX_CLASSES);

/// The buffers, zero-initialised (so a `static` of it goes to `.bss`).
pub type Memory =
    lifted_proto::serve::Memory<MAX_INPUT, MAX_CLASSES, MAX_WORKSPACE, MAX_FRAME, TX_LEN>;
