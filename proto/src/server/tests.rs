//! Host tests of the device-side protocol on the firmware's demo model (64-32-10 digits): every
//! response is compared with what `lifted-core` computes directly, bit for bit.

use super::*;
use crate::frame::{encode_vec, F32s};
use lifted_core::write::Blob;
// The reference path: `infer` and `certify` called directly, not through `infer_and_certify`.
use lifted_core::{certify, certify_with_internal, infer, Norm};

/// The model the `serve` programs embed by default.
const DEMO: &[u8] = include_bytes!("../../../firmware/models/demo.lfm");

/// Buffers sized exactly for a model.
struct Memory {
    frame: Vec<u8>,
    tx: Vec<u8>,
    input: Vec<f32>,
    workspace: Vec<f32>,
    logits: Vec<u8>,
    internal: Vec<u8>,
}

impl Memory {
    fn for_model(model: &ModelView<'_>) -> Self {
        Memory {
            frame: vec![0; frame_buffer_len(model.input_dim())],
            tx: vec![0; tx_buffer_len(model.classes())],
            input: vec![0.0; model.input_dim()],
            workspace: vec![0.0; Workspace::required(model)],
            logits: vec![0; 4 * model.classes()],
            internal: vec![0; 4 * MAX_LAYERS],
        }
    }

    fn bufs(&mut self) -> Buffers<'_> {
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

/// What the server did with a byte sequence.
#[derive(Debug, PartialEq)]
enum Out {
    /// A response frame (without its delimiter) and its summary.
    Frame(Vec<u8>, Sent),
    Shutdown,
}

fn feed(server: &mut Server<'_>, bytes: &[u8]) -> Vec<Out> {
    let mut out = Vec::new();
    for &b in bytes {
        match server.push(b) {
            Step::Idle => {}
            Step::Shutdown => out.push(Out::Shutdown),
            Step::Send { frame, sent } => out.push(Out::Frame(checked_frame(frame), sent)),
        }
    }
    out
}

/// Checks the framing (one trailing delimiter, none inside) and returns the COBS bytes.
fn checked_frame(frame: &[u8]) -> Vec<u8> {
    let (last, body) = frame.split_last().expect("a non-empty frame");
    assert_eq!(*last, frame::DELIMITER);
    assert!(!body.contains(&frame::DELIMITER), "{frame:?}");
    body.to_vec()
}

/// The single response to `bytes`, decoded, with its summary checked.
fn one(server: &mut Server<'_>, bytes: &[u8], check: impl FnOnce(Response<'_>)) {
    let mut out = feed(server, bytes);
    assert_eq!(out.len(), 1, "{out:?}");
    let Some(Out::Frame(mut f, sent)) = out.pop() else {
        panic!("expected a frame, got a shutdown")
    };
    let msg: Response<'_> = frame::decode(&mut f).expect("the response decodes");
    assert_eq!(Sent::of(&msg), sent);
    check(msg);
}

fn expect_error(server: &mut Server<'_>, bytes: &[u8], id: Option<u32>, kind: ErrorKind) {
    one(server, bytes, |msg| {
        assert_eq!(msg, Response::Error(ErrorFrame { id, kind }), "{bytes:?}");
    });
}

fn infer_request(id: u32, x: &[f32]) -> Vec<u8> {
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode_vec(&Request::Infer {
        id,
        input: F32s::from_le_bytes(&bytes),
    })
}

