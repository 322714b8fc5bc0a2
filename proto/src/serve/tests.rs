//! The serial loop against the mocks of `embedded-hal-mock` (serial, pin, delay) on the firmware's
//! demo model (64-32-10 digits): every byte the loop writes is an expectation of the serial mock, so
//! a test passes only if the loop writes exactly the expected frames, in order, and reads no
//! further than the script. Answers are computed independently with `lifted-core` (`infer` and
//! `certify`, not the server's `infer_and_certify_with`).

use embedded_hal_mock::eh1::delay::{CheckedDelay, Transaction as Wait};
use embedded_hal_mock::eh1::digital::{Mock as Pin, State, Transaction as Set};
use embedded_hal_mock::eh1::serial::{Mock as Serial, Transaction as Io};
use embedded_hal_nb::nb;
use embedded_hal_nb::serial::ErrorKind as UartError;
use lifted_core::write::Blob;
use lifted_core::{certify, certify_with_internal, infer, Norm, Workspace};

use super::*;
use crate::frame::{
    encode_vec, Answer, ErrorFrame, ErrorKind as Refused, F32s, Ready, Request, Response,
};
use crate::server::{describe, frame_buffer_len, tx_buffer_len};

/// The model the `serve` programs embed by default.
const DEMO: &[u8] = include_bytes!("../../../firmware/models/demo.lfm");

/// Memory for the demo model (n₀ = 64, C = 10), frame and transmit buffers at their minimum.
type DemoMemory = Memory<64, 10, 1024, { frame_buffer_len(64) }, { tx_buffer_len(10) }>;

type MockBoard = Board<NbSerial<Serial<u8>>, Pin, CheckedDelay>;

fn board(io: &[Io<u8>], led: &[Set], delay: &[Wait]) -> MockBoard {
    Board {
        io: NbSerial(Serial::new(io)),
        led: Pin::new(led),
        delay: CheckedDelay::new(delay),
    }
}

/// Runs the loop on the demo model with `policy`; checks that every expectation of the three
/// mocks was met; returns why it stopped and the events.
fn run_demo(mut board: MockBoard, policy: OnShutdown) -> (Stopped, Vec<Event>) {
    let blob = Blob::from_bytes(DEMO);
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let mut mem = Box::new(DemoMemory::new());
    let mut server = mem.server(&model, blob.as_bytes(), policy).unwrap();
    assert_eq!(server.ready(), &ready(&model));
    let mut events = Vec::new();
    let stopped = run(&mut board, &mut server, |e| events.push(e));
    board.io.0.done();
    board.led.done();
    board.delay.done();
    (stopped, events)
}

fn demo() -> Blob {
    Blob::from_bytes(DEMO)
}

/// The boot `Ready` of the demo model in [`DemoMemory`].
fn ready(model: &ModelView<'_>) -> Ready {
    describe(model, DEMO, DemoMemory::MAX_FRAME)
}

/// The host writes `req`: the serial mock hands it out byte by byte.
fn host_sends(req: &Request<'_>) -> Io<u8> {
    Io::read_many(encode_vec(req))
}

/// The device must write exactly the frame of `msg` (delimiter included), then flush.
fn device_sends(msg: &Response<'_>) -> [Io<u8>; 2] {
    [Io::write_many(encode_vec(msg)), Io::flush()]
}

