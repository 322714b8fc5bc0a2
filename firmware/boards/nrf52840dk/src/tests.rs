//! The board's serving set-up on the host: the shared loop (`lifted_proto::serve::run`) with the
//! embedded model, the board's [`Memory`] and policy (`Shutdown` refused), and in-memory
//! `embedded_io` doubles for the UARTE halves joined by `Duplex`. Answers are compared with
//! `lifted-core`'s own results bit for bit. (The loop's LED, delay and error paths are tested with
//! `embedded-hal-mock` in `lifted_proto::serve`.)

use std::collections::VecDeque;

use embedded_io::{ErrorKind as IoError, ErrorType, Read, Write};
use lifted_core::{
    certify, certify_with_internal, infer, Aligned, ModelView, Norm, Workspace, MAX_LAYERS,
};
use lifted_proto::frame::{
    self, encode_vec, Answer, ErrorFrame, ErrorKind, F32s, Ready, Request, Response,
};
use lifted_proto::serve::{self, Board, Duplex, Event, NoDelay, NoLed, Stopped};
use lifted_proto::server::{describe, OnShutdown, Sent};

use crate::memory::{Memory, MAX_FRAME};

/// The blob `main.rs` embeds (`$LIFTED_MODEL`, copied by build.rs).
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.lfm")));

/// The receive half: hands out what the host "sent", at most `per_read` bytes per read (the
/// UARTE returns one), with scripted read errors in between.
struct Rx {
    script: VecDeque<Result<Vec<u8>, IoError>>,
    per_read: usize,
}

impl Rx {
    fn new(per_read: usize) -> Self {
        Rx {
            script: VecDeque::new(),
            per_read,
        }
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.script.push_back(Ok(b.to_vec()));
        self
    }

    fn error(&mut self, kind: IoError) -> &mut Self {
        self.script.push_back(Err(kind));
        self
    }
}

impl ErrorType for Rx {
    type Error = IoError;
}

impl Read for Rx {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
        loop {
            match self.script.front_mut() {
                None => return Ok(0), // end of stream: the loop returns
                Some(Err(_)) => return Err(self.script.pop_front().unwrap().unwrap_err()),
                Some(Ok(b)) if b.is_empty() => {
                    self.script.pop_front();
                }
                Some(Ok(b)) => {
                    let n = b.len().min(buf.len()).min(self.per_read);
                    buf[..n].copy_from_slice(&b[..n]);
                    b.drain(..n);
                    return Ok(n);
                }
            }
        }
    }
}

/// The transmit half: collects what was flushed; writes `fail_writes` fail first.
#[derive(Default)]
struct Tx {
    sent: Vec<u8>,
    buffered: Vec<u8>,
    fail_writes: usize,
}

impl ErrorType for Tx {
    type Error = IoError;
}

impl Write for Tx {
    fn write(&mut self, buf: &[u8]) -> Result<usize, IoError> {
        if self.fail_writes > 0 {
            self.fail_writes -= 1;
            self.buffered.clear();
            return Err(IoError::Interrupted);
        }
        // Short writes, as a DMA buffer of 64 bytes gives.
        let n = buf.len().min(64);
        self.buffered.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), IoError> {
        self.sent.append(&mut self.buffered);
        Ok(())
    }
}

/// Runs the loop on `rx` with the board's memory; returns why it stopped, the frames sent
/// (without delimiters) and the events.
fn run(rx: &mut Rx, tx: &mut Tx, on_shutdown: OnShutdown) -> (Stopped, Vec<Vec<u8>>, Vec<Event>) {
    let model = ModelView::new_checked(&MODEL.0).unwrap();
    let mut mem = Box::new(Memory::new());
    let mut server = mem.server(&model, &MODEL.0, on_shutdown).unwrap();
    assert_eq!(server.ready(), &describe(&model, &MODEL.0, MAX_FRAME));
    let mut events = Vec::new();
    let mut board = Board {
        io: Duplex {
            rx: &mut *rx,
            tx: &mut *tx,
        },
        led: NoLed,
        delay: NoDelay,
    };
    let stopped = serve::run(&mut board, &mut server, |e| events.push(e));
    let mut frames: Vec<Vec<u8>> = tx.sent.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    assert_eq!(
        frames.pop(),
        Some(vec![]),
        "the output ends with a delimiter"
    );
    (stopped, frames, events)
}