/// `lifted-core`'s own result for `x`, checked against the server's answer bit for bit.
fn expect_answer(server: &mut Server<'_>, model: &ModelView<'_>, id: u32, x: &[f32]) {
    let mut ws = vec![0.0; Workspace::required(model)];
    let mut ws = Workspace::new(&mut ws);
    let out = infer(model, x, &mut ws).expect("a valid input");
    let (l2, linf) = (
        certify_with_internal(model, &out),
        certify(model, &out, Norm::Linf),
    );
    let (mut lb, mut ib) = (vec![0; 4 * model.classes()], vec![0; 4 * MAX_LAYERS]);
    let want = Answer::new(id, &out, &l2, &linf, &mut lb, &mut ib);
    one(server, &infer_request(id, x), |msg| {
        let Sent::Answer { confidence, .. } = Sent::of(&msg) else {
            panic!("request {id}: expected an answer, got {msg:?}")
        };
        // The logged confidence is the softmax probability of the class, a few per cent off.
        let logits: Vec<f64> = out.logits.iter().map(|&s| f64::from(s)).collect();
        let top = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = logits.iter().map(|s| (s - top).exp()).sum();
        let exact = (logits[out.class] - top).exp() / total;
        assert!(
            (f64::from(confidence) - exact).abs() < 0.02,
            "request {id}: confidence {confidence} vs softmax {exact}"
        );
        match msg {
            Response::Answer(a) => assert!(a.same_bits(&want), "{a:?} != {want:?}"),
            other => panic!("request {id}: expected an answer, got {other:?}"),
        }
    });
}

fn demo() -> Blob {
    Blob::from_bytes(DEMO)
}

/// A valid input: pixel-like values in the model's range.
fn good_input(model: &ModelView<'_>, seed: usize) -> Vec<f32> {
    let h = model.header();
    (0..model.input_dim())
        .map(|j| {
            h.input_min + (h.input_max - h.input_min) * ((j * 7 + seed * 13) % 17) as f32 / 16.0
        })
        .collect()
}

#[test]
fn boot_hello_and_answers_match_the_core() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let mut mem = Memory::for_model(&model);
    let max_frame = mem.frame.len();
    let ready = describe(&model, blob.as_bytes(), max_frame);
    assert_eq!(ready.reply_to, None);
    assert_eq!(ready.protocol, PROTOCOL_VERSION);
    assert_eq!(ready.input_dim as usize, model.input_dim());
    assert_eq!(ready.classes as usize, model.classes());
    assert_eq!(ready.layers as usize, model.layers());
    assert_eq!(ready.sweeps as usize, model.sweeps());
    assert_eq!(ready.model_len as usize, DEMO.len());
    let crc = u32::from_le_bytes(DEMO[DEMO.len() - 4..].try_into().unwrap());
    assert_eq!(ready.model_crc, crc);
    assert_eq!(ready.max_frame as usize, max_frame);
    assert!(mem.bufs().check(&model).is_ok());

    let mut server = Server::new(&model, ready, mem.bufs(), OnShutdown::Stop);
    assert_eq!(server.ready(), &ready);
    let Step::Send { frame, sent } = server.boot() else {
        panic!("no boot frame")
    };
    assert_eq!(frame, encode_vec(&Response::Ready(ready)));
    assert_eq!(sent, Sent::Ready { reply_to: None });

    // The host's handshake: a lone delimiter (ignored), then Hello.
    assert!(feed(&mut server, &[0]).is_empty());
    one(
        &mut server,
        &encode_vec(&Request::Hello { nonce: 0xfeed }),
        |msg| {
            assert_eq!(
                msg,
                Response::Ready(Ready {
                    reply_to: Some(0xfeed),
                    ..ready
                })
            );
        },
    );
    for id in 0..20 {
        expect_answer(&mut server, &model, id, &good_input(&model, id as usize));
    }
    // Two requests in one write get two answers, in order.
    let x0 = good_input(&model, 3);
    let x1 = good_input(&model, 4);
    let mut both = infer_request(30, &x0);
    both.extend(infer_request(31, &x1));
    let out = feed(&mut server, &both);
    let ids: Vec<_> = out
        .iter()
        .map(|o| match o {
            Out::Frame(_, Sent::Answer { id, .. }) => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [30, 31]);

    assert_eq!(
        feed(&mut server, &encode_vec(&Request::Shutdown)),
        [Out::Shutdown]
    );
}

