//! Arbitrary bytes → the device side of the serial protocol (`lifted_proto::server::Server`, what
//! the `serve` firmware runs) with the firmware's demo model. Nothing may panic, every non-empty
//! frame gets exactly one response, and every response is a well-formed frame that decodes.
//! The first byte's low bit selects buffers one byte/value too small (which must not panic either).
//!
//! Run: `cd fuzz && cargo +nightly fuzz run proto_server` (seed corpus in `corpus/proto_server/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted_core::{ModelView, Workspace, MAX_LAYERS};
use lifted_fuzz::flag;
use lifted_proto::frame::{decode, Response, DELIMITER};
use lifted_proto::server::{
    describe, frame_buffer_len, tx_buffer_len, Buffers, OnShutdown, Server, Step,
};

const DEMO: &[u8] = include_bytes!("../../firmware/models/demo.lfm");

fuzz_target!(|data: &[u8]| {
    let (f, bytes) = flag(data);
    let blob = lifted_core::write::Blob::from_bytes(DEMO);
    let model = ModelView::new_checked(blob.as_bytes()).expect("the demo model loads");
    let short = usize::from(f & 1);
    let (n0, classes) = (model.input_dim(), model.classes());
    let mut frame = vec![0u8; frame_buffer_len(n0) - short];
    let mut tx = vec![0u8; tx_buffer_len(classes)];
    let mut input = vec![0.0f32; n0];
    let mut workspace = vec![0.0f32; Workspace::required(&model) - short];
    let mut logits = vec![0u8; 4 * classes];
    let mut internal = vec![0u8; 4 * MAX_LAYERS];
    let ready = describe(&model, blob.as_bytes(), frame.len());
    let bufs = Buffers {
        frame: &mut frame,
        tx: &mut tx,
        input: &mut input,
        workspace: &mut workspace,
        logits: &mut logits,
        internal: &mut internal,
    };
    let mut server = Server::new(&model, ready, bufs, OnShutdown::Refuse);
    let (mut frames, mut answers, mut pending) = (0usize, 0usize, 0usize);
    for &b in bytes.iter().chain(core::iter::once(&DELIMITER)) {
        if b == DELIMITER {
            if pending > 0 {
                frames += 1;
            }
            pending = 0;
        } else {
            pending += 1;
        }
        match server.push(b) {
            Step::Idle => {}
            Step::Shutdown => panic!("OnShutdown::Refuse answers Shutdown instead"),
            Step::Send { frame, .. } => {
                answers += 1;
                let (last, body) = frame.split_last().expect("a non-empty response frame");
                assert_eq!(*last, DELIMITER);
                assert!(!body.contains(&DELIMITER));
                let mut body = body.to_vec();
                let _: Response<'_> = decode(&mut body).expect("every response decodes");
            }
        }
    }
    assert_eq!(answers, frames, "every non-empty frame is answered once");
});