fn decode(f: &[u8]) -> Response<'_> {
    // `frame::decode` works in place; leak a copy so the response can borrow it.
    frame::decode(Box::leak(f.to_vec().into_boxed_slice())).unwrap()
}

fn input(model: &ModelView<'_>, seed: usize) -> Vec<f32> {
    let h = model.header();
    (0..model.input_dim())
        .map(|j| {
            let t = ((j * 5 + seed * 11) % 17) as f32 / 16.0;
            h.input_min + (h.input_max - h.input_min) * t
        })
        .collect()
}

fn infer_request(id: u32, x: &[f32]) -> Vec<u8> {
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode_vec(&Request::Infer {
        id,
        input: F32s::from_le_bytes(&bytes),
    })
}

/// `lifted-core`'s answer for `x`, as postcard bytes (compared bit for bit).
fn reference(model: &ModelView<'_>, id: u32, x: &[f32]) -> Vec<u8> {
    let mut buf = vec![0.0; Workspace::required(model)];
    let mut ws = Workspace::new(&mut buf);
    let out = infer(model, x, &mut ws).unwrap();
    let (l2, linf) = (
        certify_with_internal(model, &out),
        certify(model, &out, Norm::Linf),
    );
    let (mut lb, mut ib) = (vec![0; 4 * model.classes()], vec![0; 4 * MAX_LAYERS]);
    let answer = Answer::new(id, &out, &l2, &linf, &mut lb, &mut ib);
    let mut f = encode_vec(&Response::Answer(answer));
    f.pop();
    f
}

fn error(id: Option<u32>, kind: ErrorKind) -> Response<'static> {
    Response::Error(ErrorFrame { id, kind })
}

/// A `lifted remote` session byte by byte, with malformed frames in between: boot `Ready`,
/// handshake, answers equal to the core's, one error frame per bad frame, `Shutdown` refused.
#[test]
fn serves_a_remote_session_and_answers_malformed_frames() {
    let model = ModelView::new_checked(&MODEL.0).unwrap();
    let n0 = model.input_dim();
    let xs: Vec<Vec<f32>> = (0..8).map(|s| input(&model, s)).collect();
    let mut rx = Rx::new(1);
    rx.bytes(&[0])
        .bytes(&encode_vec(&Request::Hello { nonce: 0xbeef }));
    for (id, x) in xs.iter().enumerate() {
        rx.bytes(&infer_request(id as u32, x));
    }
    let mut nan = xs[0].clone();
    nan[3] = f32::NAN;
    rx.bytes(&[0x05, 0x01, 0x00]) // bad COBS
        .bytes(&[0x02, 0x09, 0x00]) // no such request
        .bytes(&infer_request(40, &xs[0][..n0 - 1]))
        .bytes(&infer_request(41, &nan))
        .bytes(&[0x01; 20_000])
        .bytes(&[0x00])
        .bytes(&[0, 0])
        .bytes(&encode_vec(&Request::Shutdown))
        .bytes(&infer_request(42, &xs[1]));

    let mut tx = Tx::default();
    let (stopped, frames, events) = run(&mut rx, &mut tx, OnShutdown::Refuse);
    assert_eq!(stopped, Stopped::EndOfStream);

    let ready = describe(&model, &MODEL.0, MAX_FRAME);
    let mut want: Vec<Response<'_>> = vec![
        Response::Ready(ready),
        Response::Ready(Ready {
            reply_to: Some(0xbeef),
            ..ready
        }),
    ];
    let answers: Vec<Vec<u8>> = xs
        .iter()
        .enumerate()
        .map(|(id, x)| reference(&model, id as u32, x))
        .chain([reference(&model, 42, &xs[1])])
        .collect();
    let bytes = 4 * n0 as u32;
    let errors = [
        error(None, ErrorKind::Cobs),
        error(None, ErrorKind::Decode),
        error(
            Some(40),
            ErrorKind::InputLength {
                expected_bytes: bytes,
                got_bytes: bytes - 4,
            },
        ),
        error(Some(41), ErrorKind::InputNonFinite { index: 3 }),
        error(
            None,
            ErrorKind::TooLong {
                max: MAX_FRAME as u32,
            },
        ),
        error(None, ErrorKind::Unsupported),
    ];
    assert_eq!(frames.len(), 2 + xs.len() + errors.len() + 1);
    for (i, f) in frames.iter().enumerate() {
        let got = decode(f);
        match i {
            0 | 1 => assert_eq!(got, want.remove(0)),
            i if i < 2 + xs.len() => assert_eq!(f, &answers[i - 2], "answer {i}"),
            i if i < 2 + xs.len() + errors.len() => assert_eq!(got, errors[i - 2 - xs.len()]),
            _ => assert_eq!(f, &answers[xs.len()], "the answer after Shutdown"),
        }
        // Each frame sent was reported, with a matching summary.
        let Event::Sent(sent) = events[i] else {
            panic!("event {i}: {:?}", events[i])
        };
        match (got, sent) {
            (Response::Ready(r), Sent::Ready { reply_to }) => assert_eq!(r.reply_to, reply_to),
            (Response::Answer(a), Sent::Answer { id, class, .. }) => {
                assert_eq!((a.id, a.class), (id, class))
            }
            (Response::Error(e), Sent::Error(s)) => assert_eq!(e, s),
            (got, sent) => panic!("frame {i}: {got:?} reported as {sent:?}"),
        }
    }
    assert_eq!(events.len(), frames.len());
}