fn input(model: &ModelView<'_>, seed: usize) -> Vec<f32> {
    let h = model.header();
    (0..model.input_dim())
        .map(|j| {
            h.input_min + (h.input_max - h.input_min) * ((j * 5 + seed * 11) % 17) as f32 / 16.0
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

/// `lifted-core`'s answer frame for `x` (delimiter included) and its class.
fn answer_frame(model: &ModelView<'_>, id: u32, x: &[f32]) -> (Vec<u8>, u16) {
    let mut buf = vec![0.0; Workspace::required(model)];
    let mut ws = Workspace::new(&mut buf);
    let out = infer(model, x, &mut ws).unwrap();
    let (l2, linf) = (
        certify_with_internal(model, &out),
        certify(model, &out, Norm::Linf),
    );
    let (mut lb, mut ib) = (vec![0; 4 * model.classes()], vec![0; 4 * MAX_LAYERS]);
    let answer = Answer::new(id, &out, &l2, &linf, &mut lb, &mut ib);
    (encode_vec(&Response::Answer(answer)), answer.class)
}

fn led(states: &[State]) -> Vec<Set> {
    states.iter().map(|&s| Set::set(s)).collect()
}

/// A session over a mock UART: the boot `Ready`, a handshake and two inferences, each answer the
/// exact frame of `lifted-core`'s result; the LED is driven low at the start and toggled once per
/// response; `Shutdown` (QEMU policy) ends the loop without reading further.
#[test]
fn serves_a_session_over_a_mock_uart_with_exact_answer_frames() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let ready = ready(&model);
    let (x7, x8) = (input(&model, 7), input(&model, 8));
    let (answer7, class7) = answer_frame(&model, 7, &x7);
    let (answer8, class8) = answer_frame(&model, 8, &x8);
    assert_ne!(answer7, answer8);

    let mut io = Vec::new();
    io.extend(device_sends(&Response::Ready(ready)));
    io.push(host_sends(&Request::Hello { nonce: 0xbeef }));
    io.extend(device_sends(&Response::Ready(Ready {
        reply_to: Some(0xbeef),
        ..ready
    })));
    io.push(Io::read(0)); // an empty frame: no answer
    io.push(Io::read_many(infer_request(7, &x7)));
    io.extend([Io::write_many(&answer7), Io::flush()]);
    io.push(Io::read_many(infer_request(8, &x8)));
    io.extend([Io::write_many(&answer8), Io::flush()]);
    io.push(host_sends(&Request::Shutdown));

    let leds = led(&[State::Low, State::High, State::Low, State::High]);
    let (stopped, events) = run_demo(board(&io, &leds, &[]), OnShutdown::Stop);
    assert_eq!(stopped, Stopped::Shutdown);
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(events[0], Event::Sent(Sent::Ready { reply_to: None }));
    assert_eq!(
        events[1],
        Event::Sent(Sent::Ready {
            reply_to: Some(0xbeef)
        })
    );
    for (event, (id, class)) in events[2..].iter().zip([(7, class7), (8, class8)]) {
        assert!(
            matches!(*event, Event::Sent(Sent::Answer { id: i, class: c, .. }) if (i, c) == (id, class)),
            "{event:?}"
        );
    }
}

/// The wire bytes of the first error answer, spelled out: COBS of the postcard `Response::Error`
/// (variant 2) with `id: None` (0) and kind `Cobs` (variant 0), then the delimiter.
#[test]
fn a_corrupt_frame_gets_the_exact_error_frame() {
    let ready = ready(&ModelView::new_checked(demo().as_bytes()).unwrap());
    let cobs_error = [0x02, 0x02, 0x01, 0x01, 0x00];
    assert_eq!(
        encode_vec(&Response::Error(ErrorFrame {
            id: None,
            kind: Refused::Cobs
        })),
        cobs_error
    );
    let mut io = Vec::from(device_sends(&Response::Ready(ready)));
    io.push(Io::read_many([0x05, 0x01, 0x00])); // a COBS code pointing past the frame
    io.extend([Io::write_many(cobs_error), Io::flush()]);
    io.push(host_sends(&Request::Shutdown));
    let (stopped, events) = run_demo(
        board(&io, &led(&[State::Low, State::High]), &[]),
        OnShutdown::Stop,
    );
    assert_eq!(stopped, Stopped::Shutdown);
    assert_eq!(
        events[1],
        Event::Sent(Sent::Error(ErrorFrame {
            id: None,
            kind: Refused::Cobs
        }))
    );
}

/// Malformed requests each get their error frame and serving goes on: an unknown request, an input
/// one value short, a NaN input; the next request is still answered.
#[test]
fn malformed_requests_get_error_frames_and_serving_goes_on() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let ready = ready(&model);
    let x = input(&model, 3);
    let mut nan = x.clone();
    nan[5] = f32::NAN;
    let bytes = 4 * model.input_dim() as u32;
    let (answer, class) = answer_frame(&model, 12, &x);
    let error = |id, kind| Response::Error(ErrorFrame { id, kind });

    let mut io = Vec::from(device_sends(&Response::Ready(ready)));
    io.push(Io::read_many([0x02, 0x09, 0x00])); // postcard: no request variant 9
    io.extend(device_sends(&error(None, Refused::Decode)));
    io.push(Io::read_many(infer_request(10, &x[1..])));
    io.extend(device_sends(&error(
        Some(10),
        Refused::InputLength {
            expected_bytes: bytes,
            got_bytes: bytes - 4,
        },
    )));
    io.push(Io::read_many(infer_request(11, &nan)));
    io.extend(device_sends(&error(
        Some(11),
        Refused::InputNonFinite { index: 5 },
    )));
    io.push(Io::read_many(infer_request(12, &x)));
    io.extend([Io::write_many(&answer), Io::flush()]);
    io.push(host_sends(&Request::Shutdown));

    let leds = led(&[State::Low, State::High, State::Low, State::High, State::Low]);
    let (stopped, events) = run_demo(board(&io, &leds, &[]), OnShutdown::Stop);
    assert_eq!(stopped, Stopped::Shutdown);
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(
        matches!(events[4], Event::Sent(Sent::Answer { id: 12, class: c, .. }) if c == class),
        "{events:?}"
    );
}

/// A failing reader: a first error is retried at once (a frame split by it stays intact), a second
/// one in a row waits [`READ_RETRY_US`] through the delay; a byte resets the count. Errors are
/// reported with their kind.
#[test]
fn persistent_read_errors_are_retried_after_a_delay() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let ready = ready(&model);
    let hello = encode_vec(&Request::Hello { nonce: 5 });
    let (head, tail) = hello.split_at(2);
    let framing = || Io::read_error(nb::Error::Other(UartError::FrameFormat));

    let mut io = Vec::from(device_sends(&Response::Ready(ready)));
    io.extend([framing(), framing(), framing()]); // 1 retry at once, 2 after a delay
    io.push(Io::read_many(head));
    io.push(Io::read_error(nb::Error::Other(UartError::Other))); // after data: at once
    io.push(Io::read_many(tail));
    io.extend(device_sends(&Response::Ready(Ready {
        reply_to: Some(5),
        ..ready
    })));
    io.push(host_sends(&Request::Shutdown));

    let delays = [Wait::delay_us(READ_RETRY_US), Wait::delay_us(READ_RETRY_US)];
    let (stopped, events) = run_demo(
        board(&io, &led(&[State::Low, State::High]), &delays),
        OnShutdown::Stop,
    );
    assert_eq!(stopped, Stopped::Shutdown);
    assert_eq!(
        events,
        [
            Event::Sent(Sent::Ready { reply_to: None }),
            Event::ReadFailed(ErrorKind::InvalidData),
            Event::ReadFailed(ErrorKind::InvalidData),
            Event::ReadFailed(ErrorKind::InvalidData),
            Event::ReadFailed(ErrorKind::Other),
            Event::Sent(Sent::Ready { reply_to: Some(5) }),
        ]
    );
}