#[test]
fn malformed_frames_get_one_error_each_and_the_server_recovers() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let mut mem = Memory::for_model(&model);
    let ready = describe(&model, blob.as_bytes(), mem.frame.len());
    let max = ready.max_frame;
    let mut s = Server::new(&model, ready, mem.bufs(), OnShutdown::Stop);
    let n0 = model.input_dim();
    let good = good_input(&model, 1);

    expect_error(&mut s, &[0x05, 0x01, 0x00], None, ErrorKind::Cobs);
    expect_error(&mut s, &[0x02, 0x09, 0x00], None, ErrorKind::Decode);
    expect_error(&mut s, &[0x03, 0x02, 0x07, 0x00], None, ErrorKind::Decode);
    // Infer, id 42, 256 bytes announced but only 10 follow (valid COBS: no zero byte).
    let mut truncated = vec![15, 1, 42, 0x80, 0x02];
    truncated.extend_from_slice(&[0x3f; 10]);
    truncated.push(0);
    expect_error(&mut s, &truncated, None, ErrorKind::Decode);

    let want = 4 * n0 as u32;
    expect_error(
        &mut s,
        &infer_request(7, &good[..n0 - 1]),
        Some(7),
        ErrorKind::InputLength {
            expected_bytes: want,
            got_bytes: want - 4,
        },
    );
    let bytes: Vec<u8> = good.iter().flat_map(|v| v.to_le_bytes()).collect();
    let odd = encode_vec(&Request::Infer {
        id: 8,
        input: F32s::from_le_bytes(&bytes[..bytes.len() - 1]),
    });
    expect_error(
        &mut s,
        &odd,
        Some(8),
        ErrorKind::InputLength {
            expected_bytes: want,
            got_bytes: want - 1,
        },
    );
    let above = model.header().input_max + 0.5;
    for (id, index, value, kind) in [
        (9, 5, f32::NAN, ErrorKind::InputNonFinite { index: 5 }),
        (10, 0, f32::INFINITY, ErrorKind::InputNonFinite { index: 0 }),
        (
            11,
            3,
            f32::NEG_INFINITY,
            ErrorKind::InputNonFinite { index: 3 },
        ),
        (12, 7, above, ErrorKind::InputOutOfRange { index: 7 }),
    ] {
        let mut x = good.clone();
        x[index] = value;
        expect_error(&mut s, &infer_request(id, &x), Some(id), kind);
    }

    let mut huge = vec![0x01u8; 20_000];
    huge.push(0);
    expect_error(&mut s, &huge, None, ErrorKind::TooLong { max });

    // Garbage without a delimiter merges with the next frame: one error, then back in sync.
    let mut merged = vec![0x07, 0x07, 0x07];
    merged.extend(encode_vec(&Request::Hello { nonce: 1 }));
    one(&mut s, &merged, |msg| match msg {
        Response::Error(ErrorFrame { id: None, kind }) => {
            assert!(
                matches!(kind, ErrorKind::Cobs | ErrorKind::Decode),
                "{kind:?}"
            )
        }
        other => panic!("garbage prefix: {other:?}"),
    });

    // Empty frames are ignored; the server still answers, bit for bit.
    assert!(feed(&mut s, &[0, 0, 0]).is_empty());
    expect_answer(&mut s, &model, 100, &good);
}

#[test]
fn shutdown_is_refused_by_a_board() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let mut mem = Memory::for_model(&model);
    let ready = describe(&model, blob.as_bytes(), mem.frame.len());
    let mut s = Server::new(&model, ready, mem.bufs(), OnShutdown::Refuse);
    let shutdown = encode_vec(&Request::Shutdown);
    expect_error(&mut s, &shutdown, None, ErrorKind::Unsupported);
    expect_answer(&mut s, &model, 1, &good_input(&model, 0));
}