/// Read and write errors are reported and the loop goes on: a failed write loses one response,
/// a failed read in the middle of a frame leaves the frame intact.
#[test]
fn link_errors_are_reported_and_serving_goes_on() {
    let model = ModelView::new_checked(&MODEL.0).unwrap();
    let x = input(&model, 2);
    let request = infer_request(7, &x);
    let (head, tail) = request.split_at(request.len() / 2);
    let mut rx = Rx::new(64);
    rx.error(IoError::Interrupted)
        .bytes(head)
        .error(IoError::Other)
        .bytes(tail)
        .bytes(&encode_vec(&Request::Hello { nonce: 1 }))
        .bytes(&infer_request(8, &x));
    // The boot Ready and the first answer are lost.
    let mut tx = Tx {
        fail_writes: 2,
        ..Tx::default()
    };
    let (stopped, frames, events) = run(&mut rx, &mut tx, OnShutdown::Refuse);
    assert_eq!(stopped, Stopped::EndOfStream);
    assert!(
        matches!(
            events[..],
            [
                Event::WriteFailed(IoError::Interrupted),
                Event::ReadFailed(IoError::Interrupted),
                Event::ReadFailed(IoError::Other),
                Event::WriteFailed(IoError::Interrupted),
                Event::Sent(Sent::Ready { reply_to: Some(1) }),
                Event::Sent(Sent::Answer { id: 8, .. }),
            ]
        ),
        "{events:?}"
    );
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1], reference(&model, 8, &x));
}

/// With `OnShutdown::Stop` (the QEMU policy) the loop returns at `Shutdown`, reading no further.
#[test]
fn shutdown_stops_the_loop_when_allowed() {
    let mut rx = Rx::new(64);
    rx.bytes(&encode_vec(&Request::Shutdown))
        .bytes(&encode_vec(&Request::Hello { nonce: 2 }));
    let mut tx = Tx::default();
    let (stopped, frames, _) = run(&mut rx, &mut tx, OnShutdown::Stop);
    assert_eq!(stopped, Stopped::Shutdown);
    assert_eq!(frames.len(), 1, "only the boot Ready");
    assert!(!rx.script.is_empty(), "the Hello was not read");
}