/// A write that fails loses that one response (no flush, reported), and the LED still toggles;
/// the next request is answered in full.
#[test]
fn a_failed_write_loses_one_response_only() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let ready = ready(&model);
    let x = input(&model, 1);
    let (answer, class) = answer_frame(&model, 3, &x);

    let mut io = Vec::from(device_sends(&Response::Ready(ready)));
    io.push(host_sends(&Request::Hello { nonce: 9 }));
    let lost = encode_vec(&Response::Ready(Ready {
        reply_to: Some(9),
        ..ready
    }));
    io.push(Io::write_many(&lost[..3]));
    io.push(Io::write_error(
        lost[3],
        nb::Error::Other(UartError::Overrun),
    ));
    io.push(Io::read_many(infer_request(3, &x)));
    io.extend([Io::write_many(&answer), Io::flush()]);
    io.push(host_sends(&Request::Shutdown));

    let leds = led(&[State::Low, State::High, State::Low]);
    let (stopped, events) = run_demo(board(&io, &leds, &[]), OnShutdown::Stop);
    assert_eq!(stopped, Stopped::Shutdown);
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[1], Event::WriteFailed(ErrorKind::InvalidData));
    assert!(
        matches!(events[2], Event::Sent(Sent::Answer { id: 3, class: c, .. }) if c == class),
        "{events:?}"
    );
}

/// A model too large for the memory is refused at boot with the buffer that is too small.
#[test]
fn a_model_too_large_for_the_memory_is_refused() {
    let blob = demo();
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    type Tiny = Memory<32, 10, 1024, { frame_buffer_len(32) }, { tx_buffer_len(10) }>;
    let mut mem = Box::new(Tiny::new());
    let err = mem
        .server(&model, blob.as_bytes(), OnShutdown::Stop)
        .unwrap_err();
    assert_eq!(
        (err.buffer, err.len, err.needed),
        (crate::server::Buffer::Input, 32, 64)
    );
}