#[test]
fn undersized_buffers_are_reported_and_never_panic() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let ready = describe(&model, blob.as_bytes(), 0);
    let good = good_input(&model, 2);
    let request = infer_request(5, &good);

    // One buffer one element short at a time: `check` names it; the server refuses Infer.
    for buffer in [
        Buffer::Input,
        Buffer::Workspace,
        Buffer::Logits,
        Buffer::Internal,
    ] {
        let mut mem = Memory::for_model(&model);
        mem.internal.truncate(4 * (model.layers() - 1));
        let v = match buffer {
            Buffer::Input => mem.input.pop().map(drop),
            Buffer::Workspace => mem.workspace.pop().map(drop),
            Buffer::Logits => mem.logits.pop().map(drop),
            Buffer::Internal => mem.internal.pop().map(drop),
            Buffer::Frame | Buffer::Tx => unreachable!(),
        };
        assert!(v.is_some());
        let err = mem.bufs().check(&model).unwrap_err();
        assert_eq!(err.buffer, buffer, "{err}");
        assert_eq!(err.len + 1, err.needed, "{err}");
        let mut s = Server::new(&model, ready, mem.bufs(), OnShutdown::Refuse);
        expect_error(&mut s, &request, Some(5), ErrorKind::Unsupported);
    }

    // A frame buffer too short for a request: the request is too long.
    let mut mem = Memory::for_model(&model);
    mem.frame.truncate(request.len() - 2);
    let err = mem.bufs().check(&model).unwrap_err();
    assert_eq!(err.buffer, Buffer::Frame);
    assert!(
        err.to_string().starts_with("the frame buffer holds"),
        "{err}"
    );
    let max = mem.frame.len() as u32;
    let mut s = Server::new(&model, ready, mem.bufs(), OnShutdown::Refuse);
    expect_error(&mut s, &request, None, ErrorKind::TooLong { max });

    // A tx buffer too short: no answers, and a `Ready` that does not fit becomes an `Inference`
    // error; shorter still, silence.
    let mut mem = Memory::for_model(&model);
    mem.tx.truncate(12);
    assert_eq!(mem.bufs().check(&model).unwrap_err().buffer, Buffer::Tx);
    let mut s = Server::new(&model, ready, mem.bufs(), OnShutdown::Refuse);
    expect_error(&mut s, &request, Some(5), ErrorKind::Unsupported);
    let hello = encode_vec(&Request::Hello { nonce: 3 });
    expect_error(&mut s, &hello, None, ErrorKind::Inference);
    let mut mem = Memory::for_model(&model);
    mem.tx.truncate(2);
    let mut s = Server::new(&model, ready, mem.bufs(), OnShutdown::Refuse);
    assert_eq!(s.boot(), Step::Idle);
    assert!(feed(&mut s, &request).is_empty());

    // No buffers at all.
    let mut s = Server::new(
        &model,
        ready,
        Buffers {
            frame: &mut [],
            tx: &mut [],
            input: &mut [],
            workspace: &mut [],
            logits: &mut [],
            internal: &mut [],
        },
        OnShutdown::Stop,
    );
    assert!(feed(&mut s, &request).is_empty());
}

/// Random bytes (a third of them delimiters, plus valid requests mixed in): no panic, and every
/// non-empty frame gets exactly one response frame.
#[test]
fn random_bytes_never_panic_and_every_frame_gets_one_response() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let mut mem = Memory::for_model(&model);
    mem.frame.truncate(400); // also exercise TooLong
    let ready = describe(&model, blob.as_bytes(), mem.frame.len());
    let mut s = Server::new(&model, ready, mem.bufs(), OnShutdown::Refuse);
    let good = infer_request(77, &good_input(&model, 5));
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut frames, mut responses, mut answers, mut pending) = (0, 0, 0, 0usize);
    for _ in 0..200_000 {
        let r = next();
        let bytes: Vec<u8> = match r % 64 {
            0 => good.clone(),
            1..=20 => vec![0],
            _ => vec![(r >> 8) as u8],
        };
        for b in bytes {
            if b == 0 {
                frames += usize::from(pending > 0);
                pending = 0;
            } else {
                pending += 1;
            }
            match s.push(b) {
                Step::Idle => {}
                Step::Shutdown => panic!("Refuse never stops"),
                Step::Send { frame, sent } => {
                    let mut f = checked_frame(frame);
                    let msg: Response<'_> = frame::decode(&mut f).unwrap();
                    assert_eq!(Sent::of(&msg), sent);
                    answers += usize::from(matches!(sent, Sent::Answer { .. }));
                    responses += 1;
                }
            }
        }
    }
    assert_eq!(responses, frames);
    assert!(
        frames > 10_000 && answers > 100,
        "{frames} frames, {answers} answers"
    );
}
