//! The board's serving memory: fixed buffers for [`lifted_proto::server::Server`], sized for the
//! nRF52840's 256 KB of RAM (about 107 KB in all; `main.rs` keeps them in a `static`).

use lifted_core::MAX_LAYERS;
use lifted_proto::server::{self, Buffers};

/// Largest input dimension n₀ served.
pub const MAX_INPUT: usize = 4096;
/// Largest class count C served.
pub const MAX_CLASSES: usize = 1024;
/// Largest inference workspace (`Workspace::required`), in f32 values: 64 KB.
pub const MAX_WORKSPACE: usize = 16 * 1024;
/// Longest request frame accepted (COBS bytes without the delimiter): a 4096-value input fits.
pub const MAX_FRAME: usize = server::frame_buffer_len(MAX_INPUT);
/// Size of the response buffer: an answer with 1024 logits fits.
pub const TX_LEN: usize = server::tx_buffer_len(MAX_CLASSES);

/// The buffers, zero-initialised (so a `static` of it goes to `.bss`).
#[derive(Debug)]
pub struct Memory {
    frame: [u8; MAX_FRAME],
    tx: [u8; TX_LEN],
    input: [f32; MAX_INPUT],
    workspace: [f32; MAX_WORKSPACE],
    logits: [u8; 4 * MAX_CLASSES],
    internal: [u8; 4 * MAX_LAYERS],
}

impl Memory {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        Memory {
            frame: [0; MAX_FRAME],
            tx: [0; TX_LEN],
            input: [0.0; MAX_INPUT],
            workspace: [0.0; MAX_WORKSPACE],
            logits: [0; 4 * MAX_CLASSES],
            internal: [0; 4 * MAX_LAYERS],
        }
    }

    /// The buffers as a server takes them; check them against the model with
    /// [`Buffers::check`].
    pub fn buffers(&mut self) -> Buffers<'_> {
        Buffers {
            frame: &mut self.frame,
            tx: &mut self.tx,
            input: &mut self.input,
            workspace: &mut self.workspace,
            logits: &mut self.logits,
            internal: &mut self.internal,
        }
    }
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}
