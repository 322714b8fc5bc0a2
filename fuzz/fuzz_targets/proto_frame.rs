//! Arbitrary bytes → the host and device frame decoders of the serial protocol: the bytes are cut
//! into frames by the `Deframer` and each frame is decoded as a `Request` (what a device reads)
//! and as a `Response` (what `lifted remote` reads). Nothing may panic, and every decoded message
//! encodes back to a frame that decodes to the same message.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run proto_frame` (seed corpus in `corpus/proto_frame/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifted_proto::frame::{decode, encode_vec, Deframed, Deframer, Request, Response};

fn check_request(frame: &[u8]) {
    let mut f = frame.to_vec();
    if let Ok(msg) = decode::<Request<'_>>(&mut f) {
        let mut again = encode_vec(&msg);
        assert_eq!(again.pop(), Some(0));
        let back: Request<'_> = decode(&mut again).expect("a re-encoded request decodes");
        assert_eq!(back, msg);
    }
}

fn check_response(frame: &[u8]) {
    let mut f = frame.to_vec();
    if let Ok(msg) = decode::<Response<'_>>(&mut f) {
        let mut again = encode_vec(&msg);
        assert_eq!(again.pop(), Some(0));
        let back: Response<'_> = decode(&mut again).expect("a re-encoded response decodes");
        // Compare the bit patterns: a NaN logit must survive the round trip too.
        assert_eq!(format!("{back:?}"), format!("{msg:?}"));
    }
}

fuzz_target!(|data: &[u8]| {
    // A small buffer so that over-long frames are exercised as well.
    let mut buf = [0u8; 256];
    let mut deframer = Deframer::new(&mut buf);
    for &b in data.iter().chain(core::iter::once(&0)) {
        match deframer.push(b) {
            Some(Deframed::Frame(frame)) => {
                assert!(!frame.is_empty() && frame.len() <= 256);
                check_request(frame);
                check_response(frame);
            }
            Some(Deframed::TooLong { len }) => assert!(len > 256),
            None => {}
        }
    }
});
